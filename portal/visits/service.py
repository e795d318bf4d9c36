"""The visits service: the portal's rules between the views and the Leat client.

Leat is the truth about a visit; the local record adds what Leat cannot tell (the
shop) and the last snapshot Leat returned, so the list needs no Leat call per row.
Create, save and retry each answer one ``Outcome``.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..auth import Manager
from ..database import commit_keeping_values, db
from ..i18n import _
from ..leat import EDITABLE_VISIT_FIELDS, Contact, Shop, Visit
from ..leat.binding import leat
from ..models import ChangeKind, Delivery, PendingChange, VisitRecord, utcnow
from . import delivery
from .outcome import Note, Outcome, PortalReason, Reason

SHOP_CACHE_SECONDS = 60


class ShopCache:
    """Leat's shops, kept briefly per process: every page shows them, few change."""

    def __init__(self, ttl: float = SHOP_CACHE_SECONDS) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._shops: list[Shop] | None = None
        self._fetched_at = 0.0

    def get(self) -> list[Shop]:
        with self._lock:
            # One thread fetches while the others wait for its answer rather than
            # asking Leat the same question at the same moment.
            if self._shops is None or time.monotonic() - self._fetched_at > self._ttl:
                self._shops = sorted(leat().list_shops(), key=lambda shop: shop.name.casefold())
                self._fetched_at = time.monotonic()
            return self._shops

    def clear(self) -> None:
        with self._lock:
            self._shops = None


def shops() -> list[Shop]:
    return current_app.extensions["shop_cache"].get()


@dataclass(frozen=True)
class NewVisit:
    """A visit as the create form gives it, checked and converted."""

    shop_uuid: str
    contact_uuid: str | None = None  # one of these two
    contact_email: str | None = None
    create_contact: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    source: str | None = None
    external_id: str | None = None
    submission_key: str | None = None


EXTERNAL_ID_IN_USE = (Reason(PortalReason.EXTERNAL_ID_IN_USE),)
ENDS_BEFORE_START = (Reason(PortalReason.ENDS_BEFORE_START),)


PORTAL_EXTERNAL_ID = "portal-"


def new_external_id() -> str:
    # Every create carries an external_id: the key that tells, after a lost answer,
    # whether Leat made the visit.
    return f"{PORTAL_EXTERNAL_ID}{uuid.uuid4()}"


def create(new: NewVisit, manager: Manager) -> Outcome:
    """Record the visit, then send it. A form sent again (a double click, a browser's
    retry, back-and-resubmit) is told by its submission key, which the database keeps
    unique: found only when the insert is refused, so a first submission reads nothing."""
    recorded_at = utcnow().replace(microsecond=0)
    if new.starts_at is None and new.ends_at is not None and new.ends_at <= recorded_at:
        # The form compares the two times it was given; only here is "now" known. Kept,
        # this would be refused by Leat, perhaps long after the manager has gone.
        repeated = _repeated(new, manager)
        if repeated is not None:
            return repeated
        return Outcome.refused(field_reasons={"ends_at": ENDS_BEFORE_START})
    external_id = new.external_id or new_external_id()
    record = VisitRecord(
        created_at=recorded_at,
        shop_uuid=new.shop_uuid,
        contact_uuid=new.contact_uuid,
        contact_email=new.contact_email,
        external_id=external_id,
        submission_key=new.submission_key,
        status=Delivery.PENDING,
        attempts=1,  # this request sends it right after the commit
        pending=delivery.new_create(
            external_id,
            {
                "source": new.source,
                # "Now" is when the manager pressed the button, sent explicitly: left
                # out, Leat would stamp the moment a delayed delivery arrives.
                "starts_at": new.starts_at or recorded_at,
                "ends_at": new.ends_at,
                "create_contact": new.create_contact,
            },
        ),
        # Held by this request while it sends; the worker leaves it alone until then.
        claimed_until=utcnow() + timedelta(seconds=delivery.CLAIM_SECONDS),
    )
    record.created_by_manager(manager)
    db.session.add(record)
    try:
        # Delivered at once, by this request, from these values: no need to read them back.
        commit_keeping_values()
    except IntegrityError:
        db.session.rollback()
        first = _by_submission_key(new.submission_key)
        if first is not None:
            if _same_form(first, new, manager):
                # The same form, sent again (or twice at the same moment).
                return Outcome.of_record(first, note=Note.REPEATED)
            # Another manager's (or shop's) key, replayed: it shows nothing of theirs,
            # and this visit is recorded as any other.
            return create(replace(new, submission_key=None), manager)
        # The portal already knows this external_id: Leat would refuse it too.
        return Outcome.refused(field_reasons={"external_id": EXTERNAL_ID_IN_USE})
    return delivery.deliver(record, first=True)


def _repeated(new: NewVisit, manager: Manager) -> Outcome | None:
    """The first result of this form, if it was sent before by this manager for this shop."""
    first = _by_submission_key(new.submission_key)
    if first is not None and _same_form(first, new, manager):
        return Outcome.of_record(first, note=Note.REPEATED)
    return None


def _by_submission_key(key: str | None) -> VisitRecord | None:
    if key is None:
        return None
    return db.session.scalar(select(VisitRecord).where(VisitRecord.submission_key == key))


def _same_form(first: VisitRecord, new: NewVisit, manager: Manager) -> bool:
    """A key is honoured only for the manager and shop that first sent it."""
    return first.created_by == manager.id and first.shop_uuid == new.shop_uuid


