"""Nothing lost when Leat fails: the fault matrix over real loopback HTTP.

Each fault is injected into the served sandbox; the portal must tell the manager
what happened, keep every value, hold the right local state, and, once the worker
drains the queue, leave Leat with exactly what the manager meant: one visit per
submission, never two.
"""

from __future__ import annotations

import html
from datetime import datetime

import pytest
from helpers import (
    HTMX,
    all_records,
    closed_port,
    deliver_waiting,
    editor_fields,
    input_value,
    leading_row,
    outside_partials,
    partial,
    shown_start,
    text,
)
from helpers import csrf_token as csrf

from portal.leat import ErrorKind, LeatClient
from portal.leat_sandbox import MAINTENANCE_PAGE, Fault, seed
from portal.models import Delivery

STALL = 1.2  # longer than the read timeout the tests give the portal


# name: (fault, what the manager reads, the outcome: "pending" or an HTTP status)
FAULTS = {
    "connection-refused": (None, "having trouble", "pending"),
    "read-timeout": (Fault(commit=True, stall=STALL), "having trouble", "pending"),
    "dropped-after-commit": (Fault(commit=True, drop=True), "having trouble", "pending"),
    "500": (Fault(status=500, body='{"message": "Server Error."}'), "having trouble", "pending"),
    "502": (
        Fault(status=502, body="<html>Bad gateway</html>", content_type="text/html"),
        "having trouble",
        "pending",
    ),
    "503-maintenance-page": (MAINTENANCE_PAGE, "down for maintenance", "pending"),
    "504": (
        Fault(status=504, body="Gateway timeout", content_type="text/plain"),
        "having trouble",
        "pending",
    ),
    "429-retry-after": (
        Fault(status=429, body='{"message": "Too Many Attempts."}', headers={"Retry-After": "1"}),
        "too many requests",
        "pending",
    ),
    "malformed-json": (
        Fault(status=200, body='{"data": {"uuid": "x",},}', commit=True),
        "could not read",
        "pending",
    ),
    "401": (
        Fault(status=401, body='{"message": "Unauthenticated."}'),
        "token is invalid or expired",
        "pending",
    ),
    "404": (
        Fault(status=404, body='{"status_code": 404, "message": "Not found."}'),
        "does not know",
        422,
    ),
    "422": (
        Fault(
            status=422,
            body='{"status_code": 422, "code": 1003, "message": "The source is not allowed.",'
            ' "errors": {"source": "The source is not allowed."}}',
        ),
        "The source is not allowed.",
        422,
    ),
}


@pytest.fixture
def portal(app, sandbox):
    """The app with a short read timeout, so a stalled answer is a timeout here."""
    app.extensions["leat"].timeout = (2.0, 0.5)
    return app


def break_leat(app, sandbox, name, method, path):
    fault = FAULTS[name][0]
    if fault is None:  # nothing listens where the portal looks for Leat
        app.extensions["leat"] = LeatClient(
            f"http://127.0.0.1:{closed_port()}", sandbox.token, connect_timeout=1, read_timeout=1
        )
        return
    # More faults than the client's retries of a GET or PUT, so the call really fails.
    sandbox.faults.inject(fault, method=method, path=path, times=3)


def mend_leat(app, sandbox, client_before):
    sandbox.faults.clear()
    app.extensions["leat"] = client_before


@pytest.mark.parametrize("name", FAULTS)
def test_create_when_leat_fails(portal, client, sandbox, sandbox_leat, name):
    _fault, message, outcome = FAULTS[name]
    token = csrf(client)  # shops are loaded and cached before Leat breaks
    original = portal.extensions["leat"]
    break_leat(portal, sandbox, name, "POST", "/visits")
    data = {
        "csrf_token": token,
        "contact": seed.CONTACT_BRAM,
        "shop": seed.SHOP_ROTTERDAM,
        "date": "2026-05-01",
        "starts_at": "10:00",
        "ends_at": "11:00",
        "source": "Till 3",
        "external_id": f"till-{name}",
    }
    response = client.post("/visits", data=data, headers=HTMX)
    page = response.text
    assert message in page

    if outcome == "pending":
        assert response.status_code == 200
        assert "Pending — not yet confirmed by Leat" in page
        assert "saved in the portal" in page
        for shown in ("1 May 2026, 10:00", "1 May 2026, 11:00", "Till 3", f"till-{name}"):
            assert shown in page  # every value kept, in the pending row
        (record,) = all_records(portal)
        assert record.status == Delivery.PENDING
        assert record.pending.fields["source"] == "Till 3"
        mend_leat(portal, sandbox, original)
        deliver_waiting(portal)
        (record,) = all_records(portal)
        assert record.status == Delivery.CONFIRMED
        matches = [
            v for v in sandbox_leat.list_visits(limit=500).visits if v.external_id == f"till-{name}"
        ]
        assert len(matches) == 1, "one submission, one visit"
        assert record.leat_uuid == matches[0].uuid
        assert (matches[0].source, matches[0].contact.uuid) == ("Till 3", seed.CONTACT_BRAM)
    else:
        assert response.status_code == outcome
        kept = {
            "contact": seed.CONTACT_BRAM,
            "date": "2026-05-01",
            "starts_at": "10:00",
            "source": "Till 3",
            "external_id": f"till-{name}",
        }
        assert {field: input_value(page, field) for field in kept} == kept
        assert all_records(portal) == []
        mend_leat(portal, sandbox, original)
        assert sandbox_leat.list_visits().total == 0


