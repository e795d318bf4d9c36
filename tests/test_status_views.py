"""Status that tells the truth, over HTTP: each outcome's message in its own style
(green ``notice`` only when Leat has the visit as shown, amber ``waiting`` with when
the portal tries again, red ``alert`` for a refusal), the queue's banner gone with the
first answer from Leat, the error summary and the page's title while a form shows
errors, and buttons named for their visit. The browser's side of the same is in
test_status_browser.py."""

from __future__ import annotations

import html

import pytest
from helpers import (
    A_VISIT,
    HTMX,
    csrf_token,
    deliver_waiting,
    focused,
    only_record,
    outside_partials,
    partial,
    post_visit,
    row,
    save_visit,
    soup,
    text,
)

from portal.leat_sandbox import MAINTENANCE_PAGE, Fault
from portal.models import Delivery

VISIT = A_VISIT
TOKEN_REFUSED = Fault(status=401, body='{"message": "Unauthenticated."}')
UNKNOWN_CODE = Fault(
    status=400,
    body='{"message": "Visits are frozen for this shop.", "code": 77001, "status_code": 400}',
)


def announced(answer) -> tuple[str, str]:
    """The message an htmx answer puts in the announcer: its class and its words."""
    (message,) = partial(answer, "#announcer").find_all("p")
    (tone,) = message["class"]
    return tone, text(message)


def row_action(client, record_id, action):
    data = {"csrf_token": csrf_token(client)}
    return client.post(f"/visits/{record_id}/{action}", data=data, headers=HTMX)


def waiting_record(app, client, sandbox):
    """A visit the portal keeps and Leat has not confirmed (Leat was in maintenance)."""
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    assert post_visit(client, **VISIT).status_code == 200
    record = only_record(app)
    assert record.status is Delivery.PENDING
    return record


def refused_record(app, client, sandbox):
    """A visit Leat refused on a later attempt: it needs attention."""
    record = waiting_record(app, client, sandbox)
    sandbox.faults.inject(UNKNOWN_CODE, method="POST", path="/visits", times=1)
    deliver_waiting(app)
    assert only_record(app).status is Delivery.ATTENTION
    return record


# -- each outcome in its own style -------------------------------------------------------


def test_a_confirmed_create_is_green(client):
    assert announced(post_visit(client, **VISIT))[0] == "notice"


def test_a_waiting_create_is_amber_and_says_when_the_portal_tries_again(app, client, sandbox):
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    tone, words = announced(post_visit(client, **VISIT))
    assert tone == "waiting"
    assert "not yet in Leat" in words
    assert "The portal sends it again by itself at " in words


def test_a_waiting_create_without_javascript_is_amber_on_the_page(client, sandbox):
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    assert post_visit(client, htmx=False, **VISIT).status_code == 303
    (message,) = soup(client.get("/visits")).select("#announcer p")
    assert message["class"] == ["waiting"]


def test_a_refusal_on_retry_is_red_and_says_what_to_do(app, client, sandbox):
    record = waiting_record(app, client, sandbox)
    sandbox.faults.inject(UNKNOWN_CODE, method="POST", path="/visits", times=1)
    tone, words = announced(row_action(client, record.id, "retry"))
    assert tone == "alert"
    assert "Visits are frozen for this shop (Leat's code 77001)" in words


def test_a_retry_that_waits_again_is_amber(app, client, sandbox):
    record = waiting_record(app, client, sandbox)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    assert announced(row_action(client, record.id, "retry"))[0] == "waiting"


def test_a_retry_leat_confirms_is_green(app, client, sandbox):
    record = waiting_record(app, client, sandbox)
    assert announced(row_action(client, record.id, "retry"))[0] == "notice"


def test_setting_aside_is_not_green(app, client, sandbox):
    record = refused_record(app, client, sandbox)
    tone, words = announced(row_action(client, record.id, "set-aside"))
    assert tone == "waiting"
    assert "not sent to Leat" in words


