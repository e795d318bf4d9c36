"""Rate limits: sign-in per client address, writes per manager. Each test sets a tiny
limit and sends one request more than it allows (no waiting: the windows are a minute
long, and every test's portal counts from zero)."""

from __future__ import annotations

import pytest
from helpers import (
    HTMX,
    LAUNCH_SECRET,
    browser_at,
    csrf_token,
    launch_path,
    only_record,
    portal_app,
    portal_config,
    post_visit,
    save_visit,
    signed_in,
    soup,
    text,
)

from portal.auth.launch import mint
from portal.config import from_environ
from portal.leat_sandbox import seed

VISIT = {"contact": "anna.devries@example.com", "shop": seed.SHOP_AMSTERDAM}
TOO_MANY = "Too many requests reached the portal in a short time"


@pytest.fixture
def limited_app(tmp_path, sandbox, database_url):
    """The portal allowing 2 writes a minute per manager and 2 sign-ins per address."""
    config = portal_config(tmp_path, database_url, sandbox)
    config.update(PORTAL_RATE_LIMIT_WRITES="2/minute", PORTAL_RATE_LIMIT_LAUNCH="2/minute")
    with portal_app(config) as portal:
        yield portal


def assert_too_many(response, *, htmx: bool) -> None:
    """A 429 in the portal's words, with when to come back."""
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert TOO_MANY in text(response)
    if htmx:
        assert response.headers["HX-Retarget"] == "#alerts"
        assert soup(response).find("html") is None
    else:
        assert soup(response).h1.get_text() == "Too many requests"


def test_the_defaults_are_beyond_an_honest_manager():
    config = from_environ({}, "/srv/instance")
    assert config["PORTAL_RATE_LIMIT_WRITES"] == "30/minute"
    assert config["PORTAL_RATE_LIMIT_LAUNCH"] == "20/minute"


# -- writes, per manager ---------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [True, False])
def test_a_write_over_the_limit_is_refused_with_retry_after(limited_app, sandbox_leat, htmx):
    anna = signed_in(limited_app)
    for _ in range(2):
        assert post_visit(anna, htmx=htmx, **VISIT).status_code in (200, 303)
    refused = post_visit(anna, htmx=htmx, **VISIT)
    assert_too_many(refused, htmx=htmx)
    assert sandbox_leat.list_visits().total == 2  # the third never reached Leat
    # Reading is not limited.
    assert anna.get("/visits").status_code == 200


def test_every_kind_of_write_counts_against_one_budget(limited_app):
    anna = signed_in(limited_app)
    assert post_visit(anna, **VISIT).status_code == 200
    record = only_record(limited_app).id
    fields = {"date": "2026-05-01", "starts_at": "10:00", "source": "Corrected"}
    assert save_visit(anna, record, **fields).status_code == 200
    token = {"csrf_token": csrf_token(anna)}
    for action in ("retry", "record-again", "set-aside"):
        response = anna.post(f"/visits/{record}/{action}", data=token, headers=HTMX)
        assert_too_many(response, htmx=True)
    assert_too_many(save_visit(anna, record, **fields), htmx=True)
    assert_too_many(save_visit(anna, record, htmx=False, **fields), htmx=False)


def test_the_count_is_per_manager_not_per_address(limited_app):
    anna = signed_in(limited_app)
    for _ in range(2):
        assert post_visit(anna, **VISIT).status_code == 200
    assert post_visit(anna, **VISIT).status_code == 429
    # Another manager at the same address (one shop's network) still records visits...
    bob = signed_in(limited_app, manager_id="bob@example.com")
    assert post_visit(bob, **VISIT).status_code == 200
    # ...and the same manager in a new session, from elsewhere, has no new count.
    anna_at_home = browser_at(limited_app, "198.51.100.4")
    assert anna_at_home.get(launch_path()).status_code == 303
    assert post_visit(anna_at_home, **VISIT).status_code == 429


def test_a_refused_write_without_a_session_or_token_is_not_counted(limited_app):
    anna = signed_in(limited_app)
    for _ in range(3):
        assert anna.post("/visits", data=VISIT, headers=HTMX).status_code == 400  # no CSRF
    assert post_visit(anna, **VISIT).status_code == 200


# -- sign-in, per address ----------------------------------------------------------------------


def test_sign_in_over_the_limit_is_refused_with_retry_after(limited_app):
    for _ in range(2):
        assert browser_at(limited_app, "203.0.113.7").get(launch_path()).status_code == 303
    token = mint(LAUNCH_SECRET, manager_id="anna@example.com", name="Anna", shops=["*"])
    third = browser_at(limited_app, "203.0.113.7")
    assert_too_many(third.get(f"/launch?token={token}"), htmx=False)
    assert third.get("/visits").status_code == 401
    # Refused before it was checked: the link is not spent, and works from elsewhere.
    assert browser_at(limited_app, "198.51.100.4").get(f"/launch?token={token}").status_code == 303


def test_posted_and_linked_sign_ins_share_the_count(limited_app):
    def token():
        return mint(LAUNCH_SECRET, manager_id="anna@example.com", name="Anna", shops=["*"])

    browser = browser_at(limited_app, "203.0.113.7")
    assert browser.post("/launch", data={"token": token()}).status_code == 303
    assert browser.get(f"/launch?token={token()}").status_code == 303
    assert_too_many(browser.post("/launch", data={"token": token()}), htmx=False)
    assert_too_many(browser.get(f"/launch?token={token()}", headers=HTMX), htmx=True)


def test_refused_links_count_too(limited_app):
    # Guessing or replaying tokens is what the limit is for.
    browser = browser_at(limited_app, "203.0.113.7")
    for _ in range(2):
        assert browser.get("/launch?token=guess").status_code == 401
    assert_too_many(browser.get(launch_path()), htmx=False)


def test_behind_the_router_the_client_address_is_counted(limited_app):
    # PORTAL_PROXY_HOPS=1: every request comes from the router; X-Forwarded-For names
    # the client, and each client has a count of its own.
    router = browser_at(limited_app, "10.0.0.1")
    for _ in range(2):
        response = router.get(launch_path(), headers={"X-Forwarded-For": "203.0.113.7"})
        assert response.status_code == 303
    other = router.get(launch_path(), headers={"X-Forwarded-For": "198.51.100.4"})
    assert other.status_code == 303
    again = router.get(launch_path(), headers={"X-Forwarded-For": "203.0.113.7"})
    assert again.status_code == 429


def test_reading_is_never_limited_nor_counted(limited_app):
    # Pages, fragments and polls are not writes: as many as a manager likes, and the
    # two writes allowed are still there after them.
    anna = signed_in(limited_app)
    for _ in range(5):
        assert anna.get("/visits").status_code == 200
        assert anna.get("/visits/recent-contacts", headers=HTMX).status_code == 200
    assert post_visit(anna, **VISIT).status_code == 200
    assert post_visit(anna, **VISIT).status_code == 200
    assert_too_many(post_visit(anna, **VISIT), htmx=True)