# Over ~2 s: a PUT is retried, and each retry waits out Leat's Retry-After (1 s).
SLOW_EDITS = {"429-retry-after"}


# A 404 to a visit's own URL means the visit is gone at Leat: test_visits_true_in_leat.py.
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.slow) if name in SLOW_EDITS else name
        for name in FAULTS
        if name != "404"
    ],
)
def test_edit_when_leat_fails(portal, client, sandbox, sandbox_leat, name):
    _fault, message, outcome = FAULTS[name]
    token = csrf(client)
    data = {
        "csrf_token": token,
        "contact": seed.CONTACT_BRAM,
        "shop": seed.SHOP_ROTTERDAM,
        "date": "2026-05-01",
        "starts_at": "10:00",
        "source": "Till",
    }
    assert client.post("/visits", data=data, headers=HTMX).status_code == 200
    (record,) = all_records(portal)
    uuid, row_id = record.leat_uuid, record.id
    original = portal.extensions["leat"]
    break_leat(portal, sandbox, name, "PUT", f"/visits/{uuid}")
    prefix = f"visit-{row_id}-"
    edit = {
        prefix + "csrf_token": token,
        prefix + "date": "2026-05-01",
        prefix + "starts_at": "10:00",
        prefix + "ends_at": "12:30",
        prefix + "source": "Till 7",
        prefix + "external_id": record.external_id,
    }
    response = client.put(f"/visits/{row_id}", data=edit, headers=HTMX)
    page = response.text
    assert message in page
    if outcome == "pending":
        assert response.status_code == 200
        assert "Pending — not yet confirmed by Leat" in page
        assert "Till 7" in page
        assert "1 May 2026, 12:30" in page
        (record,) = all_records(portal)
        assert record.status == Delivery.PENDING
        assert record.pending.fields["source"] == "Till 7"
        mend_leat(portal, sandbox, original)
        deliver_waiting(portal)
        (record,) = all_records(portal)
        assert record.status == Delivery.CONFIRMED
        visit = sandbox_leat.get_visit(uuid)
        assert visit.source == "Till 7"
        assert record.snapshot["source"] == "Till 7"
    else:
        assert response.status_code == outcome
        editor = leading_row(page, row_id)
        assert input_value(editor, prefix + "source") == "Till 7"
        assert input_value(editor, prefix + "ends_at") == "12:30"
        (record,) = all_records(portal)
        assert (record.status, record.snapshot["source"]) == (Delivery.CONFIRMED, "Till")
        mend_leat(portal, sandbox, original)
        assert sandbox_leat.get_visit(uuid).source == "Till"


def test_a_get_or_put_is_retried_a_post_never(portal, client, sandbox, sandbox_leat):
    token = csrf(client)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    data = {"csrf_token": token, "contact": seed.CONTACT_BRAM, "shop": seed.SHOP_ROTTERDAM}
    client.post("/visits", data=data, headers=HTMX)
    assert sandbox.faults.faults_served == 1
    assert sandbox_leat.list_visits().total == 0  # not re-sent by the adapter
    (record,) = all_records(portal)
    assert record.status == Delivery.PENDING

    deliver_waiting(portal)
    (record,) = all_records(portal)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="PUT", times=1)
    start = shown_start(datetime.fromisoformat(record.snapshot["starts_at"]))
    edit = editor_fields(record.id, csrf_token=token, **start, source="Retried")
    response = client.put(f"/visits/{record.id}", data=edit, headers=HTMX)
    assert response.status_code == 200
    assert sandbox.faults.faults_served == 2
    assert sandbox_leat.get_visit(record.leat_uuid).source == "Retried"


def test_a_refusal_on_a_later_attempt_needs_attention_and_keeps_everything(
    portal, client, sandbox, sandbox_leat
):
    token = csrf(client)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    data = {
        "csrf_token": token,
        "contact": "nobody@example.com",
        "shop": seed.SHOP_UTRECHT,
        "source": "Kept",
    }
    sandbox.faults.inject(MAINTENANCE_PAGE, method="GET", path="/contacts", times=3)
    response = client.post("/visits", data=data, headers=HTMX)
    assert "Pending" in response.text
    deliver_waiting(portal)  # Leat is back, and says it has no such contact
    (record,) = all_records(portal)
    assert record.status == Delivery.ATTENTION
    assert record.error_kind == ErrorKind.CONTACT_NOT_FOUND
    page = client.get("/visits").text
    assert "Needs attention" in page
    assert "Kept" in page
    assert "Retry now" in page


