"""The visits service: the portal's rules between the views and the Leat client.

Leat is the truth about a visit; the local record adds what Leat cannot tell (the
shop) and the last snapshot Leat returned, so the list needs no Leat call per row.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from ..auth import Manager
from ..extensions import db, leat
from ..leat import Contact, Shop, Visit
from ..models import VisitRecord

SHOP_CACHE_SECONDS = 60
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


def resolve_contact(kind: str, value: str, *, create: bool) -> Contact:
    """The Leat contact a manager named by e-mail address or uuid."""
    if kind == "uuid":
        # Leat checks the uuid when the visit is created (55031): no extra call.
        return Contact(uuid=value)
    if create:
        return leat().find_or_create_contact(value)
    return leat().find_contact_by_email(value)


def new_external_id() -> str:
    # Every create carries an external_id, so a repeated create can be recognised.
    return f"portal-{uuid.uuid4()}"


def create_visit(
    *,
    contact: Contact,
    shop_uuid: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    source: str | None,
    external_id: str | None,
    manager: Manager,
) -> VisitRecord:
    visit = leat().create_visit(
        contact_uuid=contact.uuid,
        shop_uuid=shop_uuid,
        external_id=external_id or new_external_id(),
        source=source,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    record = VisitRecord(shop_uuid=shop_uuid, contact_email=contact.email)
    record.created_by_manager(manager)
    record.remember(visit)
    db.session.add(record)
    db.session.commit()
    return record


def update_visit(record: VisitRecord, changes: dict, manager: Manager) -> VisitRecord:
    """Send Leat only what changed, then keep its answer as the snapshot."""
    if changes:
        record.remember(leat().update_visit(record.leat_uuid, **changes))
        record.edited_by_manager(manager)
        db.session.commit()
    return record


def find_record(leat_uuid: str) -> VisitRecord | None:
    return db.session.scalar(select(VisitRecord).where(VisitRecord.leat_uuid == leat_uuid))


def page_of_records(page: int, manager: Manager):
    """The manager's shops' visits, newest first (Leat cannot filter by shop; we can)."""
    query = select(VisitRecord).order_by(VisitRecord.created_at.desc(), VisitRecord.id.desc())
    if not manager.all_shops:
        query = query.where(VisitRecord.shop_uuid.in_(manager.shops))
    return db.paginate(query, page=page, per_page=VISITS_PER_PAGE, error_out=False)


@dataclass(frozen=True)
class VisitRow:
    """One table row: the snapshot Leat returned, with the shop's name beside it."""

    record: VisitRecord
    visit: Visit
    shop_name: str

    @property
    def uuid(self) -> str:
        return self.visit.uuid

    @property
    def contact_label(self) -> str:
        return self.visit.contact.email or self.record.contact_email or self.visit.contact.uuid


def row_for(record: VisitRecord, shop_names: dict[str, str]) -> VisitRow:
    return VisitRow(
        record=record,
        visit=Visit.from_json(record.snapshot),
        shop_name=shop_names.get(record.shop_uuid, record.shop_uuid),
    )
