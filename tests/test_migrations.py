"""The schema comes from the migrations alone, and they match the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.extensions import db

ROOT = Path(__file__).resolve().parents[1]


def make_app(tmp_path):
    return create_app(
        {
            "INSTANCE_PATH": tmp_path,
            "LEAT_API_TOKEN": "t",
            "SECRET_KEY": "k",
            "PORTAL_LAUNCH_SECRET": "l" * 32,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        }
    )


def test_the_app_does_not_create_tables_by_itself(tmp_path):
    app = make_app(tmp_path)
    with app.app_context():
        assert sa.inspect(db.engine).get_table_names() == []


def test_upgrade_from_empty_builds_the_local_record(tmp_path):
    app = make_app(tmp_path)
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


def test_the_models_and_the_migrations_agree(tmp_path):
    app = make_app(tmp_path)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


def test_downgrade_to_empty_and_up_again(tmp_path):
    app = make_app(tmp_path)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "visit_records" in sa.inspect(db.engine).get_table_names()


def test_flask_db_upgrade_on_the_command_line(tmp_path):
    database = tmp_path / "cli.sqlite3"
    env = {
        "PATH": str(Path(sys.executable).parent),
        "LEAT_API_TOKEN": "t",
        "SECRET_KEY": "k",
        "PORTAL_LAUNCH_SECRET": "l" * 32,
        "DATABASE_URL": f"sqlite:///{database}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        assert "visit_records" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
