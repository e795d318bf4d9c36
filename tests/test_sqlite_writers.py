"""On SQLite the threads of one process take turns to write (portal/database.py), so a
burst of writes from many threads never waits in SQLite's sleeping busy handler, nor
fails when that handler gives up."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event

from portal.database import db
from portal.models import Delivery, VisitRecord


def test_the_threads_of_a_process_take_turns_to_write(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's one writer at a time is what the turns are for")
    with app.app_context():
        engine = db.engine
        engine.dispose()  # new connections, each with the setting below

    # No waiting in SQLite's busy handler at all: a writer that meets another's open
    # write transaction fails at once with "database is locked".
    def impatient(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    event.listen(engine, "connect", impatient)
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        with app.app_context():
            start.wait()
            for i in range(5):
                try:
                    record = VisitRecord(
                        shop_uuid="shop",
                        external_id=f"turns-{n}-{i}",
                        status=Delivery.PENDING,
                        created_by="anna@example.com",
                        updated_by="anna@example.com",
                    )
                    db.session.add(record)
                    db.session.flush()  # the write transaction is open from here
                    time.sleep(0.005)  # ... and stays open a moment, as around a commit
                    db.session.commit()
                except Exception as exc:  # any failure is the finding
                    failures.append(exc)
                    db.session.rollback()

    try:
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(engine, "connect", impatient)
    assert failures == []
    with app.app_context():
        written = db.session.scalar(
            db.select(db.func.count())
            .select_from(VisitRecord)
            .where(VisitRecord.external_id.like("turns-%"))
        )
    assert written == 40
