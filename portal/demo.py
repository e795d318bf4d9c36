"""Demo mode in one place: its own secrets, the in-process Leat sandbox, and the
sign-in link for a demo manager of every shop.

``PORTAL_DEMO=1`` (``python3 dev.py serve``) needs no credentials from anyone. Outside
demo mode nothing here runs, and production never imports the sandbox.
"""

from __future__ import annotations

import os
from pathlib import Path

import requests
from flask import Flask

from .auth.launch import ALL_SHOPS, MAX_LIFETIME_SECONDS, launch_url, mint
from .config import demo_secret

MANAGER_ID = "demo.manager@example.com"
MANAGER_NAME = "Demo manager"
LAUNCH_SECRET_FILE = "demo-launch-secret"  # noqa: S105 (a file name, not a secret)
SECRET_KEY_FILE = "demo-secret-key"  # noqa: S105 (a file name, not a secret)


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
    session.mount(IN_PROCESS_BASE_URL, SandboxAdapter(sandbox))
    config["LEAT_API_TOKEN"] = DEFAULT_TOKEN
    config["LEAT_BASE_URL"] = IN_PROCESS_BASE_URL
    return session


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
        instance = Path(Flask("portal").instance_path)
        secret = demo_secret(instance, LAUNCH_SECRET_FILE)
    # The app reads these from the same environment; a link without them would be refused.
    audience = os.environ.get("PORTAL_LAUNCH_AUDIENCE") or None
    issuer = os.environ.get("PORTAL_LAUNCH_ISSUER") or None
    return launch_url(base_url, token(secret, audience, issuer))
