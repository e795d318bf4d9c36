"""Finding visits in a real browser: search as you type, the address, Back."""

from __future__ import annotations

import re

import pytest
from helpers import launch_path
from playwright.sync_api import expect
from test_visits_find import ANNA, BRAM, CHLOE, add_visit


def rows(page):
    return page.locator("#visit-rows > tr")


def search_form(page):
    return page.locator("#find-visits")


def test_typing_part_of_an_email_narrows_the_list_without_a_reload_and_back_restores_it(page, app):
    add_visit(app, ANNA, source="Counter")
    add_visit(app, ANNA, external_id="till-7")
    add_visit(app, BRAM)
    add_visit(app, CHLOE)
    page.goto("/visits")
    page.evaluate("window.notReloaded = true")
    expect(rows(page)).to_have_count(4)
    expect(page.locator("#visit-count")).to_have_text("4 visits")
    # Something half-typed in the create form: a search must leave it alone.
    page.locator("#create-visit").get_by_label("Source").fill("half-typed")

    search = search_form(page).get_by_label("Search visits")
    search.press_sequentially("anna.dev", delay=40)
    expect(rows(page)).to_have_count(2)
    expect(rows(page).first).to_contain_text(ANNA)
    expect(page.locator("#visit-count")).to_have_text("2 visits")
    expect(page).to_have_url(re.compile(r"/visits\?q=anna\.dev$"))
    expect(page.locator("#visit-csv a")).to_have_attribute("href", "/visits.csv?q=anna.dev")
    expect(search).to_be_focused()  # still typing: the form was not replaced
    expect(page.locator("#create-visit").get_by_label("Source")).to_have_value("half-typed")

    search.fill("nobody")
    expect(page.locator("#visit-count")).to_have_text("No visits match")
    expect(rows(page)).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True

    page.go_back()
    expect(page).to_have_url(re.compile(r"/visits\?q=anna\.dev$"))
    expect(rows(page)).to_have_count(2)
    expect(search_form(page).get_by_label("Search visits")).to_have_value("anna.dev")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/visits$"))
    expect(rows(page)).to_have_count(4)
    expect(page.locator("#visit-count")).to_have_text("4 visits")
    assert page.errors == []


def test_a_shop_a_day_and_the_order_are_chosen_the_same_way(page, app):
    add_visit(app, ANNA, starts="2026-05-01T10:00:00+02:00")
    add_visit(app, BRAM, starts="2026-05-02T10:00:00+02:00")
    page.goto("/visits")
    expect(rows(page)).to_have_count(2)
    form = search_form(page)
    form.get_by_label("From").fill("2026-05-02")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text(BRAM)
    expect(page).to_have_url(re.compile(r"/visits\?from=2026-05-02$"))
    form.get_by_label("To").fill("2026-05-01")  # before From: said, not searched
    expect(page.locator("#visit-results").get_by_role("alert")).to_contain_text("before")
    expect(page.locator("#visit-count")).to_have_text("The search needs correcting.")
    expect(page).to_have_title(re.compile(r"^Error: Visits"))
    expect(page).to_have_url(re.compile(r"/visits\?from=2026-05-02$"))  # nothing pushed
    form.get_by_label("To").fill("2026-05-03")  # corrected: the title is the page's own
    expect(rows(page)).to_have_count(1)
    expect(page).to_have_title(re.compile(r"^Visits"))
    assert page.errors == []


def test_a_page_link_keeps_the_search_and_brings_the_keyboard_to_the_new_page(page, app):
    for n in range(55):
        add_visit(app, ANNA, source=f"Till {n}")
    add_visit(app, BRAM)
    page.goto("/visits")
    page.evaluate("window.notReloaded = true")
    search_form(page).get_by_label("Search visits").fill("anna")
    expect(page.locator("#visit-count")).to_have_text("55 visits, page 1 of 2")
    older = page.get_by_role("navigation", name="Pages of visits").get_by_role("link", name="Older")
    older.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#visit-count")).to_have_text("55 visits, page 2 of 2")
    expect(rows(page)).to_have_count(5)
    expect(page).to_have_url(re.compile(r"/visits\?q=anna&page=2$"))
    expect(page.locator("#visit-results table")).to_be_focused()
    assert page.evaluate("window.notReloaded") is True
    assert page.errors == []


@pytest.fixture
def no_js_page(browser, live_portal):
    context = browser.new_context(base_url=live_portal, java_script_enabled=False)
    tab = context.new_page()
    tab.goto(launch_path())
    yield tab
    context.close()


def test_searching_without_javascript_is_a_plain_get(no_js_page, app):
    add_visit(app, ANNA)
    add_visit(app, BRAM)
    page = no_js_page
    page.goto("/visits")
    search_form(page).get_by_label("Search visits").fill("bram")
    search_form(page).get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/visits\?q=bram&"))
    expect(rows(page)).to_have_count(1)
    expect(page.locator("#visit-count")).to_have_text("1 visit")
    expect(search_form(page).get_by_label("Search visits")).to_have_value("bram")