def update(record: VisitRecord, changes: dict, manager: Manager) -> Outcome:
    """Send Leat only what changed (merged with any earlier unsent change)."""
    if not changes:
        return Outcome.of_record(record, note=Note.NOTHING_CHANGED)
    if record.leat_uuid is None:
        # Not at Leat yet: the correction joins the create that is still to be sent
        # (the external_id on the record, where it is kept unique).
        changes = dict(changes)
        if "external_id" in changes:
            record.external_id = changes.pop("external_id")
        record.pending = record.pending.with_fields(changes)
        first = False
    else:
        earlier = (
            record.pending if record.pending and record.pending.kind is ChangeKind.UPDATE else None
        )
        record.pending = PendingChange(
            ChangeKind.UPDATE, {**(earlier.fields if earlier else {}), **changes}, earlier
        )
        record.edited_by_manager(manager)
        first = True
    record.status = Delivery.PENDING
    record.next_attempt_at = None
    try:
        # The change and this request's claim to send it, in one transaction.
        claimed = delivery.claim_with_change(record)
        if claimed:
            commit_keeping_values()  # the record as claimed, brought back by the claim
        else:
            db.session.commit()  # read again when shown: the other sender's values
    except IntegrityError:  # another of the portal's visits has that external_id
        db.session.rollback()
        return Outcome.refused(record, field_reasons={"external_id": EXTERNAL_ID_IN_USE})
    if not claimed:
        # Another sender (the worker, another tab) holds it and sends the latest values.
        return Outcome.of_record(record, note=Note.IN_HAND)
    return delivery.deliver(record, first=first)


def retry(record: VisitRecord) -> Outcome:
    """A manager's Retry now: deliver this record at once, unless another sender has it."""
    if record.status is Delivery.CONFIRMED:
        return Outcome.of_record(record, note=Note.ALREADY_CONFIRMED)
    if record.status is Delivery.ATTENTION:
        record.status = Delivery.PENDING
        db.session.commit()
    return _send_now(record)


def record_again(record: VisitRecord) -> Outcome:
    """The visit is gone at Leat (deleted there): make it anew from what the record
    means, as a create. A portal-made external_id is replaced, since the gone visit
    may still hold it; a manager's own is kept."""
    if record.status is not Delivery.ATTENTION or record.leat_uuid is None:
        return Outcome.of_record(record)
    visit = intended_visit(record)
    if record.external_id is None or record.external_id.startswith(PORTAL_EXTERNAL_ID):
        record.external_id = new_external_id()
    fields = {"source": visit.source, "starts_at": visit.starts_at, "ends_at": visit.ends_at}
    record.pending = delivery.new_create(record.external_id, fields)
    record.leat_uuid = record.snapshot = None
    record.attempts = 0  # nothing of this create was sent yet: no look-up first
    record.status = Delivery.PENDING
    record.clear_error()
    db.session.commit()
    return _send_now(record)


def set_aside(record: VisitRecord) -> Outcome:
    """Leave a refused record out of Leat for good; it stays in the list, marked."""
    if record.status is Delivery.ATTENTION:
        record.status = Delivery.SET_ASIDE
        record.claimed_until = record.next_attempt_at = None
        db.session.commit()
    return Outcome.of_record(record, note=Note.SET_ASIDE)


def _send_now(record: VisitRecord, *, first: bool = False) -> Outcome:
    claimed = delivery.claim(record.id)
    if claimed is None:
        # Another sender (the worker, another tab) holds it and sends the latest values.
        return Outcome.of_record(record, note=Note.IN_HAND)
    return delivery.deliver(claimed, first=first)


@dataclass(frozen=True)
class VisitRow:
    """One table row: the visit as it is meant to be (Leat's snapshot with any unsent
    change on top, or the unsent create itself), with its shop's name and state.
    A row is addressed by its record's id, before and after Leat confirms it."""

    record: VisitRecord
    shop_name: str

    @cached_property
    def visit(self) -> Visit:
        # Worked out when first read: a page's confirmed rows mostly come drawn from
        # the row cache (row_cache.py), which needs the record's id and version alone.
        return intended_visit(self.record)

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def state(self) -> Delivery:
        return self.record.status

    @property
    def reason(self) -> Reason | None:
        return Reason.of_record(self.record)

    @property
    def contact_label(self) -> str:
        contact = self.visit.contact
        return (
            (contact and contact.email)
            or self.record.contact_email
            or (contact and contact.uuid)
            or self.record.contact_uuid
            or _("(contact)")
        )


def row_for(record: VisitRecord, shop_names: dict[str, str]) -> VisitRow:
    return VisitRow(record=record, shop_name=shop_names.get(record.shop_uuid, record.shop_uuid))


def intended_visit(record: VisitRecord) -> Visit:
    fields = record.pending.fields if record.pending else {}
    if record.snapshot is not None:
        visit = Visit.from_json(record.snapshot)
        changes = {k: v for k, v in fields.items() if k in EDITABLE_VISIT_FIELDS}
        return replace(visit, **changes) if changes else visit
    return Visit(
        uuid=record.leat_uuid or "",
        contact=Contact(uuid=record.contact_uuid or "", email=record.contact_email),
        external_id=record.external_id,
        source=fields.get("source"),
        starts_at=fields.get("starts_at"),
        ends_at=fields.get("ends_at"),
        created_at=record.created_at,
    )
