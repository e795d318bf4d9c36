"""Every visit true in Leat: the instant the manager meant, "now" fixed when recorded,
and a visit found by its external_id adopted only when it is provably this record's."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import (
    HTMX,
    csrf_token,
    deliver_waiting,
    error_under,
    field,
    launch_path,
    leading_row,
    only_record,
    save_visit,
    shown_start,
    text,
)

from portal.database import db
from portal.leat_sandbox import MAINTENANCE_PAGE, AccountState, Fault, seed
from portal.leat_sandbox import app as sandbox_module
from portal.leat_sandbox.app import ACCOUNT_CONFIG, CONTACT_LIMIT_CONFIG
from portal.models import Delivery, VisitRecord
from portal.visits import delivery

ZONE = ZoneInfo("Europe/Amsterdam")  # PORTAL_TIMEZONE's default


def test_an_empty_starts_at_is_the_moment_of_recording_however_late_the_delivery(
    app, client, sandbox, sandbox_leat, monkeypatch
):
    token = csrf_token(client)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    before = datetime.now(UTC).replace(microsecond=0)
    data = {"csrf_token": token, "contact": seed.CONTACT_ANNA, "shop": seed.SHOP_AMSTERDAM}
    response = client.post("/visits", data=data, headers=HTMX)
    after = datetime.now(UTC)
    record = only_record(app)
    assert record.status is Delivery.PENDING
    recorded = record.pending.fields["starts_at"]
    assert before <= recorded <= after
    # The pending row shows that time at once (in the portal's zone).
    local = recorded.astimezone(ZONE)
    assert f"{local.day} {local:%b %Y, %H:%M}" in response.text

    # Leat comes back three hours later: were "now" left to Leat, it would say 3 h on.
    later = sandbox_module.now() + timedelta(hours=3)
    monkeypatch.setattr(sandbox_module, "now", lambda: later)
    deliver_waiting(app)
    (visit,) = sandbox_leat.list_visits().visits
    assert visit.starts_at == recorded
    assert only_record(app).status is Delivery.CONFIRMED


# -- a visit found by its external_id is adopted only when it is provably ours -------------


def sign_in(app, manager_id="anna@example.com", shops=("*",)):
    browser = app.test_client()
    assert browser.get(launch_path(manager_id=manager_id, shops=shops)).status_code == 303
    return browser


def create(browser, **fields):
    page = browser.get("/visits").text
    data = {"csrf_token": csrf_token(page), **fields}
    return browser.post("/visits", data=data, headers=HTMX)


def row_action(browser, record_id, action="retry"):
    """A row's button (Retry now, Record again, Set aside), as htmx sends it."""
    token = csrf_token(browser)
    return browser.post(f"/visits/{record_id}/{action}", data={"csrf_token": token}, headers=HTMX)


def test_a_tills_visit_in_another_shop_is_never_adopted(app, sandbox, sandbox_leat):
    """The scenario from the issue: Utrecht's till recorded receipt 1001 for Anna; a
    manager of Amsterdam records a visit with the same identifier, Leat answers 503
    once, and Retry now must not make Utrecht's visit Amsterdam's."""
    till = sandbox_leat.create_visit(
        contact_uuid=seed.CONTACT_ANNA,
        shop_uuid=seed.SHOP_UTRECHT,
        external_id="UTR-receipt-1001",
        source="Till Utrecht",
        starts_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    )
    amsterdam = sign_in(app, "amira@example.com", shops=(seed.SHOP_AMSTERDAM,))
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    created = create(
        amsterdam,
        contact=seed.CONTACT_ANNA,
        shop=seed.SHOP_AMSTERDAM,
        external_id="UTR-receipt-1001",
        source="Portal",
    )
    assert "Pending" in created.text
    record = only_record(app)

    answer = row_action(amsterdam, record.id)
    assert answer.status_code == 200
    assert "Leat already has another visit with this external ID" in answer.text
    assert "Till Utrecht" not in answer.text  # nothing of the other visit is shown
    record = only_record(app)
    assert record.status is Delivery.ATTENTION
    assert (record.leat_uuid, record.snapshot) == (None, None)

    # Editing it changes the record, never the till's visit.
    save_visit(
        amsterdam,
        record.id,
        **shown_start(record.pending.fields["starts_at"]),
        source="Hijack attempt",
        external_id="UTR-receipt-1001",
    )
    assert sandbox_leat.get_visit(till.uuid) == till
    assert "Till Utrecht" not in amsterdam.get("/visits").text


