"""The visits page in a real browser: Debian's Chromium, driven by Playwright, against
the portal and the Leat sandbox served over loopback."""

from __future__ import annotations

import pytest
from helpers import launch_path
from playwright.sync_api import expect

from portal.leat_sandbox import seed


def create_form(page):
    return page.locator("#create-visit")


def fill_create(page, contact="anna.devries@example.com", shop="Amsterdam Centrum", **fields):
    form = create_form(page)
    form.get_by_label("Contact", exact=True).fill(contact)
    form.get_by_label("Shop").select_option(label=shop)
    for label, value in fields.items():
        form.get_by_label(
            label.replace("_", " ").capitalize().replace("id", "ID"), exact=True
        ).fill(value)
    return form


def rows(page):
    return page.locator("#visit-rows > tr")


def test_create_a_visit_and_see_its_row_without_a_reload(page, sandbox_leat):
    page.goto("/visits")
    page.evaluate("window.notReloaded = true")
    form = fill_create(page, date="2026-05-01", starts_at="10:00", ends_at="11:30")
    form.get_by_label("Source").fill("Till 1")
    form.get_by_role("button", name="Create visit").click()

    row = rows(page).first
    expect(row).to_contain_text("anna.devries@example.com")
    expect(row).to_contain_text("Amsterdam Centrum")
    expect(row).to_contain_text("1 May 2026, 10:00")
    expect(row).to_contain_text("1 May 2026, 11:30")
    expect(row).to_contain_text("Till 1")
    expect(page.locator("#announcer")).to_contain_text("recorded")
    expect(form.get_by_label("Contact", exact=True)).to_be_focused()
    # The form is fresh for the next visit, with the shop and the day still chosen.
    expect(form.get_by_label("Contact", exact=True)).to_have_value("")
    expect(form.get_by_label("Shop")).to_have_value(seed.SHOP_AMSTERDAM)
    expect(form.get_by_label("Date", exact=True)).to_have_value("2026-05-01")
    expect(form.get_by_label("Starts at", exact=True)).to_have_value("")
    expect(form.get_by_label("Ends at", exact=True)).to_have_value("")
    assert page.evaluate("window.notReloaded") is True
    assert sandbox_leat.list_visits().total == 1
    assert page.errors == []


def test_edit_inline_and_see_the_new_values(page, sandbox_leat):
    page.goto("/visits")
    page.evaluate("window.notReloaded = true")
    fill_create(page, date="2026-05-01", starts_at="10:00")
    create_form(page).get_by_role("button", name="Create visit").click()
    expect(rows(page)).to_have_count(1)

    rows(page).first.get_by_role("button", name="Edit").click()
    editor = page.locator("form.row-editor")
    expect(editor.get_by_label("Date", exact=True)).to_be_focused()
    expect(editor.get_by_label("Date", exact=True)).to_have_value("2026-05-01")
    starts = editor.get_by_label("Starts at")
    expect(starts).to_have_value("10:00")
    starts.fill("9:15")
    editor.get_by_label("Source").fill("Counter")
    editor.get_by_role("button", name="Save").click()

    row = rows(page).first
    expect(row).to_contain_text("1 May 2026, 09:15")
    expect(row).to_contain_text("Counter")
    expect(row.get_by_role("button", name="Edit")).to_be_focused()
    assert page.evaluate("window.notReloaded") is True
    visit = sandbox_leat.list_visits().visits[0]
    assert visit.source == "Counter"
    assert page.errors == []


def test_a_leat_422_shows_under_the_right_field(page, sandbox_leat):
    # Another system gave a visit this external_id at Leat; only Leat can refuse it.
    sandbox_leat.create_visit(
        contact_uuid=seed.CONTACT_DAAN, shop_uuid=seed.SHOP_WEBSHOP, external_id="till-5"
    )
    page.goto("/visits")
    form = fill_create(page, contact="bram.jansen@example.com", external_id="till-5")
    form.get_by_role("button", name="Create visit").click()
    external_id = form.get_by_label("External ID", exact=True)
    expect(external_id).to_have_attribute("aria-invalid", "true")
    error = page.locator("#external_id-error")
    expect(error).to_contain_text("The external id has already been taken.")
    expect(form.get_by_label("Contact", exact=True)).to_have_value("bram.jansen@example.com")
    # The summary at the top of the form takes the focus and leads to the field.
    summary = form.locator(".error-summary")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name="External ID").click()
    expect(external_id).to_be_focused()
    expect(rows(page)).to_have_count(0)


