"""Finding visits: the search form above the list, the count, the pages and the CSV
download, through Flask's test client (on SQLite, and on PostgreSQL in CI).

Most records are written straight into the portal's database, as confirmed visits
with Leat's snapshot, so a test can hold a hundred of them; the columns the search
reads (start, source) are the model's to fill, as for any writer.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from helpers import HTMX, all_records, csrf_token, signed_in, soup, text

from portal.database import db
from portal.leat_sandbox import MAINTENANCE_PAGE, seed
from portal.models import ChangeKind, Delivery, PendingChange, VisitRecord
from portal.visits.service import row_for

ANNA, BRAM, CHLOE = (
    "anna.devries@example.com",
    "bram.jansen@example.com",
    "chloe.bakker@example.com",
)
CONTACTS = {ANNA: seed.CONTACT_ANNA, BRAM: seed.CONTACT_BRAM, CHLOE: seed.CONTACT_CHLOE}
SHOP_NAMES = {shop.uuid: shop.name for shop in seed.SHOPS}
ZONE = ZoneInfo("Europe/Amsterdam")  # PORTAL_TIMEZONE's default


def add_visit(
    app,
    email=ANNA,
    *,
    shop=seed.SHOP_AMSTERDAM,
    starts="2026-05-01T10:00:00+02:00",
    source="Portal",
    external_id=None,
    created_at=None,
    by="Anna",
) -> int:
    """A confirmed visit in the portal's record, as delivery leaves one; its id."""
    with app.app_context():
        record = VisitRecord(
            leat_uuid=str(uuid.uuid4()),
            shop_uuid=shop,
            contact_uuid=CONTACTS.get(email, str(uuid.uuid4())),
            contact_email=email,
            external_id=external_id or f"portal-{uuid.uuid4()}",
            created_by=f"{by.lower()}@example.com",
            created_by_name=by,
            status=Delivery.CONFIRMED,
        )
        if created_at is not None:
            record.created_at = created_at
        record.snapshot = {
            "uuid": record.leat_uuid,
            "contact": {"uuid": record.contact_uuid, "email": email},
            "external_id": record.external_id,
            "source": source,
            "starts_at": datetime.fromisoformat(starts).astimezone(UTC).isoformat(),
            "ends_at": None,
            "created_at": "2026-05-01T08:00:00+00:00",
        }
        db.session.add(record)
        db.session.commit()
        return record.id


def find(client, htmx=False, **args):
    return client.get("/visits", query_string=args, headers=HTMX if htmx else {})


def shown_ids(page) -> list[int]:
    """The records whose rows the page (or answer) shows, in their order."""
    return [int(row["id"].removeprefix("visit-")) for row in soup(page).select("#visit-rows > tr")]


def count_text(page) -> str:
    """The count as the page shows it, or as an htmx answer sends it in place."""
    doc = soup(page)
    found = doc.select_one("#visit-count") or doc.select_one('hx-partial[hx-target="#visit-count"]')
    assert found is not None, "no count"
    return text(found)


def download(client, **args):
    return client.get("/visits.csv", query_string=args)


def csv_rows(response) -> list[list[str]]:
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"), newline="")))


# -- the form ------------------------------------------------------------------------------


