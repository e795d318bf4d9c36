"""Visits of one contact (``/contacts/<uuid>/visits``) through Flask's test client,
Leat being the sandbox: the link on each row, every page of Leat's visits, what a
manager may see of whose visit it is, the one-click create, and Leat away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers import HTMX, all_records, post_visit, signed_in, soup, text

from portal.leat import client as leat_client
from portal.leat_sandbox import MAINTENANCE_PAGE, Fault, seed
from portal.models import Delivery

ANNA = "anna.devries@example.com"
ANNA_HISTORY = f"/contacts/{seed.CONTACT_ANNA}/visits"
UNKNOWN_CONTACT = "3f0c6a42-9d1b-4c1e-8f7e-2a4b5c6d7e8f"


def record(client, contact=ANNA, shop=seed.SHOP_AMSTERDAM, **fields):
    """A visit recorded through the create form, as a browser without JavaScript."""
    response = post_visit(client, htmx=False, contact=contact, shop=shop, **fields)
    assert response.status_code == 303
    return response


def history_rows(page) -> list[list[str]]:
    """The history table's rows, each cell's text: starts, ends, recorded, source, ID."""
    return [
        [" ".join(cell.get_text(" ").split()) for cell in row.find_all("td")]
        for row in soup(page).select("table.history tbody tr")
    ]


def form_data(form) -> dict[str, str]:
    """What a browser sends for a form: every named input, and each select's choice."""
    data = {field["name"]: field.get("value", "") for field in form.find_all("input")}
    for select in form.find_all("select"):
        chosen = select.find("option", selected=True) or select.find("option")
        data[select["name"]] = chosen.get("value", "")
    return data


@pytest.fixture
def carla(app):
    """A manager of Amsterdam only."""
    return signed_in(app, seed.SHOP_AMSTERDAM, name="Carla", manager_id="carla@example.com")


@pytest.fixture
def bob(app):
    """A manager of Utrecht only."""
    return signed_in(app, seed.SHOP_UTRECHT, name="Bob", manager_id="bob@example.com")


# -- the link on each row -----------------------------------------------------------------


def test_a_rows_contact_links_to_their_history_by_uuid(client):
    record(client)
    link = soup(client.get("/visits")).select_one("#visit-rows td[data-label=Contact] a")
    assert link["href"] == ANNA_HISTORY  # the uuid, never the e-mail address
    assert link.get_text() == ANNA

    answer = post_visit(client, contact="bram.jansen@example.com", shop=seed.SHOP_UTRECHT)
    assert f'href="/contacts/{seed.CONTACT_BRAM}/visits"' in answer.text  # htmx's new row too


def test_a_contact_not_looked_up_yet_is_shown_without_a_link(client, sandbox, app):
    # More faults than the client's retries of a GET: the e-mail cannot be looked up.
    sandbox.faults.inject(MAINTENANCE_PAGE, method="GET", path="/contacts", times=3)
    record(client)
    (pending,) = all_records(app)
    assert (pending.status, pending.contact_uuid) == (Delivery.PENDING, None)
    cell = soup(client.get("/visits")).select_one("#visit-rows td[data-label=Contact]")
    assert cell.find("a") is None
    assert ANNA in cell.get_text()


# -- what the page shows -------------------------------------------------------------------


