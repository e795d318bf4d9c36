"""Status that tells the truth, and where the keyboard lands, in Chromium: a form that
says what it is doing while Leat is slow and keeps what is typed meanwhile, each
message once and in its own live region, the queue's banner gone with the first
answer from Leat, the error summary (focus, links, the title), Escape in the row
editor, the focus after every kind of htmx answer, and buttons named for their visit.
HTTP-level checks of the same are in test_status_views.py."""

from __future__ import annotations

from playwright.sync_api import expect

from portal.auth import sessions
from portal.leat_sandbox import MAINTENANCE_PAGE, Fault, seed

SLOW = 2.5  # seconds Leat takes to answer, long enough to look and type meanwhile
TOKEN_REFUSED = Fault(status=401, body='{"message": "Unauthenticated."}')

# Every live region of the page, and which of them hold some words (by id or class),
# and which sit inside another (a region inside another is read twice, or not at all).
LIVE_REGIONS = """words => {
    const regions = [...document.querySelectorAll(
        '[aria-live], [role=alert], [role=status], [role=log]')];
    const name = r => r.id || r.className;
    return {
        holding: regions.filter(r => r.textContent.includes(words)).map(name),
        nested: regions.filter(r => regions.some(o => o !== r && o.contains(r))).map(name),
    };
}"""


def create_form(page):
    return page.locator("#create-visit")


def contact(page):
    return create_form(page).get_by_label("Contact", exact=True)


def rows(page):
    return page.locator("#visit-rows > tr")


def fill_create(page, who="anna.devries@example.com", **fields):
    form = create_form(page)
    contact(page).fill(who)
    form.get_by_label("Shop").select_option(seed.SHOP_AMSTERDAM)
    form.get_by_label("Date", exact=True).fill(fields.get("date", "2026-05-01"))
    form.get_by_label("Starts at", exact=True).fill(fields.get("starts_at", "10:00"))
    return form


def record(page, who="anna.devries@example.com"):
    """A visit created through the page, its row on screen."""
    count = rows(page).count()
    fill_create(page, who).get_by_role("button", name="Create visit").click()
    expect(rows(page)).to_have_count(count + 1)


def not_on_body(page):
    assert page.evaluate("document.activeElement !== document.body"), "the focus is on <body>"


# -- while Leat is slow --------------------------------------------------------------------


def test_while_a_create_runs_the_form_says_so_and_keeps_what_is_typed_meanwhile(page, sandbox):
    page.goto("/visits")
    sandbox.faults.inject(Fault(delay=SLOW), method="POST", path="/visits", times=1)
    form = fill_create(page)
    button = form.locator("[type=submit]")
    button.click()

    expect(button).to_have_value("Recording…")
    expect(form).to_have_attribute("aria-busy", "true")
    expect(contact(page)).to_be_editable()  # not disabled: readable, and it takes typing
    expect(contact(page)).to_have_value("anna.devries@example.com")
    not_on_body(page)
    # The next customer walks in: the manager starts on them while Leat is slow.
    contact(page).focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("bram.jan")

    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("anna.devries@example.com")
    # What was typed meanwhile stays, and the keyboard with it; the rest is the answer's.
    expect(contact(page)).to_have_value("bram.jan")
    expect(contact(page)).to_be_focused()
    assert contact(page).evaluate("field => field.selectionStart") == len("bram.jan")
    expect(form.get_by_label("Starts at", exact=True)).to_have_value("")
    expect(form.get_by_label("Date", exact=True)).to_have_value("2026-05-01")
    expect(button).to_have_value("Create visit")
    expect(form).not_to_have_attribute("aria-busy", "true")
    page.keyboard.type("sen@example.com")
    expect(contact(page)).to_have_value("bram.jansen@example.com")
    assert page.errors == []


