"""Recording fast: a day and 24-hour times typed as text, and the shop's recent
contacts offered under Contact.

What a manager types is read by the portal (times.py), never trusted to the browser:
each accepted way of writing a time, each refusal with its words under the field,
no six-digit year, the clocks changing. The row editor shows a visit in the same
fields and sends Leat only what changed. The suggestions are the portal's own
record of the manager's shops, newest first.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import (
    HTMX,
    csrf_token,
    error_under,
    field,
    focused,
    input_value,
    only_record,
    outside_partials,
    signed_in,
    soup,
)
from werkzeug.datastructures import MultiDict

from portal.auth.manager import Manager
from portal.database import db
from portal.leat import Contact, Visit
from portal.leat_sandbox import seed
from portal.models import VisitRecord
from portal.visits.forms import EditVisitForm
from portal.visits.queries import RECENT_CONTACTS, recent_contacts_query
from portal.visits.times import CLOCK_PATTERN, DAY_PATTERN, FIRST_DAY, parse_clock, parse_day

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def create(client, **fields):
    data = {
        "csrf_token": csrf_token(client),
        "contact": "anna.devries@example.com",
        "shop": seed.SHOP_AMSTERDAM,
        "date": "2026-05-01",
        **fields,
    }
    return client.post("/visits", data=data, headers=HTMX)


def today() -> date:
    return datetime.now(AMSTERDAM).date()


# -- what a manager may type ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("14:30", time(14, 30)),
        ("1430", time(14, 30)),
        ("9:05", time(9, 5)),
        ("905", time(9, 5)),
        ("09:05", time(9, 5)),
        ("14.30", time(14, 30)),  # as the Dutch write it
        ("9", time(9, 0)),
        ("23:59", time(23, 59)),
        ("0:00", time(0, 0)),
        (" 14:30 ", time(14, 30)),
    ],
)
def test_each_way_of_typing_a_time_is_read(typed, meant):
    assert parse_clock(typed) == meant


@pytest.mark.parametrize(
    "typed",
    [
        "24:00",
        "14:60",
        "2:5",
        "14:3",
        "143000",
        "2pm",
        "2:30 PM",
        "14:30:00",
        "-1",
        "1 430",
        "noon",
    ],
)
def test_a_time_that_is_not_one_is_refused_in_words(typed):
    with pytest.raises(ValueError, match="24-hour: 14:30 or 1430"):
        parse_clock(typed)


def test_the_browsers_pattern_is_the_portals():
    # The input's pattern marks what the portal refuses (without deciding anything).
    for typed in ("14:30", "1430", "9:05", "9", "14.30"):
        assert re.fullmatch(CLOCK_PATTERN, typed)
    for typed in ("24:00", "14:60", "2pm"):
        assert not re.fullmatch(CLOCK_PATTERN, typed)
    assert re.fullmatch(DAY_PATTERN, "2026-05-01")
    assert not re.fullmatch(DAY_PATTERN, "202605-05-01")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("202605-05-01", "year-month-day"),  # a six-digit year
        ("20260-05-01", "year-month-day"),
        ("2026-02-30", "not a day of the calendar"),
        ("2026-13-01", "not a day of the calendar"),
        ("1999-12-31", "from 1 January 2000"),
        ("01-05-2026", "year-month-day"),
        ("2026/05/01", "year-month-day"),
        ("1 May", "year-month-day"),
    ],
)
def test_a_day_that_is_not_one_is_refused_in_words(typed, message):
    with pytest.raises(ValueError, match=message):
        parse_day(typed, today=date(2026, 11, 26))


def test_a_day_is_from_2000_to_a_year_ahead():
    now = date(2026, 11, 26)
    assert parse_day("2026-5-1", today=now) == date(2026, 5, 1)
    assert parse_day(FIRST_DAY.isoformat(), today=now) == FIRST_DAY
    assert parse_day("2027-11-26", today=now) == date(2027, 11, 26)
    with pytest.raises(ValueError, match="to 26 November 2027"):
        parse_day("2027-11-27", today=now)
    assert parse_day("2029-02-28", today=date(2028, 2, 29)) == date(2029, 2, 28)


# -- the create form -----------------------------------------------------------------------


def test_the_form_offers_a_day_and_two_times_as_text(client):
    page = soup(client.get("/visits"))
    day = field(page, "date")
    assert (day.get("type"), day.get("value"), day.get("maxlength")) == (
        "text",
        today().isoformat(),  # today, in PORTAL_TIMEZONE
        "10",  # no room for a six-digit year
    )
    for name in ("starts_at", "ends_at"):
        clock = field(page, name)
        assert (clock.get("type"), clock.get("inputmode"), clock.get("placeholder")) == (
            "text",
            "numeric",
            "14:30",
        )
        assert clock.get("pattern") == CLOCK_PATTERN
        assert clock.get("value", "") == ""
    assert focused(page).get("name") == "contact"  # the page opens on Contact


@pytest.mark.parametrize(
    ("typed", "utc"),
    [
        ({"starts_at": "14:30", "ends_at": "1545"}, ((12, 30), (13, 45))),  # CEST, UTC+2
        ({"starts_at": "9:05", "ends_at": "9.30"}, ((7, 5), (7, 30))),
        ({"starts_at": "905", "ends_at": "10"}, ((7, 5), (8, 0))),
    ],
)
def test_typed_times_are_the_instants_meant_on_the_date(client, sandbox_leat, app, typed, utc):
    assert create(client, **typed).status_code == 200
    visit = sandbox_leat.get_visit(only_record(app).leat_uuid)
    (start_hour, start_minute), (end_hour, end_minute) = utc
    assert visit.starts_at == datetime(2026, 5, 1, start_hour, start_minute, tzinfo=UTC)
    assert visit.ends_at == datetime(2026, 5, 1, end_hour, end_minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "name", "message"),
    [
        ({"date": "202605-05-01", "starts_at": "10:00"}, "date", "year-month-day"),
        ({"date": "202605-05-01"}, "date", "year-month-day"),  # refused even with no time
        ({"date": "", "starts_at": "10:00"}, "date", "Enter the date of the visit"),
        ({"date": "2026-02-30", "starts_at": "10:00"}, "date", "not a day of the calendar"),
        ({"starts_at": "25:00"}, "starts_at", "24-hour"),
        ({"starts_at": "10:00", "ends_at": "2pm"}, "ends_at", "24-hour"),
        ({"starts_at": "10:00", "ends_at": "09:59"}, "ends_at", "after the start"),
        ({"starts_at": "10:00", "ends_at": "10:00"}, "ends_at", "after the start"),
        ({"date": "2026-03-29", "starts_at": "02:30"}, "starts_at", "does not exist"),
        ({"date": "2026-03-29", "starts_at": "01:30", "ends_at": "2:15"}, "ends_at", "not exist"),
        ({"date": "2026-10-25", "starts_at": "02:30"}, "starts_at", "happens twice"),
    ],
)
def test_what_is_not_a_time_is_refused_under_its_field(client, sandbox_leat, typed, name, message):
    response = create(client, **typed)
    assert response.status_code == 422
    assert message in error_under(response, name)
    for typed_name, value in typed.items():  # nothing typed is lost
        assert input_value(response, typed_name) == value
    assert sandbox_leat.list_visits().total == 0


def test_an_empty_starts_at_is_the_moment_of_recording_whatever_the_date(client, app):
    yesterday = (today() - timedelta(days=1)).isoformat()
    before = datetime.now(UTC).replace(microsecond=0)
    assert create(client, date=yesterday, starts_at="", ends_at="").status_code == 200
    starts_at = datetime.fromisoformat(only_record(app).snapshot["starts_at"])
    assert before <= starts_at <= datetime.now(UTC)


def test_an_end_before_the_recording_moment_is_refused_when_starts_at_is_empty(
    client, sandbox_leat
):
    yesterday = (today() - timedelta(days=1)).isoformat()
    response = create(client, date=yesterday, starts_at="", ends_at="23:00")
    assert response.status_code == 422
    assert "an empty Starts at is now" in error_under(response, "ends_at")
    assert sandbox_leat.list_visits().total == 0


def test_an_end_after_the_recording_moment_is_kept_when_starts_at_is_empty(
    client, sandbox_leat, app
):
    tomorrow = (today() + timedelta(days=1)).isoformat()
    assert create(client, date=tomorrow, starts_at="", ends_at="10:00").status_code == 200
    visit = sandbox_leat.get_visit(only_record(app).leat_uuid)
    assert visit.ends_at.astimezone(AMSTERDAM).isoformat()[:16] == f"{tomorrow}T10:00"


def test_after_a_create_the_form_keeps_the_shop_and_the_date_and_clears_the_rest(client):
    response = create(
        client, shop=seed.SHOP_UTRECHT, date="2026-04-30", starts_at="10:00", ends_at="11:00"
    )
    assert response.status_code == 200
    form = outside_partials(response)
    assert input_value(form, "date") == "2026-04-30"
    assert field(form, "shop").find("option", selected=True)["value"] == seed.SHOP_UTRECHT
    for name in ("contact", "starts_at", "ends_at"):
        assert input_value(form, name) == ""
    assert focused(form).get("name") == "contact"
    # The visit just recorded is the first suggestion for the next one.
    assert suggestions(form)[0] == "anna.devries@example.com"


def test_the_summary_of_what_to_correct_takes_the_focus_and_links_each_field_in_order(client):
    response = create(client, contact="", date="202605-05-01", starts_at="10:00")
    assert response.status_code == 422
    summary = focused(response)
    assert "error-summary" in summary["class"]
    assert summary.h2.get_text(strip=True) == "There is a problem"
    # One link per field in error, in the order the form shows them (Contact first).
    assert [a["href"] for a in summary.find_all("a")] == ["#contact", "#date"]
    for link in summary.find_all("a"):
        assert soup(response).find(id=link["href"][1:]).get("aria-invalid") == "true"


def test_the_page_opens_on_contact_unless_a_row_is_being_edited(client, app):
    assert focused(client.get("/visits")).get("name") == "contact"
    assert create(client, starts_at="10:00").status_code == 200
    record_id = only_record(app).id
    editing = client.get(f"/visits/{record_id}/edit")  # without JavaScript: the whole page
    assert focused(editing).get("name") == f"visit-{record_id}-date"


# -- the row editor ------------------------------------------------------------------------


def visit(starts_at, ends_at=None) -> Visit:
    return Visit(
        uuid="0b7e0f0e-0000-4000-8000-000000000001",
        contact=Contact(uuid=seed.CONTACT_ANNA, email="anna.devries@example.com"),
        external_id="till-1",
        source="Till",
        starts_at=starts_at,
        ends_at=ends_at,
        created_at=starts_at,
    )


def edited(app, shown: Visit, **typed) -> EditVisitForm:
    """The editor of ``shown`` sent with ``typed`` (and the rest as it showed them)."""
    with app.test_request_context(method="POST"):
        blank = EditVisitForm(formdata=None, obj=shown, visit=shown, meta={"csrf": False})
        sent = {name: blank[name]._value() for name in ("date", "starts_at", "ends_at")}
        sent = {**sent, "source": "Till", "external_id": "till-1", **typed}
        form = EditVisitForm(formdata=MultiDict(sent), obj=shown, visit=shown, meta={"csrf": False})
        form.validate()
        return form


def test_the_editor_shows_the_visit_in_the_portals_time_zone(app):
    shown = visit(
        datetime(2026, 11, 20, 9, 0, 27, tzinfo=UTC), datetime(2026, 11, 20, 9, 45, tzinfo=UTC)
    )
    with app.test_request_context():
        form = EditVisitForm(formdata=None, obj=shown, visit=shown, meta={"csrf": False})
        assert [form[name]._value() for name in ("date", "starts_at", "ends_at")] == [
            "2026-11-20",
            "10:00",  # CET, to the minute
            "10:45",
        ]


@pytest.mark.parametrize(
    "shown",
    [
        # An empty Starts at is the second of recording: shown 10:00, not a change.
        visit(datetime(2026, 5, 1, 8, 0, 27, tzinfo=UTC)),
        # 02:30 on the night the clocks go back happens twice: shown, it names one.
        visit(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
        # A visit recorded before the fields were one day: its end on the next day.
        visit(datetime(2026, 5, 1, 21, 0, tzinfo=UTC), datetime(2026, 5, 1, 22, 30, tzinfo=UTC)),
    ],
    ids=["seconds", "clocks-go-back", "ends-next-day"],
)
def test_untouched_times_are_no_change(app, shown):
    form = edited(app, shown, source="Corrected")
    assert form.errors == {}
    assert form.changes() == {"source": "Corrected"}


def test_a_new_date_moves_both_times_to_it(app):
    shown = visit(datetime(2026, 5, 1, 8, 0, tzinfo=UTC), datetime(2026, 5, 1, 9, 30, tzinfo=UTC))
    form = edited(app, shown, date="2026-05-02")
    assert form.changes() == {
        "starts_at": datetime(2026, 5, 2, 8, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 5, 2, 9, 30, tzinfo=UTC),
    }


def test_a_new_time_is_the_only_change(app):
    shown = visit(datetime(2026, 5, 1, 8, 0, tzinfo=UTC), datetime(2026, 5, 1, 9, 30, tzinfo=UTC))
    form = edited(app, shown, starts_at="1015")
    assert form.changes() == {"starts_at": datetime(2026, 5, 1, 8, 15, tzinfo=UTC)}


def test_the_editor_refuses_what_the_create_form_refuses(app):
    shown = visit(datetime(2026, 5, 1, 8, 0, tzinfo=UTC), datetime(2026, 5, 1, 9, 30, tzinfo=UTC))
    assert "after the start" in edited(app, shown, ends_at="9:00").errors["ends_at"][0]
    assert "year-month-day" in edited(app, shown, date="202605-05-01").errors["date"][0]
    assert "cannot clear" in edited(app, shown, starts_at="").errors["starts_at"][0]


# -- the shop's recent contacts ------------------------------------------------------------

BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def record(app, *visits: tuple[str, str | None, int]) -> None:
    """Records made by the portal: (shop, contact e-mail, minutes after BASE)."""
    with app.app_context():
        for shop, email, minutes in visits:
            db.session.add(
                VisitRecord(
                    shop_uuid=shop,
                    contact_email=email,
                    created_at=BASE + timedelta(minutes=minutes),
                )
            )
        db.session.commit()


def suggestions(page) -> list[str]:
    datalist = soup(page).find("datalist", id="recent-contacts")
    assert datalist is not None, "no datalist of recent contacts"
    return [option["value"] for option in datalist.find_all("option")]


def contact(n: int) -> str:
    return f"customer{n:02d}@example.com"


def test_the_suggestions_are_the_shops_last_50_different_contacts_most_recent_first(app):
    record(app, *[(seed.SHOP_AMSTERDAM, contact(n), n) for n in range(60)])
    record(
        app,
        (seed.SHOP_AMSTERDAM, contact(3), 100),  # came back: first, once
        (seed.SHOP_AMSTERDAM, None, 110),  # a pending create by UUID: no address yet
        (seed.SHOP_UTRECHT, "utrecht.only@example.com", 120),  # another shop's
    )
    manager = signed_in(app, seed.SHOP_AMSTERDAM)
    shown = suggestions(manager.get("/visits"))
    assert len(shown) == RECENT_CONTACTS == 50
    assert shown == [contact(3)] + [contact(n) for n in range(59, 10, -1)]


def test_a_manager_of_several_shops_is_offered_their_shops_together_until_one_is_chosen(app):
    record(
        app,
        (seed.SHOP_AMSTERDAM, "anna.devries@example.com", 1),
        (seed.SHOP_UTRECHT, "bram.jansen@example.com", 2),
        (seed.SHOP_ROTTERDAM, "not.theirs@example.com", 3),
    )
    manager = signed_in(app, seed.SHOP_AMSTERDAM, seed.SHOP_UTRECHT)
    assert suggestions(manager.get("/visits")) == [
        "bram.jansen@example.com",
        "anna.devries@example.com",
    ]
    # The Shop select asks for its own shop's when it changes (htmx swaps the datalist).
    response = manager.get(f"/visits/recent-contacts?shop={seed.SHOP_AMSTERDAM}", headers=HTMX)
    assert response.status_code == 200
    assert suggestions(response) == ["anna.devries@example.com"]
    assert soup(response).find("html") is None
    both = manager.get("/visits/recent-contacts?shop=", headers=HTMX)
    assert suggestions(both) == ["bram.jansen@example.com", "anna.devries@example.com"]


def test_another_shops_contacts_are_never_offered(app):
    record(app, (seed.SHOP_ROTTERDAM, "not.theirs@example.com", 1))
    manager = signed_in(app, seed.SHOP_AMSTERDAM)
    url = f"/visits/recent-contacts?shop={seed.SHOP_ROTTERDAM}"
    assert manager.get(url, headers=HTMX).status_code == 403
    assert manager.get(url + "x", headers=HTMX).status_code == 403
    assert manager.get("/visits/recent-contacts", headers=HTMX).status_code == 200
    assert manager.get("/visits/recent-contacts").status_code == 303  # a fragment only


def test_the_shop_select_swaps_only_the_suggestions(client):
    shop = field(client.get("/visits"), "shop")
    assert (shop["hx-get"], shop["hx-trigger"], shop["hx-target"], shop["hx-swap"]) == (
        "/visits/recent-contacts",
        "change",
        "#recent-contacts",
        "outerHTML",
    )
    contact_field = field(client.get("/visits"), "contact")
    assert (contact_field["list"], contact_field["inputmode"], contact_field["autocomplete"]) == (
        "recent-contacts",
        "email",
        "off",
    )


def test_the_suggestions_read_the_newest_records_by_index_not_a_shops_whole_history(app):
    # Only the newest RECENT_RECORDS are read, in the order of an index: the cost of a
    # page load does not grow with every visit a shop ever had. (SQLite's plan says so
    # plainly; a manager of a few shops has theirs sorted, as the page's list does.)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's query plan is the one checked here")
    with app.app_context():
        for manager, shop in (
            (Manager(id="a", name="A", shops=("*",)), None),
            (Manager(id="a", name="A", shops=("*",)), seed.SHOP_AMSTERDAM),
            (Manager(id="b", name="B", shops=(seed.SHOP_AMSTERDAM,)), None),
        ):
            statement, values = recent_contacts_query(manager, shop)
            compiled = statement.params(values).compile(
                db.engine, compile_kwargs={"literal_binds": True}
            )
            plan = [
                row[-1] for row in db.session.execute(db.text(f"EXPLAIN QUERY PLAN {compiled}"))
            ]
            newest = plan[: plan.index("SCAN anon_1")]  # the inner read, before grouping
            assert any("USING INDEX" in step for step in newest), plan
            assert not any("TEMP B-TREE" in step for step in newest), plan
