"""The sandbox's data, in one SQLite file shared by every thread and process that opens it.

Demo mode runs the sandbox inside each gunicorn worker, so several processes write
the same file at once. Hence: a connection per thread (nothing shared between
threads; opened once, since opening and tuning one costs more than most queries),
WAL (readers never wait for the writer), a busy timeout (a writer waits its turn
instead of failing with "database is locked"), and ``BEGIN IMMEDIATE`` for writes
(the write lock is taken up front, so a read-then-write can't deadlock). Writers of
one process queue on a lock of their own first: SQLite's busy handler waits by
sleeping in steps of up to 100 ms, which under load (the benchmark) would add
latency Leat doesn't have; across processes it still applies.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid as uuid_module
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Final

from . import seed

BUSY_TIMEOUT_SECONDS: Final = 5.0

# What a visit update may change; also the only column names ever put into SQL text.
UPDATABLE_VISIT_COLUMNS: Final = frozenset({"external_id", "source", "starts_at", "ends_at"})

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS shops (
        uuid TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        reference TEXT,
        position INTEGER NOT NULL
    )""",
    # NOCASE: Leat runs on MySQL, whose default collation matches e-mails regardless
    # of case, so "Anna.DeVries@…" finds (and can't duplicate) anna.devries@….
    """CREATE TABLE IF NOT EXISTS contacts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid TEXT NOT NULL UNIQUE,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at TEXT NOT NULL
    )""",
    # Timestamps are ISO 8601 text, always UTC with "+00:00" and second precision,
    # so they sort as text in time order.
    """CREATE TABLE IF NOT EXISTS visits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid TEXT NOT NULL UNIQUE,
        contact_uuid TEXT NOT NULL REFERENCES contacts (uuid),
        shop_uuid TEXT NOT NULL REFERENCES shops (uuid),
        external_id TEXT,
        source TEXT,
        starts_at TEXT,
        ends_at TEXT,
        created_at TEXT NOT NULL
    )""",
    # The validator checks uniqueness first, for a friendly error beside the others;
    # this index is what still holds when two requests pass that check at once.
    """CREATE UNIQUE INDEX IF NOT EXISTS visits_external_id
        ON visits (external_id) WHERE external_id IS NOT NULL""",
    """CREATE INDEX IF NOT EXISTS visits_newest_first ON visits (created_at, id)""",
    """CREATE INDEX IF NOT EXISTS visits_by_contact ON visits (contact_uuid, created_at, id)""",
)

_VISIT_SELECT: Final = """
    SELECT v.uuid, v.contact_uuid, c.email AS contact_email, v.shop_uuid, v.external_id,
           v.source, v.starts_at, v.ends_at, v.created_at
    FROM visits AS v JOIN contacts AS c ON c.uuid = v.contact_uuid
"""


class DuplicateExternalId(Exception):
    """Another visit already has this ``external_id`` (caught by the unique index)."""


