"""The schema comes from the migrations alone, and they match the models."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from helpers import SECRET_KEY, close_portal, make_portal, procfile_command, run_python

from portal.database import db, enable_migrations


@pytest.fixture
def make_app(tmp_path, empty_database_url):
    made = []

    def make():
        app = make_portal(
            {
                "INSTANCE_PATH": tmp_path,
                "LEAT_API_TOKEN": "t",
                "SECRET_KEY": SECRET_KEY,
                "PORTAL_LAUNCH_SECRET": "l" * 32,
                "SQLALCHEMY_DATABASE_URI": empty_database_url,
            }
        )
        enable_migrations(app)
        made.append(app)
        return app

    yield make
    for app in made:  # close the pool's connections now, not whenever GC runs
        close_portal(app)


def test_the_app_does_not_create_tables_by_itself(make_app):
    app = make_app()
    with app.app_context():
        assert sa.inspect(db.engine).get_table_names() == []


def test_upgrade_from_empty_builds_the_local_record(make_app):
    app = make_app()
    with app.app_context():
        upgrade()
        inspector = sa.inspect(db.engine)
        assert "visit_records" in inspector.get_table_names()
        columns = {c["name"] for c in inspector.get_columns("visit_records")}
        assert {
            "leat_uuid",
            "shop_uuid",
            "contact_uuid",
            "contact_email",
            "snapshot",
            "snapshot_at",
            "created_by",
            "updated_by",
        } <= columns
        assert "used_launch_tokens" in inspector.get_table_names()


def test_the_models_and_the_migrations_agree(make_app):
    app = make_app()
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


def test_downgrade_to_empty_and_up_again(make_app):
    app = make_app()
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "visit_records" in sa.inspect(db.engine).get_table_names()


def test_the_procfile_release_step_migrates_an_empty_database(empty_database_url):
    env = {
        "PATH": str(Path(sys.executable).parent),
        "LEAT_API_TOKEN": "t",
        "SECRET_KEY": SECRET_KEY,
        "PORTAL_LAUNCH_SECRET": "l" * 32,
        "DATABASE_URL": empty_database_url,
    }
    result = run_python("-m", *procfile_command("release"), env=env)
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(empty_database_url)
    try:
        assert "visit_records" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_0008_fills_each_records_start_and_source_as_the_portal_shows_them(make_app):
    """The visit's start and source move out of the JSON into columns the list can
    filter and sort by: from Leat's snapshot, with an unsent change on top, or from
    the unsent create; a record with neither sorts by when it was recorded."""
    app = make_app()
    records = sa.table(
        "visit_records",
        sa.column("id", sa.Integer),
        sa.column("shop_uuid", sa.String),
        sa.column("external_id", sa.String),
        sa.column("snapshot", sa.JSON),
        sa.column("pending", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    recorded = datetime(2026, 4, 1, 12, tzinfo=UTC)
    confirmed = {"starts_at": "2026-05-01T08:00:00+00:00", "source": "Till 1"}
    edited = {"kind": "update", "fields": {"starts_at": "2026-05-02T11:00:00+02:00"}}
    unsent = {"kind": "create", "fields": {"starts_at": "2026-05-03T10:00:00+02:00", "source": "P"}}
    rows = {
        1: (confirmed, None),  # confirmed by Leat
        2: (confirmed, edited),  # an edit not yet sent: the edit's start, the snapshot's source
        3: (None, unsent),  # a create not yet sent
        4: (None, None),  # nothing to read
    }
    with app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as connection:
            for record_id, (snapshot, pending) in rows.items():
                connection.execute(
                    records.insert().values(
                        id=record_id,
                        shop_uuid="shop",
                        external_id=f"x-{record_id}",
                        snapshot=snapshot,
                        pending=pending,
                        created_at=recorded,
                        updated_at=recorded,
                    )
                )
        upgrade()
        with db.engine.connect() as connection:
            found = connection.execute(
                sa.text("SELECT id, starts_at, source FROM visit_records ORDER BY id")
            ).all()
    as_utc = [
        (record_id, _aware(starts_at).astimezone(UTC), source)
        for record_id, starts_at, source in found
    ]
    assert as_utc == [
        (1, datetime(2026, 5, 1, 8, tzinfo=UTC), "Till 1"),
        (2, datetime(2026, 5, 2, 9, tzinfo=UTC), "Till 1"),
        (3, datetime(2026, 5, 3, 8, tzinfo=UTC), "P"),
        (4, recorded, None),
    ]


def _aware(value):
    """A time as the database gives it back without the portal's type: SQLite's is text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
