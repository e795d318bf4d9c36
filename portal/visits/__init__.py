"""Recording and correcting visits: forms, the visits service, and the page's views."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from .. import html_params
from ..form_fields import field_attributes
from ..i18n import _, format_wall, ngettext
from .contact_cache import ContactCache
from .forms import portal_zone
from .history import bp as history_bp
from .routes import bp
from .row_cache import EXTENSION as ROW_CACHE
from .row_cache import ROW_WORDS, RowCache, row_html
from .service import ShopCache
from .times import to_wall
from .wording import pause_reason, reason_text
from .worker import leat_sync


def local_time(instant: datetime | None) -> str:
    """An instant as a manager reads it: wall time in the portal's zone."""
    if instant is None:
        return ""
    return format_wall(to_wall(instant, portal_zone()), "datetime")


def local_clock(instant: datetime | None) -> str:
    """A recent moment, short: the time alone today, with the date otherwise."""
    if instant is None:
        return ""
    zone = portal_zone()
    wall = to_wall(instant, zone)
    if wall.date() == to_wall(datetime.now(UTC), zone).date():
        return format_wall(wall, "clock")
    return format_wall(wall, "day_clock")


def age(since: datetime | None) -> str:
    """How long ago, roughly, in words."""
    if since is None:
        return _("a moment")
    seconds = max(0, (datetime.now(UTC) - since).total_seconds())
    if seconds < 90:
        return _("about a minute") if seconds >= 45 else _("less than a minute")
    if seconds < 90 * 60:
        return ngettext("%(num)d minute", "%(num)d minutes", round(seconds / 60))
    if seconds < 36 * 3600:
        return ngettext("%(num)d hour", "%(num)d hours", round(seconds / 3600))
    return ngettext("%(num)d day", "%(num)d days", round(seconds / 86400))


def init_app(app: Flask) -> None:
    html_params.install()
    app.add_template_global(field_attributes, "field_attributes")
    app.add_template_filter(age, "age")
    app.extensions["shop_cache"] = ShopCache()
    app.extensions["contact_cache"] = ContactCache()
    app.extensions[ROW_CACHE] = RowCache()
    app.add_template_global(row_html, "row_html")
    app.add_template_global(ROW_WORDS, "row_words")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(local_clock, "local_clock")
    app.add_template_filter(reason_text, "reason_text")
    app.add_template_filter(pause_reason, "pause_reason")
    app.register_blueprint(bp)
    app.register_blueprint(history_bp)
    app.cli.add_command(leat_sync)
