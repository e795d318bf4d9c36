"""The worker process as the Procfile runs it: it delivers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import (
    HTMX,
    LAUNCH_SECRET,
    ROOT,
    SECRET_KEY,
    csrf_token,
    make_everything_due,
    procfile_command,
    run_python,
    tool_environ,
    wait_until,
)

from portal.database import db
from portal.leat_sandbox import MAINTENANCE_PAGE, seed
from portal.models import Delivery, VisitRecord


def worker_env(app, sandbox) -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "LEAT_API_TOKEN": sandbox.token,
        "LEAT_BASE_URL": sandbox.base_url,
        "SECRET_KEY": SECRET_KEY,
        "PORTAL_LAUNCH_SECRET": LAUNCH_SECRET,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
    }


def test_the_worker_delivers_what_waits_and_stops_on_sigterm(client, app, sandbox, sandbox_leat):
    token = csrf_token(client)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    data = {"csrf_token": token, "contact": seed.CONTACT_DAAN, "shop": seed.SHOP_WEBSHOP}
    assert "Pending" in client.post("/visits", data=data, headers=HTMX).text
    with app.app_context():
        make_everything_due()

    command = procfile_command("worker")
    assert command[:4] == ["flask", "--app", "wsgi", "leat-sync"]
    worker = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        env=worker_env(app, sandbox),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: sandbox_leat.list_visits().total, 30, message="nothing delivered")
        assert sandbox_leat.list_visits().total == 1
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=15)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, output
    assert "stopped after 1 deliveries" in output
    with app.app_context():
        assert db.session.scalar(db.select(VisitRecord.status)) == Delivery.CONFIRMED


def test_a_claim_left_by_a_killed_worker_runs_out(client, app, sandbox, sandbox_leat):
    from datetime import timedelta

    from portal.models import utcnow
    from portal.visits import delivery

    token = csrf_token(client)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    data = {"csrf_token": token, "contact": seed.CONTACT_DAAN, "shop": seed.SHOP_WEBSHOP}
    client.post("/visits", data=data, headers=HTMX)
    with app.app_context():
        # As a worker killed mid-send leaves it: claimed, never released.
        db.session.execute(
            db.update(VisitRecord).values(
                next_attempt_at=None, claimed_until=utcnow() + timedelta(seconds=60)
            )
        )
        db.session.commit()
        assert delivery.drain() == 0  # held: nobody else sends it meanwhile
        db.session.execute(
            db.update(VisitRecord).values(claimed_until=utcnow() - timedelta(seconds=1))
        )
        make_everything_due()  # the maintenance pause too
        assert delivery.drain() == 1
    assert sandbox_leat.list_visits().total == 1


# -- its log: JSON lines only, nothing of a customer, no SQL --------------------------------

SQL_WORDS = ("SELECT", "UPDATE", "INSERT", "[SQL", "[parameters")


def run_worker_once(env: dict[str, str]) -> list[dict]:
    """The Procfile's worker command with --once; every line it wrote, each parsed as
    JSON (failing on any line that is not), stdout and stderr alike."""
    result = run_python("-m", *procfile_command("worker"), "--once", env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = []
    for line in output.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}\nin:\n{output}")
    assert "@" not in output, output
    for word in SQL_WORDS:
        assert word not in output, output
    return lines


def test_a_database_error_is_one_json_line_naming_its_kind(tmp_path):
    # A database without the portal's tables: every query fails, and the error's own
    # message quotes the SQL statement.
    env = tool_environ(
        LEAT_API_TOKEN="t",
        SECRET_KEY=SECRET_KEY,
        PORTAL_LAUNCH_SECRET=LAUNCH_SECRET,
        DATABASE_URL=f"sqlite:///{tmp_path / 'no-tables.sqlite3'}",
    )
    lines = run_worker_once(env)
    (unreachable,) = [line for line in lines if "database is unreachable" in line["event"]]
    assert unreachable["level"] == "error"
    assert unreachable["error"] == "OperationalError"
    assert "traceback" not in unreachable
    assert [line["event"] for line in lines][-1] == "leat-sync: stopped after 0 deliveries"


# Makes the UPDATE that stores Leat's answer fail, as a bug or an outage might, with
# the contact's e-mail address at hand.
FAIL_ON_CONFIRM = {
    "sqlite": [
        "CREATE TRIGGER fail_on_confirm BEFORE UPDATE OF leat_uuid ON visit_records "
        "BEGIN SELECT no_such_function(NEW.contact_email); END"
    ],
    "postgresql": [
        "CREATE FUNCTION fail_on_confirm() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'cannot store %', NEW.contact_email; END $$",
        "CREATE TRIGGER fail_on_confirm BEFORE UPDATE OF leat_uuid ON visit_records "
        "FOR EACH ROW EXECUTE FUNCTION fail_on_confirm()",
    ],
}


def test_an_unexpected_delivery_error_is_one_json_line_with_its_kind_and_record(
    client, app, sandbox, sandbox_leat
):
    token = csrf_token(client)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    data = {"csrf_token": token, "contact": "anna.devries@example.com", "shop": seed.SHOP_WEBSHOP}
    assert "Pending" in client.post("/visits", data=data, headers=HTMX).text
    with app.app_context():
        record_id = db.session.scalar(db.select(VisitRecord.id))
        dialect = db.engine.dialect.name
        for statement in FAIL_ON_CONFIRM[dialect]:
            db.session.execute(sa.text(statement))
        make_everything_due()

    lines = run_worker_once(worker_env(app, sandbox))
    assert sandbox_leat.list_visits().total == 1  # sent; only storing the answer failed
    (failed,) = [line for line in lines if line["level"] == "error"]
    assert failed["event"] == "delivery of a record failed unexpectedly"
    assert failed["record"] == record_id
    # The error's kind only: its message holds the statement (and on PostgreSQL the
    # e-mail address the trigger quotes).
    assert (
        failed["error"] == {"sqlite": "OperationalError", "postgresql": "ProgrammingError"}[dialect]
    )
    assert failed["where"].startswith("portal/")


def test_a_bug_outside_any_delivery_stops_the_worker_with_one_json_line(app, monkeypatch):
    from portal.visits import delivery

    def broken(**_kwargs):
        raise RuntimeError("a bug that quotes anna@example.com")

    monkeypatch.setattr(delivery, "drain", broken)
    # In this process the test runner keeps its own signal handlers.
    monkeypatch.setattr(signal, "signal", lambda *_args: None)
    result = app.test_cli_runner().invoke(args=["leat-sync", "--once"])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[-1]["event"] == "leat-sync: stopped by an unexpected error"
    assert lines[-1]["error"] == "RuntimeError"
    assert lines[-1]["where"].startswith("portal/visits/worker.py:")  # the portal's line
    assert "@" not in result.output
    assert "Traceback" not in result.output