def test_every_visit_in_leat_newest_first_each_marked_whose(
    app, client, carla, bob, sandbox, sandbox_leat, monkeypatch
):
    record(carla, date="2026-05-01", starts_at="10:00", source="Counter")
    record(bob, shop=seed.SHOP_UTRECHT, date="2026-05-02", starts_at="12:00", external_id="utr-1")
    record(carla, date="2026-05-03", starts_at="09:00")
    # Made at a till, straight at Leat, last but starting first: the page sorts by start.
    sandbox_leat.create_visit(
        contact_uuid=seed.CONTACT_ANNA,
        shop_uuid=seed.SHOP_ROTTERDAM,
        source="Till 3",
        external_id="till-3",
        starts_at=datetime(2026, 4, 30, 8, 0, tzinfo=UTC),
    )
    sandbox_leat.create_visit(contact_uuid=seed.CONTACT_BRAM, shop_uuid=seed.SHOP_AMSTERDAM)
    # Two visits a page, so Anna's four come in two pages.
    monkeypatch.setattr(leat_client, "MAX_VISITS_PER_PAGE", 2)
    pages_before = sandbox.faults.calls[("GET", "/visits")]

    page = carla.get(ANNA_HISTORY)
    assert page.status_code == 200
    assert sandbox.faults.calls[("GET", "/visits")] - pages_before == 2
    assert soup(page).h1.get_text() == f"Visits of {ANNA}"
    rows = history_rows(page)
    assert [row[:4] for row in rows] == [
        ["3 May 2026, 09:00", "", "Amsterdam Centrum by Carla", "Portal"],
        ["2 May 2026, 12:00", "", "Another shop", "Portal"],
        ["1 May 2026, 10:00", "", "Amsterdam Centrum by Carla", "Counter"],
        ["30 Apr 2026, 10:00", "", "Recorded outside the portal", "Till 3"],
    ]
    # Leat's facts (times, source, external ID) for every visit; the portal's own
    # knowledge (shop, who) only of Carla's shop.
    assert [row[4][:7] for row in rows] == ["portal-", "utr-1", "portal-", "till-3"]
    assert "Utrecht" not in page.text
    assert "Bob" not in page.text

    # A manager of every shop sees each portal visit's shop and who recorded it.
    assert history_rows(client.get(ANNA_HISTORY))[1][2] == "Utrecht Oudegracht by Bob"


def test_visits_leat_does_not_have_yet_are_listed_as_pending(app, carla, bob, sandbox):
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    record(carla, contact=seed.CONTACT_ANNA, date="2026-05-01", starts_at="10:00", source="By uuid")
    # By e-mail, with the contact not looked up yet: no contact uuid on the record.
    sandbox.faults.inject(MAINTENANCE_PAGE, method="GET", path="/contacts", times=3)
    record(carla, date="2026-05-02", starts_at="10:00", source="By e-mail")
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    record(bob, contact=seed.CONTACT_ANNA, shop=seed.SHOP_UTRECHT, source="Bob's")
    assert [r.status for r in all_records(app)] == [Delivery.PENDING] * 3

    rows = history_rows(carla.get(ANNA_HISTORY))
    pending = "Amsterdam Centrum by Carla Pending — not yet confirmed by Leat"
    assert [(row[0], row[2], row[3]) for row in rows] == [
        ("2 May 2026, 10:00", pending, "By e-mail"),
        ("1 May 2026, 10:00", pending, "By uuid"),
    ]  # Bob's record is his shop's alone, and Leat does not have it: not listed


def test_an_upper_case_uuid_is_the_same_contact(client):
    record(client)
    page = client.get(f"/contacts/{seed.CONTACT_ANNA.upper()}/visits")
    assert page.status_code == 200
    assert len(history_rows(page)) == 1


@pytest.mark.parametrize(
    "contact",
    [
        ANNA,  # an e-mail address is not how a contact is addressed
        "not-a-uuid",
        seed.CONTACT_ANNA.replace("-", ""),
        seed.CONTACT_ANNA[:-1],
        seed.CONTACT_ANNA + "0",
    ],
)
def test_anything_but_a_uuid_is_the_portals_404(client, sandbox, contact):
    calls_before = sum(sandbox.faults.calls.values())
    page = client.get(f"/contacts/{contact}/visits")
    assert page.status_code == 404
    assert "does not exist" in text(page)
    assert soup(page).find("a", href="/visits") is not None  # the portal's page, a way on
    partial = client.get(f"/contacts/{contact}/visits", headers=HTMX)
    assert (partial.status_code, partial.headers["HX-Retarget"]) == (404, "#alerts")
    assert sum(sandbox.faults.calls.values()) == calls_before  # Leat was not asked


def test_a_contact_neither_leat_nor_the_portal_knows_is_a_404(client):
    page = client.get(f"/contacts/{UNKNOWN_CONTACT}/visits")
    assert page.status_code == 404
    assert "does not exist" in text(page)


