"""Rate limits: sign-in per client address, and every write per signed-in manager.

Limits no honest manager meets (``PORTAL_RATE_LIMIT_WRITES``, ``PORTAL_RATE_LIMIT_LAUNCH``)
that stop a script, a stuck client or a leaked session from flooding Leat and the
database, or from trying launch tokens at speed. A request over a limit is answered 429
by portal/errors.py (the page, or the htmx message) with ``Retry-After``.

Counts are kept in memory, per process: each gunicorn worker counts on its own, so the
effective limit is the setting times the workers. Enough against floods; an exact
shared count would need Redis or similar, which the portal does not run.
"""

from __future__ import annotations

import math
import time

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from .auth import current_manager

# Every view of the visits blueprint that changes something: create, save, retry,
# record again, set aside (and any later one).
WRITE_METHODS = ["POST", "PUT"]


def manager_key() -> str:
    """Writes are counted per manager, wherever they come from: managers of one chain
    share an office address, and one manager may use several tabs or devices."""
    manager = current_manager()
    # Writes need a session (auth.require_manager runs first); the address is a fallback.
    return f"manager:{manager.id}" if manager is not None else f"address:{get_remote_address()}"


def init_app(app: Flask) -> None:
    """After the blueprints and after auth and CSRF: their refusals (401, 400) come
    first and are not counted, and the manager is known when a write is counted."""
    # One limiter, and so one count, per app: tests build many apps in one process.
    limiter = Limiter(
        key_func=get_remote_address,
        # Said explicitly: Flask-Limiter warns when left to choose memory itself.
        storage_uri="memory://",
        # No X-RateLimit-* headers on every answer; Retry-After on a 429 is set below.
        headers_enabled=False,
    )
    # Shared: one budget for all writes, not one per kind of write.
    limiter.shared_limit(
        app.config["PORTAL_RATE_LIMIT_WRITES"],
        scope="writes",
        key_func=manager_key,
        methods=WRITE_METHODS,
    )(app.blueprints["visits"])
    # Per address: before sign-in nobody is known. GET and POST share the count. The
    # view is wrapped in place: it is the only limited view outside the visits blueprint.
    limit_launch = limiter.limit(
        app.config["PORTAL_RATE_LIMIT_LAUNCH"], key_func=get_remote_address
    )
    app.view_functions["auth.launch"] = limit_launch(app.view_functions["auth.launch"])

    @limiter.request_filter
    def nothing_limits_it() -> bool:
        # Only writes and sign-in have limits: any other request (a page, a fragment, a
        # poll) skips the limiter, which otherwise resolved the limits of its view anew
        # on every request, about a tenth of a small answer's CPU.
        return request.method not in WRITE_METHODS and request.endpoint != "auth.launch"

    limiter.init_app(app)

    @app.after_request
    def retry_after(response: Response) -> Response:
        # Only on the 429 a limit caused, so the browser or htmx knows when to come back.
        breached = limiter.current_limit
        if response.status_code == 429 and breached is not None and breached.breached:
            reset = breached.window.reset_time  # when the window that is full ends
            response.headers["Retry-After"] = str(max(1, math.ceil(reset - time.time())))
        return response