def test_an_earlier_attempts_visit_is_adopted_and_then_gets_the_corrections(
    app, client, sandbox, sandbox_leat
):
    """Leat made the visit but its answer was lost; meanwhile the manager corrected
    the source. The visit found is this record's own first version: adopted, and
    the correction follows as an update. One visit in Leat, as meant."""
    sandbox.faults.inject(Fault(commit=True, drop=True), method="POST", path="/visits", times=1)
    create(client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM, source="First")
    record = only_record(app)
    assert record.status is Delivery.PENDING
    response = save_visit(
        client,
        record.id,
        **shown_start(record.pending.fields["starts_at"]),
        source="Corrected",
        external_id=record.external_id,
    )
    assert response.status_code == 200
    (visit,) = sandbox_leat.list_visits().visits
    assert visit.source == "Corrected"
    record = only_record(app)
    assert (record.status, record.leat_uuid) == (Delivery.CONFIRMED, visit.uuid)


def test_a_visit_held_by_another_record_is_not_adopted(app, client, sandbox_leat):
    create(client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM, external_id="rcpt-9")
    (visit,) = sandbox_leat.list_visits().visits
    with app.app_context():
        # A second record that sent exactly that visit's version, as a copy of the
        # first would: the visit already belongs to the first record.
        same = {"source": visit.source, "starts_at": visit.starts_at, "ends_at": visit.ends_at}
        copy = VisitRecord(
            shop_uuid=seed.SHOP_ROTTERDAM,
            contact_uuid=seed.CONTACT_BRAM,
            external_id="rcpt-9-copy",
            status=Delivery.ATTENTION,
            attempts=1,
            pending=delivery.new_create("rcpt-9", same),
        )
        db.session.add(copy)
        db.session.commit()
        copy_id = copy.id
    row_action(client, copy_id)
    with app.app_context():
        copy = db.session.get(VisitRecord, copy_id)
        assert (copy.status, copy.leat_uuid) == (Delivery.ATTENTION, None)
        assert copy.error_kind == "external_id_taken_at_leat"
    assert sandbox_leat.list_visits().total == 1


def test_an_external_id_typed_and_taken_at_leat_is_an_error_under_the_field_without_a_lookup(
    app, client, sandbox_leat, monkeypatch
):
    sandbox_leat.create_visit(
        contact_uuid=seed.CONTACT_DAAN, shop_uuid=seed.SHOP_WEBSHOP, external_id="till-7"
    )
    leat = app.extensions["leat"]
    monkeypatch.setattr(
        leat, "find_visit_by_external_id", lambda *a: pytest.fail("looked up on a first attempt")
    )
    response = create(
        client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM, external_id="till-7"
    )
    assert response.status_code == 422
    assert "already been taken" in error_under(response, "external_id")


def test_a_new_external_id_for_a_pending_create_is_delivered(app, client, sandbox, sandbox_leat):
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    create(client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM, external_id="typo-1")
    record = only_record(app)
    answer = save_visit(
        client,
        record.id,
        **shown_start(record.pending.fields["starts_at"]),
        source="Portal",
        external_id="receipt-1",
    )
    assert answer.status_code == 200, answer.text
    (visit,) = sandbox_leat.list_visits().visits
    assert visit.external_id == "receipt-1"
    assert only_record(app).external_id == "receipt-1"