def test_the_search_form_is_a_get_form_with_only_the_managers_shops(app):
    client = signed_in(app, seed.SHOP_AMSTERDAM, seed.SHOP_UTRECHT)
    page = soup(client.get("/visits"))
    form = page.find("form", id="find-visits")
    assert form is not None
    assert (form["method"], form["action"], form["role"]) == ("get", "/visits", "search")
    labels = {label.get_text(strip=True): label["for"] for label in form.find_all("label")}
    assert labels == {
        "Search visits": "find-q",
        "Shop": "find-shop",
        "From": "find-from",
        "To": "find-to",
        "Newest first by": "find-order",
    }
    names = {field["name"] for field in form.find_all(["input", "select"])}
    assert names == {"q", "shop", "from", "to", "order"}
    assert form.find("input", attrs={"name": "q"})["type"] == "search"
    assert form.find("input", attrs={"name": "from"})["type"] == "date"
    shops = [
        option["value"] for option in form.find("select", attrs={"name": "shop"}).find_all("option")
    ]
    assert shops == ["", seed.SHOP_AMSTERDAM, seed.SHOP_UTRECHT]  # all, then theirs
    orders = form.find("select", attrs={"name": "order"}).find_all("option")
    assert [(o["value"], o.has_attr("selected")) for o in orders] == [
        ("start", True),
        ("recorded", False),
    ]
    assert form.find("button", attrs={"type": "submit"}) is not None  # without JavaScript
    # With htmx: results region only, as the manager types, address pushed.
    assert form["hx-get"] == "/visits"
    assert form["hx-target"] == "#visit-results"
    assert "input changed delay:300ms" in form["hx-trigger"]
    assert form["hx-push-url"] == "true"
    assert page.find(id="visit-count")["role"] == "status"
    # The create form keeps its own Shop: ids never clash.
    assert len(page.find_all(id="shop")) == 1


def test_what_was_asked_stays_in_the_form(client, app):
    add_visit(app)
    page = soup(
        find(client, q="anna", shop=seed.SHOP_AMSTERDAM, order="recorded", **{"from": "2026-05-01"})
    )
    form = page.find("form", id="find-visits")
    assert form.find("input", attrs={"name": "q"})["value"] == "anna"
    assert form.find("input", attrs={"name": "from"})["value"] == "2026-05-01"
    assert form.find("select", attrs={"name": "shop"}).find("option", selected=True)["value"] == (
        seed.SHOP_AMSTERDAM
    )
    assert form.find("select", attrs={"name": "order"}).find("option", selected=True)["value"] == (
        "recorded"
    )


# -- each filter ---------------------------------------------------------------------------


@pytest.fixture
def three_visits(app):
    """Anna twice (Amsterdam, Utrecht), Bram once (Amsterdam), each told apart."""
    return {
        "anna-ams": add_visit(app, ANNA, source="Counter", external_id="TILL-41"),
        "anna-utr": add_visit(app, ANNA, shop=seed.SHOP_UTRECHT, source="Webshop kiosk"),
        "bram-ams": add_visit(app, BRAM, source="Portal", external_id="till-42"),
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("anna", {"anna-ams", "anna-utr"}),  # part of an e-mail address
        ("DEVRIES@EXAMPLE", {"anna-ams", "anna-utr"}),  # any case
        ("till-4", {"anna-ams", "bram-ams"}),  # part of an external ID, any case
        ("KIOSK", {"anna-utr"}),  # part of a source
        ("  bram  ", {"bram-ams"}),  # spaces around are not part of it
        ("nobody", set()),
    ],
)
def test_search_matches_part_of_the_email_external_id_or_source(client, three_visits, q, expected):
    page = find(client, q=q)
    assert page.status_code == 200
    assert set(shown_ids(page)) == {three_visits[name] for name in expected}


def test_percent_and_underscore_are_searched_as_themselves(client, app):
    percent = add_visit(app, source="50% off")
    underscore = add_visit(app, BRAM, external_id="till_7")
    add_visit(app, CHLOE, source="Portal", external_id="till-x7")
    assert shown_ids(find(client, q="%")) == [percent]
    assert shown_ids(find(client, q="l_7")) == [underscore]


def test_the_shop_filter_shows_that_shop_only(client, three_visits):
    page = find(client, shop=seed.SHOP_UTRECHT)
    assert shown_ids(page) == [three_visits["anna-utr"]]


def test_from_and_to_are_days_of_the_visits_start_in_the_portals_zone(client, app):
    # 23:30 and 00:30 in Amsterdam (UTC+2): both on 1 May in UTC, on two days for the manager.
    late = add_visit(app, starts="2026-05-01T23:30:00+02:00")
    early_next = add_visit(app, BRAM, starts="2026-05-02T00:30:00+02:00")
    before = add_visit(app, CHLOE, starts="2026-04-30T12:00:00+02:00")
    assert shown_ids(find(client, **{"from": "2026-05-02"})) == [early_next]
    assert shown_ids(find(client, to="2026-05-01")) == [late, before]
    assert shown_ids(find(client, **{"from": "2026-05-01", "to": "2026-05-01"})) == [late]
    assert shown_ids(find(client, **{"from": "2026-05-03"})) == []


