"""Liveness for the PaaS router: answers at once, touching neither Leat nor the database."""

from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}