def test_while_a_save_runs_the_editor_says_so_and_keeps_the_focus(page, sandbox):
    page.goto("/visits")
    record(page)
    rows(page).first.get_by_role("button", name="Edit").click()
    editor = page.locator("form.row-editor")
    editor.get_by_label("Source").fill("Counter")
    sandbox.faults.inject(Fault(delay=SLOW), method="PUT", times=1)
    save = editor.locator("[type=submit].primary")  # its name changes while it runs
    save.click()

    expect(save).to_have_value("Saving…")
    expect(editor).to_have_attribute("aria-busy", "true")
    source = editor.get_by_label("Source")
    expect(source).to_be_enabled()  # readable, not greyed
    expect(source).to_have_attribute("readonly", "")  # its answer is the row: no typing
    expect(source).to_have_value("Counter")
    not_on_body(page)

    expect(rows(page).first).to_contain_text("Counter")
    expect(rows(page).first.get_by_role("button", name="Edit")).to_be_focused()
    assert page.errors == []


# -- messages: once, in their own region, in their own style --------------------------------


def test_a_waiting_visit_is_said_once_in_the_announcer_in_amber(page, sandbox):
    page.goto("/visits")
    sandbox.faults.inject(TOKEN_REFUSED, method="POST", path="/visits", times=None)
    record(page)
    message = page.locator("#announcer p")
    expect(message).to_have_class("waiting")
    expect(message).to_contain_text("not yet in Leat")
    expect(page.locator("#queue-status .alert")).to_contain_text("token is invalid")
    # A second answer draws the banner again: it must not be read out again.
    record(page, "bram.jansen@example.com")
    found = page.evaluate(LIVE_REGIONS, "token is invalid or expired")
    assert found == {"holding": ["announcer"], "nested": []}
    expect(contact(page)).to_be_focused()


def test_the_token_banner_goes_as_soon_as_leat_answers_again(page, sandbox):
    page.goto("/visits")
    sandbox.faults.inject(TOKEN_REFUSED, method="POST", path="/visits", times=None)
    record(page)
    banner = page.locator("#queue-status")
    expect(banner.locator(".alert")).to_contain_text("token is invalid")
    sandbox.faults.clear()  # the administrator renewed the token
    # Leat refuses this one for its own reason (no such contact): an answer all the same.
    fill_create(page, "nobody@example.com").get_by_role("button", name="Create visit").click()
    expect(page.locator(".error-summary")).to_be_focused()
    expect(banner).not_to_contain_text("token")
    expect(banner.locator(".alert")).to_have_count(0)


# -- the error summary and the title -----------------------------------------------------------


def test_the_error_summary_takes_the_focus_links_its_fields_and_titles_the_page(page):
    page.goto("/visits")
    title = page.title()
    form = fill_create(page, "", starts_at="25:00")
    form.get_by_role("button", name="Create visit").click()
    summary = form.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(page).to_have_title("Error: " + title)
    summary.get_by_role("link", name="Starts at").click()
    expect(form.get_by_label("Starts at", exact=True)).to_be_focused()
    summary.get_by_role("link", name="Contact").click()
    expect(contact(page)).to_be_focused()
    # Corrected: the summary goes, and "Error: " with it.
    fill_create(page).get_by_role("button", name="Create visit").click()
    expect(rows(page)).to_have_count(1)
    expect(form.locator(".error-summary")).to_have_count(0)
    expect(page).to_have_title(title)


def test_the_row_editors_summary_and_escape(page):
    page.goto("/visits")
    record(page)
    title = page.title()
    rows(page).first.get_by_role("button", name="Edit").click()
    editor = page.locator("form.row-editor")
    editor.get_by_label("Ends at").fill("09:00")
    editor.get_by_role("button", name="Save").click()
    summary = editor.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(page).to_have_title("Error: " + title)
    summary.get_by_role("link", name="Ends at").click()
    ends = editor.get_by_label("Ends at")
    expect(ends).to_be_focused()
    # Escape is Cancel: the row as it was, its Edit focused, the title the page's own.
    page.keyboard.press("Escape")
    expect(editor).to_have_count(0)
    expect(rows(page).first.get_by_role("button", name="Edit")).to_be_focused()
    expect(page).to_have_title(title)
    assert page.errors == []


# -- the focus after each kind of answer -------------------------------------------------------


