"""The landing page: which Leat the portal talks to, and the shops it sees there."""

from flask import Blueprint, current_app, render_template

from .extensions import leat
from .leat import LeatError
from .leat_messages import manager_message

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    shops, problem = [], None
    try:
        shops = leat().list_shops()
    except LeatError as exc:
        current_app.logger.warning("listing shops failed: %s", type(exc).__name__)
        problem = manager_message(exc)
    status = 200 if problem is None else 502
    return render_template("home.html", shops=shops, problem=problem), status
