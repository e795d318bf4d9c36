"""The local database: Flask-SQLAlchemy's ``db``, its engine settings, and ``flask db``.

Nothing here imports the models: they import ``db`` from here, and ``create_app``
imports them (so the tables are known) before binding the database.
"""

from __future__ import annotations

import threading
from pathlib import Path

import click
from flask import Flask, g, has_request_context
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session


class Base(DeclarativeBase):
    # Named constraints, so later migrations can alter them (SQLite's batch mode
    # rebuilds tables and must know every constraint by name).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
DATABASE_POOL_SIZE = 10
MIGRATIONS_DIRECTORY = Path(__file__).with_name("migrations")


def commit_keeping_values() -> None:
    """Commit, and in a request keep the objects' values as this request wrote them,
    rather than reading each again with a SELECT at its next use (a record just made,
    or just delivered, and still shown in the answer). Only for records this request
    holds (claimed), which no other sender changes meanwhile. A request's session ends
    with it; outside a request (the worker's session lasts its whole run) every commit
    expires everything, as usual, so the next read sees other processes' changes."""
    session = db.session()
    if not has_request_context():
        session.commit()
        return
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring


def init_database(app: Flask) -> None:
    # A database error's message quotes its statement's bound values (contacts' e-mail
    # addresses, managers' ids) wherever it is printed or logged; the statement alone
    # says what failed.
    options: dict = {"hide_parameters": True}
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A request holds a connection only while it reads or writes (a commit gives
        # it back before each Leat call), so a few serve all of a worker's threads;
        # and a small PaaS database allows few (2 workers x 15 here, and the worker).
        # Each is checked before a request first uses it (_ping_once_a_request), so a
        # database restart costs no manager a request. The pool hands out the
        # connection given back last, so a request's later transactions find the one
        # already checked.
        options.update(
            pool_size=DATABASE_POOL_SIZE,
            max_overflow=5,
            pool_use_lifo=True,
            pool_recycle=1800,
        )
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", options)
    db.init_app(app)
    app.cli.add_command(_MigrationCommands(app))
    with app.app_context():
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            event.listen(db.engine, "connect", _tune_sqlite)
            _one_writer_a_process(db.engine)
        else:
            event.listen(db.engine, "checkout", _ping_once_a_request)


def _ping_once_a_request(dbapi_connection, _record, _proxy) -> None:
    """A pooled connection is asked whether it is alive before use, and replaced if
    not (the server restarted, or dropped it): what ``pool_pre_ping`` does, but once
    per connection per request rather than at every checkout. A create checks a
    connection out three times (before Leat, after, for the answer), and each ping is
    a round trip that costs CPU here and in the server (bench/, README). Outside a
    request (the worker, the command line) every checkout is checked."""
    checked = g.setdefault("_db_connections_checked", set()) if has_request_context() else set()
    if dbapi_connection in checked:
        return
    try:
        db.engine.dialect.do_ping(dbapi_connection)
    except db.engine.dialect.loaded_dbapi.Error as exc:
        # The pool throws this connection away and checks out a new one.
        raise DisconnectionError("the database dropped this connection") from exc
    checked.add(dbapi_connection)


def enable_migrations(app: Flask) -> None:
    """Bind Flask-Migrate (and so Alembic) to the app: for ``flask db …`` and tests.

    Not done in ``create_app``: Alembic serves no request, yet importing it costs each
    web worker about 11 MB of its memory budget (measured: bench/README).
    """
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(MIGRATIONS_DIRECTORY))


class _MigrationCommands(click.Group):
    """``flask db …``: Flask-Migrate's commands, loaded only when one of them runs."""

    def __init__(self, app: Flask) -> None:
        super().__init__("db", help="Database migrations (Flask-Migrate, Alembic).")
        self._app = app

    def _commands(self) -> click.Group:
        enable_migrations(self._app)
        from flask_migrate.cli import db as commands

        return commands

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        # The context is Flask-Migrate's own group's, so its options (--directory,
        # -x) and its callback run exactly as if it had been registered directly.
        return self._commands().make_context(info_name, args, parent=parent, **extra)


def _tune_sqlite(dbapi_connection, _record) -> None:
    # Several gunicorn workers (and later a background worker) share the file:
    # WAL lets readers run beside a writer, and the busy timeout makes a writer
    # wait its turn instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # In WAL mode NORMAL keeps the database consistent and spares an fsync per commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# How long a thread waits for the other threads' write before it goes on and lets
# SQLite's own busy handler decide (never a deadlock, whatever holds the turn).
WRITE_TURN_SECONDS = 5.0
WRITES = frozenset({"INSERT", "UPDATE", "DELETE"})
_write_turn = threading.Lock()  # one per process: the threads of a worker take turns
_turn_held = threading.local()
_session_events = False  # listened to once: the session class is shared by every app


def _one_writer_a_process(engine) -> None:
    """SQLite takes one writer at a time, and a writer that finds the database locked
    waits in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) rather
    than being woken when the lock is free: with dozens of threads writing at once, some
    waited far longer than the write they waited for (64 managers: p99 four times the
    p50, bench/). The threads of one process take turns on a lock of their own instead,
    from a transaction's first write until it has ended, and are woken as soon as it is
    free; only processes (the web workers, the worker) meet in SQLite's handler."""
    event.listen(engine, "before_cursor_execute", _take_turn)
    event.listen(engine, "checkin", _end_turn)  # a connection given back without an end
    global _session_events
    if not _session_events:
        event.listen(Session, "after_commit", _end_turn)
        event.listen(Session, "after_rollback", _end_turn)
        _session_events = True


def _take_turn(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    if getattr(_turn_held, "held", False) or statement.lstrip()[:6].upper() not in WRITES:
        return
    _turn_held.held = _write_turn.acquire(timeout=WRITE_TURN_SECONDS)


def _end_turn(*_args) -> None:
    if getattr(_turn_held, "held", False):
        _turn_held.held = False
        _write_turn.release()
