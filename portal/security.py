"""Cookies, headers and CSRF: safe on its own origin and inside the intranet's iframe."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from .htmx import is_partial

csrf = CSRFProtect()

# No inline script or style anywhere: everything comes from the portal's own origin.
BASE_POLICY = "default-src 'self'; base-uri 'self'; form-action 'self'"
HSTS = "max-age=63072000; includeSubDomains"


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

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        # The form's token no longer matches the session (it expired, or the page is
        # old): say so and offer the way out, rather than a bare 400. An htmx request
        # shows it in the page's announcer, leaving the form and what was typed alone.
        if is_partial():
            headers = {"HX-Retarget": "#announcer", "HX-Reswap": "innerHTML"}
            return render_template("_csrf_error.html"), 400, headers
        return render_template("csrf_error.html"), 400
