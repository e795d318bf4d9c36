"""The database under test: SQLite files by default, or a real PostgreSQL server when
``TEST_DATABASE_URL`` names one (``.ci/run`` starts one and runs the suite again).

Each test gets its own database: a copy of one migrated file on SQLite, a
``CREATE DATABASE … TEMPLATE`` of one migrated database on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from portal.config import database_url

SERVER = os.environ.get("TEST_DATABASE_URL", "")
TEMPLATE = "portal_test_template"


def on_postgres() -> bool:
    return SERVER.startswith(("postgres://", "postgresql://", "postgresql+psycopg://"))


def admin_connection():
    url = make_url(database_url(SERVER, Path()))
    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
    )


def url_of(name: str) -> str:
    """The SQLAlchemy URL of database ``name`` on the test server."""
    url = make_url(database_url(SERVER, Path()))
    return url.set(database=name).render_as_string(hide_password=False)


def create(name: str, template: str | None = None) -> str:
    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return url_of(name)


def drop(name: str) -> None:
    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Databases:
    """Hands out empty or migrated databases, one per test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: list[str] = []

    def empty(self, tmp_path: Path) -> str:
        if on_postgres():
            name = f"portal_test_{uuid.uuid4().hex[:12]}"
            self.made.append(name)
            return create(name)
        return f"sqlite:///{tmp_path / f'empty-{uuid.uuid4().hex[:8]}.sqlite3'}"

    def migrated(self, template_url: str, tmp_path: Path) -> str:
        if on_postgres():
            name = f"portal_test_{uuid.uuid4().hex[:12]}"
            self.made.append(name)
            return create(name, template=TEMPLATE)
        copy = tmp_path / f"portal-{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copy(make_url(template_url).database, copy)
        return f"sqlite:///{copy}"

    def template_url(self) -> str:
        if on_postgres():
            return create(TEMPLATE)
        return f"sqlite:///{self.folder / 'template.sqlite3'}"

    def cleanup(self) -> None:
        if on_postgres():
            for name in self.made:
                drop(name)
            drop(TEMPLATE)