def test_a_submission_key_is_honoured_only_for_the_same_manager_and_shop(app, sandbox_leat):
    anna = sign_in(app, "anna@example.com")
    page = anna.get("/visits").text
    submission_key = field(page, "submission_key")
    assert submission_key.get("type") == "hidden"
    key = submission_key.get("value", "")
    assert re.fullmatch(r"[0-9a-f]+", key)
    fields = {"contact": seed.CONTACT_ANNA, "shop": seed.SHOP_AMSTERDAM, "submission_key": key}
    assert create(anna, **fields, source="Anna's").status_code == 200

    mallory = sign_in(app, "mallory@example.com")
    replay = create(mallory, **fields, source="Mallory's")
    assert replay.status_code == 200
    assert "Anna's" not in replay.text  # not the first manager's visit
    assert sorted(v.source for v in sandbox_leat.list_visits().visits) == ["Anna's", "Mallory's"]


# -- Leat's answer compared with what was sent ---------------------------------------------


def visit_json(**fields) -> str:
    visit = {
        "uuid": "0b7e0f0e-0000-4000-8000-000000000001",
        "contact": {"uuid": seed.CONTACT_BRAM, "email": "bram.jansen@example.com"},
        "external_id": "rcpt-1",
        "source": "Portal",
        "starts_at": "2026-05-01T08:00:00+00:00",
        "ends_at": None,
        "created_at": "2026-05-01T08:00:00+00:00",
    }
    return json.dumps({"data": {**visit, **fields}, "meta": []})


def test_an_answer_that_differs_from_what_was_sent_is_logged_by_field_name(client, sandbox, caplog):
    # Leat answers with the wall-clock time of what was sent, an hour off.
    sandbox.faults.inject(
        Fault(status=201, body=visit_json(starts_at="2026-05-01T10:00:00+00:00")),
        method="POST",
        path="/visits",
        times=1,
    )
    create(
        client,
        contact=seed.CONTACT_BRAM,
        shop=seed.SHOP_ROTTERDAM,
        external_id="rcpt-1",
        date="2026-05-01",
        starts_at="10:00",  # 08:00 UTC in May
    )
    (line,) = [r for r in caplog.records if r.getMessage() == "leat_contract_mismatch"]
    assert line.fields == ["starts_at"]
    assert "bram" not in caplog.text.split("leat_contract_mismatch")[1].lower()


def test_a_confirmed_visit_the_database_cannot_hold_needs_attention(app, client, sandbox):
    create(client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM, source="First")
    with app.app_context():
        held = db.session.scalar(db.select(VisitRecord.leat_uuid))
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    create(client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM, source="Second")
    with app.app_context():
        second = db.session.scalars(db.select(VisitRecord).order_by(VisitRecord.id.desc())).first()
        second_id = second.id
    # Leat (wrongly) answers the retry with the first visit's uuid.
    sandbox.faults.inject(
        Fault(status=201, body=visit_json(uuid=held, source="Second")),
        method="POST",
        path="/visits",
        times=1,
    )
    answer = row_action(client, second_id)
    assert answer.status_code == 200
    assert "another visit in the portal already holds" in answer.text
    with app.app_context():
        second = db.session.get(VisitRecord, second_id)
        assert (second.status, second.error_kind) == (Delivery.ATTENTION, "not_stored")
        assert second.pending is not None  # nothing of what the manager typed is lost


# -- a visit deleted at Leat ------------------------------------------------------------------

GONE = {
    # As Leat's error page documents it, and as the sandbox answered before (404).
    "documented": Fault(
        status=400, body='{"message": "Model not found.", "code": 60013, "status_code": 400}'
    ),
    "legacy-404": Fault(status=404, body='{"message": "Not found."}'),
}


@pytest.fixture(params=sorted(GONE))
def gone_at_leat(request, app, client, sandbox, sandbox_leat):
    """A confirmed visit that Leat no longer has: every PUT to it answers 'not found'."""
    create(client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM, source="Till")
    record = only_record(app)
    sandbox.faults.inject(GONE[request.param], method="PUT", times=None)
    return record


def save_source(client, record, source):
    start = shown_start(datetime.fromisoformat(record.snapshot["starts_at"]))
    return save_visit(client, record.id, **start, source=source, external_id=record.external_id)