def test_the_focus_after_each_kind_of_answer(app, page, sandbox):
    page.goto("/visits")
    record(page)  # confirmed
    expect(contact(page)).to_be_focused()
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    record(page, "bram.jansen@example.com")  # waiting
    expect(contact(page)).to_be_focused()

    waiting_id = rows(page).filter(has_text="Pending").get_attribute("id")
    waiting = page.locator(f"#{waiting_id}")
    # Retry now: Leat takes it now; the keyboard is on the row's Edit.
    waiting.get_by_role("button", name="Retry now").click()
    expect(page.locator("#announcer p")).to_have_class("notice")
    expect(waiting.get_by_role("button", name="Edit")).to_be_focused()

    # Save, and Cancel by its button: the row's Edit each time.
    waiting.get_by_role("button", name="Edit").click()
    waiting.get_by_label("Source").fill("Counter")
    waiting.get_by_role("button", name="Save").click()
    expect(waiting.get_by_role("button", name="Edit")).to_be_focused()
    waiting.get_by_role("button", name="Edit").click()
    waiting.get_by_role("button", name="Cancel").click()
    expect(waiting.get_by_role("button", name="Edit")).to_be_focused()
    assert page.errors == []


def test_set_aside_leaves_the_focus_on_its_row(app, page, sandbox):
    page.goto("/visits")
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    record(page)  # waits (maintenance) …
    sandbox.faults.inject(
        Fault(status=400, body='{"message": "Frozen.", "code": 77001, "status_code": 400}'),
        method="POST",
        path="/visits",
        times=1,
    )
    rows(page).first.get_by_role("button", name="Retry now").click()  # … then refused
    expect(rows(page).first).to_contain_text("Needs attention")
    expect(rows(page).first.get_by_role("button", name="Edit")).to_be_focused()
    expect(page.locator("#announcer p")).to_have_class("alert")
    assert page.evaluate(LIVE_REGIONS, "Frozen") == {"holding": ["announcer"], "nested": []}
    rows(page).first.get_by_role("button", name="Set aside").click()
    expect(rows(page).first).to_contain_text("Set aside — not in Leat")
    expect(rows(page).first.locator("td").first).to_be_focused()
    assert page.errors == []


def test_a_session_ended_on_the_server_says_so_and_takes_the_focus(app, page):
    page.goto("/visits")
    with app.app_context():
        assert sessions.end_all("anna@example.com") == 1
    form = fill_create(page)
    form.get_by_role("button", name="Create visit").click()
    message = page.locator("#alerts .alert")
    expect(message).to_be_focused()
    not_on_body(page)
    # Read once: focused, and in no live region (which would read it again).
    words = message.inner_text()[:40]
    assert page.evaluate(LIVE_REGIONS, words) == {"holding": [], "nested": []}
    # What was typed stays, readable, the button as it was.
    expect(contact(page)).to_have_value("anna.devries@example.com")
    expect(form.locator("[type=submit]")).to_have_value("Create visit")
    expect(form).not_to_have_attribute("aria-busy", "true")
    expect(rows(page)).to_have_count(0)


# -- names ---------------------------------------------------------------------------------------


def test_each_button_is_named_for_its_visit(app, page, sandbox):
    page.goto("/visits")
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    record(page)
    which = "visit of anna.devries@example.com, 1 May 2026, 10:00"
    for word in ("Retry now", "Edit"):
        button = page.get_by_role("button", name=f"{word} {which}", exact=True)
        expect(button).to_have_count(1)
        expect(button).to_be_visible()


def test_signed_out_in_another_tab_every_answer_takes_the_focus(app, page, sandbox):
    page.goto("/visits")
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    record(page)
    row = rows(page).first
    row.get_by_role("button", name="Edit").click()
    editor = page.locator("form.row-editor")
    expect(editor).to_be_visible()
    # Sign out as another tab of the same browser would: its cookie, its form.
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    signed_out = page.context.request.post("/sign-out", form={"csrf_token": token})
    assert signed_out.ok

    message = page.locator("#alerts .alert")
    editor.get_by_label("Source").fill("Counter")
    editor.locator("[type=submit].primary").click()
    expect(message).to_be_visible()
    expect(message).to_be_focused()
    expect(editor.get_by_label("Source")).to_have_value("Counter")  # kept, editable
    expect(editor.get_by_label("Source")).to_be_editable()
    editor.get_by_label("Source").press("Escape")  # Cancel: a GET, answered 401 too
    expect(message).to_be_focused()
    expect(editor).to_be_visible()
    not_on_body(page)
