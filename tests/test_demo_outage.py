"""The demo banner's "Simulate a Leat outage": a CSRF-protected switch, in demo mode
only, that every process's sandbox obeys; and a pending row that updates itself."""

from __future__ import annotations

from helpers import HTMX, browser_at, csrf_token, demo_portal, post_visit, signed_in, soup, text

from portal import demo
from portal.database import db
from portal.leat_sandbox import seed
from portal.models import DeliveryPause
from portal.visits import delivery, pause

VISIT = {
    "contact": "anna.devries@example.com",
    "shop": seed.SHOP_UTRECHT,
    "date": "2026-05-01",
    "starts_at": "10:00",
}


def demo_browser(app):
    browser = browser_at(app, "127.0.0.1")
    [link] = [a["href"] for a in soup(browser.get("/visits")).select('a[href*="/launch?"]')]
    assert browser.get(link.removeprefix("http://localhost")).status_code == 303
    return browser


def banner(response):
    return soup(response).select_one('aside[aria-label="Demo"]')


def test_outside_demo_mode_there_is_no_outage_switch(app):
    browser = signed_in(app)
    token = csrf_token(browser)
    assert browser.post("/demo/outage", data={"csrf_token": token}).status_code == 404
    assert browser.post("/demo/outage/end", data={"csrf_token": token}).status_code == 404
    assert banner(browser.get("/visits")) is None


def test_the_switch_needs_the_sessions_csrf_token(tmp_path):
    app = demo_portal(tmp_path)
    browser = demo_browser(app)
    assert browser.post("/demo/outage", data={}).status_code == 400
    assert browser.post("/demo/outage", data={"csrf_token": "forged"}).status_code == 400
    assert demo.outage_until(app.instance_path) is None


def test_an_outage_makes_creates_wait_and_its_end_lets_them_through(tmp_path):
    app = demo_portal(tmp_path)
    browser = demo_browser(app)
    page = browser.get("/visits")
    assert "Simulate a Leat outage" in text(banner(page))  # in a landmark: an <aside>

    on = browser.post("/demo/outage", data={"csrf_token": csrf_token(page)})
    assert on.status_code == 303
    page = browser.get("/visits")
    assert "Leat outage simulated until" in text(banner(page))
    assert "End the outage now" in text(banner(page))
    assert demo.outage_until(app.instance_path) is not None
    assert banner(page)["hx-trigger"] == "every 5s"  # the banner asks whether it is over
    assert browser.get("/demo/banner", headers=HTMX).status_code == 204  # not yet

    created = post_visit(browser, **VISIT)
    row = soup(created).select_one("tr.visit-row")
    assert "state-pending" in row["class"]
    assert "Leat is down for maintenance" in text(created)
    watch = row["hx-get"]
    assert row["hx-trigger"] == "every 3s"
    assert browser.get(watch, headers=HTMX).status_code == 204  # nothing to swap yet
    with app.app_context():
        # The demo's waits are short, whatever production's are.
        waiting = db.session.get(DeliveryPause, pause.PAUSE_ID)
        assert (waiting.until - waiting.since).total_seconds() <= demo.LONGEST_WAIT_SECONDS
        assert delivery.drain() == 0  # still paused

    off = browser.post("/demo/outage/end", data={"csrf_token": csrf_token(page)})
    assert off.status_code == 303
    assert demo.outage_until(app.instance_path) is None
    assert "Simulate a Leat outage" in text(banner(browser.get("/visits")))
    over = browser.get("/demo/banner", headers=HTMX)
    assert over.status_code == 200
    assert "Simulate a Leat outage" in text(banner(over))
    assert banner(over).get("hx-trigger") is None
    with app.app_context():
        assert pause.current() is None  # the end of the outage lifts the queue's pause
        db.session.execute(db.text("update visit_records set next_attempt_at = null"))
        db.session.commit()
        assert delivery.drain() == 1  # (the worker's part, done here by hand)

    answer = browser.get(watch, headers=HTMX)
    assert answer.status_code == 200
    row = soup(answer).select_one("tr.visit-row")
    assert "state-confirmed" in row["class"]
    assert row.get("hx-get") is None  # it stops asking
    assert "is now in Leat" in text(answer)  # for the announcer


def test_a_timed_outage_ends_by_itself(tmp_path):
    app = demo_portal(tmp_path)
    demo.start_outage(app.instance_path, seconds=-1)
    assert demo.outage_until(app.instance_path) is None


def test_outside_demo_mode_waits_keep_their_production_length(app):
    with app.app_context():
        assert app.config.get("PORTAL_LONGEST_DELIVERY_WAIT") is None
        assert pause.shortened(600.0) == 600.0
