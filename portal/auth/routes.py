"""Sign-in by launch link, sign-out, and the rule that everything else needs a session."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from .. import demo
from . import tokens
from .launch import LaunchRefused, verify
from .manager import current_manager, sign_in, sign_out

bp = Blueprint("auth", __name__)

# What anyone may reach without a session.
PUBLIC_ENDPOINTS = {"auth.launch", "auth.signed_out", "health.healthz", "health.readyz", "static"}


@bp.get("/launch")
def launch():
    try:
        launched = verify(request.args.get("token", ""), current_app.config["PORTAL_LAUNCH_SECRET"])
        tokens.spend(launched)
    except LaunchRefused as refused:
        # The reason goes to the log only; the token itself never does.
        current_app.logger.warning("launch link refused: %s", refused.reason)
        return render_template("auth/refused.html", message=refused.public), 401
    sign_in(launched)
    return redirect(url_for("visits.index"), code=303)


@bp.post("/sign-out")
def sign_out_view():
    sign_out()
    return redirect(url_for("auth.signed_out"), code=303)


@bp.get("/signed-out")
def signed_out():
    return render_template("auth/signed_out.html", demo_link=demo_link())


def require_manager():
    """Before every request: no session, no portal (except the public endpoints)."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_manager() is not None:
        return None
    # portal/errors.py answers: a page on how to sign in, or, to htmx, "your session has
    # ended" in the message area, leaving the form and what was typed in place.
    abort(401)


def demo_link() -> str | None:
    """In demo mode only: a fresh sign-in link for a demo manager of every shop."""
    if not current_app.config["PORTAL_DEMO"]:
        return None
    return demo.launch_url(request.host_url, demo.token(current_app.config["PORTAL_LAUNCH_SECRET"]))