class SandboxStore:
    """Shops, contacts and visits in the SQLite file at ``path`` (created if missing)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._create_and_seed()

    # -- connections -------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        local = self._local
        # A connection never crosses a fork (demo mode may open one before gunicorn
        # forks its workers): a child opens its own.
        if getattr(local, "pid", None) != os.getpid():
            local.connection = self._open()
            local.pid = os.getpid()
        yield local.connection

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: the sqlite3 module opens no transactions of its own;
        # this class says BEGIN where it means it. The connection closes when its
        # thread ends and the thread-local goes with it.
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        connection.execute("PRAGMA foreign_keys = ON")
        # With WAL, NORMAL still never corrupts the file; it only skips an fsync
        # per commit, which is most of a write's time.
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        with self._connect() as connection:
            connection.execute(begin)
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock, self._transaction("BEGIN IMMEDIATE") as connection:
            yield connection

    def _reading(self) -> AbstractContextManager[sqlite3.Connection]:
        # One read transaction, so a page and its total come from the same snapshot.
        return self._transaction("BEGIN")

    def _create_and_seed(self) -> None:
        with self._connect() as connection:
            # Persistent in the file; only the first opener actually switches.
            connection.execute("PRAGMA journal_mode = WAL")
        with self._writing() as connection:
            for statement in _SCHEMA:
                connection.execute(statement)
            connection.executemany(
                "INSERT OR IGNORE INTO shops (uuid, name, type, reference, position)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (shop.uuid, shop.name, shop.type, shop.reference, position)
                    for position, shop in enumerate(seed.SHOPS)
                ],
            )
            connection.executemany(
                "INSERT OR IGNORE INTO contacts (uuid, email, created_at) VALUES (?, ?, ?)",
                [(c.uuid, c.email, c.created_at) for c in seed.CONTACTS],
            )

    # -- shops -------------------------------------------------------------------

    def list_shops(self) -> list[dict[str, Any]]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT uuid, name, type, reference FROM shops ORDER BY position, name"
            ).fetchall()
        return [dict(row) for row in rows]

    def get_shop(self, uuid: str) -> dict[str, Any] | None:
        with self._connect() as connection:
            row = connection.execute(
                "SELECT uuid, name, type, reference FROM shops WHERE uuid = ?", (uuid.lower(),)
            ).fetchone()
        return dict(row) if row else None

    # -- contacts ----------------------------------------------------------------

    def get_contact(self, uuid: str) -> dict[str, Any] | None:
        return self._one_contact("uuid = ?", uuid.lower())

    def find_contact(self, email: str) -> dict[str, Any] | None:
        return self._one_contact("email = ?", email)

    def find_or_create_contact(
        self, email: str, *, created_at: str, limit: int | None = None
    ) -> dict[str, Any] | None:
        """The contact with this e-mail, made if new; ``None`` when it is new and
        ``limit`` contacts exist already."""
        # Read, count and insert in one write transaction: two requests for the same
        # new e-mail get the same contact, and a limit can't be overrun by a race.
        select = "SELECT uuid, email, created_at FROM contacts WHERE email = ?"
        with self._writing() as connection:
            row = connection.execute(select, (email,)).fetchone()
            if row is None:
                count = "SELECT count(*) FROM contacts"
                if limit is not None and connection.execute(count).fetchone()[0] >= limit:
                    return None
                connection.execute(
                    "INSERT INTO contacts (uuid, email, created_at) VALUES (?, ?, ?)",
                    (str(uuid_module.uuid4()), email, created_at),
                )
                row = connection.execute(select, (email,)).fetchone()
        return dict(row)

    def _one_contact(self, where: str, value: str) -> dict[str, Any] | None:
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT uuid, email, created_at FROM contacts WHERE {where}",  # noqa: S608  (constant)
                (value,),
            ).fetchone()
        return dict(row) if row else None

    # -- visits ------------------------------------------------------------------

    def get_visit(self, uuid: str) -> dict[str, Any] | None:
        with self._connect() as connection:
            return _one_visit(connection, uuid.lower())

    def list_visits(
        self, *, offset: int, limit: int, contact_uuid: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        where, parameters = (
            ("WHERE v.contact_uuid = ?", [contact_uuid.lower()]) if (contact_uuid) else ("", [])
        )
        with self._reading() as connection:
            total = connection.execute(
                f"SELECT count(*) FROM visits AS v {where}",  # noqa: S608  (constant)
                parameters,
            ).fetchone()[0]
            rows = []
            if limit and offset < total:
                rows = connection.execute(
                    f"{_VISIT_SELECT} {where} ORDER BY v.created_at DESC, v.id DESC"
                    " LIMIT ? OFFSET ?",
                    [*parameters, limit, offset],
                ).fetchall()
        return [dict(row) for row in rows], total

    def external_id_taken(self, external_id: str, *, except_uuid: str | None = None) -> bool:
        with self._connect() as connection:
            row = connection.execute(
                "SELECT 1 FROM visits WHERE external_id = ? AND uuid IS NOT ?",
                (external_id, except_uuid.lower() if except_uuid else None),
            ).fetchone()
        return row is not None

    def create_visit(
        self,
        *,
        contact_uuid: str,
        shop_uuid: str,
        external_id: str | None,
        source: str | None,
        starts_at: str | None,
        ends_at: str | None,
        created_at: str,
    ) -> dict[str, Any]:
        uuid = str(uuid_module.uuid4())
        with _duplicates_as_error(), self._writing() as connection:
            connection.execute(
                "INSERT INTO visits (uuid, contact_uuid, shop_uuid, external_id, source,"
                " starts_at, ends_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    uuid,
                    contact_uuid.lower(),
                    shop_uuid.lower(),
                    external_id,
                    source,
                    starts_at,
                    ends_at,
                    created_at,
                ),
            )
            return _one_visit(connection, uuid)

    def update_visit(self, uuid: str, changes: Mapping[str, str | None]) -> dict[str, Any] | None:
        """Set the given columns of one visit; ``None`` when there is no such visit."""
        unknown = set(changes) - UPDATABLE_VISIT_COLUMNS
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        with _duplicates_as_error(), self._writing() as connection:
            if changes:
                assignments = ", ".join(f"{column} = ?" for column in changes)
                connection.execute(
                    f"UPDATE visits SET {assignments} WHERE uuid = ?",  # noqa: S608  (whitelisted)
                    [*changes.values(), uuid.lower()],
                )
            return _one_visit(connection, uuid.lower())


def _one_visit(connection: sqlite3.Connection, uuid: str) -> dict[str, Any] | None:
    row = connection.execute(f"{_VISIT_SELECT} WHERE v.uuid = ?", (uuid,)).fetchone()
    return dict(row) if row else None


@contextmanager
def _duplicates_as_error() -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if "visits.external_id" in str(exc):
            raise DuplicateExternalId(str(exc)) from exc
        raise
