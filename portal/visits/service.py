"""The visits service: the portal's rules between the views and the Leat client.

Leat is the truth about a visit; the local record adds what Leat cannot tell (the
shop) and the last snapshot Leat returned, so the list needs no Leat call per row.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from ..auth import Manager
from ..database import db
from ..leat import Contact, LeatError, LeatValidationError, Shop, Visit
from ..leat.binding import leat
from ..models import ATTENTION, PENDING, VisitRecord, utcnow
from . import delivery
from .forms import EDITABLE

SHOP_CACHE_SECONDS = 60
PENDING_KEY = "pending-"
VISITS_PER_PAGE = 50


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


def new_external_id() -> str:
    # Every create carries an external_id: the key that tells, after a lost answer,
    # whether Leat made the visit.
    return f"portal-{uuid.uuid4()}"


class RepeatedSubmission(Exception):
    """The same create form came twice; ``record`` is what the first one made."""

    def __init__(self, record: VisitRecord) -> None:
        super().__init__(record.id)
        self.record = record


def create_visit(
    *,
    contact_kind: str,
    contact: str,
    create_contact: bool,
    shop_uuid: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    source: str | None,
    external_id: str | None,
    manager: Manager,
    submission_key: str | None = None,
) -> tuple[VisitRecord, LeatError | None]:
    """Record the visit, then send it: (record, None) once Leat confirmed it, or
    (record, the failure) when it waits as pending. Raises ``delivery.Refused`` when
    Leat refused it outright (nothing is kept) and ``RepeatedSubmission``."""
    fields = {"source": source, "starts_at": starts_at, "ends_at": ends_at}
    record = VisitRecord(
        shop_uuid=shop_uuid,
        contact_uuid=contact if contact_kind == "uuid" else None,
        contact_email=contact if contact_kind == "email" else None,
        external_id=external_id or new_external_id(),
        submission_key=submission_key,
        status=PENDING,
        attempts=1,  # this request sends it right after the commit
        pending={
            "kind": "create",
            "fields": delivery.to_json({**fields, "create_contact": create_contact}),
        },
        # Held by this request while it sends; the worker leaves it alone until then.
        claimed_until=utcnow() + timedelta(seconds=delivery.CLAIM_SECONDS),
    )
    record.created_by_manager(manager)
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        first = _by_submission_key(submission_key)
        if first is not None:
            raise RepeatedSubmission(first) from None
        # The portal already knows this external_id: Leat would refuse it too.
        taken = "This external ID is already used by another visit."
        error = LeatValidationError(taken, field_errors={"external_id": [taken]})
        raise delivery.Refused(error) from None
    return record, delivery.deliver(record, first=True)


def update_visit(record: VisitRecord, changes: dict, manager: Manager):
    """Send Leat only what changed (merged with any earlier unsent change)."""
    if not changes:
        return record, None
    if record.leat_uuid is None:
        # Not at Leat yet: the correction joins the create that is still to be sent.
        pending = dict(record.pending)
        pending["fields"] = {**pending["fields"], **delivery.to_json(changes)}
        record.pending = pending
        record.status = PENDING
        record.next_attempt_at = None
        db.session.commit()
        claimed = delivery.claim(record.id)
        if claimed is None:
            return record, None  # another sender has it now and sends the new values
        return claimed, delivery.deliver(claimed)
    earlier = record.pending if record.pending and record.pending["kind"] == "update" else None
    merged = {**(earlier["fields"] if earlier else {}), **delivery.to_json(changes)}
    record.pending = {"kind": "update", "fields": merged, "previous": earlier}
    record.status = PENDING
    record.next_attempt_at = None
    record.edited_by_manager(manager)
    db.session.commit()
    claimed = delivery.claim(record.id)
    if claimed is None:
        return record, None
    return claimed, delivery.deliver(claimed, first=True)


def retry_now(record: VisitRecord):
    """A manager's Retry now: deliver this record at once, unless another sender has it."""
    if record.status == ATTENTION:
        record.status = PENDING
        db.session.commit()
    claimed = delivery.claim(record.id)
    if claimed is None:
        return record, None
    return claimed, delivery.deliver(claimed)


def _by_submission_key(key: str | None) -> VisitRecord | None:
    if key is None:
        return None
    return db.session.scalar(select(VisitRecord).where(VisitRecord.submission_key == key))


def find_record(key: str) -> VisitRecord | None:
    """By Leat's uuid, or ``pending-<id>`` for a create Leat has not confirmed yet."""
    if key.startswith(PENDING_KEY):
        number = key.removeprefix(PENDING_KEY)
        record = db.session.get(VisitRecord, int(number)) if number.isdigit() else None
        return record if record is not None and record.leat_uuid is None else None
    return db.session.scalar(select(VisitRecord).where(VisitRecord.leat_uuid == key))


def row_key(record: VisitRecord) -> str:
    return record.leat_uuid or f"{PENDING_KEY}{record.id}"


@dataclass(frozen=True)
class Queue:
    count: int
    oldest: datetime | None
    token_refused: bool


def waiting(manager: Manager) -> Queue:
    """How many of the manager's records wait for Leat, since when, and whether the
    portal's token is what they wait for."""
    query = select(
        func.count(VisitRecord.id),
        func.min(VisitRecord.updated_at),
        func.max(case((VisitRecord.last_error_kind == "auth", 1), else_=0)),
    ).where(VisitRecord.status == PENDING)
    if not manager.all_shops:
        query = query.where(VisitRecord.shop_uuid.in_(manager.shops))
    count, oldest, auth = db.session.execute(query).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return Queue(count=count, oldest=oldest, token_refused=bool(auth))


def newest_first(manager: Manager):
    """The manager's shops' visits, newest first (Leat cannot filter by shop; we can)."""
    query = select(VisitRecord).order_by(VisitRecord.created_at.desc(), VisitRecord.id.desc())
    if not manager.all_shops:
        query = query.where(VisitRecord.shop_uuid.in_(manager.shops))
    return query


def page_of_records(page: int, manager: Manager):
    return db.paginate(newest_first(manager), page=page, per_page=VISITS_PER_PAGE, error_out=False)


@dataclass(frozen=True)
class VisitRow:
    """One table row: the visit as it is meant to be (Leat's snapshot with any unsent
    change on top, or the unsent create itself), with its shop's name and state."""

    record: VisitRecord
    visit: Visit
    shop_name: str

    @property
    def uuid(self) -> str:
        return row_key(self.record)

    @property
    def state(self) -> str:
        return self.record.status

    @property
    def contact_label(self) -> str:
        return (
            self.visit.contact.email
            or self.record.contact_email
            or self.visit.contact.uuid
            or "(contact)"
        )


def row_for(record: VisitRecord, shop_names: dict[str, str]) -> VisitRow:
    return VisitRow(
        record=record,
        visit=intended_visit(record),
        shop_name=shop_names.get(record.shop_uuid, record.shop_uuid),
    )


def intended_visit(record: VisitRecord) -> Visit:
    pending = record.pending or {}
    fields = delivery.from_json(pending.get("fields", {}))
    if record.snapshot is not None:
        visit = Visit.from_json(record.snapshot)
        changes = {k: v for k, v in fields.items() if k in EDITABLE}
        return replace(visit, **changes) if changes else visit
    return Visit(
        uuid=row_key(record),
        contact=Contact(uuid=record.contact_uuid or "", email=record.contact_email),
        external_id=record.external_id,
        source=fields.get("source"),
        starts_at=fields.get("starts_at"),
        ends_at=fields.get("ends_at"),
        created_at=record.created_at,
    )
