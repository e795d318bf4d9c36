"""Between the wall-clock times managers type and read and the instants Leat stores.

Managers think in ``PORTAL_TIMEZONE``; Leat takes and gives ISO 8601 with an offset.
On the night clocks change, some wall times never happen and some happen twice:
those are refused with a message rather than silently shifted by an hour.

Managers type a visit's day and its times of day as text (see forms.py for why):
``parse_day`` and ``parse_clock`` read what they type, and say in words what they
could not read.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from ..i18n import _, format_wall

# A time of day, 24-hour: 14:30, 1430, 14.30 (as the Dutch write it), 9:05, 905, or a
# bare hour (9, 14). The same text is the input's ``pattern``, so the browser marks
# what the portal would refuse; the portal checks it again, as a browser may not.
CLOCK_PATTERN = r"([01]?[0-9]|2[0-3])(?:[:.]?([0-5][0-9]))?"
# A day, year first, as ISO 8601 and <input type="date"> write it: 2026-05-01. Four
# digits of year and no more: a six-digit year is a typing slip, never a visit.
DAY_PATTERN = r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
FIRST_DAY = date(2000, 1, 1)


class LocalTimeError(ValueError):
    """A wall-clock time that does not name exactly one instant."""


def to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The aware instant a manager means by ``wall`` (naive) in ``zone``."""
    early = wall.replace(tzinfo=zone, fold=0)
    late = wall.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        words = {
            "time": format_wall(wall, "clock"),
            "day": format_wall(wall.date(), "long_day"),
            "zone": zone.key,
        }
        # Round-tripping through UTC tells a gap (the time never happens) from an
        # overlap (it happens twice): only a real wall time comes back unchanged.
        if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
            raise LocalTimeError(
                _(
                    "%(time)s on %(day)s does not exist in %(zone)s: the clocks go forward "
                    "then. Choose a time outside that hour.",
                    **words,
                )
            )
        raise LocalTimeError(
            _(
                "%(time)s on %(day)s happens twice in %(zone)s: the clocks go back then. "
                "Choose a time outside that hour.",
                **words,
            )
        )
    return early


def to_wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """``instant`` as the naive wall-clock time it shows in ``zone``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def parse_clock(text: str) -> time:
    """The time of day a manager typed; ValueError (in words for them) otherwise."""
    found = re.fullmatch(CLOCK_PATTERN, text.strip())
    if found is None:
        raise ValueError(_("Enter the time as hours and minutes, 24-hour: 14:30 or 1430."))
    hour, minute = found.groups()
    return time(int(hour), int(minute or 0))


def parse_day(text: str, today: date) -> date:
    """The day a manager typed, from FIRST_DAY to a year after ``today``;
    ValueError (in words for them) otherwise."""
    found = re.fullmatch(DAY_PATTERN, text.strip())
    if found is None:
        raise ValueError(
            _("Enter the date as year-month-day, such as %(today)s.", today=today.isoformat())
        )
    try:
        day = date(*(int(part) for part in found.groups()))
    except ValueError:
        raise ValueError(_("%(text)s is not a day of the calendar.", text=text.strip())) from None
    last = last_day(today)
    if not FIRST_DAY <= day <= last:
        raise ValueError(
            _(
                "Enter a date from %(first)s to %(last)s.",
                first=spoken(FIRST_DAY),
                last=spoken(last),
            )
        )
    return day


def last_day(today: date) -> date:
    """A year after ``today``: visits are recorded as they happen or soon after, and a
    day further ahead is a slip of the finger."""
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 1, day=28)


def today_in(zone: ZoneInfo) -> date:
    return datetime.now(zone).date()


def spoken(day: date) -> str:
    """A day in words, in the request's language (1 January 2000, 1 januari 2000)."""
    return format_wall(day, "long_day")