def test_retry_now_delivers_a_pending_row(portal, client, sandbox, sandbox_leat):
    token = csrf(client)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    data = {"csrf_token": token, "contact": seed.CONTACT_EMMA, "shop": seed.SHOP_UTRECHT}
    client.post("/visits", data=data, headers=HTMX)
    (record,) = all_records(portal)
    page = client.get("/visits").text
    assert "1 visit waits for Leat" in page
    response = client.post(f"/visits/{record.id}/retry", data={"csrf_token": token}, headers=HTMX)
    assert response.status_code == 200
    assert "Pending" not in text(outside_partials(response))
    assert "now in Leat" in response.text
    queue_status = partial(response, "#queue-status")
    assert queue_status["hx-swap"] == "innerHTML"
    assert "waits for Leat" not in text(queue_status)
    assert sandbox_leat.list_visits().total == 1
    assert "waits for Leat" not in client.get("/visits").text


def test_a_refused_token_shows_a_banner_and_items_wait(portal, client, sandbox):
    token = csrf(client)
    sandbox.faults.inject(FAULTS["401"][0], times=None)
    data = {"csrf_token": token, "contact": seed.CONTACT_EMMA, "shop": seed.SHOP_UTRECHT}
    client.post("/visits", data=data, headers=HTMX)
    deliver_waiting(portal)
    (record,) = all_records(portal)
    assert record.status == Delivery.PENDING
    page = html.unescape(client.get("/visits").text)
    assert "The portal's Leat token is invalid or expired — ask your administrator" in page


def test_shops_that_cannot_be_loaded_are_explained_on_the_page(client, sandbox, app):
    app.extensions["shop_cache"].clear()
    sandbox.faults.inject(MAINTENANCE_PAGE, method="GET", path="/shops", times=3)
    page = client.get("/visits")
    assert page.status_code == 200
    assert "The list of shops could not be loaded. Leat is down for maintenance" in page.text


def test_correcting_a_pending_create_sends_the_latest_values_once(
    portal, client, sandbox, sandbox_leat
):
    token = csrf(client)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    data = {
        "csrf_token": token,
        "contact": seed.CONTACT_ANNA,
        "shop": seed.SHOP_UTRECHT,
        "date": "2026-05-01",
        "starts_at": "10:00",
        "source": "First",
    }
    client.post("/visits", data=data, headers=HTMX)
    (record,) = all_records(portal)
    key = record.id
    editor = client.get(f"/visits/{key}/edit", headers=HTMX)
    assert editor.status_code == 200
    prefix = f"visit-{key}-"
    assert input_value(editor, prefix + "source") == "First"
    edit = {
        prefix + "csrf_token": token,
        prefix + "date": "2026-05-01",
        prefix + "starts_at": "10:00",
        prefix + "source": "Corrected",
        prefix + "external_id": record.external_id,
    }
    response = client.put(f"/visits/{key}", data=edit, headers=HTMX)
    assert response.status_code == 200
    assert "Corrected" in response.text
    visits = sandbox_leat.list_visits().visits
    assert [v.source for v in visits] == ["Corrected"]
    (record,) = all_records(portal)
    assert (record.status, record.leat_uuid) == (Delivery.CONFIRMED, visits[0].uuid)


def test_an_edit_refused_on_a_later_attempt_can_be_corrected(portal, client, sandbox, sandbox_leat):
    token = csrf(client)
    data = {
        "csrf_token": token,
        "contact": seed.CONTACT_ANNA,
        "shop": seed.SHOP_UTRECHT,
        "date": "2026-05-01",
        "starts_at": "10:00",
        "source": "Till",
    }
    client.post("/visits", data=data, headers=HTMX)
    (record,) = all_records(portal)
    uuid, prefix = record.leat_uuid, f"visit-{record.id}-"
    sandbox.faults.inject(MAINTENANCE_PAGE, method="PUT", times=3)
    edit = {
        prefix + "csrf_token": token,
        prefix + "date": "2026-05-01",
        prefix + "starts_at": "10:00",
        prefix + "source": "Too late",
        prefix + "external_id": record.external_id,
    }
    assert "Pending" in client.put(f"/visits/{record.id}", data=edit, headers=HTMX).text
    refusal = FAULTS["422"][0]
    sandbox.faults.inject(refusal, method="PUT", times=1)
    deliver_waiting(portal)
    (record,) = all_records(portal)
    assert record.status == Delivery.ATTENTION
    assert record.pending.fields["source"] == "Too late"  # nothing dropped
    page = client.get("/visits").text
    assert "Needs attention" in page
    assert "The source is not allowed." in page
    edit[prefix + "source"] = "Accepted"
    response = client.put(f"/visits/{record.id}", data=edit, headers=HTMX)
    assert response.status_code == 200
    assert "Needs attention" not in response.text
    assert sandbox_leat.get_visit(uuid).source == "Accepted"
