"""The page's rows come from a per-process cache of rendered rows: never stale, never
another session's, and bounded."""

from __future__ import annotations

import re

from helpers import HTMX, csrf_token, input_value, launch_path, soup

from portal.database import db
from portal.leat_sandbox import MAINTENANCE_PAGE, seed
from portal.models import Delivery, VisitRecord
from portal.visits.row_cache import EXTENSION, RowCache


def create(client, **fields) -> None:
    token = csrf_token(client)
    data = {"csrf_token": token, "contact": seed.CONTACT_EMMA, "shop": seed.SHOP_UTRECHT}
    assert client.post("/visits", data={**data, **fields}, headers=HTMX).status_code == 200


def rows(client) -> str:
    return soup(client.get("/visits")).find(id="visit-rows").decode_contents()


def test_a_cached_row_equals_a_fresh_one(app, client):
    create(client, source="First")
    create(client, source="Second")
    cached = rows(client)  # the first load fills the cache, this one reads it
    assert len(app.extensions[EXTENSION]) == 2
    app.extensions[EXTENSION] = RowCache()
    assert rows(client) == cached
    assert "First" in cached
    assert "Second" in cached


def test_a_change_made_elsewhere_shows_on_the_next_load(app, client):
    create(client, source="Before")
    assert "Before" in rows(client)
    # As the worker or another instance would: a change to the record, not via this page.
    with app.app_context():
        record = db.session.scalars(db.select(VisitRecord)).one()
        record.snapshot = {**record.snapshot, "source": "Changed elsewhere"}
        db.session.commit()
    shown = rows(client)
    assert "Changed elsewhere" in shown
    assert "Before" not in shown


def test_a_row_waiting_for_leat_carries_each_sessions_own_token(app, client, sandbox):
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    create(client)
    with app.app_context():
        assert db.session.scalars(db.select(VisitRecord)).one().status == Delivery.PENDING
    other = app.test_client()
    assert other.get(launch_path(manager_id="ben@example.com", name="Ben")).status_code == 303
    for browser in (client, other, client):
        page = browser.get("/visits").text
        retry_token = input_value(soup(page).find(id="visit-rows"), "csrf_token")
        assert retry_token == csrf_token(page)


def test_the_cache_keeps_at_most_its_size_dropping_the_least_recently_shown():
    cache = RowCache(size=2)
    rendered = []

    def render(html):
        def make():
            rendered.append(html)
            return html

        return make

    cache.get("a", render("A"))
    cache.get("b", render("B"))
    assert cache.get("a", render("A again")) == "A"  # a hit, and now the newest
    cache.get("c", render("C"))  # drops "b"
    assert len(cache) == 2
    assert cache.get("b", render("B again")) == "B again"
    assert rendered == ["A", "B", "C", "B again"]


def test_a_row_drawn_from_the_cache_is_not_worked_out_again(app, client, monkeypatch):
    # A cached row needs its record's id and version alone: the visit it shows (Leat's
    # snapshot with any unsent change on top) is worked out only to draw it.
    from portal.visits import service

    for source in ("One", "Two", "Three"):
        create(client, source=source)
    rows(client)  # drawn once, and kept
    worked_out = []
    original = service.intended_visit
    monkeypatch.setattr(
        service, "intended_visit", lambda record: worked_out.append(record.id) or original(record)
    )
    shown = rows(client)
    assert worked_out == []
    assert all(source in shown for source in ("One", "Two", "Three"))
    app.extensions[EXTENSION] = RowCache()  # a new process: every row drawn, so worked out
    assert rows(client) == shown
    assert len(worked_out) == 3


# A statement reading Leat's snapshot (the column, not snapshot_at).
DETAILS = re.compile(r"visit_records\.snapshot\b")


def test_a_page_reads_the_details_of_the_rows_it_draws_in_one_statement(app, client):
    # The page reads its records without their JSON columns (Leat's snapshot, the unsent
    # change); the rows not in the cache have theirs read together, never one by one.
    from sqlalchemy import event

    for source in ("One", "Two", "Three"):
        create(client, source=source)
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def listener(conn, cursor, statement, *_):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        app.extensions[EXTENSION] = RowCache()  # every row to draw
        shown = rows(client)
        with_details = [s for s in seen if DETAILS.search(s)]
        assert len(with_details) == 1, "\n".join(s[-160:] for s in with_details)
        seen.clear()
        assert rows(client) == shown  # every row from the cache: no details read
        assert not [s for s in seen if DETAILS.search(s)]
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert all(source in shown for source in ("One", "Two", "Three"))
