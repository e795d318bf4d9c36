"""What the visits page reads: a manager's records, a page at a time, and the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, func, select

from ..auth import Manager
from ..database import db
from ..leat import ErrorKind
from ..models import Delivery, VisitRecord

VISITS_PER_PAGE = 50
# Failures that stop every delivery until an administrator acts.
CONFIGURATION_KINDS = (ErrorKind.AUTH, ErrorKind.ACCOUNT_INACTIVE, ErrorKind.NO_ACCESS)


def record_of(manager: Manager, record_id: int) -> VisitRecord | None:
    """The record, if this manager may see it: another shop's visit does not exist
    for them, so its id reveals nothing."""
    record = db.session.get(VisitRecord, record_id)
    if record is None or not manager.may_use(record.shop_uuid):
        return None
    return record


def _of_manager(query, manager: Manager):
    if manager.all_shops:
        return query
    return query.where(VisitRecord.shop_uuid.in_(manager.shops))


def newest_first(manager: Manager):
    """The manager's shops' visits, newest first (Leat cannot filter by shop; we can)."""
    return _of_manager(
        select(VisitRecord).order_by(VisitRecord.created_at.desc(), VisitRecord.id.desc()),
        manager,
    )


def page_of_records(page: int, manager: Manager):
    return db.paginate(newest_first(manager), page=page, per_page=VISITS_PER_PAGE, error_out=False)


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
        func.max(case((VisitRecord.error_kind.in_(CONFIGURATION_KINDS), 1), else_=0)),
    ).where(VisitRecord.status == Delivery.PENDING)
    count, oldest, auth = db.session.execute(_of_manager(query, manager)).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return Queue(count=count, oldest=oldest, token_refused=bool(auth))
