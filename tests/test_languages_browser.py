"""The scripts speak the page's language, in Chromium: their words come from the page
(``data-msg-*`` on <body>), not from English in static/js."""

from __future__ import annotations

import pytest
from helpers import LAUNCH_SECRET
from playwright.sync_api import expect

from portal.auth.launch import mint
from portal.database import db
from portal.leat_sandbox import seed
from portal.models import VisitRecord


@pytest.fixture
def dutch_tab(browser, live_portal, app):
    """A tab signed in by a launch link with ``locale: nl``, in an English browser."""
    with app.app_context():
        for email in ("bram.jansen@example.com", "chloe.bakker@example.com"):
            db.session.add(VisitRecord(shop_uuid=seed.SHOP_AMSTERDAM, contact_email=email))
        db.session.commit()
    context = browser.new_context(base_url=live_portal, locale="en-GB")
    tab = context.new_page()
    token = mint(
        LAUNCH_SECRET, manager_id="anna@example.com", name="Anna", shops=["*"], locale="nl"
    )
    tab.goto(f"/launch?token={token}")
    yield tab
    context.close()


def test_the_scripts_words_are_dutch_on_a_dutch_page(dutch_tab):
    page = dutch_tab
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    contact = page.locator("#create-visit").get_by_role("combobox", name="Contact")
    contact.focus()
    page.keyboard.type("b")  # bram.jansen@…, chloe.bakker@…
    status = page.locator("#create-visit [role=status]")
    expect(status).to_have_text("2 suggesties: pijl omlaag om te kiezen.")
    page.keyboard.type("r")
    expect(status).to_have_text("1 suggestie: pijl omlaag om te kiezen.")

    # No answer at all (the network is down): portal.js says so, in Dutch.
    page.route("**/visits/recent-contacts**", lambda route: route.abort("failed"))
    page.locator("#create-visit").get_by_label("Winkel").select_option(label="Webshop")
    expect(page.locator("#alerts")).to_contain_text("Het portaal was niet bereikbaar")
