"""Recording and correcting visits: forms, the visits service, and the page's views."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from .forms import portal_zone
from .routes import bp
from .service import ShopCache
from .times import to_wall


def local_time(instant: datetime | None) -> str:
    """An instant as a manager reads it: wall time in the portal's zone."""
    if instant is None:
        return ""
    wall = to_wall(instant, portal_zone())
    return f"{wall.day} {wall:%b %Y, %H:%M}"


def init_app(app: Flask) -> None:
    app.extensions["shop_cache"] = ShopCache()
    app.add_template_filter(local_time, "local_time")
    app.register_blueprint(bp)
