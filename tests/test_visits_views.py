"""The visits page through Flask's test client, CSRF on, Leat being the sandbox.

Each answer comes as an htmx fragment or, without JavaScript, as a whole page or a
303 back to it; both shapes are checked.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from helpers import (
    HTMX,
    cell,
    csrf_token,
    error_under,
    field,
    focused,
    input_value,
    leading_row,
    only_record,
    outside_partials,
    partial,
    row_state,
    selected_option,
    soup,
)

from portal.database import db
from portal.leat_sandbox import seed
from portal.models import VisitRecord


def visit_fields(**overrides) -> dict:
    fields = {
        "contact": "anna.devries@example.com",
        "shop": seed.SHOP_AMSTERDAM,
        "date": "2026-05-01",
        "starts_at": "10:00",
        "ends_at": "11:30",
        "source": "Portal",
        "external_id": "",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def create(client, htmx=True, **overrides):
    data = {"csrf_token": csrf_token(client), **visit_fields(**overrides)}
    return client.post("/visits", data=data, headers=HTMX if htmx else {})


# -- the page ----------------------------------------------------------------------------


def test_the_root_leads_to_the_visits_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/visits"


def test_the_page_has_the_create_form_and_the_table(client):
    response = client.get("/visits")
    assert response.status_code == 200
    page = response.text
    doc = soup(page)
    labels = [label.get_text() for label in doc.find_all("label")]
    for label in ("Contact", "Shop", "Date", "Starts at", "Ends at", "Source", "External ID"):
        assert label in labels
    assert "Create the contact if new" in page
    assert doc.find("input", attrs={"type": "submit", "value": "Create visit"}) is not None
    assert input_value(doc, "csrf_token")
    assert "Amsterdam Centrum" in page
    assert "HX-Request" in response.headers["Vary"]
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert all(script.get("src") for script in doc.find_all("script"))  # none inline
    assert doc.find(style=True) is None  # no inline style


# -- create -----------------------------------------------------------------------------


def test_create_answers_a_fresh_form_and_the_new_row(client, app, sandbox_leat):
    response = create(client, source="Till 2")
    assert response.status_code == 200
    page = response.text
    assert soup(page).find("html") is None
    new_row = partial(page, "#visit-rows")
    assert new_row["hx-swap"] == "afterbegin"
    assert cell(new_row, "Contact") == "anna.devries@example.com"
    assert new_row.find("td", attrs={"data-label": "Contact"}).a is not None  # history
    assert "1 May 2026, 10:00" in page  # local time, as typed
    assert "Till 2" in page
    # The form is reset, but the shop stays chosen for the next visit.
    form = outside_partials(page)
    contact = field(form, "contact")
    assert (contact.get("type"), contact.get("value"), contact.get("spellcheck")) == (
        "text",
        "",
        "false",
    )
    assert contact.has_attr("required")
    assert selected_option(form, "shop") == seed.SHOP_AMSTERDAM
    assert "HX-Request" in response.headers["Vary"]

    record = only_record(app)
    visit = sandbox_leat.get_visit(record.leat_uuid)
    assert record.shop_uuid == seed.SHOP_AMSTERDAM
    assert record.contact_uuid == seed.CONTACT_ANNA
    assert record.snapshot["uuid"] == visit.uuid
    assert record.snapshot_at is not None
    # Typed in Amsterdam summer time (UTC+2), stored by Leat as the same instant.
    assert visit.starts_at == datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    assert visit.source == "Till 2"
    assert visit.external_id.startswith("portal-")


def test_a_blank_source_is_portal_and_a_given_external_id_is_kept(client, sandbox_leat, app):
    create(client, source="", external_id="till-42", starts_at="", ends_at="")
    visit = sandbox_leat.get_visit(only_record(app).leat_uuid)
    assert (visit.source, visit.external_id) == ("Portal", "till-42")


def test_create_by_contact_uuid(client, app):
    assert create(client, contact=seed.CONTACT_BRAM).status_code == 200
    assert only_record(app).contact_email == "bram.jansen@example.com"


def test_an_unknown_email_is_an_error_under_contact_with_values_kept(client, sandbox_leat):
    response = create(client, contact="new.person@example.com", source="Till 9")
    assert response.status_code == 422
    page = response.text
    assert soup(page).find("html") is None
    assert "Create the contact if new" in error_under(page, "contact")
    assert input_value(page, "contact") == "new.person@example.com"
    assert input_value(page, "source") == "Till 9"
    assert (input_value(page, "date"), input_value(page, "starts_at")) == ("2026-05-01", "10:00")
    assert sandbox_leat.list_visits().total == 0


def test_create_the_contact_if_new(client, sandbox_leat, app):
    response = create(client, contact="new.person@example.com", create_contact="y")
    assert response.status_code == 200
    contact = sandbox_leat.find_contact_by_email("new.person@example.com")
    assert only_record(app).contact_uuid == contact.uuid


def test_an_unknown_contact_uuid_is_leats_55031_under_contact(client):
    response = create(client, contact="3f0c6a42-9d1b-4c1e-8f7e-2a4b5c6d7e8f")
    assert response.status_code == 422
    assert "no contact with this UUID" in error_under(response.text, "contact")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"contact": ""}, "contact", "Enter the contact"),
        ({"contact": "anna"}, "contact", "e-mail address or their Leat contact UUID"),
        ({"contact": "anna@"}, "contact", "not valid"),
        ({"shop": ""}, "shop", "Choose the shop"),
        ({"shop": "not-a-shop"}, "shop", "Choose one of your shops"),
        ({"ends_at": "09:00"}, "ends_at", "after the start"),
        ({"ends_at": "10:00"}, "ends_at", "after the start"),
        ({"starts_at": "yesterday"}, "starts_at", "Enter the time as hours and minutes"),
        ({"source": "x" * 256}, "source", "255"),
        ({"external_id": "x" * 256}, "external_id", "255"),
        (
            {"date": "2026-03-29", "starts_at": "02:30", "ends_at": ""},
            "starts_at",
            "does not exist",
        ),
        ({"date": "2026-10-25", "starts_at": "02:30", "ends_at": ""}, "starts_at", "happens twice"),
    ],
)
def test_invalid_input_is_refused_before_leat_is_called(
    client, sandbox_leat, overrides, field, message
):
    response = create(client, **overrides)
    assert response.status_code == 422
    assert message in error_under(response.text, field)
    assert sandbox_leat.list_visits().total == 0


def test_leats_own_422_lands_under_the_matching_field(client, sandbox_leat, app):
    # A visit made at Leat by another system: only Leat knows its external_id.
    sandbox_leat.create_visit(
        contact_uuid=seed.CONTACT_DAAN, shop_uuid=seed.SHOP_WEBSHOP, external_id="till-7"
    )
    response = create(client, external_id="till-7", contact="bram.jansen@example.com")
    assert response.status_code == 422
    assert "already been taken" in error_under(response.text, "external_id")
    assert input_value(response, "contact") == "bram.jansen@example.com"
    with app.app_context():  # refused outright: nothing waits in the portal
        assert db.session.scalar(db.select(db.func.count(VisitRecord.id))) == 0


def test_an_external_id_the_portal_already_knows_is_refused_before_leat(client, sandbox_leat):
    assert create(client, external_id="till-8").status_code == 200
    response = create(client, external_id="till-8", contact="bram.jansen@example.com")
    assert response.status_code == 422
    assert "already used by another visit" in error_under(response.text, "external_id")
    assert sandbox_leat.list_visits().total == 1


# -- without JavaScript ------------------------------------------------------------------


def test_create_without_javascript_redirects_with_a_confirmation(client):
    response = create(client, htmx=False)
    assert response.status_code == 303
    assert response.headers["Location"] == "/visits"
    page = client.get("/visits").text
    assert "Visit of anna.devries@example.com at Amsterdam Centrum recorded." in page
    assert "1 May 2026, 10:00" in page


def test_a_failed_create_without_javascript_shows_the_page_with_errors(client):
    response = create(client, htmx=False, ends_at="09:00", source="Till 5")
    assert response.status_code == 422
    assert response.text.startswith("<!doctype html>")
    assert "after the start" in error_under(response.text, "ends_at")
    assert input_value(response, "source") == "Till 5"


# -- edit --------------------------------------------------------------------------------


@pytest.fixture
def recorded(client, app):
    assert create(client, external_id="till-1", source="Till").status_code == 200
    return only_record(app)


def edit_fields(record, **overrides) -> dict:
    prefix = f"visit-{record.id}-"
    fields = {
        "date": "2026-05-01",
        "starts_at": "10:00",
        "ends_at": "11:30",
        "source": "Till",
        "external_id": "till-1",
    }
    fields.update(overrides)
    return {prefix + k: v for k, v in fields.items()}


def save(client, record, htmx=True, **overrides):
    data = {f"visit-{record.id}-csrf_token": csrf_token(client)}
    data.update(edit_fields(record, **overrides))
    url = f"/visits/{record.id}"
    if htmx:
        return client.put(url, data=data, headers=HTMX)
    return client.post(url, data=data)


def test_edit_turns_the_row_into_an_editor(client, recorded):
    response = client.get(f"/visits/{recorded.id}/edit", headers=HTMX)
    assert response.status_code == 200
    page = response.text
    assert soup(page).find("html") is None
    editor = leading_row(page, recorded.id)
    prefix = f"visit-{recorded.id}-"
    shown = {
        name: (field(editor, prefix + name).get("id"), field(editor, prefix + name).get("value"))
        for name in ("date", "starts_at", "ends_at")
    }
    assert shown == {
        "date": (f"{prefix}date", "2026-05-01"),
        "starts_at": (f"{prefix}starts_at", "10:00"),
        "ends_at": (f"{prefix}ends_at", "11:30"),
    }
    assert field(editor, f"{prefix}starts_at").get("inputmode") == "numeric"
    assert input_value(editor, f"{prefix}source") == "Till"
    assert "anna.devries@example.com" in page  # shown, not offered
    assert soup(page).find(attrs={"name": "contact"}) is None
    assert focused(editor).get("name") == f"{prefix}date"  # the editor's first field
    assert "HX-Request" in response.headers["Vary"]


def test_save_sends_only_what_changed_and_rerenders_the_row(
    client, app, recorded, sandbox_leat, monkeypatch
):
    sent = []
    leat = app.extensions["leat"]
    real_update = leat.update_visit
    monkeypatch.setattr(
        leat,
        "update_visit",
        lambda uuid, **fields: sent.append(fields) or real_update(uuid, **fields),
    )
    response = save(client, recorded, source="Till 4", ends_at="12:00")
    assert response.status_code == 200
    page = response.text
    assert soup(page).find("html") is None
    saved = leading_row(page, recorded.id)
    assert row_state(saved) == "confirmed"
    assert "Till 4" in page
    assert "1 May 2026, 12:00" in page
    assert "edit" in focused(saved)["class"]  # focus returns to the Edit button
    assert sent == [{"source": "Till 4", "ends_at": datetime(2026, 5, 1, 10, 0, tzinfo=UTC)}]
    assert sandbox_leat.get_visit(recorded.leat_uuid).source == "Till 4"
    assert only_record(app).snapshot["source"] == "Till 4"


def test_save_without_changes_does_not_call_leat(client, app, recorded, monkeypatch):
    leat = app.extensions["leat"]
    monkeypatch.setattr(leat, "update_visit", lambda *a, **k: pytest.fail("Leat was called"))
    assert save(client, recorded).status_code == 200


def test_a_cleared_field_is_refused_with_a_way_out(client, recorded, sandbox_leat):
    response = save(client, recorded, source="")
    assert response.status_code == 422
    prefix = f"visit-{recorded.id}-"
    assert "cannot clear" in error_under(response.text, prefix + "source")
    assert sandbox_leat.get_visit(recorded.leat_uuid).source == "Till"


def test_a_leat_422_on_save_lands_under_the_field_with_values_kept(client, recorded):
    assert (
        create(client, external_id="till-2", contact="bram.jansen@example.com").status_code == 200
    )
    response = save(client, recorded, external_id="till-2", source="Till 8")
    assert response.status_code == 422
    prefix = f"visit-{recorded.id}-"
    assert "already been taken" in error_under(response.text, prefix + "external_id")
    assert input_value(response, prefix + "source") == "Till 8"


def test_an_editor_form_error_stays_in_the_row(client, recorded):
    response = save(client, recorded, ends_at="09:00")
    assert response.status_code == 422
    leading_row(response, recorded.id)
    assert "after the start" in error_under(response.text, f"visit-{recorded.id}-ends_at")


def test_cancel_restores_the_row_without_calling_leat(client, app, recorded, monkeypatch):
    client.get("/visits")  # shops are cached now
    leat = app.extensions["leat"]
    monkeypatch.setattr(leat, "_call", lambda *a, **k: pytest.fail("Leat was called"))
    response = client.get(f"/visits/{recorded.id}", headers=HTMX)
    assert response.status_code == 200
    restored = leading_row(response, recorded.id)
    assert row_state(restored) == "confirmed"
    assert "edit" in focused(restored)["class"]


def test_edit_and_save_without_javascript(client, recorded, sandbox_leat):
    page = client.get(f"/visits/{recorded.id}/edit")
    assert page.status_code == 200
    assert page.text.startswith("<!doctype html>")
    assert soup(page).find("form", action=f"/visits/{recorded.id}") is not None
    response = save(client, recorded, htmx=False, source="Counter")
    assert response.status_code == 303
    assert "Visit of anna.devries@example.com saved." in client.get("/visits").text
    assert sandbox_leat.get_visit(recorded.leat_uuid).source == "Counter"


def test_a_failed_save_without_javascript_shows_the_page_with_the_editor(client, recorded):
    response = save(client, recorded, htmx=False, ends_at="09:00")
    assert response.status_code == 422
    assert response.text.startswith("<!doctype html>")
    assert "after the start" in error_under(response.text, f"visit-{recorded.id}-ends_at")


def test_cancel_without_javascript_returns_to_the_page(client, recorded):
    response = client.get(f"/visits/{recorded.id}")
    assert response.status_code == 303


def test_an_unknown_visit_is_not_found(client):
    unknown = "3f0c6a42-9d1b-4c1e-8f7e-2a4b5c6d7e8f"
    assert client.get(f"/visits/{unknown}/edit", headers=HTMX).status_code == 404
    token = csrf_token(client)
    assert (
        client.put(f"/visits/{unknown}", data={"csrf_token": token}, headers=HTMX).status_code
        == 404
    )


# -- CSRF -----------------------------------------------------------------------------------


def test_a_create_without_the_csrf_token_is_refused_with_a_way_out(client, sandbox_leat):
    response = client.post("/visits", data=visit_fields())
    assert response.status_code == 400
    assert "Reload the page" in response.text
    assert sandbox_leat.list_visits().total == 0


def test_an_htmx_request_without_the_token_is_shown_in_the_message_area(client):
    response = client.post("/visits", data=visit_fields(), headers=HTMX)
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#alerts"
    assert soup(response).find("html") is None


def test_the_csrf_header_alone_is_enough_for_htmx(client, recorded):
    headers = {**HTMX, "X-CSRFToken": csrf_token(client)}
    data = edit_fields(recorded, source="Header")
    response = client.put(f"/visits/{recorded.id}", data=data, headers=headers)
    assert response.status_code == 200


# -- the list -----------------------------------------------------------------------------


def test_the_list_is_newest_first_fifty_a_page(client, app):
    with app.app_context():
        for n in range(51):
            record = VisitRecord(
                shop_uuid=seed.SHOP_UTRECHT,
                contact_uuid=seed.CONTACT_ANNA,
                contact_email="anna.devries@example.com",
                created_at=datetime(2026, 1, 1, tzinfo=UTC).replace(minute=n),
            )
            record.leat_uuid = f"00000000-0000-4000-8000-{n:012d}"
            record.snapshot = {
                "uuid": record.leat_uuid,
                "contact": {"uuid": seed.CONTACT_ANNA, "email": "anna.devries@example.com"},
                "source": f"n{n}",
                "starts_at": "2026-01-01T10:00:00+00:00",
            }
            db.session.add(record)
        db.session.commit()
    first = soup(client.get("/visits"))
    assert [row_state(row) for row in first.select("tr.visit-row")] == ["confirmed"] * 50
    sources = [cell(row, "Source") for row in first.select("tr.visit-row")]
    assert sources.index("n50") < sources.index("n49")
    assert "n0" not in sources
    assert first.find("a", href="/visits?page=2") is not None
    second = soup(client.get("/visits?page=2"))
    assert [row_state(row) for row in second.select("tr.visit-row")] == ["confirmed"]
    assert [cell(row, "Source") for row in second.select("tr.visit-row")] == ["n0"]


def test_page_loads_ask_leat_for_shops_once_and_nothing_per_row(client, app, recorded, monkeypatch):
    calls = []
    leat = app.extensions["leat"]
    real_call = leat._call
    monkeypatch.setattr(leat, "_call", lambda *a, **k: calls.append(a[1]) or real_call(*a, **k))
    app.extensions["shop_cache"].clear()
    for _ in range(3):
        assert client.get("/visits").status_code == 200
    assert calls == ["/shops"]


def test_the_page_reads_the_newest_visits_by_index_not_by_sorting_them_all(app):
    # A sort of the whole table would cost every page load more with every visit ever
    # recorded. SQLite's plan says so plainly; PostgreSQL's depends on table size.
    # (A manager of a few shops has their visits sorted: fewer, and the planner's call.)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's query plan is the one checked here")
    from portal.auth.manager import Manager
    from portal.visits.queries import Order, VisitFilter, matching

    with app.app_context():
        for manager, order in itertools.product(
            (
                Manager(id="a", name="A", shops=("*",)),
                Manager(id="b", name="B", shops=(seed.SHOPS[0].uuid,)),
            ),
            Order,
        ):
            query = matching(manager, VisitFilter(order=order)).limit(50)
            compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = " / ".join(
                row[-1] for row in db.session.execute(db.text(f"EXPLAIN QUERY PLAN {compiled}"))
            )
            assert "USING INDEX" in plan, plan
            assert "TEMP B-TREE FOR ORDER BY" not in plan, plan
