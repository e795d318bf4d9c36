"""Cookies, headers, CSRF and the request-size limit: safe on its own origin and inside
the intranet's iframe."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, request
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


def init_app(app: Flask) -> None:
    config = app.config
    ancestors = config["PORTAL_FRAME_ANCESTORS"]
    embedded = bool(ancestors)
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

    hops = config["PORTAL_PROXY_HOPS"]
    if hops:
        # Behind the PaaS router: its X-Forwarded-Proto makes https look like https.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    frame_ancestors = " ".join(("'self'", *ancestors))
    policy = f"{BASE_POLICY}; frame-ancestors {frame_ancestors}"

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", policy)
        if not embedded:
            # For browsers that predate frame-ancestors.
            response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