@pytest.mark.parametrize(("make", "tone"), [(waiting_record, "waiting"), (refused_record, "alert")])
def test_nothing_changed_keeps_the_tone_of_where_the_visit_stands(app, client, sandbox, make, tone):
    record = make(app, client, sandbox)
    answer = save_visit(client, record.id, **{k: VISIT[k] for k in ("date", "starts_at")})
    assert answer.status_code == 200
    assert announced(answer) == (
        tone,
        "Nothing changed in the visit of anna.devries@example.com, so nothing was sent.",
    )


# -- the queue's banner ------------------------------------------------------------------


def banner(answer) -> str:
    return html.unescape(text(partial(answer, "#queue-status")))


def test_the_token_banner_goes_with_the_first_refusal_leat_answers(app, client, sandbox):
    """Leat refused the portal's token (a red banner); once the token works, a create
    Leat refuses for its own reason (no such contact) is an answer from Leat: the
    queue's pause ends, and the form's answer takes the banner away."""
    sandbox.faults.inject(TOKEN_REFUSED, method="POST", path="/visits", times=None)
    first = post_visit(client, **VISIT)
    assert "token is invalid or expired" in banner(first)
    assert partial(first, "#queue-status").find(class_="alert") is not None
    assert announced(first)[0] == "waiting"  # this visit waits: amber, not red

    sandbox.faults.clear()
    refused = post_visit(client, **{**VISIT, "contact": "nobody@example.com"})
    assert refused.status_code == 422
    assert "token is invalid" not in banner(refused)


def test_the_queues_state_is_no_live_region(app, client, sandbox):
    """It is drawn again after every answer, often with the same words: as a live
    region it was read out again each time. The answer's message says why a visit waits."""
    sandbox.faults.inject(TOKEN_REFUSED, method="POST", path="/visits", times=None)
    answer = post_visit(client, **VISIT)
    status = partial(answer, "#queue-status")
    assert status.find(attrs={"role": True}) is None
    assert status.find(attrs={"aria-live": True}) is None


# -- the error summary and the title -----------------------------------------------------


def test_without_javascript_the_page_with_errors_says_so_in_its_title_and_summary(client):
    page = post_visit(client, htmx=False, **{**VISIT, "contact": "", "ends_at": "09:00"})
    assert page.status_code == 422
    doc = soup(page)
    assert doc.title.get_text().startswith("Error: Visits")
    summary = focused(page)
    assert summary["id"] == "create-visit-errors"
    assert [a["href"] for a in summary.find_all("a")] == ["#contact", "#ends_at"]
    # Once the form is right, the title is the page's own again.
    assert post_visit(client, htmx=False, **VISIT).status_code == 303
    assert not soup(client.get("/visits")).title.get_text().startswith("Error: ")


def test_the_row_editors_summary_links_its_own_fields(app, client):
    assert post_visit(client, **VISIT).status_code == 200
    record = only_record(app)
    answer = save_visit(client, record.id, date="2026-05-01", starts_at="10:00", ends_at="09:00")
    assert answer.status_code == 422
    editor = outside_partials(answer)
    summary = focused(editor)
    assert summary["id"] == f"visit-{record.id}-errors"
    assert [a["href"] for a in summary.find_all("a")] == [f"#visit-{record.id}-ends_at"]
    assert editor.find(id=f"visit-{record.id}-ends_at") is not None
    # Without JavaScript: the whole page, its title saying there is an error.
    page = save_visit(
        client, record.id, htmx=False, date="2026-05-01", starts_at="10:00", ends_at="09:00"
    )
    assert soup(page).title.get_text().startswith("Error: ")


# -- buttons named for their visit --------------------------------------------------------


def test_each_rows_buttons_say_which_visit_after_their_word(app, client, sandbox):
    record = refused_record(app, client, sandbox)
    which = "visit of anna.devries@example.com, 1 May 2026, 10:00"
    names = [text(button) for button in row(client.get("/visits"), record.id).find_all("button")]
    assert names == [f"Retry now {which}", f"Set aside {which}", f"Edit {which}"]