def test_cancel_restores_the_row_and_two_editors_do_not_interfere(page, sandbox_leat):
    page.goto("/visits")
    for count, contact in enumerate(("anna.devries@example.com", "bram.jansen@example.com"), 1):
        fill_create(page, contact=contact, date="2026-05-01", starts_at="10:00")
        create_form(page).get_by_role("button", name="Create visit").click()
        expect(rows(page)).to_have_count(count)

    bram, anna = rows(page).nth(0), rows(page).nth(1)
    bram.get_by_role("button", name="Edit").click()
    anna.get_by_role("button", name="Edit").click()
    editors = page.locator("form.row-editor")
    expect(editors).to_have_count(2)

    anna_editor = page.get_by_role("form", name="Edit visit of anna.devries@example.com")
    anna_editor.get_by_label("Source").fill("Anna's till")
    bram_editor = page.get_by_role("form", name="Edit visit of bram.jansen@example.com")
    bram_editor.get_by_label("Source").fill("typed, then cancelled")
    bram_editor.get_by_role("button", name="Cancel").click()
    expect(editors).to_have_count(1)
    expect(rows(page).nth(0)).to_contain_text("Portal")
    expect(rows(page).nth(0).get_by_role("button", name="Edit")).to_be_focused()

    anna_editor.get_by_role("button", name="Save").click()
    expect(editors).to_have_count(0)
    expect(rows(page).nth(1)).to_contain_text("Anna's till")
    sources = {v.contact.email: v.source for v in sandbox_leat.list_visits().visits}
    assert sources == {
        "anna.devries@example.com": "Anna's till",
        "bram.jansen@example.com": "Portal",
    }


def test_everything_by_keyboard(page):
    page.goto("/visits")
    fill_create(page)
    create_form(page).get_by_role("button", name="Create visit").focus()
    page.keyboard.press("Enter")
    edit = rows(page).first.get_by_role("button", name="Edit")
    expect(edit).to_be_visible()
    edit.focus()
    page.keyboard.press("Enter")
    editor = page.locator("form.row-editor")
    expect(editor.get_by_label("Date", exact=True)).to_be_focused()
    # One Tab per field (a datetime-local took seven).
    for label in ("Starts at", "Ends at", "Source"):
        page.keyboard.press("Tab")
        expect(editor.get_by_label(label, exact=True)).to_be_focused()
    page.keyboard.press("End")  # Tab selected the whole value
    page.keyboard.type(" by keyboard")
    page.keyboard.press("Enter")
    expect(rows(page).first).to_contain_text("Portal by keyboard")
    expect(rows(page).first.get_by_role("button", name="Edit")).to_be_focused()


def test_a_double_click_creates_one_visit(page, sandbox_leat):
    page.goto("/visits")
    posts = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    fill_create(page)
    create_form(page).get_by_role("button", name="Create visit").dblclick()
    expect(rows(page)).to_have_count(1)
    # A fixed wait, not wait_until: what is checked is that something does NOT happen (a
    # second POST from the second click), so there is no condition to wait for, and
    # wait_until would pass at once and prove nothing. A second request, sent at the
    # click or held by htmx until the first answer is swapped in (as the row now is),
    # would be under way within these 300 ms: the window in which posts must stay at 1.
    page.wait_for_timeout(300)
    assert len(posts) == 1
    assert sandbox_leat.list_visits().total == 1


@pytest.fixture
def no_js_page(browser, live_portal):
    context = browser.new_context(base_url=live_portal, java_script_enabled=False)
    tab = context.new_page()
    tab.goto(launch_path())
    yield tab
    context.close()


def test_create_and_edit_without_javascript(no_js_page, sandbox_leat):
    page = no_js_page
    page.goto("/visits")
    fill_create(page, date="2026-05-01", starts_at="10:00")
    create_form(page).get_by_role("button", name="Create visit").click()
    expect(page.locator("#announcer")).to_contain_text(
        "Visit of anna.devries@example.com at Amsterdam Centrum recorded."
    )
    expect(rows(page).first).to_contain_text("1 May 2026, 10:00")
    assert page.url.endswith("/visits")

    rows(page).first.get_by_role("button", name="Edit").click()
    editor = page.locator("form.row-editor")
    editor.get_by_label("Source").fill("No script")
    editor.get_by_role("button", name="Save").click()
    expect(page.locator("#announcer")).to_contain_text("saved")
    expect(rows(page).first).to_contain_text("No script")
    assert sandbox_leat.list_visits().visits[0].source == "No script"


def test_readable_in_a_360_pixel_frame(page):
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto("/visits")
    fill_create(page)
    create_form(page).get_by_role("button", name="Create visit").click()
    expect(rows(page)).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    rows(page).first.get_by_role("button", name="Edit").click()
    expect(page.locator("form.row-editor")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
