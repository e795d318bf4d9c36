"""The process's one Leat client, bound to the Flask app (one connection pool each)."""

from __future__ import annotations

import requests
from flask import Flask, current_app

from .client import LeatClient

EXTENSION = "leat"


def init_app(app: Flask, session: requests.Session | None = None) -> None:
    """Build the client from the app's settings; ``session`` replaces the network
    (demo mode answers from an in-process sandbox)."""
    config = app.config
    app.extensions[EXTENSION] = LeatClient(
        config["LEAT_BASE_URL"],
        config["LEAT_API_TOKEN"],
        connect_timeout=config["LEAT_CONNECT_TIMEOUT"],
        read_timeout=config["LEAT_READ_TIMEOUT"],
        pool_size=config["LEAT_POOL_SIZE"],
        session=session,
        max_calls_per_second=config["LEAT_MAX_CALLS_PER_SECOND"],
    )


def leat() -> LeatClient:
    """The Leat client of the current app."""
    return current_app.extensions[EXTENSION]
