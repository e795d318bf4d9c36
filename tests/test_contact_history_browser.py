"""A contact's history in a real browser: from a row of the visits table to every visit
of that contact, and one click to record another, with JavaScript and without."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from helpers import launch_path
from playwright.sync_api import expect

from portal.leat_sandbox import seed

ANNA = "anna.devries@example.com"


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def carla_page(request, browser, live_portal):
    """A tab signed in as Carla, a manager of Amsterdam only (so "Record a visit now"
    needs no choice of shop); console errors collected on ``.errors``."""
    context = browser.new_context(
        base_url=live_portal,
        java_script_enabled=request.param,
        viewport={"width": 1280, "height": 900},
    )
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.goto(launch_path("carla@example.com", "Carla", shops=(seed.SHOP_AMSTERDAM,)))
    yield tab
    context.close()


def history_rows(page):
    return page.locator("table.history tbody tr")


def test_from_a_row_to_the_contacts_history_and_one_click_for_a_new_visit(carla_page, sandbox_leat):
    page = carla_page
    # A visit made at a till, straight at Leat: the portal never knew it.
    sandbox_leat.create_visit(
        contact_uuid=seed.CONTACT_ANNA,
        shop_uuid=seed.SHOP_ROTTERDAM,
        source="Till 3",
        external_id="till-3",
        starts_at=datetime(2026, 4, 30, 8, 0, tzinfo=UTC),
    )
    page.goto("/visits")
    form = page.locator("#create-visit")
    form.get_by_label("Contact", exact=True).fill(ANNA)
    form.get_by_label("Date", exact=True).fill("2026-05-01")
    form.get_by_label("Starts at", exact=True).fill("10:00")
    form.get_by_role("button", name="Create visit").click()
    row = page.locator("#visit-rows > tr").first
    expect(row).to_contain_text("1 May 2026, 10:00")

    row.get_by_role("link", name=ANNA).click()
    expect(page).to_have_url(re.compile(f"/contacts/{seed.CONTACT_ANNA}/visits$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Visits of {ANNA}")
    expect(history_rows(page)).to_have_count(2)
    expect(history_rows(page).nth(0)).to_contain_text("Amsterdam Centrum")
    expect(history_rows(page).nth(0)).to_contain_text("by Carla")
    expect(history_rows(page).nth(1)).to_contain_text("Recorded outside the portal")
    expect(history_rows(page).nth(1)).to_contain_text("Till 3")

    page.get_by_role("button", name="Record a visit now").click()
    expect(page.locator("#announcer")).to_contain_text(
        f"Visit of {ANNA} at Amsterdam Centrum recorded."
    )
    expect(page.locator("#visit-rows > tr")).to_have_count(2)

    page.locator("#visit-rows > tr").first.get_by_role("link", name=ANNA).click()
    expect(history_rows(page)).to_have_count(3)
    newest = history_rows(page).first  # started when the button was pressed
    expect(newest).to_contain_text("by Carla")
    expect(newest).to_contain_text("Portal")
    assert len(sandbox_leat.list_visits(contact_uuid=seed.CONTACT_ANNA).visits) == 3
    assert page.errors == []


def test_the_history_is_readable_in_a_360_pixel_frame(carla_page, sandbox_leat):
    page = carla_page
    sandbox_leat.create_visit(
        contact_uuid=seed.CONTACT_ANNA,
        shop_uuid=seed.SHOP_ROTTERDAM,
        source="A till with a rather long name",
        external_id="till-" + "0123456789" * 5,
    )
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"/contacts/{seed.CONTACT_ANNA}/visits")
    expect(history_rows(page)).to_have_count(1)
    expect(page.get_by_role("button", name="Record a visit now")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