def test_filters_combine(client, three_visits):
    page = find(client, q="anna", shop=seed.SHOP_AMSTERDAM, to="2026-05-01")
    assert shown_ids(page) == [three_visits["anna-ams"]]


def test_the_order_is_the_visits_start_newest_first_or_when_recorded(client, app):
    # Recorded in one order, started in another: a visit typed in after the fact.
    first_recorded = add_visit(
        app, starts="2026-05-03T10:00:00+02:00", created_at=datetime(2026, 5, 1, tzinfo=UTC)
    )
    second_recorded = add_visit(
        app, BRAM, starts="2026-05-01T10:00:00+02:00", created_at=datetime(2026, 5, 2, tzinfo=UTC)
    )
    third_recorded = add_visit(
        app, CHLOE, starts="2026-05-02T10:00:00+02:00", created_at=datetime(2026, 5, 3, tzinfo=UTC)
    )
    by_start = [first_recorded, third_recorded, second_recorded]
    by_recording = [third_recorded, second_recorded, first_recorded]
    assert shown_ids(find(client)) == by_start  # the default
    assert shown_ids(find(client, order="start")) == by_start
    assert shown_ids(find(client, order="recorded")) == by_recording


# -- the count and the pages -----------------------------------------------------------------


def test_the_list_says_how_many_visits_match(client, app, three_visits):
    assert count_text(find(client)) == "3 visits"
    assert count_text(find(client, q="bram")) == "1 visit"
    assert count_text(find(client, q="nobody")) == "No visits match"
    assert "No visits match this search." in text(find(client, q="nobody"))


def test_with_no_visits_at_all_the_list_says_so(client):
    assert count_text(find(client)) == "No visits yet"


@pytest.fixture
def many_visits(app):
    """73 visits of Anna's among 40 of Bram's, recorded in between: three pages in all."""
    anna, bram = [], []
    for n in range(113):
        starts = datetime(2026, 3, 1, 10, tzinfo=UTC).replace(day=1 + n % 28, minute=n % 60)
        if n < 80 and n % 2 == 1:
            bram.append(add_visit(app, BRAM, starts=starts.isoformat(), source=f"b{n}"))
        else:
            anna.append(add_visit(app, ANNA, starts=starts.isoformat(), source=f"a{n}"))
    assert (len(anna), len(bram)) == (73, 40)
    return anna, bram


def test_pages_keep_the_search(client, many_visits):
    anna, _ = many_visits
    first = find(client, q="anna", order="recorded")
    assert count_text(first) == "73 visits, page 1 of 2"
    assert shown_ids(first) == sorted(anna, reverse=True)[:50]
    links = {a.get_text(strip=True): a["href"] for a in soup(first).select("nav.pages a")}
    assert links == {"2": "/visits?q=anna&order=recorded&page=2", "Older": links["2"]}
    nav_link = soup(first).select_one("nav.pages a[rel=next]")
    assert (nav_link["hx-get"], nav_link["hx-target"]) == (links["2"], "#visit-results")
    second = client.get(links["2"])
    assert count_text(second) == "73 visits, page 2 of 2"
    assert shown_ids(second) == sorted(anna, reverse=True)[50:]
    newer = soup(second).select_one("nav.pages a[rel=prev]")
    assert newer["href"] == "/visits?q=anna&order=recorded"  # page 1 is the plain address


@pytest.mark.parametrize(
    ("page", "shown"),
    [
        ("2", 2),
        ("3", 3),  # the last
        ("999", 3),  # past the end (a stale link): the last, not an empty page
    ],
)
def test_a_page_number_out_of_range_shows_the_nearest_page(client, many_visits, page, shown):
    response = find(client, page=page)
    assert response.status_code == 200
    assert count_text(response) == f"113 visits, page {shown} of 3"


