"""Headers every answer carries, and CSRF protection for every unsafe request."""

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect

from .htmx import is_partial

csrf = CSRFProtect()

# No inline script or style anywhere: everything comes from the portal's own origin.
CONTENT_SECURITY_POLICY = "default-src 'self'; base-uri 'self'; form-action 'self'"


def init_app(app: Flask) -> None:
    csrf.init_app(app)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
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
