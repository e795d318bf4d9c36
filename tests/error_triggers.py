"""For the error-answer tests: routes that fail on purpose, and the words to expect.

The portal itself never answers 422 outside a form, 429, 500, 502 or 503 on demand,
so these tests register a blueprint of their own that does; production code has none.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort
from helpers import csrf_token  # noqa: F401  (the error tests' way to it)

# Seconds in the Retry-After of the test 429 and 503.
RETRY_AFTER = 30

failing = Blueprint("failing", __name__, url_prefix="/test-failing")


@failing.route("/<int:code>", methods=["GET", "PUT"])
def fail(code: int):
    if code in (429, 503):
        abort(code, retry_after=RETRY_AFTER)
    abort(code)


@failing.route("/exception", methods=["GET", "PUT"])
def unexpected():
    raise RuntimeError("a bug the portal did not expect")


def with_failing_routes(app: Flask) -> Flask:
    """``app`` with the blueprint (before its first request, as Flask requires)."""
    app.register_blueprint(failing)
    return app


# What the manager reads for each status, as an htmx message and on a page.
WORDS = {
    400: "could not understand what this page sent",
    401: "Your session has ended, so this was not saved.",
    403: "You may not do this for that shop",
    404: "does not exist (any more)",
    405: "The portal cannot do this here",
    413: "too large for the portal",
    422: "The portal could not accept this",
    429: "Too many requests reached the portal",
    500: "Something went wrong in the portal",
    502: "did not get a proper answer from a service it needs",
    503: "The portal is not available just now",
}
PAGE_EXPIRED = "This page has expired, so nothing was saved."
# Words the JavaScript fallback shows (static/js/portal.js).
NOT_ANSWERED_PROPERLY = "The portal did not answer properly"
NOT_REACHED = "The portal could not be reached"

# Werkzeug's own error pages: none of this may ever reach a manager, neither these
# words nor a page with one of these titles.
WERKZEUG_WORDS = (
    "The requested URL was not found on the server",
    "The browser (or proxy) sent a request that this server could not understand",
    "The method is not allowed for the requested URL",
    "The server encountered an internal error",
)
WERKZEUG_TITLES = ("404 Not Found",)
