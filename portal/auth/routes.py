"""Sign-in by launch link, sign-out, and the rule that everything else needs a session."""

from __future__ import annotations

import ipaddress

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from .. import demo
from ..security import csrf
from . import tokens
from .launch import EXPIRED, USED, Launch, LaunchRefused, verify
from .manager import current_manager, sign_in, sign_out

bp = Blueprint("auth", __name__)

# What anyone may reach without a session.
PUBLIC_ENDPOINTS = {"auth.launch", "auth.signed_out", "health.healthz", "health.readyz", "static"}


# Sign-in has no session to take a CSRF token from: the signed, single-use launch token
# is the credential, so the intranet's own page can POST it (portal/security.py's
# CSRFProtect would otherwise refuse that POST).
@csrf.exempt
@bp.route("/launch", methods=["GET", "POST"])
def launch():
    """A launch link (GET ?token=…), or the same token POSTed by the intranet's
    auto-submitting form (field ``token``): a manager of many shops has a token longer
    than a request line may be."""
    config = current_app.config
    token = (
        request.form.get("token", "") if request.method == "POST" else request.args.get("token", "")
    )
    checks = {
        "audience": config["PORTAL_LAUNCH_AUDIENCE"],
        "issuer": config["PORTAL_LAUNCH_ISSUER"],
    }
    launched = None
    try:
        launched = verify(token, config["PORTAL_LAUNCH_SECRET"], **checks)
        tokens.spend(launched)
    except LaunchRefused as refused:
        # The reason goes to the log only; the token itself never does.
        current_app.logger.warning("launch link refused: %s", refused.reason)
        if refused.reason == EXPIRED:
            launched = made_for(token, config["PORTAL_LAUNCH_SECRET"], checks)
        elif refused.reason != USED:
            launched = None
        if still_signed_in(launched):
            # A reload of the intranet's frame, or Back, opens the link it already
            # used: the manager it names is still signed in here, so on they go, with
            # the shops of their session (an old link never widens them).
            return redirect(url_for("visits.index"), code=303)
        return (
            render_template("auth/refused.html", message=refused.public, demo_link=demo_link()),
            401,
        )
    sign_in(launched)
    return redirect(url_for("visits.index"), code=303)


def made_for(token: str, secret: str, checks: dict) -> Launch | None:
    """An expired link's claims, if everything but its expiry checks out (the signature
    above all: an unsigned ``sub`` is no one's)."""
    try:
        return verify(token, secret, check_expiry=False, **checks)
    except LaunchRefused:
        return None


def still_signed_in(launched: Launch | None) -> bool:
    """A used or expired link (``launched``, its signature checked) whose manager is the
    one this browser's session already belongs to. A link alone signs no one in again:
    without that session (another browser, a leaked link) it stays refused."""
    manager = current_manager()
    return launched is not None and manager is not None and manager.id == launched.manager_id


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
    """In demo mode, to a browser on the same machine only: a fresh sign-in link for a
    demo manager of every shop. A demo reachable from elsewhere (a shared host, a
    tunnel, a PaaS with PORTAL_DEMO=1) must not hand every shop to anyone who asks.
    ``remote_addr`` is the client as the trusted proxies say (ProxyFix, PORTAL_PROXY_HOPS)."""
    config = current_app.config
    if not config["PORTAL_DEMO"] or not is_loopback(request.remote_addr):
        return None
    token = demo.token(
        config["PORTAL_LAUNCH_SECRET"],
        audience=config["PORTAL_LAUNCH_AUDIENCE"],
        issuer=config["PORTAL_LAUNCH_ISSUER"],
    )
    return demo.launch_url(request.host_url, token)


def is_loopback(address: str | None) -> bool:
    """127.0.0.0/8 or ::1, also written as IPv4 in IPv6 (a dual-stack listener's form)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback
