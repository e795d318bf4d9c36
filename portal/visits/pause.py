"""One pause for every delivery while Leat refuses the portal as a whole.

A refused token, an inactive account, too many requests or maintenance is not about
one visit: trying each waiting visit in turn would only repeat the refusal (and,
for 429, make it worse). The first such failure pauses the queue; when the pause
ends, the worker sends one record as a probe, and the pause grows until a call
succeeds. A manager's own request is still tried at once (it is a probe too).
"""

from __future__ import annotations

import random
from datetime import timedelta

from flask import current_app, g, has_request_context
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..database import db
from ..leat import ErrorKind, LeatError, LeatRateLimited
from ..models import DeliveryPause, utcnow

PAUSING = frozenset(
    {
        ErrorKind.AUTH,
        ErrorKind.ACCOUNT_INACTIVE,
        ErrorKind.NO_ACCESS,
        ErrorKind.RATE_LIMITED,
        ErrorKind.MAINTENANCE,
    }
)
FIRST_PAUSE_SECONDS = 15.0
LONGEST_PAUSE_SECONDS = 600.0
# Leat's Retry-After is honoured, within reason: an hour at most.
LONGEST_RETRY_AFTER_SECONDS = 3600.0
PAUSE_ID = 1


# Read with every answer that shows the queue: built once.
_CURRENT = select(DeliveryPause).where(DeliveryPause.id == PAUSE_ID)


# Set by ``lift`` in a request: its answer shows no pause without asking again.
LIFTED = "portal_pause_lifted"


def current() -> DeliveryPause | None:
    if has_request_context() and g.get(LIFTED):
        # This request's own delivery lifted it a moment ago (a create's or a save's
        # answer, which shows the queue): a pause begun since is shown by the next.
        return None
    return db.session.scalar(_CURRENT)


def begin_or_extend(error: LeatError) -> None:
    """After ``error`` (of a pausing kind): pause, or pause longer. Commits.

    Written as plain statements, not through a loaded row: other threads and
    processes begin, extend and lift the same pause at the same moments."""
    retry_after = error.retry_after if isinstance(error, LeatRateLimited) else None
    _upsert(error.kind.value, retry_after)
    if has_request_context():
        g.pop(LIFTED, None)


def extend_after_failed_probe() -> None:
    """A probe failed for a reason of its own (e.g. a 5xx): keep pausing, longer."""
    _upsert(None, None)


def _upsert(kind: str | None, retry_after: float | None) -> None:
    for _ in range(2):  # a second time if another sender inserted the row meanwhile
        try:
            _write(kind, retry_after)
            db.session.commit()
            return
        except IntegrityError:
            # PostgreSQL refuses the second INSERT at once, SQLite at the commit.
            db.session.rollback()


def _write(kind: str | None, retry_after: float | None) -> None:
    now = utcnow()
    values = {"probes": DeliveryPause.probes + 1}
    if kind is not None:
        values["kind"] = kind
    probes = db.session.execute(
        update(DeliveryPause)
        .where(DeliveryPause.id == PAUSE_ID)
        .values(**values)
        .returning(DeliveryPause.probes)
        .execution_options(synchronize_session=False)
    ).scalar()
    if probes is None:
        if kind is None:  # lifted meanwhile: nothing to extend
            return
        probes = 0
        db.session.execute(
            insert(DeliveryPause).values(id=PAUSE_ID, kind=kind, since=now, until=now, probes=0)
        )
    db.session.execute(
        update(DeliveryPause)
        .where(DeliveryPause.id == PAUSE_ID)
        .values(until=now + timedelta(seconds=_delay(probes, retry_after)))
        .execution_options(synchronize_session=False)
    )


def _delay(probes: int, retry_after: float | None) -> float:
    delay = min(LONGEST_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2**probes)
    delay *= random.uniform(0.9, 1.1)  # noqa: S311 (spreads instances' probes)
    if retry_after:
        delay = max(delay, min(retry_after, LONGEST_RETRY_AFTER_SECONDS))
    return shortened(delay)


def shortened(delay: float) -> float:
    """``delay``, or less in demo mode (``PORTAL_LONGEST_DELIVERY_WAIT``, set by
    portal/demo.py only), where a manager watches a simulated outage end."""
    longest = current_app.config.get("PORTAL_LONGEST_DELIVERY_WAIT")
    return min(delay, longest) if longest else delay


_LIFT = delete(DeliveryPause).execution_options(synchronize_session=False)


def lift() -> None:
    """Leat took a call: nothing waits for a pause any more (in the caller's commit).
    (Every delivery that succeeds runs it: the statement is built once.)"""
    db.session.execute(_LIFT)
    if has_request_context():
        g.setdefault(LIFTED, True)
