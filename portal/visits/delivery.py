"""Getting a visit to Leat, and knowing whether it got there.

Every create and every edit is written to the local record first, claimed by its
sender, and then sent. When Leat's answer is lost or Leat is away (timeout, 5xx,
maintenance, 429, 401), the record stays **pending** and the worker or a manager's
**Retry now** delivers it later. A create is never sent again blindly: an attempt
after the first looks for its external_id among the contact's visits first, so one
submission never becomes two visits in Leat. A refusal by Leat (invalid input,
unknown contact or shop) undoes a manager's first attempt, so the form can say what
to correct, and turns a later attempt into **attention**.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from ..database import commit_keeping_values, db
from ..leat import (
    ErrorKind,
    LeatError,
    LeatNotFound,
    LeatRateLimited,
    LeatValidationError,
    Visit,
)
from ..leat.binding import leat
from ..models import ChangeKind, Delivery, PendingChange, VisitRecord, utcnow
from ..observability import error_fields
from . import pause
from .contact_cache import contact_cache
from .outcome import Outcome, PortalReason, Reason, Result

log = logging.getLogger(__name__)

# Longer than the slowest delivery (a contact look-up, every page of the contact's
# visits, the create itself), so a live sender never loses its claim.
CLAIM_SECONDS = 180

# The Leat client's argument names, as refusals name them, onto the forms' fields
# (the names not listed are the same in both).
FORM_FIELDS = {"contact_uuid": "contact", "email": "contact", "shop_uuid": "shop"}
# Refusals that are about one field although Leat names none.
FIELD_OF_KIND = {
    ErrorKind.CONTACT_NOT_FOUND: "contact",
    ErrorKind.CONTACT_LIMIT: "contact",
    ErrorKind.SHOP_NOT_FOUND: "shop",
}


# -- claims ------------------------------------------------------------------------------


def _claimable(now: datetime):
    return or_(VisitRecord.claimed_until.is_(None), VisitRecord.claimed_until < now)


def _claim_where(*conditions) -> VisitRecord | None:
    """One UPDATE that re-checks the claim: with several workers and web instances
    on one database, exactly one of them gets the record."""
    now = utcnow()
    statement = (
        update(VisitRecord)
        .where(*conditions, VisitRecord.status == Delivery.PENDING, _claimable(now))
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        .returning(VisitRecord.id)
        .execution_options(synchronize_session=False)
    )
    claimed = db.session.execute(statement).scalar()
    db.session.commit()
    return db.session.get(VisitRecord, claimed, populate_existing=True) if claimed else None


def claim(record_id: int) -> VisitRecord | None:
    """Claim one pending record for this sender, or None if another holds it."""
    return _claim_where(VisitRecord.id == record_id)


def claim_with_change(record: VisitRecord) -> bool:
    """Claim ``record`` in the transaction that changes it, without committing: one
    commit then writes the change and the claim (the caller's). Whether this sender
    got it; the same re-checking UPDATE as ``claim``. A claim that succeeds brings the
    whole row back and refreshes ``record`` with it (another sender may have changed
    the record since this request read it, before the claim): the row as claimed, which
    nobody changes until this sender lets go, so the caller's commit may keep it."""
    db.session.flush()  # the change first: a record becomes claimable as it turns pending
    now = utcnow()
    statement = (
        update(VisitRecord)
        .where(VisitRecord.id == record.id, VisitRecord.status == Delivery.PENDING, _claimable(now))
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        .returning(VisitRecord)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return db.session.execute(statement).scalar() is not None


def claim_next_due() -> VisitRecord | None:
    """Claim the oldest pending record whose next attempt is due; None when none is.

    Two senders may pick the same oldest record at once: the one that loses the claim
    (on PostgreSQL it waits for the other's commit, then finds the record claimed)
    looks again, rather than take "not mine" for "the queue is empty" and stop a drain
    with due records left."""
    while True:
        now = utcnow()
        due = db.session.scalar(
            select(VisitRecord.id)
            .where(
                VisitRecord.status == Delivery.PENDING,
                or_(VisitRecord.next_attempt_at.is_(None), VisitRecord.next_attempt_at <= now),
                _claimable(now),
            )
            .order_by(VisitRecord.id)
            .limit(1)
        )
        if due is None:
            db.session.commit()  # end the read, as a claim would
            return None
        claimed = _claim_where(VisitRecord.id == due)
        if claimed is not None:
            return claimed


# -- delivery ------------------------------------------------------------------------------


def new_create(external_id: str, fields: Mapping[str, Any]) -> PendingChange:
    """A create about to be sent for the first time, with that first version noted."""
    change = PendingChange(ChangeKind.CREATE, fields)
    return change.sending(_payload(external_id, change))


def deliver(record: VisitRecord, *, first: bool = False) -> Outcome:
    """Send what the claimed ``record`` holds for Leat.

    ``first`` is the manager's own request: Leat's outright refusal then undoes the
    change, so the form shows it under its field; a later attempt's refusal turns
    the record into the attention state instead.
    """
    try:
        visit, sent = _send(record, first)
    except LeatError as exc:
        if exc.transient:
            _wait(record, exc)
            if exc.kind in pause.PAUSING:
                pause.begin_or_extend(exc)
            return Outcome(Result.PENDING, record, reason=Reason.of(exc))
        reason, field_reasons = refusal(exc)
        if first and exc.kind is not ErrorKind.VISIT_GONE:
            return Outcome.refused(_undo(record), reason, field_reasons)
        return _needs_attention(record, Reason.of(exc), field_reasons)
    except NotOurs:
        # Leat has a visit with this external_id that this record cannot have made
        # (another shop's till, another system): nothing of it is adopted or shown.
        reason = Reason(PortalReason.EXTERNAL_ID_TAKEN_AT_LEAT)
        return _needs_attention(record, reason, {"external_id": (reason,)})
    if sent is not None:
        check_contract(sent, visit)
    record.remember(visit)
    record.status = Delivery.CONFIRMED
    record.pending = None
    record.clear_error()
    record.claimed_until = record.next_attempt_at = None
    try:
        pause.lift()  # (its statement flushes the record too: inside the try)
        commit_keeping_values()  # the answer shows the record as written here
    except IntegrityError:
        # Leat confirmed a visit this database cannot hold beside another record (the
        # same Leat uuid or external_id): a fact for a person to look at, not a
        # database outage to retry every few minutes.
        db.session.rollback()
        column = "leat_uuid" if _held_by_another(record, visit.uuid) else "external_id"
        log.warning("record %s: Leat's answer clashes with another record's %s", record.id, column)
        reason = Reason(PortalReason.NOT_STORED, message=column)
        return _needs_attention(record, reason, {})
    return Outcome(Result.CONFIRMED, record)


def check_contract(sent: Mapping[str, Any], visit: Visit) -> None:
    """Log one line when Leat's answer differs from what was sent: a time shifted by
    an offset Leat dropped, a source or external_id changed on the way. Field names
    only, never values (they may identify a customer)."""
    differing = sorted(
        name
        for name, value in sent.items()
        if value is not None and hasattr(visit, name) and getattr(visit, name) != value
    )
    if differing:
        log.warning("leat_contract_mismatch", extra={"fields": differing})


def _needs_attention(record: VisitRecord, reason: Reason, field_reasons) -> Outcome:
    record.status = Delivery.ATTENTION
    record.note_error(reason.kind, reason.code, reason.message)
    record.claimed_until = None
    pause.lift()  # Leat answered: whatever paused the queue is over
    db.session.commit()
    return Outcome.refused(record, reason, field_reasons)


def _send(record: VisitRecord, first: bool) -> tuple[Visit, Mapping[str, Any] | None]:
    """Leat's visit for the record, and what was sent to get it (None for a visit
    adopted as it was)."""
    if record.pending.kind is ChangeKind.UPDATE:
        return _update(record), record.pending.fields
    visit, adopted = _create(record, first)
    if not adopted:
        return visit, _payload(record.external_id, record.pending)
    if differences := _differences(record, visit):
        # An earlier attempt's visit, made before the manager corrected the record:
        # it is ours, so the corrections go to it as an update.
        record.remember(visit)
        record.pending = PendingChange(ChangeKind.UPDATE, differences)
        db.session.commit()
        return _update(record), differences
    return visit, None


def refusal(exc: LeatError) -> tuple[Reason | None, dict[str, tuple[Reason, ...]]]:
    """Leat's refusal as (a reason for the whole form, reasons by form field)."""
    fields: dict[str, list[Reason]] = defaultdict(list)
    for name, messages in exc.field_errors.items():
        target = FORM_FIELDS.get(name, name)
        fields[target].extend(Reason(exc.kind, exc.code, message) for message in messages)
    if exc.kind in FIELD_OF_KIND:
        fields[FIELD_OF_KIND[exc.kind]].append(Reason.of(exc))
    reason = None if fields else Reason.of(exc)
    return reason, {name: tuple(reasons) for name, reasons in fields.items()}


class NotOurs(Exception):
    """Leat holds a visit with the record's external_id that the record did not make."""


def _payload(external_id: str | None, change: PendingChange) -> dict[str, Any]:
    """What a create sends Leat besides the contact and the shop."""
    fields = change.fields
    return {
        "external_id": external_id,
        "source": fields.get("source"),
        "starts_at": fields.get("starts_at"),
        "ends_at": fields.get("ends_at"),
    }


def _create(record: VisitRecord, first: bool) -> tuple[Visit, bool]:
    """The visit Leat made for this record, and whether it was an earlier attempt's."""
    if record.contact_uuid is None:
        _find_contact(record)
    if not first:
        # An earlier attempt may have reached Leat even though its answer never came.
        if record.attempts and (found := _earlier_attempt(record)):
            return found, True
        # Written down before sending: a sender that dies mid-send leaves a record that
        # the next one knows to look up first. (A first attempt was written with
        # attempts=1 and its version when the record was made, in the same commit.)
        record.attempts += 1
        record.pending = record.pending.sending(_payload(record.external_id, record.pending))
        db.session.commit()
    payload = _payload(record.external_id, record.pending)
    try:
        visit = leat().create_visit(
            contact_uuid=record.contact_uuid, shop_uuid=record.shop_uuid, **payload
        )
    except LeatNotFound as exc:
        if exc.kind is ErrorKind.CONTACT_NOT_FOUND:
            # Merged or deleted at Leat since it was looked up: the next create asks again.
            contact_cache().forget(record.contact_uuid)
        raise
    except LeatValidationError as exc:
        # "Already taken" after an earlier attempt: perhaps that attempt's visit. A
        # first attempt's is not looked up: the manager typed an identifier in use.
        if record.attempts > 1 and "external_id" in exc.field_errors:
            found = _earlier_attempt(record)
            if found:
                return found, True
        raise
    return visit, False


def _find_contact(record: VisitRecord) -> None:
    """The record's contact uuid for its e-mail address: from the contact cache when
    this process met the address lately, else from Leat (found, or made when the
    manager asked). Written with the outcome, in the same commit: a sender that dies
    before it leaves the address, and the next attempt looks it up again."""
    email = record.contact_email
    known = contact_cache().contact(email)
    if known is not None:
        record.contact_uuid, record.contact_email = known
        return
    contact = (
        leat().find_or_create_contact(email)
        if record.pending.fields.get("create_contact")
        else leat().find_contact_by_email(email)
    )
    contact_cache().put(email, contact.uuid, contact.email)
    record.contact_uuid, record.contact_email = contact.uuid, contact.email


def _earlier_attempt(record: VisitRecord) -> Visit | None:
    """The visit an earlier attempt made, if Leat has one; ``NotOurs`` when Leat has a
    visit with one of the external_ids sent that none of this record's versions made."""
    sent = record.pending.sent
    for external_id in dict.fromkeys(payload["external_id"] for payload in sent):
        found = leat().find_visit_by_external_id(record.contact_uuid, external_id)
        if found is None:
            continue
        if not _made_by(record, found) or _held_by_another(record, found.uuid):
            raise NotOurs(external_id)
        return found
    return None


def _made_by(record: VisitRecord, visit: Visit) -> bool:
    """True when ``visit`` is exactly one of the versions this record sent: the same
    contact, external_id, source and instants. Visits carry no shop, and tills use
    the same identifiers (receipt numbers), so an external_id alone proves nothing."""
    if visit.contact is None or visit.contact.uuid != record.contact_uuid:
        return False
    found = {
        "external_id": visit.external_id,
        "source": visit.source,
        "starts_at": visit.starts_at,
        "ends_at": visit.ends_at,
    }
    return any(found == dict(payload) for payload in record.pending.sent)


def _held_by_another(record: VisitRecord, leat_uuid: str) -> bool:
    return (
        db.session.scalar(
            select(VisitRecord.id).where(
                VisitRecord.leat_uuid == leat_uuid, VisitRecord.id != record.id
            )
        )
        is not None
    )


def _differences(record: VisitRecord, visit: Visit) -> dict[str, Any]:
    """What the record means now that ``visit`` does not say."""
    wanted = _payload(record.external_id, record.pending)
    return {
        name: value
        for name, value in wanted.items()
        if value is not None and value != getattr(visit, name)
    }


def _update(record: VisitRecord) -> Visit:
    record.attempts += 1  # a PUT is safe to repeat: nothing to write down before it
    return leat().update_visit(record.leat_uuid, **record.pending.fields)


def _wait(record: VisitRecord, exc: LeatError) -> None:
    """Leave the record pending, with a due time that backs off and honours Retry-After."""
    delay = min(300.0, 5.0 * 2 ** max(0, record.attempts - 1)) * random.uniform(0.8, 1.2)  # noqa: S311
    if isinstance(exc, LeatRateLimited) and exc.retry_after:
        delay = max(delay, exc.retry_after)
    delay = pause.shortened(delay)
    record.status = Delivery.PENDING
    record.next_attempt_at = utcnow() + timedelta(seconds=delay)
    record.note_error(exc.kind, exc.code, exc.leat_message)
    record.claimed_until = None
    db.session.commit()
    log.info("delivery of record %s postponed: %s", record.id, exc.kind)


def _undo(record: VisitRecord) -> VisitRecord | None:
    """Take back a first attempt Leat refused: a create is forgotten, an edit gives way
    to the change it replaced. The record, or None when nothing is left of it."""
    previous = record.pending.previous
    pause.lift()  # Leat answered: whatever paused the queue is over
    if record.pending.kind is ChangeKind.CREATE:
        db.session.delete(record)
        db.session.commit()
        return None
    record.pending = previous
    record.status = Delivery.PENDING if previous else Delivery.CONFIRMED
    record.claimed_until = None
    db.session.commit()
    return record


def drain(limit: int | None = None, should_stop=lambda: False) -> int:
    """Deliver every due record (up to ``limit``); the number attempted. While the
    queue is paused, nothing until the pause ends; then one record goes first, as a
    probe, and the rest follow only if Leat took it."""
    paused = pause.current()
    if paused is not None and paused.until > utcnow():
        return 0
    done = 0
    while (limit is None or done < limit) and not should_stop():
        record = claim_next_due()
        if record is None:
            return done
        record_id = record.id  # known even if the session cannot load it any more
        try:
            outcome = deliver(record)
        except Exception as exc:
            # Never let one record stop the queue; its claim runs out and it is tried again.
            # One line with the error's kind and the record: no traceback, whose text
            # may quote SQL with a customer's e-mail address bound to it.
            log.error(
                "delivery of a record failed unexpectedly",
                extra={**error_fields(exc), "record": record_id},
            )
            db.session.rollback()
            outcome = None
        done += 1
        if paused is not None:
            if outcome is None or outcome.result is Result.PENDING:
                if not _refused_again(outcome):
                    pause.extend_after_failed_probe()
                return done
            paused = None  # Leat answered the probe: the others follow
    return done


def _refused_again(outcome: Outcome | None) -> bool:
    """A probe that Leat refused as a whole again (deliver has made the pause longer)."""
    return (
        outcome is not None and outcome.reason is not None and outcome.reason.kind in pause.PAUSING
    )
