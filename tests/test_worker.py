"""The worker process as the Procfile runs it: it delivers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import LAUNCH_SECRET, make_everything_due

from portal.database import db
from portal.leat_sandbox import MAINTENANCE_PAGE, seed
from portal.models import Delivery, VisitRecord

ROOT = Path(__file__).resolve().parents[1]
HTMX = {"HX-Request": "true"}


def worker_command() -> list[str]:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "worker":
            return shlex.split(command)
    raise AssertionError("the Procfile has no worker: line")


def worker_env(app, sandbox) -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "LEAT_API_TOKEN": sandbox.token,
        "LEAT_BASE_URL": sandbox.base_url,
        "SECRET_KEY": "k",
        "PORTAL_LAUNCH_SECRET": LAUNCH_SECRET,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
    }


def test_the_worker_delivers_what_waits_and_stops_on_sigterm(client, app, sandbox, sandbox_leat):
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/visits").text)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    data = {"csrf_token": token.group(1), "contact": seed.CONTACT_DAAN, "shop": seed.SHOP_WEBSHOP}
    assert "Pending" in client.post("/visits", data=data, headers=HTMX).text
    with app.app_context():
        make_everything_due()

    command = worker_command()
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
        deadline = time.monotonic() + 30
        while sandbox_leat.list_visits().total == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
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

    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/visits").text)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    data = {"csrf_token": token.group(1), "contact": seed.CONTACT_DAAN, "shop": seed.SHOP_WEBSHOP}
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
