"""A row keeps one identity for life: the local record's id, before and after Leat
confirms it. A row left on screen while the worker (or another tab) delivers it
still edits, saves, retries and cancels, on the record's current state."""

from __future__ import annotations

import pytest
from helpers import (
    HTMX,
    csrf_token,
    deliver_waiting,
    input_value,
    leading_row,
    only_record,
    row,
    row_state,
)
from playwright.sync_api import expect

from portal.leat_sandbox import MAINTENANCE_PAGE, seed
from portal.models import Delivery


def deliver_behind_the_page(app) -> None:
    """The worker delivers everything that waits, while the manager's page stays open."""
    assert deliver_waiting(app) == 1


@pytest.fixture
def delivered_behind_the_page(app, client, sandbox):
    """A create that Leat's maintenance page held back, delivered later by the worker;
    the manager's page still shows it as pending. Yields (record id, CSRF token)."""
    token = csrf_token(client)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    data = {
        "csrf_token": token,
        "contact": seed.CONTACT_ANNA,
        "shop": seed.SHOP_AMSTERDAM,
        "date": "2026-05-01",
        "starts_at": "10:00",
        "source": "Till 3",
    }
    created = client.post("/visits", data=data, headers=HTMX)
    record = only_record(app)
    assert record.status is Delivery.PENDING
    assert row_state(row(created, record.id)) == "pending"  # the row on the open page
    deliver_behind_the_page(app)
    assert only_record(app).status is Delivery.CONFIRMED
    return record.id, token


def test_edit_on_a_row_delivered_behind_the_page_opens_leats_values(
    client, delivered_behind_the_page
):
    row_id, _ = delivered_behind_the_page
    response = client.get(f"/visits/{row_id}/edit", headers=HTMX)
    assert response.status_code == 200
    editor = leading_row(response, row_id)
    assert input_value(editor, f"visit-{row_id}-source") == "Till 3"


def test_save_on_a_row_delivered_behind_the_page_updates_the_visit_in_leat(
    app, client, sandbox_leat, delivered_behind_the_page
):
    row_id, token = delivered_behind_the_page
    prefix = f"visit-{row_id}-"
    edit = {
        prefix + "csrf_token": token,
        prefix + "date": "2026-05-01",
        prefix + "starts_at": "10:00",
        prefix + "source": "Till 4",
        prefix + "external_id": only_record(app).external_id,
    }
    response = client.put(f"/visits/{row_id}", data=edit, headers=HTMX)
    assert response.status_code == 200
    assert row_state(leading_row(response, row_id)) == "confirmed"
    (visit,) = sandbox_leat.list_visits().visits
    assert visit.source == "Till 4"
    assert only_record(app).leat_uuid == visit.uuid


def test_retry_on_a_row_already_confirmed_answers_the_confirmed_row_and_says_so(
    client, sandbox_leat, delivered_behind_the_page
):
    row_id, token = delivered_behind_the_page
    response = client.post(f"/visits/{row_id}/retry", data={"csrf_token": token}, headers=HTMX)
    assert response.status_code == 200
    assert row_state(row(response, row_id)) == "confirmed"
    assert "Leat already has the visit" in response.text
    assert sandbox_leat.list_visits().total == 1  # nothing sent twice


def test_cancel_on_a_row_delivered_behind_the_page_shows_it_confirmed(
    client, delivered_behind_the_page
):
    row_id, _ = delivered_behind_the_page
    response = client.get(f"/visits/{row_id}", headers=HTMX)
    assert response.status_code == 200
    assert row_state(row(response, row_id)) == "confirmed"


def test_a_row_delivered_behind_the_open_page_still_edits_in_the_browser(
    app, page, sandbox, sandbox_leat
):
    """Defect 2 as a manager met it: Leat answers the create with a maintenance page,
    the row shows Pending, the worker delivers it, and Edit on the row on screen
    must open its editor (it answered 404 when rows were addressed by Leat's uuid)."""
    page.goto("/visits")
    page.evaluate("window.notReloaded = true")
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    form = page.locator("#create-visit")
    form.get_by_label("Contact", exact=True).fill(seed.CONTACT_ANNA)
    form.get_by_label("Shop").select_option(label="Amsterdam Centrum")
    form.get_by_label("Source").fill("Till 3")
    form.get_by_role("button", name="Create visit").click()
    row = page.locator("#visit-rows > tr").first
    expect(row).to_contain_text("Pending")

    deliver_behind_the_page(app)

    row.get_by_role("button", name="Edit").click()
    editor = page.locator("form.row-editor")
    expect(editor.get_by_label("Source")).to_have_value("Till 3")
    expect(editor.get_by_label("Date", exact=True)).to_be_focused()
    editor.get_by_label("Source").fill("Till 4")
    editor.get_by_role("button", name="Save").click()
    row = page.locator("#visit-rows > tr").first
    expect(row).to_contain_text("Till 4")
    expect(row).not_to_contain_text("Pending")
    expect(page.locator("#visit-rows")).not_to_contain_text("Not Found")
    assert page.evaluate("window.notReloaded") is True
    assert [visit.source for visit in sandbox_leat.list_visits().visits] == ["Till 4"]
    assert page.errors == []
