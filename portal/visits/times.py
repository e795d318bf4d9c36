"""Between the wall-clock times managers type and read and the instants Leat stores.

Managers think in ``PORTAL_TIMEZONE``; Leat takes and gives ISO 8601 with an offset.
On the night clocks change, some wall times never happen and some happen twice:
those are refused with a message rather than silently shifted by an hour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


class LocalTimeError(ValueError):
    """A wall-clock time that does not name exactly one instant."""


def to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The aware instant a manager means by ``wall`` (naive) in ``zone``."""
    early = wall.replace(tzinfo=zone, fold=0)
    late = wall.replace(tzinfo=zone, fold=1)
    when = f"{wall:%H:%M} on {wall.day} {wall:%B %Y}"
    if early.utcoffset() != late.utcoffset():
        # Round-tripping through UTC tells a gap (the time never happens) from an
        # overlap (it happens twice): only a real wall time comes back unchanged.
        if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
            raise LocalTimeError(
                f"{when} does not exist in {zone.key}: the clocks go forward then. "
                "Choose a time outside that hour."
            )
        raise LocalTimeError(
            f"{when} happens twice in {zone.key}: the clocks go back then. "
            "Choose a time outside that hour."
        )
    return early


def to_wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """``instant`` as the naive wall-clock time it shows in ``zone``."""
    return instant.astimezone(zone).replace(tzinfo=None)
