"""A contact's history: every visit Leat has of one contact, each with what the portal
knows of it, and the manager's visits of that contact that Leat does not have yet.

Who may see what (the rule of this page):

- Leat's visits of a contact belong to the whole Leat account, and any manager may
  already record a visit of any contact. So every visit Leat lists is shown, with
  Leat's own facts only: its times, source and external ID.
- What the portal adds to a visit (its shop, who recorded it) is shown only for the
  manager's own shops, as everywhere else in the portal. A visit recorded through the
  portal for a shop the manager may not use reads "another shop", and nothing more:
  neither which shop nor which manager. A visit the portal never knew (a till,
  another system) reads "recorded outside the portal".
- Records Leat does not have (yet) are the portal's alone: only those of the
  manager's own shops are listed. When Leat cannot be reached, the page falls back
  to the manager's own records of the contact, as the portal last knew them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import func, or_, select

from ..auth import Manager
from ..database import db
from ..leat import ErrorKind, LeatError, LeatNotFound, Visit
from ..leat.binding import leat
from ..models import Delivery, VisitRecord
from .outcome import Reason
from .service import intended_visit

# Leat's uuids looked up in the portal's records per query: a contact with thousands
# of visits stays well under every database's limit on bound parameters.
UUIDS_PER_QUERY = 500
# "Leat does not know this contact": its documented code, or a bare 404.
CONTACT_UNKNOWN = (ErrorKind.CONTACT_NOT_FOUND, ErrorKind.NOT_FOUND)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


class Mark(StrEnum):
    """Whose a visit is, as far as this manager may know."""

    MINE = "mine"  # one of the manager's shops: its shop and who recorded it are shown
    ANOTHER_SHOP = "another_shop"  # through the portal, for a shop the manager may not use
    OUTSIDE = "outside"  # the portal never knew it: a till, another system
    NOT_IN_LEAT = "not_in_leat"  # the manager's record that Leat does not have (yet)


@dataclass(frozen=True)
class Entry:
    visit: Visit
    mark: Mark
    shop_name: str | None = None
    recorded_by: str | None = None
    # The manager's record's state when it is not simply confirmed (a create or an
    # edit still waiting for Leat, a refusal); None for everybody else's visits.
    state: Delivery | None = None


@dataclass(frozen=True)
class ContactHistory:
    contact_uuid: str
    contact_label: str
    entries: list[Entry]
    # Why Leat's visits are missing from the page (None: they are all there).
    problem: Reason | None = None


def history_of(
    contact_uuid: str, manager: Manager, shop_names: Mapping[str, str]
) -> ContactHistory | None:
    """The contact's history for ``manager``; None when neither Leat nor the portal
    knows the contact (so it is answered as any unknown page)."""
    try:
        contact = leat().get_contact(contact_uuid)
        # Every page: the client reads them all, as many per page as Leat allows.
        visits = list(leat().contact_visits(contact_uuid))
    except LeatError as exc:
        own = _own_records(contact_uuid, manager, email=None)
        if isinstance(exc, LeatNotFound) and exc.kind in CONTACT_UNKNOWN and not own:
            return None
        # Leat is away (or has lost the contact): what the portal itself recorded.
        entries = [_own_entry(record, shop_names) for record in own]
        return ContactHistory(
            contact_uuid,
            _label(contact_uuid, None, (record.contact_email for record in own)),
            _newest_first(entries),
            problem=Reason.of(exc),
        )
    known = _records_by_leat_uuid([visit.uuid for visit in visits])
    entries = [_leat_entry(visit, known.get(visit.uuid), manager, shop_names) for visit in visits]
    entries += [
        _own_entry(record, shop_names)
        for record in _own_records(contact_uuid, manager, email=contact.email)
        if record.leat_uuid is None
    ]
    return ContactHistory(
        contact_uuid,
        _label(contact_uuid, contact.email, (v.contact.email for v in visits if v.contact)),
        _newest_first(entries),
    )


def _leat_entry(
    visit: Visit, record: VisitRecord | None, manager: Manager, shop_names: Mapping[str, str]
) -> Entry:
    if record is None:
        return Entry(visit, Mark.OUTSIDE)
    if not manager.may_use(record.shop_uuid):
        return Entry(visit, Mark.ANOTHER_SHOP)
    return Entry(
        visit,
        Mark.MINE,
        shop_name=shop_names.get(record.shop_uuid, record.shop_uuid),
        recorded_by=record.created_by_name,
        state=None if record.status is Delivery.CONFIRMED else record.status,
    )


def _own_entry(record: VisitRecord, shop_names: Mapping[str, str]) -> Entry:
    """One of the manager's records, as the portal knows it (Leat's last snapshot with
    any unsent change on top, or the unsent create)."""
    return Entry(
        intended_visit(record),
        Mark.MINE if record.leat_uuid else Mark.NOT_IN_LEAT,
        shop_name=shop_names.get(record.shop_uuid, record.shop_uuid),
        recorded_by=record.created_by_name,
        state=None if record.status is Delivery.CONFIRMED else record.status,
    )


def _own_records(contact_uuid: str, manager: Manager, email: str | None) -> list[VisitRecord]:
    """The manager's records of the contact, set-aside ones left out (never meant for
    Leat). With the contact's e-mail address known, also the creates by e-mail whose
    contact was not looked up yet (they have no contact uuid until then)."""
    contact = VisitRecord.contact_uuid == contact_uuid
    if email:
        contact = or_(
            contact,
            VisitRecord.contact_uuid.is_(None)
            & (func.lower(VisitRecord.contact_email) == email.lower()),
        )
    query = select(VisitRecord).where(contact, VisitRecord.status != Delivery.SET_ASIDE)
    if not manager.all_shops:
        query = query.where(VisitRecord.shop_uuid.in_(manager.shops))
    return list(db.session.scalars(query))


def _records_by_leat_uuid(uuids: list[str]) -> dict[str, VisitRecord]:
    found: dict[str, VisitRecord] = {}
    for start in range(0, len(uuids), UUIDS_PER_QUERY):
        chunk = uuids[start : start + UUIDS_PER_QUERY]
        query = select(VisitRecord).where(VisitRecord.leat_uuid.in_(chunk))
        found.update((record.leat_uuid, record) for record in db.session.scalars(query))
    return found


def _newest_first(entries: list[Entry]) -> list[Entry]:
    # By start, as a customer's visits are read; a visit without one goes last.
    return sorted(
        entries,
        key=lambda entry: (entry.visit.starts_at or _EARLIEST, entry.visit.created_at or _EARLIEST),
        reverse=True,
    )


def _label(contact_uuid: str, email: str | None, other_emails: Iterable[str | None]) -> str:
    """The contact as the manager knows them: their e-mail address, else the uuid."""
    return email or next((address for address in other_emails if address), contact_uuid)
