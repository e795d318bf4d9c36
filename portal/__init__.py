"""The Leat visits portal: shop managers record and correct their customers' visits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_compress import Compress

from . import config as settings
from . import models  # noqa: F401  (the tables, known before the database is bound)
from .config import ConfigError
from .database import init_database
from .leat import binding as leat_binding
from .leat.check import leat_check

__all__ = ["ConfigError", "create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the portal from the environment; ``test_config`` overrides single keys."""
    app = Flask(
        __name__,
        # PORTAL_INSTANCE_PATH: where the portal's own files go (the SQLite database by
        # default, the demo's secrets and sandbox); unset, Flask's instance/ folder.
        instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    if test_config is not None and "INSTANCE_PATH" in test_config:
        # Tests keep instance files (demo key, demo sandbox data) in a temporary folder.
        app.instance_path = str(test_config["INSTANCE_PATH"])
    app.config.update(settings.from_environ(os.environ, app.instance_path))
    if test_config is not None:
        app.config.update(test_config)
    settings.check(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    leat_session = None
    from . import demo  # its settings and routes are used in demo mode only

    if app.config["PORTAL_DEMO"]:
        leat_session = demo.configure(app)

    init_database(app)
    leat_binding.init_app(app, session=leat_session)
    app.cli.add_command(leat_check)
    # Registered first, so its after_request runs last, on the finished answer.
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    # Brotli's fastest quality: every answer is compressed as it is made, and in a
    # worker a page of 50 rows (55 KB) cost 0.3 ms more than sent as it is at quality 1,
    # 0.8 ms at 4 (or at gzip's default 6), for 6.0 KB on the wire instead of 4.9 KB
    # (one worker, pages interleaved, README "Benchmark"). Static files are compressed
    # once, at the highest quality (static_assets.py).
    app.config.setdefault("COMPRESS_BR_LEVEL", 1)
    Compress(app)

    from . import (
        auth,
        errors,
        health,
        i18n,
        observability,
        ratelimit,
        security,
        static_assets,
        visits,
    )

    i18n.init_app(app)
    observability.init_app(app)
    errors.init_app(app)

    # The sign-in check runs before the CSRF check: without a session the answer
    # is "sign in", not "this page expired".
    auth.init_app(app)
    security.init_app(app)
    app.register_blueprint(health.bp)
    visits.init_app(app)
    if app.config["PORTAL_DEMO"]:
        app.register_blueprint(demo.bp)  # the banner's outage button; 404 outside demo mode
    # After auth, CSRF and the blueprints: it limits their views, and counts only what
    # got past the sign-in and CSRF checks.
    ratelimit.init_app(app)
    static_assets.init_app(app)
    # Last: its WSGI layers go around WhiteNoise's, so static files get the headers too.
    security.wrap(app)
    return app
