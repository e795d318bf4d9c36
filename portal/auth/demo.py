"""Demo mode's sign-in: a launch link for a demo manager of every shop.

Demo mode prints one when it starts (as Jupyter prints its token URL) and offers a
fresh one on its sign-in page; outside demo mode none of this runs.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from ..config import demo_secret
from .launch import ALL_SHOPS, MAX_LIFETIME_SECONDS, mint

MANAGER_ID = "demo.manager@example.com"
MANAGER_NAME = "Demo manager"
LAUNCH_SECRET_FILE = "demo-launch-secret"  # noqa: S105 (a file name, not a secret)


def token(secret: str) -> str:
    return mint(
        secret,
        manager_id=MANAGER_ID,
        name=MANAGER_NAME,
        shops=[ALL_SHOPS],
        lifetime=MAX_LIFETIME_SECONDS,
    )


def launch_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/launch?token={token}"


def startup_link(base_url: str, secret: str = "") -> str:
    """The link gunicorn prints in demo mode, before any worker has built the app."""
    if not secret:
        # The same folder and file the app reads (Flask's own rule for the folder).
        instance = Path(Flask("portal").instance_path)
        secret = demo_secret(instance, LAUNCH_SECRET_FILE)
    return launch_url(base_url, token(secret))
