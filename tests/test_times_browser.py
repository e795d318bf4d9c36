"""The same instants on the page and in Leat, whatever Leat does with a time's offset
(converts it, or keeps the wall clock and drops it as stock Laravel would)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from portal.leat_sandbox import create_sandbox_app


@pytest.fixture(params=[False, True], ids=["offsets-converted", "offsets-dropped"])
def sandbox_app(request, sandbox_db):
    return create_sandbox_app(str(sandbox_db), drop_offsets=request.param)


def test_a_dutch_visit_is_stored_and_shown_at_the_instant_typed(page, sandbox_leat):
    page.goto("/visits")
    form = page.locator("#create-visit")
    form.get_by_label("Contact", exact=True).fill("anna.devries@example.com")
    form.get_by_label("Shop").select_option(label="Amsterdam Centrum")
    form.get_by_label("Date", exact=True).fill("2026-11-20")
    form.get_by_label("Starts at", exact=True).fill("10:00")  # CET, UTC+1
    form.get_by_label("Ends at", exact=True).fill("10:45")
    form.get_by_role("button", name="Create visit").click()
    row = page.locator("#visit-rows > tr").first
    expect(row).to_contain_text("20 Nov 2026, 10:00")
    expect(row).to_contain_text("20 Nov 2026, 10:45")
    (visit,) = sandbox_leat.list_visits().visits
    assert visit.starts_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert visit.ends_at == datetime(2026, 11, 20, 9, 45, tzinfo=UTC)

    row.get_by_role("button", name="Edit").click()
    editor = page.locator("form.row-editor")
    expect(editor.get_by_label("Date", exact=True)).to_have_value("2026-11-20")
    expect(editor.get_by_label("Starts at")).to_have_value("10:00")
    editor.get_by_label("Date", exact=True).fill("2026-07-01")
    editor.get_by_label("Starts at").fill("09:15")  # CEST, UTC+2
    editor.get_by_label("Ends at").fill("10:00")
    editor.get_by_role("button", name="Save").click()
    row = page.locator("#visit-rows > tr").first
    expect(row).to_contain_text("1 Jul 2026, 09:15")
    visit = sandbox_leat.get_visit(visit.uuid)
    assert visit.starts_at == datetime(2026, 7, 1, 7, 15, tzinfo=UTC)
    assert page.errors == []
