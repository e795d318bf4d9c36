"""Demo mode in one place: its own secrets, the in-process Leat sandbox, the
sign-in link for a demo manager of every shop, and a Leat outage to simulate.

``PORTAL_DEMO=1`` (``python3 dev.py serve``) needs no credentials from anyone. Outside
demo mode nothing here runs, and production never imports the sandbox.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from flask import Blueprint, Flask, current_app, redirect, render_template, url_for

from .auth.launch import ALL_SHOPS, MAX_LIFETIME_SECONDS, launch_url, mint
from .config import demo_secret

MANAGER_ID = "demo.manager@example.com"
MANAGER_NAME = "Demo manager"
LAUNCH_SECRET_FILE = "demo-launch-secret"  # noqa: S105 (a file name, not a secret)
SECRET_KEY_FILE = "demo-secret-key"  # noqa: S105 (a file name, not a secret)
# While this file under instance/ holds a moment to come (seconds since 1970), the
# sandbox answers every call as Leat's maintenance page. A file, because the web
# workers and the leat-sync worker each have their own in-process sandbox.
OUTAGE_FILE = "demo-leat-outage"
OUTAGE_SECONDS = 30
# The longest any delivery waits in demo mode (a record's back-off, the queue's pause):
# a manager watching sees the visits delivered within seconds of the outage's end.
# Production keeps its own (5 s doubling to 5 min, 15 s doubling to 10 min).
LONGEST_WAIT_SECONDS = 3.0


def configure(app: Flask) -> requests.Session:
    """Fill in the demo's secrets and point the Leat settings at the sandbox; the
    requests session that answers Leat calls in-process."""
    from .leat_sandbox import DEFAULT_TOKEN, IN_PROCESS_BASE_URL, SandboxAdapter, create_sandbox_app

    config = app.config
    instance = Path(app.instance_path)
    # Kept under instance/, so sessions survive restarts and every worker agrees.
    for key, file in (
        ("SECRET_KEY", SECRET_KEY_FILE),
        ("PORTAL_LAUNCH_SECRET", LAUNCH_SECRET_FILE),
    ):
        if not config[key]:
            config[key] = demo_secret(instance, file)
    session = requests.Session()
    sandbox = create_sandbox_app(config["LEAT_SANDBOX_DATABASE"], token=DEFAULT_TOKEN)
    session.mount(IN_PROCESS_BASE_URL, SandboxAdapter(Outage(sandbox, instance)))
    config["LEAT_API_TOKEN"] = DEFAULT_TOKEN
    config["LEAT_BASE_URL"] = IN_PROCESS_BASE_URL
    config["PORTAL_LONGEST_DELIVERY_WAIT"] = LONGEST_WAIT_SECONDS
    return session


# -- a simulated Leat outage ------------------------------------------------------------


def outage_until(instance: str | os.PathLike[str]) -> datetime | None:
    """When the simulated outage ends, or None when there is none (or it is over)."""
    try:
        until = float((Path(instance) / OUTAGE_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return datetime.fromtimestamp(until, UTC) if until > time.time() else None


def start_outage(instance: str | os.PathLike[str], seconds: float | None = None) -> datetime:
    """An outage of ``seconds`` (``OUTAGE_SECONDS``) from now, for every process."""
    until = time.time() + (OUTAGE_SECONDS if seconds is None else seconds)
    (Path(instance) / OUTAGE_FILE).write_text(f"{until:.3f}\n")
    return datetime.fromtimestamp(until, UTC)


def end_outage(instance: str | os.PathLike[str]) -> None:
    (Path(instance) / OUTAGE_FILE).unlink(missing_ok=True)


class Outage:
    """WSGI middleware around the sandbox: during a simulated outage every call gets
    the maintenance page (503, HTML), as Leat answers while it is down."""

    def __init__(self, app: Callable, instance: Path) -> None:
        from .leat_sandbox import MAINTENANCE_PAGE

        self.app = app
        self.instance = instance
        self.page = MAINTENANCE_PAGE

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if outage_until(self.instance) is None:
            return self.app(environ, start_response)
        start_response("503 Service Unavailable", [("Content-Type", self.page.content_type)])
        return [self.page.body.encode()]


def token(secret: str, audience: str | None = None, issuer: str | None = None) -> str:
    return mint(
        secret,
        manager_id=MANAGER_ID,
        name=MANAGER_NAME,
        shops=[ALL_SHOPS],
        lifetime=MAX_LIFETIME_SECONDS,
        audience=audience,
        issuer=issuer,
    )


def startup_link(base_url: str, secret: str = "") -> str:
    """The link gunicorn prints in demo mode, before any worker has built the app."""
    if not secret:
        # The same folder and file the app reads (Flask's own rule for the folder).
        instance = Path(os.environ.get("PORTAL_INSTANCE_PATH") or Flask("portal").instance_path)
        secret = demo_secret(instance, LAUNCH_SECRET_FILE)
    # The app reads these from the same environment; a link without them would be refused.
    audience = os.environ.get("PORTAL_LAUNCH_AUDIENCE") or None
    issuer = os.environ.get("PORTAL_LAUNCH_ISSUER") or None
    return launch_url(base_url, token(secret, audience, issuer))


# -- the banner's outage button (registered in demo mode only: 404 otherwise) --------------

bp = Blueprint("demo", __name__)


@bp.app_context_processor
def outage_banner() -> dict[str, Any]:
    def demo_outage() -> str | None:
        """When the simulated outage ends, as the banner says it (seconds matter here)."""
        from .visits.forms import portal_zone

        until = outage_until(current_app.instance_path)
        return f"{until.astimezone(portal_zone()):%H:%M:%S}" if until else None

    return {"demo_outage": demo_outage, "demo_outage_seconds": OUTAGE_SECONDS}


@bp.get("/demo/banner")
def banner():
    """The banner, asked by itself during an outage: nothing new (204) while it lasts.
    A poll is not the manager at work: it does not keep an idle session alive."""
    from .auth import sessions

    sessions.not_activity()
    if outage_until(current_app.instance_path) is not None:
        return "", 204
    return render_template("_demo_banner.html")


@bp.post("/demo/outage")
def simulate_outage():
    """Leat answers "down for maintenance" for ``OUTAGE_SECONDS``: creates meanwhile
    wait as pending, and the worker delivers them once it ends."""
    start_outage(current_app.instance_path)
    return redirect(url_for("visits.index"), code=303)


@bp.post("/demo/outage/end")
def end_simulated_outage():
    """The outage ends now, and with it the queue's pause: delivery follows at once."""
    from .database import db
    from .visits import pause

    end_outage(current_app.instance_path)
    pause.lift()
    db.session.commit()
    return redirect(url_for("visits.index"), code=303)