# A page number that is no page at all is not found (tests/test_input_checks.py has
# the rule); here, that a search keeps that answer.
@pytest.mark.parametrize("page", ["99999999999999999999999", "0", "-4", "two"])
def test_a_page_number_that_is_no_page_is_not_found(client, many_visits, page):
    assert find(client, page=page).status_code == 404


# -- htmx: the results region alone, and history -----------------------------------------------


def test_an_htmx_search_answers_the_results_region_only(client, app, three_visits):
    response = find(client, htmx=True, q="anna", shop="", to="", order="start")
    assert response.status_code == 200
    page = soup(response)
    assert page.find("html") is None
    assert page.find("form", id="create-visit") is None  # never the create form
    assert page.find("form", id="find-visits") is None  # nor the search being typed in
    assert set(shown_ids(page)) == {three_visits["anna-ams"], three_visits["anna-utr"]}
    assert count_text(response) == "2 visits"
    (csv_partial,) = page.select('hx-partial[hx-target="#visit-csv"]')
    assert csv_partial.find("a")["href"] == "/visits.csv?q=anna"
    # Pushed without the empty fields the form sent.
    assert response.headers["HX-Push-Url"] == "/visits?q=anna"
    assert "HX-Request" in response.headers["Vary"]
    # Rows come from the one row partial, exactly as on the page.
    whole = soup(find(client, q="anna"))
    for row in page.select("#visit-rows > tr"):
        assert str(row) == str(whole.find("tr", id=row["id"]))


def test_only_a_page_link_moves_the_focus_to_the_new_table(client, many_visits):
    def table(source):
        headers = {**HTMX, "HX-Source": source}
        return soup(client.get("/visits?page=2", headers=headers)).find("table")

    assert table("a")["autofocus"] == ""  # a page link: gone once the answer is in
    assert not table("form#find-visits").has_attr("autofocus")  # typing: stay there
    assert not soup(client.get("/visits?page=2")).find("table").has_attr("autofocus")


def test_backs_request_for_a_pushed_address_gets_the_whole_page(client, three_visits):
    restore = {**HTMX, "HX-History-Restore-Request": "true", "HX-Request-Type": "full"}
    response = client.get("/visits?q=bram", headers=restore)
    assert response.status_code == 200
    page = soup(response)
    assert page.find("form", id="create-visit") is not None
    assert page.find("input", attrs={"name": "q"})["value"] == "bram"
    assert shown_ids(page) == [three_visits["bram-ams"]]
    assert "HX-History-Restore-Request" in response.headers["Vary"]


# -- what cannot be searched -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"from": "2026-13-01"}, "Enter a date as YYYY-MM-DD"),
        ({"to": "yesterday"}, "Enter a date as YYYY-MM-DD"),
        ({"from": "0202-05-01"}, "between"),
        ({"to": "9999-12-31"}, "between"),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "before"),
        ({"q": "x" * 10_000}, "at most 255 characters"),
        ({"order": "sideways"}, "Choose one of the orders offered"),
        ({"shop": "not-a-shop"}, "Choose one of your shops"),
        ({"shop": "\x00"}, "Choose one of your shops"),
    ],
)
def test_bad_filter_input_is_a_400_that_says_what_to_correct(client, three_visits, args, message):
    page = find(client, **args)
    assert page.status_code == 400
    assert page.text.startswith("<!doctype html>")
    assert message in text(soup(page).find("form", id="find-visits"))
    assert shown_ids(page) == []
    assert count_text(page) == "The search needs correcting."
    assert soup(page).title.get_text().startswith("Error: ")

    answer = find(client, htmx=True, **args)
    assert answer.status_code == 400
    assert answer.headers["X-Portal-Answer"] == "1"  # swapped where it was aimed (portal.js)
    assert "HX-Push-Url" not in answer.headers
    alert = soup(answer).find(role="alert")
    assert alert is not None
    assert message in text(alert)

    assert download(client, **args).status_code == 400


def test_control_characters_in_the_search_are_left_out(client, three_visits):
    page = find(client, q="br\x00am\x1b")
    assert page.status_code == 200
    assert shown_ids(page) == [three_visits["bram-ams"]]


