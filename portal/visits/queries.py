"""What the visits page reads: a manager's records, a page at a time, the contacts
they recorded lately, and the queue."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import NamedTuple

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import defer, undefer

from ..auth import Manager
from ..database import db
from ..leat import ErrorKind
from ..models import Delivery, DeliveryPause, VisitRecord
from . import pause

VISITS_PER_PAGE = 50
RECENT_CONTACTS = 50
# Suggestions are looked for among this many of the newest records, read along the
# (shop_uuid, created_at) or (created_at, id) index: a page load never reads a
# shop's whole history. A shop with fewer different contacts among them has fewer
# suggestions, the most recent.
RECENT_RECORDS = 1000
# The largest id the id column holds (PostgreSQL's integer): a URL may name any number.
MAX_RECORD_ID = 2**31 - 1
# The highest page asked for: far beyond any real list, and small enough that its
# offset fits every database's integers (a larger one overflowed PostgreSQL's).
MAX_PAGE = 10**9
# Records a download reads from the database at a time.
EXPORT_BATCH = 500
# Pauses that last until an administrator acts.
CONFIGURATION_KINDS = (ErrorKind.AUTH, ErrorKind.ACCOUNT_INACTIVE, ErrorKind.NO_ACCESS)


def record_of(manager: Manager, record_id: int) -> VisitRecord | None:
    """The record, if this manager may see it: another shop's visit does not exist
    for them, so its id reveals nothing."""
    if not 1 <= record_id <= MAX_RECORD_ID:
        return None  # no such record; asking PostgreSQL would be an out-of-range error
    record = db.session.get(VisitRecord, record_id)
    if record is None or not manager.may_use(record.shop_uuid):
        return None
    return record


# The manager's shops, given when a statement built once is run (``manager_shops``).
MANAGER_SHOPS = bindparam("shops", expanding=True)


def manager_shops(manager: Manager) -> dict:
    """The value of MANAGER_SHOPS for this manager: none for a manager of every shop,
    whose statements leave the condition out."""
    return {} if manager.all_shops else {"shops": list(manager.shops)}


class Order(StrEnum):
    START = "start"  # when the visit starts, newest first
    RECORDED = "recorded"  # when the portal's record was made, newest first


@dataclass(frozen=True)
class VisitFilter:
    """What the search form asks for, checked and converted (``search.FindVisitsForm``)."""

    text: str = ""  # a case-insensitive part of the e-mail, external ID or source
    shop_uuid: str | None = None  # one of the manager's shops; None: all of them
    starts_from: datetime | None = None  # the visit starts at or after this instant
    starts_before: datetime | None = None  # and before this one
    order: Order = Order.START


EVERY_VISIT = VisitFilter()


def _search(manager: Manager, wanted: VisitFilter) -> tuple[frozenset[str], dict]:
    """Which conditions a search has, and the values they take."""
    values = manager_shops(manager)
    if wanted.shop_uuid is not None:
        values["shop"] = wanted.shop_uuid
    if wanted.starts_from is not None:
        values["starts_from"] = wanted.starts_from
    if wanted.starts_before is not None:
        values["starts_before"] = wanted.starts_before
    if wanted.text:
        # The manager's % and _ are letters here, not wildcards.
        values["pattern"] = "%" + _escape_like(wanted.text) + "%"
    return frozenset(values), values


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Statements(NamedTuple):
    records: Select  # every record selected, newest first
    count: Select  # how many
    page: Select  # a page of them (limit, offset), without their JSON columns


@cache
def _statements(conditions: frozenset[str], order: Order) -> _Statements:
    """The records a search with these conditions selects, newest first, and their
    count: built once per kind of search, the values bound when run. Built anew on
    every page load (and their cache keys worked out again), the two cost about as
    much as running them."""
    where = []
    if "shops" in conditions:
        where.append(VisitRecord.shop_uuid.in_(MANAGER_SHOPS))
    if "shop" in conditions:
        where.append(VisitRecord.shop_uuid == bindparam("shop"))
    if "starts_from" in conditions:
        where.append(VisitRecord.starts_at >= bindparam("starts_from"))
    if "starts_before" in conditions:
        where.append(VisitRecord.starts_at < bindparam("starts_before"))
    if "pattern" in conditions:
        # ILIKE on PostgreSQL (its trigram index answers it), lower(…) LIKE lower(…) on
        # SQLite.
        pattern = bindparam("pattern")
        where.append(
            or_(
                VisitRecord.contact_email.ilike(pattern, escape="\\"),
                VisitRecord.external_id.ilike(pattern, escape="\\"),
                VisitRecord.source.ilike(pattern, escape="\\"),
            )
        )
    newest = VisitRecord.starts_at if order is Order.START else VisitRecord.created_at
    records = select(VisitRecord).where(*where).order_by(newest.desc(), VisitRecord.id.desc())
    count = select(func.count()).select_from(VisitRecord).where(*where)
    # A page: without the JSON columns, which only a row not in the row cache needs
    # (routes.found loads them for those, in one statement).
    page = (
        records.options(defer(VisitRecord.snapshot), defer(VisitRecord.pending))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return _Statements(records, count, page)


def matching(manager: Manager, wanted: VisitFilter = EVERY_VISIT):
    """The manager's shops' records that ``wanted`` selects, newest first (Leat can
    neither filter by shop nor search; the portal's record can)."""
    conditions, values = _search(manager, wanted)
    return _statements(conditions, wanted.order).records.params(values)


def counting(manager: Manager, wanted: VisitFilter = EVERY_VISIT):
    """How many of the manager's shops' records ``wanted`` selects, as a query."""
    conditions, values = _search(manager, wanted)
    return _statements(conditions, wanted.order).count.params(values)


def count_matching(manager: Manager, wanted: VisitFilter = EVERY_VISIT) -> int:
    conditions, values = _search(manager, wanted)
    return db.session.scalar(_statements(conditions, wanted.order).count, values)


class _Page(Pagination):
    """Flask-SQLAlchemy's page (its numbers and links) of a statement built once."""

    def _query_items(self) -> list:
        statement, values = self._query_args["statement"], self._query_args["values"]
        window = {"limit": self.per_page, "offset": (self.page - 1) * self.per_page}
        return list(db.session.scalars(statement, {**values, **window}))

    def _query_count(self) -> int:
        return self._query_args["total"]


def page_of_records(page: int, manager: Manager, wanted: VisitFilter = EVERY_VISIT) -> Pagination:
    """One page of what ``wanted`` selects, with the total. Counted first, so a page
    number past the end (a stale link, a typed URL) shows the last page rather than
    none, and the database never skips more rows than there are. The records come
    without their JSON columns (``load_details`` reads them for the rows that need them)."""
    conditions, values = _search(manager, wanted)
    statements = _statements(conditions, wanted.order)
    total = db.session.scalar(statements.count, values)
    last = max(1, -(-total // VISITS_PER_PAGE))
    return _Page(
        page=min(max(page, 1), last),
        per_page=VISITS_PER_PAGE,
        error_out=False,
        statement=statements.page,
        values=values,
        total=total,
    )


def load_details(records: list[VisitRecord]) -> None:
    """Read the JSON columns (Leat's snapshot, the unsent change) of records a page
    read without them, all in one statement."""
    if records:
        db.session.execute(
            select(VisitRecord)
            .options(undefer(VisitRecord.snapshot), undefer(VisitRecord.pending))
            .where(VisitRecord.id.in_([record.id for record in records]))
        ).all()


def each_matching(manager: Manager, wanted: VisitFilter) -> Iterator[VisitRecord]:
    """Every record ``wanted`` selects, read a batch at a time (a server-side cursor on
    PostgreSQL), so a download of all of them never holds them all in memory."""
    yield from db.session.scalars(
        matching(manager, wanted).execution_options(yield_per=EXPORT_BATCH)
    )


def recent_contacts(manager: Manager, shop_uuid: str | None = None) -> list[str]:
    """The last RECENT_CONTACTS different contact e-mails recorded for the shop (for
    all the manager's shops without one), most recent first: the Contact field's
    suggestions, so a regular customer takes a few letters, not a whole address.
    A shop the manager may not use has none."""
    if shop_uuid is not None and not manager.may_use(shop_uuid):
        return []
    statement, values = recent_contacts_query(manager, shop_uuid)
    return list(db.session.scalars(statement, values))


def recent_contacts_query(manager: Manager, shop_uuid: str | None):
    """The statement and its values: for the shop, else for the manager's shops."""
    if shop_uuid is not None:
        return _recent_contacts_statement("shop"), {"shop": shop_uuid}
    scope = "all" if manager.all_shops else "shops"
    return _recent_contacts_statement(scope), manager_shops(manager)


@cache
def _recent_contacts_statement(scope: str):
    # Built once per scope, values bound at each execution: the page and every create
    # ask for suggestions, and building this statement cost as much as running it.
    newest = select(VisitRecord.contact_email, VisitRecord.created_at).where(
        VisitRecord.contact_email.is_not(None)
    )
    if scope == "shop":
        newest = newest.where(VisitRecord.shop_uuid == bindparam("shop"))
    elif scope == "shops":
        newest = newest.where(VisitRecord.shop_uuid.in_(MANAGER_SHOPS))
    newest = newest.order_by(VisitRecord.created_at.desc()).limit(RECENT_RECORDS).subquery()
    last_seen = func.max(newest.c.created_at)
    return (
        select(newest.c.contact_email)
        .group_by(newest.c.contact_email)
        .order_by(last_seen.desc(), newest.c.contact_email)
        .limit(RECENT_CONTACTS)
    )


@dataclass(frozen=True)
class Queue:
    count: int
    oldest: datetime | None
    # Why every delivery waits, since when and until when (None: nothing pauses them).
    paused: DeliveryPause | None

    @property
    def needs_administrator(self) -> bool:
        return self.paused is not None and self.paused.kind in CONFIGURATION_KINDS


def waiting(manager: Manager) -> Queue:
    """How many of the manager's records wait for Leat, since when, and why."""
    statement = _waiting_statement(all_shops=manager.all_shops)
    count, oldest = db.session.execute(statement, manager_shops(manager)).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return Queue(count=count, oldest=oldest, paused=pause.current())


@cache
def _waiting_statement(*, all_shops: bool):
    # Built once (every answer that may follow a Leat call shows the queue).
    query = select(func.count(VisitRecord.id), func.min(VisitRecord.updated_at)).where(
        VisitRecord.status == Delivery.PENDING
    )
    return query if all_shops else query.where(VisitRecord.shop_uuid.in_(MANAGER_SHOPS))