def test_a_save_to_a_visit_gone_at_leat_says_so_on_its_row(client, app, gone_at_leat):
    answer = save_source(client, gone_at_leat, "Corrected")
    assert answer.status_code == 200
    leading_row(answer, gone_at_leat.id)
    assert "no longer exists in Leat" in answer.text
    assert "Record again" in answer.text
    assert "Set aside" in answer.text
    record = only_record(app)
    assert record.status is Delivery.ATTENTION
    assert record.pending.fields["source"] == "Corrected"  # kept, not undone


def test_record_again_makes_the_visit_anew_with_the_latest_values(
    client, app, sandbox, sandbox_leat, gone_at_leat
):
    save_source(client, gone_at_leat, "Corrected")
    answer = row_action(client, gone_at_leat.id, "record-again")
    assert answer.status_code == 200
    assert "recorded again in Leat" in answer.text
    record = only_record(app)
    assert record.status is Delivery.CONFIRMED
    assert record.leat_uuid != gone_at_leat.leat_uuid
    assert record.external_id != gone_at_leat.external_id  # the portal's own is renewed
    anew = sandbox_leat.get_visit(record.leat_uuid)
    assert (anew.source, anew.contact.uuid) == ("Corrected", seed.CONTACT_BRAM)
    assert anew.starts_at == datetime.fromisoformat(gone_at_leat.snapshot["starts_at"])


def test_set_aside_keeps_the_record_and_sends_nothing(client, app, sandbox, gone_at_leat):
    save_source(client, gone_at_leat, "Corrected")
    answer = row_action(client, gone_at_leat.id, "set-aside")
    assert answer.status_code == 200
    assert "Set aside — not in Leat" in answer.text
    assert "Retry now" not in answer.text
    assert only_record(app).status is Delivery.SET_ASIDE
    deliver_waiting(app)
    assert only_record(app).status is Delivery.SET_ASIDE  # the worker leaves it alone


# -- a queue that waits sensibly --------------------------------------------------------------

PAUSING_FAULTS = {
    "token refused": (
        Fault(status=401, body='{"message": "Unauthenticated."}'),
        "token is invalid or expired",
    ),
    "maintenance": (MAINTENANCE_PAGE, "Leat is down for maintenance. Since"),
    "too many requests": (
        Fault(status=429, body='{"message": "Too Many Attempts."}'),
        "Leat asked the portal to slow down",
    ),
}


@pytest.mark.parametrize("name", sorted(PAUSING_FAULTS))
def test_leat_refusing_the_portal_pauses_the_queue_and_one_probe_tries(
    app, client, sandbox, sandbox_leat, name
):
    fault, says = PAUSING_FAULTS[name]
    sandbox.faults.inject(fault, method="POST", path="/visits", times=None)
    for contact in (seed.CONTACT_ANNA, seed.CONTACT_BRAM, seed.CONTACT_EMMA):
        create(client, contact=contact, shop=seed.SHOP_UTRECHT)
    page = html.unescape(client.get("/visits").text)
    assert says in page  # why it waits, and since when
    assert "3 visits wait for Leat" in page

    sandbox.faults.calls.clear()
    with app.app_context():
        assert delivery.drain() == 0  # paused: nothing is sent before the pause ends
    assert deliver_waiting(app) == 1  # then, when it ends, one record, as a probe
    assert sandbox.faults.calls[("POST", "/visits")] == 1

    sandbox.faults.clear()  # Leat takes the portal again
    deliver_waiting(app)  # the probe succeeds, and the others follow in the same round
    assert sandbox_leat.list_visits().total == 3
    page = html.unescape(client.get("/visits").text)
    assert says not in page
    assert "wait for Leat" not in page


def test_a_refusal_of_one_visit_is_never_retried_by_itself(app, client, sandbox, sandbox_leat):
    # More faults than the client's retries of a GET: the first attempt waits.
    sandbox.faults.inject(MAINTENANCE_PAGE, method="GET", path="/contacts", times=3)
    create(client, contact="nobody@example.com", shop=seed.SHOP_UTRECHT)
    deliver_waiting(app)  # Leat is back and has no such contact: a refusal
    assert only_record(app).status is Delivery.ATTENTION
    sandbox.faults.calls.clear()
    for _ in range(3):
        deliver_waiting(app)
    assert sum(sandbox.faults.calls.values()) == 0


