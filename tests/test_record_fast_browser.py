"""Recording fast, in Chromium, by keyboard only: what a manager at a busy till presses
to record a regular customer, counted; the suggestions under Contact as a keyboard
and a screen reader meet them; one Tab stop per date and time field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers import launch_path
from playwright.sync_api import expect

from portal.database import db
from portal.leat_sandbox import seed
from portal.models import VisitRecord


class CountedKeyboard:
    """The page's keyboard, counting every key pressed (a letter is one)."""

    def __init__(self, page):
        self.page = page
        self.count = 0

    def type(self, letters: str) -> None:
        self.page.keyboard.type(letters)
        self.count += len(letters)

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.count += 1


def recorded_before(app, *visits: tuple[str, str, timedelta]) -> None:
    """Visits the portal recorded earlier: (shop, contact e-mail, how long ago)."""
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        for shop, email, ago in visits:
            db.session.add(VisitRecord(shop_uuid=shop, contact_email=email, created_at=now - ago))
        db.session.commit()


@pytest.fixture
def shop_manager(browser, live_portal):
    """A tab signed in as the manager of one shop (Amsterdam), as most managers are."""
    context = browser.new_context(base_url=live_portal, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on("console", lambda message: message.type == "error" and tab.errors.append(message.text))
    tab.goto(launch_path(shops=(seed.SHOP_AMSTERDAM,)))
    yield tab
    context.close()


def contact_field(page):
    return page.locator("#create-visit").get_by_role("combobox", name="Contact")


def suggestions(page):
    return page.get_by_role("listbox", name="Recent contacts")


def test_a_regular_customer_is_recorded_in_a_few_letters_and_three_keys(
    app, shop_manager, sandbox_leat
):
    """The README's count: from the page as it opens (Contact focused), the letters
    that single the customer out, Down, Enter to take them, Enter to record."""
    page = shop_manager
    day = timedelta(days=1)
    recorded_before(
        app,
        (seed.SHOP_AMSTERDAM, "anna.devries@example.com", 2 * day),
        (seed.SHOP_AMSTERDAM, "chloe.bakker@example.com", day + timedelta(hours=2)),
        (seed.SHOP_AMSTERDAM, "bram.jansen@example.com", day),  # came yesterday
        (seed.SHOP_UTRECHT, "daan.visser@example.com", day),  # another shop's
    )
    page.goto("/visits")
    contact = contact_field(page)
    expect(contact).to_be_focused()
    keys = CountedKeyboard(page)

    letters = "br"  # "b" alone is Bram and chloe.Bakker
    keys.type(letters)
    expect(suggestions(page).get_by_role("option")).to_have_text(["bram.jansen@example.com"])
    keys.press("ArrowDown")
    expect(suggestions(page).get_by_role("option", selected=True)).to_have_text(
        "bram.jansen@example.com"
    )
    keys.press("Enter")
    expect(contact).to_have_value("bram.jansen@example.com")
    expect(suggestions(page)).to_be_hidden()
    keys.press("Enter")

    row = page.locator("#visit-rows > tr").first
    expect(row).to_contain_text("bram.jansen@example.com")
    expect(page.locator("#announcer")).to_contain_text("recorded")
    assert keys.count == len(letters) + 3
    (visit,) = sandbox_leat.list_visits().visits
    assert visit.contact.uuid == seed.CONTACT_BRAM
    assert abs(visit.starts_at - datetime.now(UTC)) < timedelta(minutes=1)  # now

    # The next customer, in the fresh form: the focus is back on Contact.
    expect(contact).to_be_focused()
    expect(contact).to_have_value("")
    keys = CountedKeyboard(page)
    keys.type("a")
    keys.press("ArrowDown")
    keys.press("Enter")
    keys.press("Enter")
    expect(page.locator("#visit-rows > tr").first).to_contain_text("anna.devries@example.com")
    assert keys.count == 1 + 3
    assert page.errors == []


def test_the_suggestions_are_a_listbox_the_keyboard_drives_and_a_screen_reader_hears(app, page):
    recorded_before(
        app,
        (seed.SHOP_AMSTERDAM, "anna.devries@example.com", timedelta(hours=3)),
        (seed.SHOP_AMSTERDAM, "bram.jansen@example.com", timedelta(hours=2)),
        (seed.SHOP_UTRECHT, "daan.visser@example.com", timedelta(hours=1)),
    )
    page.goto("/visits")
    contact = contact_field(page)
    expect(contact).to_be_focused()
    expect(contact).to_have_attribute("aria-expanded", "false")

    # Down on the empty field: the most recent contacts of all the manager's shops.
    page.keyboard.press("ArrowDown")
    listbox = suggestions(page)
    expect(listbox.get_by_role("option")).to_have_text(
        ["daan.visser@example.com", "bram.jansen@example.com", "anna.devries@example.com"]
    )
    expect(contact).to_have_attribute("aria-expanded", "true")
    expect(contact).to_have_attribute("aria-controls", listbox.get_attribute("id"))
    first = listbox.get_by_role("option").first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(contact).to_have_attribute("aria-activedescendant", first.get_attribute("id"))
    page.keyboard.press("ArrowUp")  # round to the last
    expect(listbox.get_by_role("option", selected=True)).to_have_text("anna.devries@example.com")
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(contact).to_have_attribute("aria-expanded", "false")
    expect(contact).to_have_value("")

    # Matching is where a part of the address begins: "jans" is Bram Jansen.
    page.keyboard.type("jans")
    expect(listbox.get_by_role("option")).to_have_text(["bram.jansen@example.com"])
    expect(page.locator("#create-visit [role=status]")).to_have_text(
        "1 suggestion: Down arrow to choose."
    )
    page.keyboard.press("Escape")

    # Choosing a shop: its own recent contacts only (htmx swaps the datalist).
    page.locator("#create-visit").get_by_label("Shop").select_option(label="Utrecht Oudegracht")
    expect(page.locator("#recent-contacts option")).to_have_count(1)
    contact.fill("")
    contact.focus()
    page.keyboard.press("ArrowDown")
    expect(listbox.get_by_role("option")).to_have_text(["daan.visser@example.com"])
    # A click takes one as well, the focus staying in the field.
    listbox.get_by_role("option").first.click()
    expect(contact).to_have_value("daan.visser@example.com")
    expect(contact).to_be_focused()
    assert page.errors == []


def test_one_tab_stop_per_date_and_time_field(page):
    page.goto("/visits")
    form = page.locator("#create-visit")
    form.get_by_label("Shop").focus()
    for label in ("Date", "Starts at", "Ends at", "Source"):
        page.keyboard.press("Tab")
        expect(form.get_by_label(label, exact=True)).to_be_focused()


def test_a_six_digit_year_cannot_be_typed_into_the_date(page, sandbox_leat):
    page.goto("/visits")
    form = page.locator("#create-visit")
    form.get_by_label("Contact", exact=True).fill("anna.devries@example.com")
    form.get_by_label("Shop").select_option(label="Amsterdam Centrum")
    date = form.get_by_label("Date", exact=True)
    date.focus()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("202605-11-26")
    expect(date).to_have_value("202605-11-")  # ten characters at most
    form.get_by_label("Starts at", exact=True).fill("10:00")
    form.get_by_role("button", name="Create visit").click()
    expect(date).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".error-summary")).to_be_focused()  # it links to the Date
    form.locator(".error-summary").get_by_role("link", name="Date").click()
    expect(date).to_be_focused()
    expect(page.locator("#date-error")).to_contain_text("year-month-day")
    assert sandbox_leat.list_visits().total == 0
