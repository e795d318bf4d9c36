"""A database restart costs no manager a request: pooled connections are checked
before a request first uses them (``portal/database.py``) and replaced when the
server has dropped them."""

from __future__ import annotations

import pytest
from databases import admin_connection
from sqlalchemy.engine import make_url

from portal.database import db

pytestmark = pytest.mark.postgres  # a database server's restart: skipped on SQLite


def drop_every_connection(database: str) -> int:
    """What a restart does to the portal's pooled connections: the server ends them."""
    with admin_connection() as server:
        ended = server.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchone()[0]
    return ended


def test_a_request_after_the_database_dropped_its_connections_succeeds(app, client):
    assert client.get("/visits").status_code == 200  # the pool now holds a connection
    with app.app_context():
        checked_in = db.engine.pool.checkedin()
    assert checked_in >= 1
    database = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    assert drop_every_connection(database) >= checked_in

    answer = client.get("/visits")
    assert answer.status_code == 200
    assert "Recorded visits" in answer.text
