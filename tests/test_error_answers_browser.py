"""Error answers in a real browser: whatever an htmx request aimed at a table row gets
back, nothing lands in the row; the manager reads what happened in the message area,
and the keyboard's place is the message.

Requests are fired at the first row of the table the way its own buttons fire them
(source and target the row, outerHTML), or by clicking the row's real Edit button.
"""

from __future__ import annotations

import pytest
from error_triggers import (
    NOT_ANSWERED_PROPERLY,
    NOT_REACHED,
    PAGE_EXPIRED,
    WORDS,
    csrf_token,
    with_failing_routes,
)
from helpers import launch_path, soup
from playwright.sync_api import expect

from portal.database import db
from portal.leat_sandbox import seed
from portal.models import VisitRecord
from portal.security import MAX_REQUEST_BYTES


@pytest.fixture
def app(app):
    return with_failing_routes(app)


def record_a_visit(app, shop=seed.SHOP_AMSTERDAM):
    """A visit recorded through the portal by another tab of a manager of every shop."""
    client = app.test_client()
    assert client.get(launch_path()).status_code == 303
    fields = {
        "csrf_token": csrf_token(client),
        "contact": "anna.devries@example.com",
        "shop": shop,
        "date": "2026-05-01",
        "starts_at": "10:00",
    }
    assert client.post("/visits", data=fields, headers={"HX-Request": "true"}).status_code == 200


def rows(page):
    return page.locator("#visit-rows > tr")


def message(page):
    return page.locator("#alerts .alert")


@pytest.fixture
def table(app, page):
    """The visits page with one row; yields the table body's HTML as it was."""
    record_a_visit(app)
    page.goto("/visits")
    expect(rows(page)).to_have_count(1)
    return page.locator("#visit-rows").inner_html()


def fire_at_row(page, method, url, values=None):
    """An htmx request from the first row, whose answer would replace that row."""
    page.evaluate(
        """([method, url, values]) => {
            const row = document.querySelector("#visit-rows > tr");
            htmx.ajax(method, url, {source: row, target: row, swap: "outerHTML", values});
        }""",
        [method, url, values],
    )


def assert_said_and_row_untouched(page, table, words):
    expect(message(page)).to_contain_text(words)
    expect(message(page)).to_be_visible()
    expect(message(page)).to_be_focused()
    # Once htmx has put back what it changes while a request runs (the requesting
    # element's class, its disabled buttons), the table is as it was.
    body = page.locator("#visit-rows")
    expect(body.locator(".htmx-request, [disabled]")).to_have_count(0)
    assert without_htmx_marks(body.inner_html()) == without_htmx_marks(table)


def without_htmx_marks(html):
    """The markup parsed, less the mark htmx puts on an element it has set up (htmx.ajax
    sets up the row it is given); two compare equal when their trees are the same."""
    doc = soup(html)
    for element in doc.find_all(attrs={"data-htmx-powered": "true"}):
        del element["data-htmx-powered"]
    return doc


def edit_button(page):
    return rows(page).first.get_by_role("button", name="Edit")


# -- the portal's own answers, one per status -------------------------------------------


def test_400_csrf_token_no_longer_valid(page, table):
    page.locator('meta[name="csrf-token"]').evaluate("meta => meta.content = 'stale'")
    fire_at_row(page, "POST", "/visits")
    assert_said_and_row_untouched(page, table, PAGE_EXPIRED)
    assert page.errors == []


def test_400(page, table):
    fire_at_row(page, "GET", "/test-failing/400")
    assert_said_and_row_untouched(page, table, WORDS[400])
    assert page.errors == []


def test_401_the_session_ended_under_a_real_edit(page, table):
    page.context.clear_cookies()
    edit_button(page).click()
    assert_said_and_row_untouched(page, table, WORDS[401])
    assert page.errors == []


def test_403_creating_for_a_shop_the_manager_may_not_use(page, table):
    page.goto(launch_path(manager_id="amsterdam@example.com", shops=(seed.SHOP_AMSTERDAM,)))
    expect(rows(page)).to_have_count(1)
    table = page.locator("#visit-rows").inner_html()
    values = {"contact": "anna.devries@example.com", "shop": seed.SHOP_UTRECHT}
    fire_at_row(page, "POST", "/visits", values)
    assert_said_and_row_untouched(page, table, WORDS[403])
    assert page.errors == []


def test_404_a_real_edit_after_the_visit_was_deleted_underneath(app, page, table):
    with app.app_context():
        db.session.execute(db.delete(VisitRecord))
        db.session.commit()
    edit_button(page).click()
    assert_said_and_row_untouched(page, table, WORDS[404])
    assert page.errors == []


def test_404_unknown_url_and_the_next_request_clears_the_message(page, table):
    fire_at_row(page, "GET", "/no-such-page")
    assert_said_and_row_untouched(page, table, WORDS[404])
    # The message was about that request; the next one starts with an empty area.
    edit_button(page).click()
    expect(page.locator("form.row-editor")).to_be_visible()
    expect(page.locator("#alerts")).to_be_empty()
    assert page.errors == []


def test_405_wrong_method(page, table):
    fire_at_row(page, "GET", "/sign-out")
    assert_said_and_row_untouched(page, table, WORDS[405])
    assert page.errors == []


def test_413_too_much_to_send(page, table):
    fire_at_row(page, "POST", "/visits", {"source": "x" * MAX_REQUEST_BYTES})
    assert_said_and_row_untouched(page, table, WORDS[413])
    assert page.errors == []


@pytest.mark.parametrize("code", [422, 429, 500, 502, 503])
def test_failing_route(page, table, code):
    fire_at_row(page, "GET", f"/test-failing/{code}")
    assert_said_and_row_untouched(page, table, WORDS[code])
    assert page.errors == []


def test_500_unexpected_exception(page, table):
    fire_at_row(page, "GET", "/test-failing/exception")
    assert_said_and_row_untouched(page, table, WORDS[500])
    assert page.errors == []


# -- answers that are not the portal's: the fallback in static/js/portal.js ---------------

NOT_THE_PORTALS = {
    "a proxy's 502 page": (502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "gunicorn's 400 page": (
        400,
        "<html><head><title>Bad Request</title></head><body><h1><p>Bad Request</p></h1>"
        "Invalid request line</body></html>",
    ),
    "a router's plain 503": (503, "Service Unavailable"),
}


@pytest.mark.parametrize("case", NOT_THE_PORTALS)
def test_an_error_answer_from_outside_flask_is_not_swapped(page, table, case):
    status, body = NOT_THE_PORTALS[case]
    edit_url = rows(page).first.locator("[hx-get]").first.get_attribute("hx-get")
    page.route(
        lambda url: url.endswith(edit_url),
        lambda route: route.fulfill(status=status, body=body, content_type="text/html"),
    )
    edit_button(page).click()
    assert_said_and_row_untouched(page, table, NOT_ANSWERED_PROPERLY)
    expect(page.locator("#visit-rows")).not_to_contain_text(body[-20:])


def test_no_answer_at_all(page, table):
    edit_url = rows(page).first.locator("[hx-get]").first.get_attribute("hx-get")
    page.route(lambda url: url.endswith(edit_url), lambda route: route.abort("failed"))
    edit_button(page).click()
    assert_said_and_row_untouched(page, table, NOT_REACHED)
    # The Edit button works again once the connection is back.
    page.unroute_all()
    edit_button(page).click()
    expect(page.locator("form.row-editor")).to_be_visible()