# -- only the manager's shops ----------------------------------------------------------------


def test_every_search_stays_within_the_managers_shops(app, three_visits):
    utrecht = signed_in(app, seed.SHOP_UTRECHT, name="Ute", manager_id="ute@example.com")
    assert shown_ids(find(utrecht)) == [three_visits["anna-utr"]]
    assert shown_ids(find(utrecht, q="anna")) == [three_visits["anna-utr"]]
    assert shown_ids(find(utrecht, q="till")) == []
    assert count_text(find(utrecht, q="till")) == "No visits match"
    rows = csv_rows(download(utrecht))
    assert [row[2] for row in rows[1:]] == ["Utrecht Oudegracht"]


@pytest.mark.parametrize("htmx", [False, True])
def test_another_shops_filter_is_not_found(app, three_visits, htmx):
    utrecht = signed_in(app, seed.SHOP_UTRECHT, name="Ute", manager_id="ute@example.com")
    response = find(utrecht, htmx=htmx, shop=seed.SHOP_AMSTERDAM)
    assert response.status_code == 404
    assert "anna.devries" not in response.text
    assert "bram.jansen" not in response.text
    assert download(utrecht, shop=seed.SHOP_AMSTERDAM).status_code == 404


# -- the CSV download ------------------------------------------------------------------------


def test_the_csv_holds_every_visit_the_search_selects_on_every_page(client, many_visits):
    anna, _ = many_visits
    page = soup(find(client, q="anna"))
    link = page.select_one("#visit-csv a")
    assert link["href"] == "/visits.csv?q=anna"
    response = client.get(link["href"])
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    today = datetime.now(UTC).astimezone(ZONE).date()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="visits-{today.isoformat()}.csv"'
    )
    assert response.data.startswith(b"\xef\xbb\xbf")  # UTF-8's byte-order mark
    header, *rows = csv_rows(response)
    assert header[:7] == [
        "Contact e-mail",
        "Contact UUID",
        "Shop",
        "Starts at",
        "Ends at",
        "Source",
        "External ID",
    ]
    assert "Recorded by" in header
    assert len(rows) == len(anna) == 73  # both pages of the list
    assert {row[0] for row in rows} == {ANNA}
    # In the list's order: the visit's start, newest first.
    assert [row[3] for row in rows] == sorted((row[3] for row in rows), reverse=True)


def test_the_csv_says_times_in_the_portals_zone_the_shops_name_and_who_recorded(client, app):
    record_id = add_visit(
        app, BRAM, shop=seed.SHOP_UTRECHT, starts="2026-05-01T08:00:00+00:00", by="Ute"
    )
    header, row = csv_rows(download(client))
    cells = dict(zip(header, row, strict=True))
    assert cells["Contact e-mail"] == BRAM
    assert cells["Contact UUID"] == seed.CONTACT_BRAM
    assert cells["Shop"] == "Utrecht Oudegracht"
    assert cells["Starts at"] == "2026-05-01T10:00:00+02:00"  # Amsterdam in May
    assert cells["Ends at"] == ""
    assert cells["State"] == "Confirmed by Leat"
    assert cells["Recorded by"] == "Ute"
    (record,) = all_records(app)
    assert record.id == record_id
    assert cells["Recorded at"] == record.created_at.astimezone(ZONE).isoformat(timespec="seconds")
    assert cells["Leat visit UUID"] == record.leat_uuid


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+31 6 1234", "'+31 6 1234"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rReturn", "'\rReturn"),
        ("Till = 3", "Till = 3"),  # only a cell that begins with one
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(client, app, typed, written):
    add_visit(app, source=typed, external_id=typed)
    header, row = csv_rows(download(client))
    cells = dict(zip(header, row, strict=True))
    assert (cells["Source"], cells["External ID"]) == (written, written)


def test_the_csv_is_streamed_a_few_rows_at_a_time(client, many_visits):
    response = client.get("/visits.csv", buffered=False)
    assert response.is_streamed
    assert "Content-Length" not in response.headers
    chunks = list(response.response)
    response.close()
    assert len(chunks) >= 2  # 113 rows come in more than one piece
    assert b"".join(chunks).count(b"\r\n") == 1 + 113


