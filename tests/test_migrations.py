"""The schema comes from the migrations alone, and they match the models."""

from __future__ import annotations

import sys
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
