"""The worker process as the Procfile runs it: it delivers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from helpers import (
    HTMX,
    LAUNCH_SECRET,
    ROOT,
    SECRET_KEY,
    csrf_token,
    make_everything_due,
    procfile_command,
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
