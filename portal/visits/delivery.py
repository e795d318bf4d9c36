"""Getting a visit to Leat, and knowing whether it got there.

Every create and every edit is written to the local record first, claimed by its
sender, and then sent. When Leat's answer is lost or Leat is away (timeout, 5xx,
maintenance, 429, 401), the record stays **pending** and the worker or a manager's
**Retry now** delivers it later. A create is never sent again blindly: an attempt
after the first looks for its external_id among the contact's visits first, so one
submission never becomes two visits in Leat. A refusal by Leat (422, unknown
contact or shop) turns the record into **attention**, with Leat's message.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from ..database import db
from ..leat import (
    LeatAuthError,
    LeatError,
    LeatMalformedResponse,
    LeatRateLimited,
    LeatUnavailable,
    LeatValidationError,
    Visit,
)
from ..leat.binding import leat
from ..leat.client import MAX_VISITS_PER_PAGE
from ..leat_messages import manager_message
from ..models import ATTENTION, CONFIRMED, PENDING, VisitRecord, utcnow

log = logging.getLogger(__name__)

# Longer than the slowest delivery (a contact look-up, every page of the contact's
# visits, the create itself), so a live sender never loses its claim.
CLAIM_SECONDS = 180
TIME_FIELDS = ("starts_at", "ends_at")

# Failures after which Leat may still take the visit later: the record waits.
RETRYABLE = (LeatAuthError, LeatRateLimited, LeatUnavailable, LeatMalformedResponse)


class Refused(Exception):
    """Leat refused a first attempt outright: nothing was kept, the form says why."""

    def __init__(self, error: LeatError) -> None:
        super().__init__(str(error))
        self.error = error


# -- fields in JSON ----------------------------------------------------------------------


def to_json(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}


def from_json(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        k: datetime.fromisoformat(v) if k in TIME_FIELDS and isinstance(v, str) else v
        for k, v in fields.items()
    }


# -- claims ------------------------------------------------------------------------------


def _claimable(now: datetime):
    return or_(VisitRecord.claimed_until.is_(None), VisitRecord.claimed_until < now)


def claim(record_id: int) -> VisitRecord | None:
    """Claim one pending record for this sender, or None if another holds it.

    One UPDATE that re-checks the claim: with several workers and web instances on
    one database, exactly one of them gets the record.
    """
    now = utcnow()
    statement = (
        update(VisitRecord)
        .where(VisitRecord.id == record_id, VisitRecord.status == PENDING, _claimable(now))
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        .returning(VisitRecord.id)
        .execution_options(synchronize_session=False)
    )
    claimed = db.session.execute(statement).scalar()
    db.session.commit()
    return db.session.get(VisitRecord, claimed, populate_existing=True) if claimed else None


def claim_next_due() -> VisitRecord | None:
    """Claim the oldest pending record whose next attempt is due."""
    now = utcnow()
    due = (
        select(VisitRecord.id)
        .where(
            VisitRecord.status == PENDING,
            or_(VisitRecord.next_attempt_at.is_(None), VisitRecord.next_attempt_at <= now),
            _claimable(now),
        )
        .order_by(VisitRecord.id)
        .limit(1)
        .scalar_subquery()
    )
    statement = (
        update(VisitRecord)
        .where(VisitRecord.id == due, VisitRecord.status == PENDING, _claimable(now))
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        .returning(VisitRecord.id)
        .execution_options(synchronize_session=False)
    )
    claimed = db.session.execute(statement).scalar()
    db.session.commit()
    return db.session.get(VisitRecord, claimed, populate_existing=True) if claimed else None


# -- delivery ------------------------------------------------------------------------------


def deliver(record: VisitRecord, *, first: bool = False) -> LeatError | None:
    """Send what the claimed ``record`` holds for Leat; None when Leat confirmed it.

    On a first attempt (the manager's own request) Leat's outright refusal undoes the
    record and raises ``Refused``, so the form can show it under the field; later
    attempts turn a refusal into the attention state instead.
    """
    kind = record.pending["kind"]
    try:
        visit = _create(record, first) if kind == "create" else _update(record)
    except RETRYABLE as exc:
        _wait(record, exc)
        return exc
    except LeatError as exc:
        if first:
            _undo(record)
            raise Refused(exc) from exc
        record.status = ATTENTION
        record.last_error = manager_message(exc)
        record.last_error_kind = type(exc).__name__
        record.claimed_until = None
        db.session.commit()
        return exc
    record.remember(visit)
    record.status = CONFIRMED
    record.pending = None
    record.last_error = record.last_error_kind = None
    record.claimed_until = record.next_attempt_at = None
    db.session.commit()
    return None


def _create(record: VisitRecord, first: bool) -> Visit:
    fields = from_json(record.pending["fields"])
    if record.contact_uuid is None:
        contact = (
            leat().find_or_create_contact(record.contact_email)
            if fields.get("create_contact")
            else leat().find_contact_by_email(record.contact_email)
        )
        record.contact_uuid, record.contact_email = contact.uuid, contact.email
        db.session.commit()
    if not first:
        # An earlier attempt may have reached Leat even though its answer never came.
        if record.attempts and (found := find_by_external_id(record)):
            return found
        # Written down before sending: a sender that dies mid-send leaves a record that
        # the next one knows to look up first. (A first attempt was written with
        # attempts=1 when the record was made, in the same commit.)
        record.attempts += 1
        db.session.commit()
    try:
        return leat().create_visit(
            contact_uuid=record.contact_uuid,
            shop_uuid=record.shop_uuid,
            external_id=record.external_id,
            source=fields.get("source"),
            starts_at=fields.get("starts_at"),
            ends_at=fields.get("ends_at"),
        )
    except LeatValidationError as exc:
        # "Already taken" after an earlier attempt: most likely that attempt's visit.
        if record.attempts > 1 and "external_id" in exc.field_errors:
            found = find_by_external_id(record)
            if found:
                return found
        raise


def _update(record: VisitRecord) -> Visit:
    record.attempts += 1  # a PUT is safe to repeat: nothing to write down before it
    return leat().update_visit(record.leat_uuid, **from_json(record.pending["fields"]))


def find_by_external_id(record: VisitRecord) -> Visit | None:
    """The contact's visit carrying this record's external_id, looking at every page."""
    page = 1
    while True:
        listed = leat().list_visits(
            contact_uuid=record.contact_uuid, page=page, limit=MAX_VISITS_PER_PAGE
        )
        for visit in listed.visits:
            if visit.external_id == record.external_id:
                return visit
        if not listed.has_next or not listed.visits:
            return None
        page += 1


def _wait(record: VisitRecord, exc: LeatError) -> None:
    """Leave the record pending, with a due time that backs off and honours Retry-After."""
    delay = min(300.0, 5.0 * 2 ** max(0, record.attempts - 1)) * random.uniform(0.8, 1.2)  # noqa: S311
    if isinstance(exc, LeatRateLimited) and exc.retry_after:
        delay = max(delay, exc.retry_after)
    record.status = PENDING
    record.next_attempt_at = utcnow() + timedelta(seconds=delay)
    record.last_error = manager_message(exc)
    record.last_error_kind = "auth" if isinstance(exc, LeatAuthError) else type(exc).__name__
    record.claimed_until = None
    db.session.commit()
    log.info("delivery of record %s postponed: %s", record.id, type(exc).__name__)


def _undo(record: VisitRecord) -> None:
    if record.pending["kind"] == "create":
        db.session.delete(record)
    else:
        previous = record.pending.get("previous")
        record.pending = previous
        record.status = PENDING if previous else CONFIRMED
        record.claimed_until = None
    db.session.commit()


def drain(limit: int | None = None, should_stop=lambda: False) -> int:
    """Deliver every due record (up to ``limit``); the number attempted."""
    done = 0
    while (limit is None or done < limit) and not should_stop():
        record = claim_next_due()
        if record is None:
            return done
        try:
            deliver(record)
        except Exception:
            # Never let one record stop the queue; its claim runs out and it is tried again.
            log.exception("delivery of record %s failed unexpectedly", record.id)
            db.session.rollback()
        done += 1
    return done
