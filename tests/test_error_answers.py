"""Every error the portal answers, in both shapes, through Flask's test client.

To htmx (HX-Request): the portal's own words in the page's message area, aimed there
with HX-Retarget/HX-Reswap, so nothing lands in the row or form the request came
from. To a browser: a whole page in the portal's layout, with the status, the
security headers and a way on. Never Werkzeug's own page.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from error_triggers import (
    PAGE_EXPIRED,
    RETRY_AFTER,
    WERKZEUG_TITLES,
    WERKZEUG_WORDS,
    WORDS,
    csrf_token,
    with_failing_routes,
)
from helpers import assert_security_headers, launch_path, soup, top_elements

from portal.leat_sandbox import seed
from portal.security import MAX_REQUEST_BYTES

HTMX = {"HX-Request": "true"}


@pytest.fixture
def app(app):
    return with_failing_routes(app)


def signed_in(app, *shops, manager_id="anna@example.com"):
    client = app.test_client()
    assert client.get(launch_path(manager_id=manager_id, shops=shops or ("*",))).status_code == 303
    return client


def create_fields(client, shop=seed.SHOP_AMSTERDAM, **extra) -> dict:
    return {
        "csrf_token": csrf_token(client),
        "contact": "anna.devries@example.com",
        "shop": shop,
        "date": "2026-05-01",
        "starts_at": "10:00",
        **extra,
    }


def edit_url_of_another_shops_visit(app) -> str:
    """A visit of Utrecht's, recorded by its manager; its Edit as their page links it."""
    utrecht = signed_in(app, seed.SHOP_UTRECHT, manager_id="ursula@example.com")
    fields = create_fields(utrecht, shop=seed.SHOP_UTRECHT)
    assert utrecht.post("/visits", data=fields, headers=HTMX).status_code == 200
    edit = soup(utrecht.get("/visits")).select_one("#visit-rows [hx-get]")
    assert edit is not None, "no row with an Edit"
    return edit["hx-get"]


# Each trigger makes a request with the given extra headers and returns the answer.
Trigger = Callable[..., object]


def csrf_missing(app, headers):
    client = signed_in(app)
    fields = create_fields(client)
    del fields["csrf_token"]
    return client.post("/visits", data=fields, headers=headers)


def csrf_bad(app, headers):
    client = signed_in(app)
    return client.post("/visits", data=create_fields(client, csrf_token="old"), headers=headers)


def bad_request(app, headers):
    return signed_in(app).get("/test-failing/400", headers=headers)


def no_session(app, headers):
    return app.test_client().post("/visits", data={"contact": "x"}, headers=headers)


def another_shop(app, headers):
    amsterdam = signed_in(app, seed.SHOP_AMSTERDAM)
    fields = create_fields(amsterdam, shop=seed.SHOP_UTRECHT)
    return amsterdam.post("/visits", data=fields, headers=headers)


def unknown_url(app, headers):
    return signed_in(app).get("/no-such-page", headers=headers)


def another_shops_visit(app, headers):
    edit_url = edit_url_of_another_shops_visit(app)
    return signed_in(app, seed.SHOP_AMSTERDAM).get(edit_url, headers=headers)


def wrong_method(app, headers):
    return signed_in(app).get("/sign-out", headers=headers)


def too_big(app, headers):
    client = signed_in(app)
    fields = create_fields(client, source="x" * MAX_REQUEST_BYTES)
    return client.post("/visits", data=fields, headers=headers)


def failing_route(code: int) -> Trigger:
    return lambda app, headers: signed_in(app).get(f"/test-failing/{code}", headers=headers)


def exception(app, headers):
    return signed_in(app).get("/test-failing/exception", headers=headers)


CASES = {
    "400 CSRF token missing": (csrf_missing, 400, PAGE_EXPIRED),
    "400 CSRF token wrong": (csrf_bad, 400, PAGE_EXPIRED),
    "400": (bad_request, 400, WORDS[400]),
    "401 no session": (no_session, 401, WORDS[401]),
    "403 another shop": (another_shop, 403, WORDS[403]),
    "404 unknown URL": (unknown_url, 404, WORDS[404]),
    "404 another shop's visit": (another_shops_visit, 404, WORDS[404]),
    "405 wrong method": (wrong_method, 405, WORDS[405]),
    "413 too big": (too_big, 413, WORDS[413]),
    "422 outside a form": (failing_route(422), 422, WORDS[422]),
    "429": (failing_route(429), 429, WORDS[429]),
    "500 abort": (failing_route(500), 500, WORDS[500]),
    "500 unexpected exception": (exception, 500, WORDS[500]),
    "502": (failing_route(502), 502, WORDS[502]),
    "503": (failing_route(503), 503, WORDS[503]),
}


