"""No dead ends at sign-in: a used or expired launch link, opened again by the manager
whose session is still active here (a reload of the intranet's frame, Back), goes on
to the visits page; any other refusal says what to do, without contradicting itself."""

from __future__ import annotations

import time

import pytest
from helpers import (
    LAUNCH_SECRET,
    browser_at,
    demo_portal,
    launch_path,
    signed_in,
    soup,
    text,
)

from portal.auth.launch import mint
from portal.leat_sandbox import seed

RELOAD = "Reload the intranet page to sign in again"


def link(manager_id="anna@example.com", shops=("*",), issued=None, secret=LAUNCH_SECRET) -> str:
    token = mint(secret, manager_id=manager_id, name="Anna", shops=shops, now=issued)
    return f"/launch?token={token}"


def expired_link(manager_id="anna@example.com", shops=("*",)) -> str:
    # Issued 10 minutes ago with a 5-minute lifetime: past exp and the 30 s leeway.
    return link(manager_id, shops, issued=time.time() - 600)


def refused_page(response) -> None:
    assert response.status_code == 401
    assert RELOAD in text(response)


def top_bar(response):
    return soup(response).select_one("header.topbar")


def launched(browser, path: str, method: str):
    if method == "GET":
        return browser.get(path)
    return browser.post("/launch", data={"token": path.removeprefix("/launch?token=")})


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_used_link_of_the_signed_in_manager_goes_on_to_the_visits(app, method):
    path = launch_path()
    browser = app.test_client()
    assert browser.get(path).status_code == 303
    again = launched(browser, path, method)  # the intranet's frame reloaded
    assert again.status_code == 303
    assert again.headers["Location"] == "/visits"
    assert browser.get("/visits").status_code == 200


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_expired_link_of_the_signed_in_manager_goes_on_to_the_visits(app, method):
    browser = signed_in(app)
    again = launched(browser, expired_link(), method)
    assert again.status_code == 303
    assert again.headers["Location"] == "/visits"


def test_going_on_keeps_the_sessions_shops(app):
    # The session is of one shop; an old link naming every shop must not widen it.
    browser = signed_in(app, seed.SHOP_UTRECHT)
    assert browser.get(expired_link()).status_code == 303
    page = soup(browser.get("/visits"))
    shops = {option["value"] for option in page.select("select#shop option") if option["value"]}
    assert shops == {seed.SHOP_UTRECHT}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_used_link_without_a_session_is_refused_with_what_to_do(app, method):
    path = launch_path()
    assert app.test_client().get(path).status_code == 303
    browser = app.test_client()  # another browser: a leaked link
    refused = launched(browser, path, method)
    refused_page(refused)
    assert "already been used" in text(refused)
    assert soup(refused).h1.get_text() == "You are not signed in"
    assert top_bar(refused) is None
    assert browser.get("/visits").status_code == 401


def test_an_expired_link_without_a_session_is_refused(app):
    refused = app.test_client().get(expired_link())
    refused_page(refused)
    assert "expired" in text(refused)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_used_link_of_another_manager_is_refused_and_the_session_stays(app, method):
    path = launch_path(manager_id="bram@example.com", name="Bram")
    assert app.test_client().get(path).status_code == 303
    browser = signed_in(app, seed.SHOP_UTRECHT)  # Anna's session
    refused = launched(browser, path, method)
    refused_page(refused)
    # Consistent: still Anna's session, said so, and not "You are not signed in".
    assert soup(refused).h1.get_text() == "This sign-in link was refused"
    assert "Anna" in top_bar(refused).get_text()
    assert "still signed in as Anna" in text(refused)
    assert browser.get("/visits").status_code == 200


def test_an_expired_link_of_another_manager_is_refused(app):
    browser = signed_in(app)
    refused_page(browser.get(expired_link(manager_id="bram@example.com")))


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_link_naming_the_signed_in_manager_is_refused(app, method):
    browser = signed_in(app)
    forged = link(secret="another-secret-of-enough-length-000000")
    refused = launched(browser, forged, method)
    refused_page(refused)
    assert "This sign-in link is not valid." in text(refused)
    forged_expired = link(secret="another-secret-of-enough-length-000000", issued=time.time() - 600)
    refused_page(launched(browser, forged_expired, method))


def test_a_malformed_link_naming_the_signed_in_manager_is_refused(app):
    browser = signed_in(app)
    # Signed, but "*" among shop uuids: malformed, so refused whoever is signed in.
    refused_page(browser.get(link(shops=("*", seed.SHOP_UTRECHT))))


def demo_links(response) -> list[str]:
    return [a["href"] for a in soup(response).select('a[href*="/launch?token="]')]


def test_in_demo_mode_the_refused_page_offers_a_fresh_link_on_this_machine_only(tmp_path):
    app = demo_portal(tmp_path)
    secret = app.config["PORTAL_LAUNCH_SECRET"]
    used = link(secret=secret)
    assert app.test_client().get(used).status_code == 303
    here = browser_at(app, "127.0.0.1").get(used)
    refused_page(here)
    [fresh] = demo_links(here)
    assert (
        browser_at(app, "127.0.0.1").get(fresh.removeprefix("http://localhost")).status_code == 303
    )
    elsewhere = browser_at(app, "203.0.113.7").get(used)
    refused_page(elsewhere)
    assert demo_links(elsewhere) == []