def test_the_csv_with_no_match_is_the_header_alone(client, three_visits):
    rows = csv_rows(download(client, q="nobody"))
    assert len(rows) == 1


# -- the start and source columns follow what the record means ------------------------------


def test_start_and_source_follow_a_create_an_edit_and_a_pending_change(
    client, app, sandbox, sandbox_leat
):
    token = csrf_token(client)
    data = {
        "csrf_token": token,
        "contact": seed.CONTACT_ANNA,
        "shop": seed.SHOP_AMSTERDAM,
        "date": "2026-05-01",
        "starts_at": "10:00",
        "source": "Till 1",
    }
    assert client.post("/visits", data=data, headers=HTMX).status_code == 200
    (record,) = all_records(app)
    assert record.starts_at == datetime(2026, 5, 1, 8, tzinfo=UTC)
    assert record.source == "Till 1"

    # An edit Leat does not confirm yet: the list already finds what the manager meant.
    sandbox.faults.inject(MAINTENANCE_PAGE, method="PUT", times=3)
    prefix = f"visit-{record.id}-"
    edit = {
        prefix + "csrf_token": token,
        prefix + "date": "2026-05-03",
        prefix + "starts_at": "09:15",
        prefix + "source": "Corrected",
        prefix + "external_id": record.external_id,
    }
    assert client.put(f"/visits/{record.id}", data=edit, headers=HTMX).status_code == 200
    (record,) = all_records(app)
    assert record.status is Delivery.PENDING
    assert (record.starts_at, record.source) == (
        datetime(2026, 5, 3, 7, 15, tzinfo=UTC),
        "Corrected",
    )
    assert shown_ids(find(client, q="corrected", **{"from": "2026-05-03"})) == [record.id]


def test_a_pending_create_is_found_by_what_was_typed(client, app, sandbox):
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    data = {
        "csrf_token": csrf_token(client),
        "contact": seed.CONTACT_BRAM,
        "shop": seed.SHOP_UTRECHT,
        "date": "2026-06-10",
        "starts_at": "18:00",
        "source": "Evening till",
    }
    client.post("/visits", data=data, headers=HTMX)
    (record,) = all_records(app)
    assert record.status is Delivery.PENDING
    assert record.snapshot is None
    assert record.starts_at == datetime(2026, 6, 10, 16, tzinfo=UTC)
    page = find(client, q="evening", **{"from": "2026-06-10", "to": "2026-06-10"})
    assert shown_ids(page) == [record.id]
    header, row = csv_rows(download(client, q="evening"))
    cells = dict(zip(header, row, strict=True))
    assert (cells["State"], cells["Starts at"]) == ("Pending", "2026-06-10T18:00:00+02:00")


def test_the_columns_agree_with_the_row_the_page_shows(app):
    """note_intended reads the record as service.intended_visit does."""
    with app.app_context():
        record = VisitRecord(
            shop_uuid=seed.SHOP_AMSTERDAM,
            contact_uuid=seed.CONTACT_ANNA,
            external_id="till-9",
            leat_uuid=str(uuid.uuid4()),
            snapshot={
                "uuid": "x",
                "contact": {"uuid": seed.CONTACT_ANNA, "email": ANNA},
                "source": "Leat's",
                "starts_at": "2026-05-01T08:00:00+00:00",
            },
            pending=PendingChange(
                ChangeKind.UPDATE, {"starts_at": datetime(2026, 5, 2, 9, tzinfo=UTC)}
            ),
        )
        db.session.add(record)
        db.session.commit()
        visit = row_for(record, SHOP_NAMES).visit
        assert (record.starts_at, record.source) == (visit.starts_at, visit.source)
        record.pending = None  # Leat confirmed the snapshot as it is
        db.session.commit()
        assert record.starts_at == datetime(2026, 5, 1, 8, tzinfo=UTC)
        assert record.starts_at.date() == date(2026, 5, 1)