def assert_nothing_of_werkzeug(response):
    for words in WERKZEUG_WORDS:
        assert words not in response.text
    titles = [title.get_text() for title in soup(response).find_all("title")]
    assert not set(titles) & set(WERKZEUG_TITLES)


def assert_answer_headers(response):
    assert_security_headers(response)
    # An error answer may quote what the manager sent: no cache keeps it.
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("case", CASES)
def test_an_htmx_request_gets_a_message_in_the_message_area(app, case):
    trigger, status, words = CASES[case]
    response = trigger(app, HTMX)
    assert response.status_code == status
    assert response.headers["HX-Retarget"] == "#alerts"
    assert response.headers["HX-Reswap"] == "innerHTML"
    assert response.headers["X-Portal-Answer"] == "1"
    assert words in response.text
    assert soup(response).find("html") is None
    # One message that htmx focuses once it is swapped in; at its end, perhaps a link on.
    (message,) = top_elements(response)
    assert message.name == "p"
    assert message.attrs == {"class": ["alert"], "tabindex": "-1", "autofocus": ""}
    inside = message.find_all(True)
    if inside:
        (link,) = inside
        assert (link.name, link.attrs) == ("a", {"href": "/visits"})
        assert link is message.contents[-1]
        assert link.get_text()
    assert_nothing_of_werkzeug(response)
    assert_answer_headers(response)


@pytest.mark.parametrize("case", CASES)
def test_a_browser_gets_a_page_in_the_portals_layout(app, case):
    trigger, status, words = CASES[case]
    response = trigger(app, {})
    assert response.status_code == status
    page = response.text
    assert page.startswith("<!doctype html>")
    assert soup(page).find(id="alerts") is not None  # base.html
    assert "HX-Retarget" not in response.headers
    assert "X-Portal-Answer" not in response.headers
    if status == 401:
        assert "Open the visits portal from your company intranet" in page
    else:
        assert words in page
        assert soup(page).find("a", href="/visits") is not None  # the way on
    assert_nothing_of_werkzeug(response)
    assert_answer_headers(response)


def test_405_keeps_allow(app):
    for headers in (HTMX, {}):
        response = wrong_method(app, headers)
        assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_is_kept(app, code):
    for headers in (HTMX, {}):
        response = failing_route(code)(app, headers)
        assert response.headers["Retry-After"] == str(RETRY_AFTER)


def test_a_form_that_fails_validation_is_still_answered_in_place(client):
    # A 422 with the form and its errors is swapped where the form is; it carries the
    # mark by which portal.js tells it from an error page that is not the portal's.
    fields = create_fields(client, contact="not an address")
    response = client.post("/visits", data=fields, headers=HTMX)
    assert response.status_code == 422
    assert "HX-Retarget" not in response.headers
    assert response.headers["X-Portal-Answer"] == "1"
    assert soup(response).find("form", id="create-visit") is not None


def test_a_successful_htmx_answer_is_not_marked(client):
    response = client.post("/visits", data=create_fields(client), headers=HTMX)
    assert response.status_code == 200
    assert "X-Portal-Answer" not in response.headers


def test_an_unexpected_exception_is_logged_with_its_traceback(app, capsys):
    client = signed_in(app)
    capsys.readouterr()
    assert client.get("/test-failing/exception", headers=HTMX).status_code == 500
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (logged,) = [line for line in lines if line["event"] == "unexpected error"]
    assert logged["level"] == "error"
    assert (logged["method"], logged["path"]) == ("GET", "/test-failing/exception")
    assert logged["error"] == "RuntimeError: a bug the portal did not expect"
    assert logged["traceback"].startswith("Traceback (most recent call last):")
    assert "in unexpected" in logged["traceback"]  # the frame that raised
    assert logged["request_id"]


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "page"])
def test_an_error_answer_that_cannot_be_rendered_still_says_it_plainly(app, monkeypatch, headers):
    client = signed_in(app)

    def broken(*args, **kwargs):
        raise RuntimeError("a template that fails")

    monkeypatch.setattr("portal.errors.render_template", broken)
    response = client.get("/no-such-page", headers=headers)
    assert response.status_code == 404
    assert WORDS[404] in response.text
    assert_nothing_of_werkzeug(response)
    assert_answer_headers(response)
    if headers:
        assert response.headers["HX-Retarget"] == "#alerts"
        assert soup(response).find("html") is None
    else:
        assert soup(response).find("a", href="/visits") is not None
