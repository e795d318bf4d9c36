"""What each action costs the database, counted at the engine: a page reads in one
transaction; a create and a save write twice, no more: the visit as pending before
Leat is called (so a sender that dies mid-call leaves a record to look up, never a
lost or doubled visit) and Leat's answer after."""

from __future__ import annotations

import re

import pytest
from helpers import HTMX, csrf_token, editor_fields, input_value, soup
from sqlalchemy import event

from portal.database import db
from portal.leat_sandbox import seed


@pytest.fixture
def transactions(app):
    seen: list[str] = []
    with app.app_context():
        engine = db.engine
    listeners = {
        "begin": lambda conn: seen.append("BEGIN"),
        "commit": lambda conn: seen.append("COMMIT"),
    }
    for name, listener in listeners.items():
        event.listen(engine, name, listener)
    yield seen
    for name, listener in listeners.items():
        event.remove(engine, name, listener)


def during(seen: list[str], action) -> dict[str, int]:
    seen.clear()
    response = action()
    assert response.status_code == 200, response.status_code
    return {"BEGIN": seen.count("BEGIN"), "COMMIT": seen.count("COMMIT"), "answer": response}


def test_a_page_is_one_read_transaction(client, transactions):
    client.get("/visits")
    counted = during(transactions, lambda: client.get("/visits"))
    assert (counted["BEGIN"], counted["COMMIT"]) == (1, 0)


def test_a_create_and_a_save_write_twice(client, transactions):
    token = csrf_token(client.get("/visits"))
    data = {"csrf_token": token, "contact": "bram.jansen@example.com", "shop": seed.SHOP_UTRECHT}
    client.post("/visits", data=data, headers=HTMX)  # the contact now known
    created = during(transactions, lambda: client.post("/visits", data=data, headers=HTMX))
    assert created["COMMIT"] == 2
    key = re.search(r'<tr id="visit-(\d+)"', created["answer"].text).group(1)
    editor = client.get(f"/visits/{key}/edit", headers=HTMX).text
    fields = {"source": "corrected"}
    for name in ("date", "starts_at"):
        found = re.search(rf'id="visit-{key}-{name}"[^>]*value="([^"]*)"', editor)
        fields[name] = found.group(1) if found else ""
    data = editor_fields(key, csrf_token=token, **fields)
    saved = during(transactions, lambda: client.put(f"/visits/{key}", data=data, headers=HTMX))
    assert saved["COMMIT"] == 2


@pytest.fixture
def statements(app):
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", listener)
    yield seen
    event.remove(engine, "before_cursor_execute", listener)


def reads_of_one_record(seen: list[str]) -> int:
    """SELECTs of one visit record by its id (SQLite's and PostgreSQL's placeholders)."""
    by_id = re.compile(r"^SELECT .* WHERE visit_records\.id = \S+$")
    return sum(1 for statement in seen if by_id.match(statement))


def test_a_create_reads_back_nothing_it_wrote_and_a_save_reads_its_record_once(client, statements):
    # A record this request made, or delivered, is shown as the request wrote it: no
    # SELECT after its commits. A save finds its record; the UPDATE that claims it
    # brings the row back (another sender may have changed it before the claim), so it
    # is not read again after that commit.
    token = csrf_token(client.get("/visits"))
    data = {"csrf_token": token, "contact": "bram.jansen@example.com", "shop": seed.SHOP_UTRECHT}
    client.post("/visits", data=data, headers=HTMX)  # the contact now known
    statements.clear()
    created = client.post("/visits", data=data, headers=HTMX)
    assert created.status_code == 200
    assert reads_of_one_record(statements) == 0
    key = re.search(r'<tr id="visit-(\d+)"', created.text).group(1)
    editor = client.get(f"/visits/{key}/edit", headers=HTMX).text
    fields = {"source": "corrected"}
    for name in ("date", "starts_at"):
        found = re.search(rf'id="visit-{key}-{name}"[^>]*value="([^"]*)"', editor)
        fields[name] = found.group(1) if found else ""
    statements.clear()
    saved = client.put(
        f"/visits/{key}", data=editor_fields(key, csrf_token=token, **fields), headers=HTMX
    )
    assert saved.status_code == 200
    assert "corrected" in saved.text
    assert reads_of_one_record(statements) == 1


def test_a_first_submission_is_written_without_looking_for_its_key_first(client, statements):
    # The submission key (one per drawn form) tells a form sent again; the database keeps
    # it unique, so it is looked for only when the insert is refused: a first
    # submission's first statement about visits is its INSERT.
    page = client.get("/visits")
    data = {
        "csrf_token": csrf_token(page),
        "submission_key": input_value(soup(page), "submission_key"),
        "contact": "bram.jansen@example.com",
        "shop": seed.SHOP_UTRECHT,
    }
    statements.clear()
    first = client.post("/visits", data=data, headers=HTMX)
    assert first.status_code == 200
    about_visits = [s for s in statements if "visit_records" in s]
    assert about_visits[0].startswith("INSERT INTO visit_records"), about_visits[0]
    statements.clear()
    again = client.post("/visits", data=data, headers=HTMX)  # the same form, sent again
    assert again.status_code == 200
    assert soup(again).find("tr")["id"] == soup(first).find("tr")["id"]  # the first result


def test_an_answer_after_a_delivery_does_not_ask_again_for_the_pause_it_lifted(client, statements):
    # A delivery that succeeds lifts any pause of the queue; the answer shows the queue
    # (no pause, then) without reading the pause back.
    token = csrf_token(client.get("/visits"))
    data = {"csrf_token": token, "contact": "bram.jansen@example.com", "shop": seed.SHOP_UTRECHT}
    statements.clear()
    assert client.post("/visits", data=data, headers=HTMX).status_code == 200
    about_pauses = [s.split(" ", 1)[0] for s in statements if "delivery_pauses" in s]
    assert about_pauses == ["DELETE"], about_pauses