def test_a_contact_without_visits_has_an_empty_history(client):
    page = client.get(f"/contacts/{seed.CONTACT_EMMA}/visits")
    assert page.status_code == 200
    assert "Leat has no visits of this contact yet." in text(page)
    assert "style=" not in page.text
    assert "<script>" not in page.text


def test_the_history_needs_a_session(anonymous):
    assert anonymous.get(ANNA_HISTORY).status_code == 401


# -- one click: a visit of this contact now ----------------------------------------------------


def test_one_click_records_a_visit_of_this_contact_now(app, carla, sandbox_leat):
    page = soup(carla.get(ANNA_HISTORY))
    form = page.find("form", class_="record-now")
    assert (form["method"], form["action"]) == ("post", "/visits")
    assert form.find("select") is None  # Carla's one shop is chosen for her
    assert form.find("button", type="submit").get_text() == "Record a visit now"
    assert "at Amsterdam Centrum, starting now" in text(form)

    clicked = datetime.now(UTC).replace(microsecond=0)
    response = carla.post("/visits", data=form_data(form))
    assert (response.status_code, response.headers["Location"]) == (303, "/visits")
    assert f"Visit of {ANNA} at Amsterdam Centrum recorded." in carla.get("/visits").text

    (made,) = all_records(app)
    assert (made.contact_uuid, made.shop_uuid, made.status) == (
        seed.CONTACT_ANNA,
        seed.SHOP_AMSTERDAM,
        Delivery.CONFIRMED,
    )
    visit = sandbox_leat.get_visit(made.leat_uuid)
    assert visit.source == "Portal"
    assert clicked <= visit.starts_at <= clicked + timedelta(seconds=5)
    assert history_rows(carla.get(ANNA_HISTORY))[0][2] == "Amsterdam Centrum by Carla"

    # The same form sent again (a double click, back and resubmit): still one visit.
    carla.post("/visits", data=form_data(form))
    assert len(all_records(app)) == 1


def test_with_several_shops_the_one_click_asks_which(client):
    form = soup(client.get(ANNA_HISTORY)).find("form", class_="record-now")
    shop = form.find("select", attrs={"name": "shop"})
    assert shop.has_attr("required")  # the browser asks before anything is sent
    assert shop.find("option")["value"] == ""  # nothing chosen for the manager by accident
    assert form.find("label", attrs={"for": shop["id"]}).get_text() == "Shop"


# -- Leat away -------------------------------------------------------------------------------

STALL = 1.2  # longer than the read timeout these tests give the portal

LEAT_DOWN = {
    "maintenance": (MAINTENANCE_PAGE, "Leat is down for maintenance."),
    "500": (Fault(status=500, body='{"message": "Server Error."}'), "Leat is having trouble"),
    "timeout": (Fault(delay=STALL), "Leat is having trouble"),
}


@pytest.mark.parametrize("name", LEAT_DOWN)
def test_when_leat_is_down_the_page_says_so_and_shows_the_portals_records(
    app, carla, bob, sandbox, name
):
    record(carla, date="2026-05-01", starts_at="10:00", source="Counter")
    record(bob, shop=seed.SHOP_UTRECHT, date="2026-05-02", starts_at="10:00", source="Bob's")
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    record(carla, date="2026-05-03", starts_at="10:00", source="Waiting")
    app.extensions["leat"].timeout = (2.0, 0.5)
    fault, reason = LEAT_DOWN[name]
    sandbox.faults.inject(fault, method="GET", times=None)  # shops are cached already

    page = carla.get(ANNA_HISTORY)
    assert page.status_code == 200
    said = text(page)
    assert "Leat's visits of this contact could not be loaded." in said
    assert reason in said
    assert soup(page).h1.get_text() == f"Visits of {ANNA}"  # from the portal's records
    pending = "Amsterdam Centrum by Carla Pending — not yet confirmed by Leat"
    assert [(row[0], row[2], row[3]) for row in history_rows(page)] == [
        ("3 May 2026, 10:00", pending, "Waiting"),
        ("1 May 2026, 10:00", "Amsterdam Centrum by Carla", "Counter"),
    ]
    assert "Bob" not in said
    # Still a way to record a visit: it waits in the portal like any other.
    assert soup(page).find("form", class_="record-now") is not None
