"""The visits page fits the screen, in a real Chromium: a 768-px tablet or intranet
frame scrolls only downwards with every Edit in view, and on a 360-px phone each
visit is a compact card, so a full page of 50 visits is a few screens long.

The page is the one a busy manager sees: 50 visits, created through the portal's own
create POST, with long e-mail addresses and external IDs, and on top the rows that
carry the most (pending, needing attention twice over, set aside).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import (
    HTMX,
    csrf_token,
    deliver_waiting,
    input_value,
    launch_path,
    post_visit,
    save_visit,
    signed_in,
)
from playwright.sync_api import expect
from test_embedding_browser import Intranet, framed_portal

from portal.leat_sandbox import MAINTENANCE_PAGE, Fault, seed, serve_in_thread

ROWS = 50  # a full page
SCREEN = 800  # px: one screen of a phone 360 px wide
PHONE_BUDGET = 8 * SCREEN  # the whole page, create form included
LONG_EMAIL = "margaretha.van-oldenbarnevelt-de-groot@klantenservice.example.com"
LONG_EXTERNAL_ID = "AMS-01-till-3-receipt-2026-11-26-000123456789-refund-of-000123456700"
CONTACTS = (
    "anna.devries@example.com",
    "bram.jansen@example.com",
    "chloe.bakker@example.com",
    "daan.visser@example.com",
    "emma.smit@example.com",
)
SHOPS = (seed.SHOP_AMSTERDAM, seed.SHOP_UTRECHT, seed.SHOP_ROTTERDAM, seed.SHOP_WEBSHOP)
GONE = Fault(status=400, body='{"message": "Model not found.", "code": 60013, "status_code": 400}')
# A folder to save the README's pictures in (docs/), as the tests see the page:
#   LAYOUT_SCREENSHOTS=docs python3 dev.py test tests/test_layout_browser.py
SCREENSHOTS = os.environ.get("LAYOUT_SCREENSHOTS")
FROZEN = Fault(
    status=400,
    body='{"message": "Visits are frozen for this shop.", "code": 77001, "status_code": 400}',
)


@pytest.fixture
def portal_overrides() -> dict:
    # Fifty creates through the portal in a few seconds to fill the page: load, not an
    # honest manager, so the write limit is lifted for these tests only.
    return {"PORTAL_RATE_LIMIT_WRITES": "100000/minute"}


# -- a full page ---------------------------------------------------------------------------


def record_id(answer) -> str:
    """The record id of the row a create answer puts on top."""
    marker = '<tr id="visit-'
    start = answer.text.index(marker) + len(marker)
    return answer.text[start : answer.text.index('"', start)]


def lose_at_leat(client, sandbox, key: str) -> None:
    """Save the visit again while Leat answers that it no longer has it."""
    editor = client.get(f"/visits/{key}/edit", headers=HTMX)
    shown = {name: input_value(editor, f"visit-{key}-{name}") for name in ("date", "starts_at")}
    sandbox.faults.inject(GONE, method="PUT", times=1)
    assert save_visit(client, key, **shown, source="Corrected").status_code == 200


def fill_the_page(app, sandbox) -> None:
    """50 visits through the create POST, as the form sends them; the newest four are
    a set-aside one, one Leat lost (Record again, Set aside), one Leat refused on the
    later attempt (Retry now, Set aside) and a pending one (Retry now)."""
    client = signed_in(app)
    for number in range(ROWS - 4):
        day, hour = 1 + number % 25, 9 + number % 9
        fields = {
            "contact": CONTACTS[number % len(CONTACTS)],
            "shop": SHOPS[number % len(SHOPS)],
            "date": f"2026-11-{day:02d}",
            "starts_at": f"{hour:02d}:15",
        }
        if number % 3 == 0:
            fields["ends_at"] = f"{hour + 1:02d}:00"
        if number % 5 == 0:
            fields.update(contact=LONG_EMAIL, create_contact="y", source="Till 3, ground floor")
        if number % 7 == 0:
            fields["external_id"] = f"{LONG_EXTERNAL_ID}-{number}"
        assert post_visit(client, **fields).status_code == 200
    aside = record_id(post_visit(client, contact=CONTACTS[1], shop=seed.SHOP_UTRECHT))
    lose_at_leat(client, sandbox, aside)
    token = csrf_token(client)
    client.post(f"/visits/{aside}/set-aside", data={"csrf_token": token}, headers=HTMX)
    lost = record_id(post_visit(client, contact=LONG_EMAIL, shop=seed.SHOP_ROTTERDAM))
    lose_at_leat(client, sandbox, lost)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    post_visit(client, contact=LONG_EMAIL, shop=seed.SHOP_AMSTERDAM)
    sandbox.faults.inject(FROZEN, method="POST", path="/visits", times=1)
    deliver_waiting(app)  # the later attempt is refused: it needs attention
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    post_visit(client, contact=CONTACTS[4], shop=seed.SHOP_WEBSHOP, source="Counter")


@pytest.fixture
def full_page(app, sandbox) -> None:
    fill_the_page(app, sandbox)


def open_visits(page, width: int, height: int = SCREEN):
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/visits")
    rows = page.locator("#visit-rows > tr")
    expect(rows).to_have_count(ROWS)
    for state in ("pending", "attention", "set_aside"):
        expect(page.locator(f"#visit-rows > tr.state-{state}").first).to_be_attached()
    return rows


# -- measured in the page --------------------------------------------------------------------

SIDEWAYS = "() => [document.documentElement.scrollWidth, innerWidth]"

# Every button of every row: its box, as the page lays it out, and the viewport's width.
ROW_BUTTONS = """() => [...document.querySelectorAll('#visit-rows > tr button')].map(button => {
  const box = button.getBoundingClientRect();
  // The visible word (the rest of its name, which visit, is for screen readers).
  return {row: button.closest('tr').id, label: button.firstChild.textContent.trim(),
          left: box.left, right: box.right, width: box.width, height: box.height,
          innerWidth};
})"""

# For every row: the box of each of its first three lines' text (contact, shop, start),
# of the end time, of the Edit button, and the card's line height.
CARD_LINES = """() => [...document.querySelectorAll('#visit-rows > tr')].map(row => {
  const cells = row.querySelectorAll(':scope > td');
  const text = (cell, node = cell) => {  // what shows of it: a cell may cut its text short
    const range = document.createRange();
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()].filter(r => r.width > 0);
    const clip = cell.getBoundingClientRect();  // an ellipsis ends the text at the padding
    const end = clip.right - parseFloat(getComputedStyle(cell).paddingRight);
    return {top: Math.min(...rects.map(r => r.top)), bottom: Math.max(...rects.map(r => r.bottom)),
            left: Math.max(clip.left, Math.min(...rects.map(r => r.left))),
            right: Math.min(end, Math.max(...rects.map(r => r.right)))};
  };
  const edit = row.querySelector('button.edit');
  const box = edit ? edit.getBoundingClientRect() : null;
  return {
    row: row.id, confirmed: row.classList.contains('state-confirmed'),
    lineHeight: parseFloat(getComputedStyle(row).lineHeight),
    contact: text(cells[0], cells[0].firstChild), shop: text(cells[1]), starts: text(cells[2]),
    ends: cells[3].textContent ? text(cells[3]) : null,
    edit: box && {top: box.top, bottom: box.bottom, left: box.left, right: box.right},
  };
})"""


def picture(page, name: str, height: int, *, from_table: bool) -> None:
    """Save what the manager sees (from the top of the page, or from the search form
    above the visits) when LAYOUT_SCREENSHOTS names a folder."""
    if not SCREENSHOTS:
        return
    top = 0
    if from_table:
        search = page.locator("#find-visits")
        top = search.bounding_box()["y"] + page.evaluate("scrollY") - 8
    width = page.viewport_size["width"]
    clip = {"x": 0, "y": top, "width": width, "height": height}
    page.screenshot(path=Path(SCREENSHOTS) / name, clip=clip, full_page=True)


def overlaps(a, b) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and (b["top"] < a["bottom"])
    )


def assert_no_sideways_scroll(page_or_frame, width: int) -> None:
    scroll_width, inner_width = page_or_frame.evaluate(SIDEWAYS)
    assert inner_width == width
    assert scroll_width <= inner_width, f"the page scrolls sideways at {width} px"


ENGLISH = {"edit": "Edit", "others": {"Retry now", "Record again", "Set aside"}}
DUTCH = {"edit": "Wijzigen", "others": {"Versturen", "Opnieuw vastleggen", "Apart zetten"}}


def assert_every_button_in_view(page_or_frame, words=ENGLISH) -> list[dict]:
    buttons = page_or_frame.evaluate(ROW_BUTTONS)
    edits = sum(button["label"] == words["edit"] for button in buttons)
    assert edits == ROWS - 1  # not set aside
    labels = {button["label"] for button in buttons}
    assert words["others"] <= labels
    for button in buttons:
        assert button["left"] >= 0, button
        assert button["right"] <= button["innerWidth"], button
    return buttons


# -- 768 px: a tablet, an intranet frame ---------------------------------------------------------


def test_at_768_px_nothing_scrolls_sideways_and_every_edit_is_in_view(page, full_page):
    rows = open_visits(page, 768, 1024)
    assert_no_sideways_scroll(page, 768)
    assert_every_button_in_view(page)
    for row in (rows.first, rows.last):
        expect(row.get_by_role("button", name="Edit")).to_be_visible()
    # The long values are shortened or wrapped inside the page, not past its edge.
    for value in (LONG_EMAIL, f"{LONG_EXTERNAL_ID}-0", "portal-"):
        cell = page.locator("#visit-rows td", has_text=value).first
        box = cell.bounding_box()
        assert box["x"] >= 0, value
        assert box["x"] + box["width"] <= 768, value
    picture(page, "visits-768.png", 1024, from_table=True)


@pytest.fixture
def narrow_intranet():
    intranet = Intranet(frame_width=768)
    with serve_in_thread(intranet) as server:
        intranet.url = server.base_url
        yield intranet


def test_inside_a_768_px_intranet_frame_nothing_scrolls_sideways(
    browser, tmp_path, sandbox, database_url, full_page, narrow_intranet
):
    with framed_portal(tmp_path, sandbox, database_url, (narrow_intranet.url,)) as portal_url:
        narrow_intranet.frame_src = portal_url + launch_path()
        context = browser.new_context(viewport={"width": 1024, "height": 1000})
        try:
            page = context.new_page()
            page.goto(narrow_intranet.url)
            rows = page.frame_locator("iframe").locator("#visit-rows > tr")
            expect(rows).to_have_count(ROWS)
            frame = page.frame(url=lambda url: url.startswith(portal_url))
            assert_no_sideways_scroll(frame, 768)
            assert_every_button_in_view(frame)
            expect(rows.first.get_by_role("button", name="Edit")).to_be_visible()
        finally:
            context.close()


def test_no_width_from_phone_to_desktop_scrolls_sideways(page, full_page):
    """Around each change of layout too: the cards end and the table begins at 60rem."""
    open_visits(page, 1280)
    for width in (320, 360, 480, 600, 704, 705, 768, 900, 960, 961, 1024, 1100, 1280):
        page.set_viewport_size({"width": width, "height": SCREEN})
        assert_no_sideways_scroll(page, width)
        assert_every_button_in_view(page)


# -- 360 px: a phone ----------------------------------------------------------------------------


def test_at_360_px_fifty_visits_take_at_most_eight_screens(page, full_page):
    open_visits(page, 360)
    assert_no_sideways_scroll(page, 360)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= PHONE_BUDGET, f"{height} px is {height / SCREEN:.1f} screens of {SCREEN}"
    picture(page, "visits-360.png", 1600, from_table=True)


def test_at_360_px_each_visit_is_a_card_of_contact_shop_and_time_with_edit_beside(page, full_page):
    open_visits(page, 360)
    cards = page.evaluate(CARD_LINES)
    assert sum(card["confirmed"] for card in cards) == ROWS - 4
    for card in cards:
        line = card["lineHeight"]
        for part in ("contact", "shop", "starts"):  # one line each, however long
            assert card[part]["bottom"] - card[part]["top"] <= line + 1, (card["row"], part)
        if card["confirmed"]:  # nothing between them: three lines, one under the other
            assert card["starts"]["bottom"] - card["contact"]["top"] <= 3 * line + 1, card
        if card["edit"]:  # Edit beside the text, never over it
            for part in ("contact", "shop", "starts", "ends"):
                assert not (card[part] and overlaps(card[part], card["edit"])), (card, part)
    for button in assert_every_button_in_view(page):
        assert button["width"] >= 44, button  # a thumb's size
        assert button["height"] >= 44, button
    first = page.locator("#visit-rows > tr").first
    expect(first.get_by_role("button", name="Edit")).to_be_visible()


def test_at_360_px_the_cards_are_still_a_table_to_a_screen_reader(page, full_page):
    """The cards change only boxes: Chromium's accessibility tree (what a screen reader
    is given) still has the table, its eight column headers and eight cells a visit."""
    open_visits(page, 360)
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    roles = [node.get("role", {}).get("value") for node in nodes if not node.get("ignored")]
    assert roles.count("table") == 1
    assert roles.count("columnheader") == 8
    assert roles.count("row") == ROWS + 1
    assert roles.count("cell") == 8 * ROWS


def test_at_360_px_the_editor_fits_and_cancel_gives_the_card_back(page, full_page):
    rows = open_visits(page, 360)
    row = rows.nth(5)
    row.get_by_role("button", name="Edit").click()
    editor = page.locator("form.row-editor")
    expect(editor.get_by_label("Date", exact=True)).to_be_focused()
    assert_no_sideways_scroll(page, 360)
    editor.get_by_role("button", name="Cancel").click()
    expect(rows.nth(5).get_by_role("button", name="Edit")).to_be_focused()
    assert_no_sideways_scroll(page, 360)


# -- 1280 px: the table as it was ----------------------------------------------------------------


def test_at_1280_px_the_visits_are_a_table_with_its_headers(page, full_page):
    rows = open_visits(page, 1280, 900)
    assert_no_sideways_scroll(page, 1280)
    assert_every_button_in_view(page)
    expect(page.get_by_role("columnheader", name="External ID")).to_be_visible()
    cells = rows.first.locator("td")
    tops = {round(cells.nth(index).bounding_box()["y"]) for index in range(8)}
    assert len(tops) == 1  # one row of eight columns
    picture(page, "visits-1280.png", 900, from_table=False)


# -- in Dutch: longer words, the same page ----------------------------------------------------


@pytest.fixture
def dutch_page(browser, live_portal):
    """A tab whose browser asks for Dutch (Accept-Language: nl-NL), signed in."""
    context = browser.new_context(
        base_url=live_portal, viewport={"width": 1280, "height": 900}, locale="nl-NL"
    )
    tab = context.new_page()
    tab.goto(launch_path())
    yield tab
    context.close()


def test_in_dutch_no_width_scrolls_sideways_and_every_button_is_in_view(dutch_page, full_page):
    page = dutch_page
    open_visits(page, 1280)
    assert page.evaluate("document.documentElement.lang") == "nl"
    expect(page.get_by_role("columnheader", name="Externe ID")).to_be_visible()
    picture(page, "visits-nl-1280.png", 900, from_table=False)
    for width in (320, 360, 480, 600, 704, 705, 768, 900, 960, 961, 1024, 1280):
        page.set_viewport_size({"width": width, "height": SCREEN})
        assert_no_sideways_scroll(page, width)
        assert_every_button_in_view(page, DUTCH)
    page.set_viewport_size({"width": 360, "height": SCREEN})
    height = page.evaluate("document.documentElement.scrollHeight")
    picture(page, "visits-nl-360.png", 1600, from_table=True)
    assert height <= PHONE_BUDGET, f"{height} px is {height / SCREEN:.1f} screens of {SCREEN}"
