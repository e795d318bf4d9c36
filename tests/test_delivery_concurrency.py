"""Double submits, many managers at once with a flaky Leat, and workers side by side."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from helpers import (
    HTMX,
    csrf_token,
    input_value,
    launch_path,
    make_everything_due,
    portal_app,
    portal_config,
    row,
)

from portal.database import db
from portal.leat_sandbox import MAINTENANCE_PAGE, Fault, seed
from portal.models import Delivery, VisitRecord
from portal.visits import delivery

SESSION_COOKIE = "__Host-portal-session"


@pytest.fixture
def app(tmp_path, sandbox, database_url):
    """The portal with the writes limit out of the way: these tests send creates at a
    load test's pace (300 in seconds under one manager id, a queue of 40 at once), which
    no honest manager reaches and which the limit exists to stop. The limit itself is
    tested in test_rate_limits.py."""
    config = portal_config(tmp_path, database_url, sandbox)
    with portal_app({**config, "PORTAL_RATE_LIMIT_WRITES": "100000/minute"}) as portal:
        yield portal


def count(app, **where) -> int:
    with app.app_context():
        query = db.select(db.func.count(VisitRecord.id))
        for name, value in where.items():
            query = query.where(getattr(VisitRecord, name) == value)
        return db.session.scalar(query)


def make_due_and_drain(app) -> None:
    with app.app_context():
        for _ in range(10):  # a delivery can itself fail once more; bounded
            make_everything_due()
            if delivery.drain() == 0:
                return


def test_the_same_form_sent_twice_makes_one_visit(client, app, sandbox_leat):
    page = client.get("/visits").text
    form = {
        "csrf_token": csrf_token(page),
        "submission_key": input_value(page, "submission_key"),
        "contact": seed.CONTACT_ANNA,
        "shop": seed.SHOP_AMSTERDAM,
        "source": "Once",
    }
    first = client.post("/visits", data=form, headers=HTMX)
    again = client.post("/visits", data=form, headers=HTMX)  # double click, browser retry
    plain = client.post("/visits", data=form)  # back, then submit again without JavaScript
    assert first.status_code == again.status_code == 200
    assert plain.status_code == 303
    with app.app_context():
        row_id = db.session.scalar(db.select(VisitRecord.id))
    row(first, row_id)
    row(again, row_id)  # the first result, not a second visit
    assert sandbox_leat.list_visits().total == 1
    assert count(app) == 1
    # The fresh form after a success carries a new key: the next visit is a new one.
    assert input_value(first, "submission_key") != form["submission_key"]


@pytest.mark.slow  # a soak: 300 creates over real HTTP, many against a failing Leat
def test_300_creates_from_many_threads_with_a_flaky_leat(app, sandbox, sandbox_leat):
    app.extensions["leat"].timeout = (2.0, 0.4)
    sandbox.faults.chaos(
        [
            MAINTENANCE_PAGE,
            Fault(status=500, body="oops", content_type="text/plain"),
            Fault(status=429, body="", headers={"Retry-After": "1"}),
            Fault(commit=True, stall=0.8),  # made at Leat, answered too late
            Fault(commit=True, drop=True),  # made at Leat, answer lost
        ],
        rate=0.2,
    )
    contacts = [c.uuid for c in seed.CONTACTS] + ["anna.devries@example.com"]
    shops = [s.uuid for s in seed.SHOPS]
    total, threads = 300, 8
    lock = threading.Lock()
    answers: list[int] = []

    from portal.leat_sandbox import serve_in_thread

    with serve_in_thread(app) as portal:

        def manager(number: int) -> None:
            with requests.Session() as browser:
                # requests sends a Secure cookie only to https; the portal here is
                # plain http on loopback, so the session cookie is carried by hand.
                def keep_session(response, *args, **kwargs):
                    cookie = response.cookies.get(SESSION_COOKIE)
                    if cookie:
                        browser.headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"

                browser.hooks["response"].append(keep_session)
                browser.get(
                    portal.base_url + launch_path(name=f"M{number}"),
                    allow_redirects=False,
                    timeout=10,
                )
                token = csrf_token(browser.get(portal.base_url + "/visits", timeout=10))
                for i in range(number, total, threads):
                    data = {
                        "csrf_token": token,
                        "contact": contacts[i % len(contacts)],
                        "shop": shops[i % len(shops)],
                        "source": f"soak {i}",
                    }
                    response = browser.post(
                        portal.base_url + "/visits", data=data, headers=HTMX, timeout=30
                    )
                    with lock:
                        answers.append(response.status_code)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(manager, range(threads)))

    assert len(answers) == total
    assert set(answers) == {200}, "every create was either confirmed or kept as pending"
    assert sandbox.faults.faults_served > 30
    assert count(app) == total

    sandbox.faults.clear()
    make_due_and_drain(app)
    visits = sandbox_leat.list_visits(limit=500).visits
    assert len(visits) == total
    assert len({v.external_id for v in visits}) == total, "no duplicates"
    assert sorted(v.source for v in visits) == sorted(f"soak {i}" for i in range(total))
    assert count(app, status=Delivery.CONFIRMED) == total, "none left pending, none lost"


def test_two_workers_draining_one_queue_send_each_item_once(client, app, sandbox, sandbox_leat):
    token = csrf_token(client)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=None)
    for i in range(40):
        data = {
            "csrf_token": token,
            "contact": seed.CONTACT_CHLOE,
            "shop": seed.SHOP_UTRECHT,
            "source": f"queued {i}",
        }
        assert client.post("/visits", data=data, headers=HTMX).status_code == 200
    assert sandbox_leat.list_visits().total == 0
    sandbox.faults.clear()
    before = sandbox.faults.calls[("POST", "/visits")]
    with app.app_context():
        make_everything_due()

    delivered = []

    def worker() -> None:
        with app.app_context():
            delivered.append(delivery.drain())

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)

    assert sum(delivered) == 40
    assert all(done > 0 for done in delivered), "both workers took part"
    assert sandbox.faults.calls[("POST", "/visits")] - before == 40, "each item sent once"
    assert sandbox_leat.list_visits(limit=500).total == 40
    assert count(app, status=Delivery.CONFIRMED) == 40


def test_a_save_sends_from_the_record_as_claimed_not_as_first_read(client, app, monkeypatch):
    # Between a save's first read of its record and the UPDATE that claims it, another
    # sender (the worker, another instance) may change the record. The claim brings the
    # row back, so what the save then writes is based on it: here the other's count of
    # attempts goes on (7, then this save's attempt), instead of being written over
    # with the count this request first read.
    from helpers import only_record, post_visit, save_visit
    from sqlalchemy import update

    created = post_visit(client, contact=seed.CONTACT_ANNA, shop=seed.SHOP_AMSTERDAM)
    assert created.status_code == 200
    record = only_record(app)
    assert record.status is Delivery.CONFIRMED
    claim = delivery.claim_with_change

    def another_sender_first(claimed_record):
        with db.engine.begin() as elsewhere:
            elsewhere.execute(
                update(VisitRecord).where(VisitRecord.id == claimed_record.id).values(attempts=7)
            )
        return claim(claimed_record)

    monkeypatch.setattr(delivery, "claim_with_change", another_sender_first)
    fields = {"date": "2026-05-01", "starts_at": "10:00", "source": "Corrected"}
    assert save_visit(client, str(record.id), **fields).status_code == 200
    saved = only_record(app)
    assert saved.status is Delivery.CONFIRMED
    assert saved.snapshot["source"] == "Corrected"
    assert saved.attempts == 8
