"""The demo's simulated Leat outage as a newcomer sees it, in Chromium: a visit
recorded meanwhile waits as pending, and when the outage ends the worker delivers it
and the row turns confirmed while the manager watches, without a reload."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager

import pytest
from flask_migrate import upgrade
from helpers import LAUNCH_SECRET, close_portal, make_portal
from playwright.sync_api import expect

from portal import demo
from portal.database import enable_migrations
from portal.leat_sandbox import seed
from portal.visits import worker


@pytest.fixture
def app(tmp_path):
    """The portal in demo mode (its in-process sandbox), for the ``page`` fixture."""
    app = make_portal(
        {
            "INSTANCE_PATH": tmp_path / "instance",
            "PORTAL_DEMO": True,
            "PORTAL_LAUNCH_SECRET": LAUNCH_SECRET,
        }
    )
    enable_migrations(app)
    with app.app_context():
        upgrade()
    yield app
    close_portal(app)


@contextmanager
def worker_running(app):
    """The demo's leat-sync worker (dev.py serve runs it as a process; a thread here)."""
    stopping = threading.Event()

    def work():
        with app.app_context():
            worker.run(stopping, idle=1.0)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        thread.join(10)


def test_a_visit_recorded_during_an_outage_is_delivered_while_the_manager_watches(
    page, app, monkeypatch
):
    monkeypatch.setattr(demo, "OUTAGE_SECONDS", 5)
    with worker_running(app):
        banner = page.get_by_role("complementary", name="Demo")
        banner.get_by_role("button", name="Simulate a Leat outage").click()
        expect(banner).to_contain_text("Leat outage simulated until")
        expect(banner.get_by_role("button", name="End the outage now")).to_be_visible()

        form = page.locator("#create-visit")
        form.get_by_label("Contact", exact=True).fill("anna.devries@example.com")
        form.get_by_label("Shop").select_option(value=seed.SHOP_UTRECHT)
        form.get_by_role("button", name="Create visit").click()
        row = page.locator("#visit-rows > tr").first
        expect(row).to_contain_text("Pending — not yet confirmed by Leat")
        expect(page.locator("#queue-status")).to_contain_text("1 visit waits for Leat")

        page.evaluate("window.stillTheSamePage = true")
        # The outage ends by itself; the worker sends the visit; the row asks and changes.
        expect(row).to_have_class(re.compile(r"\bstate-confirmed\b"), timeout=25_000)
        expect(row).not_to_contain_text("Pending")
        expect(page.locator("#queue-status")).not_to_contain_text("waits for Leat")
        expect(page.locator("#announcer")).to_contain_text("is now in Leat")
        # The banner, too, says the outage is over.
        expect(banner.get_by_role("button", name="Simulate a Leat outage")).to_be_visible()
        assert page.evaluate("window.stillTheSamePage") is True  # no reload
    assert page.errors == []
