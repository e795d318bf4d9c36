"""The Leat visits portal: shop managers record and correct their customers' visits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from . import config as settings
from .auth.demo import LAUNCH_SECRET_FILE
from .config import ConfigError
from .extensions import compress, init_database, init_leat

__all__ = ["ConfigError", "create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the portal from the environment; ``test_config`` overrides single keys."""
    app = Flask(
        __name__,
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
    if app.config["PORTAL_DEMO"]:
        # Demo mode needs no secrets from anyone: it keeps its own under instance/.
        for key, file in (
            ("SECRET_KEY", "demo-secret-key"),
            ("PORTAL_LAUNCH_SECRET", LAUNCH_SECRET_FILE),
        ):
            if not app.config[key]:
                app.config[key] = settings.demo_secret(Path(app.instance_path), file)

    init_database(app)
    init_leat(app)
    # Registered first, so its after_request runs last, on the finished answer.
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 4)
    compress.init_app(app)

    from . import auth, health, observability, security, static_assets, visits

    observability.init_app(app)

    # The sign-in check runs before the CSRF check: without a session the answer
    # is "sign in", not "this page expired".
    auth.init_app(app)
    security.init_app(app)
    app.register_blueprint(health.bp)
    visits.init_app(app)
    static_assets.init_app(app)
    return app
