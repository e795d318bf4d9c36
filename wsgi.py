"""The WSGI entry point (gunicorn wsgi:app, flask --app wsgi …)."""

import sys

from portal import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    # One clear line instead of a traceback: the operator only needs the variable.
    sys.exit(f"portal: configuration error: {exc}")
