"""Recording and correcting visits: forms, the visits service, and the page's views."""

from __future__ import annotations

from datetime import UTC, datetime

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


def local_clock(instant: datetime | None) -> str:
    """A recent moment, short: the time alone today, with the date otherwise."""
    if instant is None:
        return ""
    zone = portal_zone()
    wall = to_wall(instant, zone)
    if wall.date() == to_wall(datetime.now(UTC), zone).date():
        return f"{wall:%H:%M}"
    return f"{wall.day} {wall:%b, %H:%M}"


def init_app(app: Flask) -> None:
    app.extensions["shop_cache"] = ShopCache()
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(local_clock, "local_clock")
    app.register_blueprint(bp)