# -- each of Leat's documented codes, as the manager meets it ---------------------------------


def test_1008_an_unknown_shop_is_said_under_shop(app, client, sandbox):
    sandbox.faults.inject(
        Fault(status=400, body='{"message": "Shop not found.", "code": 1008, "status_code": 400}'),
        method="POST",
        path="/visits",
        times=1,
    )
    answer = create(client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM)
    assert answer.status_code == 422
    assert "does not know this shop" in error_under(answer, "shop")


def test_60000_a_full_contact_limit_is_said_under_contact(app, client, sandbox_app):
    sandbox_app.config[CONTACT_LIMIT_CONFIG] = len(seed.CONTACTS)
    answer = create(
        client, contact="new.customer@example.com", create_contact="y", shop=seed.SHOP_ROTTERDAM
    )
    assert answer.status_code == 422
    assert "contact limit is reached" in error_under(answer, "contact")
    assert "Ask your administrator" in error_under(answer, "contact")


@pytest.mark.parametrize(
    ("state", "banner"),
    [
        (AccountState.INACTIVE, "account is inactive — ask your administrator"),
        (AccountState.NO_ACCESS, "has no access to this Leat account — ask your administrator"),
    ],
)
def test_7002_and_7011_wait_under_the_configuration_banner(
    app, client, sandbox_app, sandbox_leat, state, banner
):
    token = csrf_token(client)  # shops are loaded and cached while the account works
    sandbox_app.config[ACCOUNT_CONFIG] = state
    data = {"csrf_token": token, "contact": seed.CONTACT_BRAM, "shop": seed.SHOP_ROTTERDAM}
    answer = client.post("/visits", data=data, headers=HTMX)
    assert answer.status_code == 200
    assert "Pending" in answer.text
    assert banner in html.unescape(answer.text)
    sandbox_app.config[ACCOUNT_CONFIG] = AccountState.ACTIVE
    deliver_waiting(app)
    assert only_record(app).status is Delivery.CONFIRMED
    assert banner not in html.unescape(client.get("/visits").text)


UNKNOWN_CODE = Fault(
    status=400,
    body='{"message": "Visits are frozen for this shop.", "code": 77001, "status_code": 400}',
)


def test_an_unknown_code_shows_leats_words_and_code_on_the_form(client, sandbox):
    sandbox.faults.inject(UNKNOWN_CODE, method="POST", path="/visits", times=1)
    answer = create(client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM)
    assert answer.status_code == 422
    assert "Visits are frozen for this shop (Leat's code 77001)" in text(answer)


def test_an_unknown_code_on_a_later_attempt_needs_attention_and_is_not_retried(
    app, client, sandbox
):
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    create(client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM)
    sandbox.faults.inject(UNKNOWN_CODE, method="POST", path="/visits", times=None)
    deliver_waiting(app)
    record = only_record(app)
    assert (record.status, record.error_code) == (Delivery.ATTENTION, 77001)
    assert "Visits are frozen for this shop (Leat's code 77001)" in text(client.get("/visits"))
    sandbox.faults.calls.clear()
    deliver_waiting(app)
    assert sum(sandbox.faults.calls.values()) == 0


def test_a_visit_whose_contact_was_deleted_or_has_no_email_is_read(app, client, sandbox):
    create(client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM, source="Till")
    record = only_record(app)
    without_contact = visit_json(uuid=record.leat_uuid, contact=None, source="Counter")
    sandbox.faults.inject(Fault(status=200, body=without_contact), method="PUT", times=1)
    answer = save_source(client, record, "Counter")
    assert answer.status_code == 200
    assert "Counter" in text(answer)
    assert "bram.jansen@example.com" in text(answer)  # the portal still knows whose it was
    no_email = visit_json(uuid=record.leat_uuid, contact={"uuid": seed.CONTACT_BRAM, "email": None})
    sandbox.faults.inject(Fault(status=200, body=no_email), method="PUT", times=1)
    assert save_source(client, only_record(app), "Portal").status_code == 200
