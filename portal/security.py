"""Cookies, headers, CSRF and the request-size limit: safe on its own origin and inside
the intranet's iframe."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

csrf = CSRFProtect()

# No inline script or style anywhere: everything comes from the portal's own origin.
BASE_POLICY = "default-src 'self'; base-uri 'self'; form-action 'self'"
HSTS = "max-age=63072000; includeSubDomains"
# The largest request body the portal reads. Its forms are a few hundred bytes; a
# body beyond this is refused with 413 (answered by portal/errors.py) before any of
# it is parsed, so nobody can make a worker buffer megabytes of form data.
MAX_REQUEST_BYTES = 64 * 1024
# Browser features the portal never uses, denied to its pages and to anything that
# might ever be injected into them. Every name is one current Chromium knows (an
# unknown one costs a console warning on every page, which the browser tests catch);
# interest-cohort and browsing-topics keep the portal's visits out of ad profiles.
DENIED_FEATURES = (
    "accelerometer",
    "autoplay",
    "browsing-topics",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "hid",
    "identity-credentials-get",
    "idle-detection",
    "interest-cohort",
    "local-fonts",
    "magnetometer",
    "microphone",
    "midi",
    "otp-credentials",
    "payment",
    "picture-in-picture",
    "publickey-credentials-create",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "sync-xhr",
    "usb",
    "window-management",
    "xr-spatial-tracking",
)
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DENIED_FEATURES)
# Pages and fragments show customers' names, e-mail addresses and visits: neither the
# browser (a shared till computer's back button) nor any proxy may keep a copy.
NO_STORE = "no-store"


def init_app(app: Flask) -> None:
    config = app.config
    embedded = bool(config["PORTAL_FRAME_ANCESTORS"])
    # Demo mode on plain http://127.0.0.1 cannot hold a Secure cookie in every browser;
    # everywhere else the session cookie is __Host- (Secure, whole site, no Domain).
    plain_http_demo = config["PORTAL_DEMO"] and not embedded
    lifetime = timedelta(hours=config["PORTAL_SESSION_HOURS"])
    config.update(
        SESSION_COOKIE_NAME="portal-session" if plain_http_demo else "__Host-portal-session",
        SESSION_COOKIE_SECURE=not plain_http_demo,
        SESSION_COOKIE_HTTPONLY=True,
        # Inside a cross-site iframe the cookie must be SameSite=None, and current
        # browsers keep such a third-party cookie only when it is Partitioned (CHIPS).
        SESSION_COOKIE_SAMESITE="None" if embedded else "Lax",
        SESSION_COOKIE_PARTITIONED=embedded,
        PERMANENT_SESSION_LIFETIME=lifetime,
        # A CSRF token lives as long as the session: no surprise expiry mid-shift.
        WTF_CSRF_TIME_LIMIT=int(lifetime.total_seconds()),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    csrf.init_app(app)

    @app.after_request
    def not_stored(response):
        # Every answer Flask makes (WhiteNoise's static files never get here) is a
        # page, a fragment, a redirect or an error about a manager's session and
        # customers. A view that chose its own caching keeps it.
        response.headers.setdefault("Cache-Control", NO_STORE)
        return response


def wrap(app: Flask) -> None:
    """The outermost WSGI layers, put on last (after WhiteNoise): the headers below on
    every answer, and the router's X-Forwarded-Proto trusted for all of them."""
    config = app.config
    app.wsgi_app = SecurityHeaders(app.wsgi_app, answer_headers(config["PORTAL_FRAME_ANCESTORS"]))
    hops = config["PORTAL_PROXY_HOPS"]
    if hops:
        # Behind the PaaS router: its X-Forwarded-Proto makes https look like https
        # (to HSTS below, to Flask's url_for and secure cookies inside).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def answer_headers(ancestors: Iterable[str]) -> list[tuple[str, str]]:
    """The headers every answer carries (HSTS aside: only over https)."""
    ancestors = tuple(ancestors)
    frame_ancestors = " ".join(("'self'", *ancestors))
    headers = [
        ("Content-Security-Policy", f"{BASE_POLICY}; frame-ancestors {frame_ancestors}"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        # No other page that opens the portal, or that it opens, gets a handle on its
        # window. (It does not apply inside a frame: the intranet's iframe still works.)
        ("Cross-Origin-Opener-Policy", "same-origin"),
        # Another site may not load the portal's answers (its pages, fragments, health
        # answers or static files) as an image, script or style of its own. The portal's
        # own pages ask for its files from the same origin, framed or not.
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]
    if not ancestors:
        # For browsers that predate frame-ancestors.
        headers.append(("X-Frame-Options", "SAMEORIGIN"))
    return headers


class SecurityHeaders:
    """WSGI middleware that adds ``headers`` to every answer that lacks them.

    Around the whole app, not in Flask's after_request: WhiteNoise answers static files
    before Flask sees the request. A header an answer already has (a view's own) is
    kept.
    """

    def __init__(self, app, headers: list[tuple[str, str]]) -> None:
        self.app = app
        self.headers = headers

    def __call__(self, environ, start_response):
        https = environ.get("wsgi.url_scheme") == "https"

        def start_with_headers(status, response_headers, exc_info=None):
            present = {name.lower() for name, _value in response_headers}
            added = [(name, value) for name, value in self.headers if name.lower() not in present]
            if https and "strict-transport-security" not in present:
                added.append(("Strict-Transport-Security", HSTS))
            return start_response(status, [*response_headers, *added], exc_info)

        return self.app(environ, start_with_headers)
