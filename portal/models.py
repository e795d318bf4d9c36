"""What the portal must remember because Leat cannot tell it.

A Leat visit carries no shop, and Leat cannot list visits by shop: the portal keeps,
for every visit created or edited through it, the shop and contact it belongs to and
the last snapshot Leat returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from .database import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in and out; SQLite forgets the zone, so UTC is put back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the portal stores aware datetimes only")
        # SQLite keeps the wall clock and drops the offset: an instant in another zone
        # (a day's start in PORTAL_TIMEZONE, compared in a filter) must be UTC first.
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def result_processor(self, dialect, coltype):
        if dialect.name == "sqlite":
            # SQLite hands back the text it keeps ("2026-05-01 10:00:00.000000", UTC):
            # read with the offset added, it is aware at once. SQLAlchemy's parse and
            # then ``replace(tzinfo=UTC)`` cost four times as much, and a page reads 350.
            return _utc_from_sqlite
        return super().result_processor(dialect, coltype)


def _utc_from_sqlite(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:  # a value written with its offset (by hand, not by the portal)
        instant = datetime.fromisoformat(value)
        return instant.astimezone(UTC) if instant.tzinfo else instant.replace(tzinfo=UTC)


class Delivery(StrEnum):
    """Where a record stands with Leat."""

    CONFIRMED = "confirmed"  # Leat has it as the snapshot says
    PENDING = "pending"  # a create or an edit Leat has not confirmed yet
    ATTENTION = "attention"  # Leat refused it; a manager must correct it
    SET_ASIDE = "set_aside"  # a manager chose to leave it out of Leat; kept as a record


class ChangeKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"


TIME_FIELDS = ("starts_at", "ends_at")


@dataclass(frozen=True)
class PendingChange:
    """What still has to reach Leat for a record: a whole create, or the fields of an
    update (with the update it replaced, so a refusal can restore it)."""

    kind: ChangeKind
    fields: Mapping[str, Any] = field(default_factory=dict)
    previous: PendingChange | None = None
    # A create's every version sent to Leat so far: an attempt whose answer was lost
    # may have made any of them, and only a visit equal to one of them is ours.
    sent: tuple[Mapping[str, Any], ...] = ()

    def with_fields(self, changes: Mapping[str, Any]) -> PendingChange:
        return replace(self, fields={**self.fields, **changes})

    def sending(self, payload: Mapping[str, Any]) -> PendingChange:
        if payload in self.sent:
            return self
        return replace(self, sent=(*self.sent, dict(payload)))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "fields": _to_json(self.fields),
            "previous": self.previous.to_json() if self.previous else None,
            "sent": [_to_json(payload) for payload in self.sent],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PendingChange:
        return cls(
            kind=ChangeKind(data["kind"]),
            fields=_from_json(data.get("fields", {})),
            previous=cls.from_json(data["previous"]) if data.get("previous") else None,
            sent=tuple(_from_json(payload) for payload in data.get("sent", ())),
        )


def _to_json(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}


def _from_json(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: datetime.fromisoformat(v) if k in TIME_FIELDS and isinstance(v, str) else v
        for k, v in fields.items()
    }


class PendingChangeType(TypeDecorator):
    """A ``PendingChange`` kept as JSON. Frozen, so every change assigns a new value
    and SQLAlchemy sees it."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return value.to_json() if value is not None else None

    def process_result_value(self, value, dialect):
        return PendingChange.from_json(value) if value is not None else None


def _enum_column(enum: type[StrEnum], length: int) -> Enum:
    # Stored as its plain value in a VARCHAR: no database enum type to migrate when
    # a value is added.
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


class VisitRecord(db.Model):
    __tablename__ = "visit_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null until Leat has confirmed the visit (a create whose answer never came).
    leat_uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    shop_uuid: Mapped[str] = mapped_column(String(36))
    # Null while a pending create still has to look the contact up by e-mail.
    contact_uuid: Mapped[str | None] = mapped_column(String(36))
    contact_email: Mapped[str | None] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who recorded the visit and who last changed it, as their launch link named them.
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_by_name: Mapped[str | None] = mapped_column(String(255))
    updated_by: Mapped[str | None] = mapped_column(String(255))
    updated_by_name: Mapped[str | None] = mapped_column(String(255))
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    status: Mapped[Delivery] = mapped_column(
        _enum_column(Delivery, 16), default=Delivery.CONFIRMED, server_default="confirmed"
    )
    pending: Mapped[PendingChange | None] = mapped_column(PendingChangeType)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A sender (web request, worker, Retry now) holds the record until then; a sender
    # that dies lets its claim run out, and the record is delivered by the next one.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why the last attempt failed, as facts (wording is chosen when a page shows it).
    # An ErrorKind (Leat's) or a PortalReason (the portal's own refusal), by value.
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[int | None] = mapped_column()
    error_message: Mapped[str | None] = mapped_column(Text)
    # The create form's one-time key: a repeated submission finds the first result.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # The visit's start and source as the record means them, copied out of the JSON
    # (the snapshot, the unsent change) so the list can filter and sort by them in SQL.
    # Kept by ``note_intended`` before every write (see the listener below).
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_visit_records_shop_created", "shop_uuid", "created_at"),
        # The page's order for a manager of all shops (see migration 0004).
        Index("ix_visit_records_newest_first", "created_at", "id"),
        Index("ix_visit_records_due", "status", "next_attempt_at"),
        # The list's default order (visit start, newest first), for a manager of all
        # shops and for one shop (migration 0008).
        Index("ix_visit_records_starts_first", "starts_at", "id"),
        Index("ix_visit_records_shop_starts", "shop_uuid", "starts_at", "id"),
        # "Search visits" is a case-insensitive substring of any of these three. On
        # PostgreSQL a trigram GIN index answers ILIKE '%…%' without reading every row;
        # on SQLite it is a plain index, which a count can read instead of the wide rows.
        Index(
            "ix_visit_records_search",
            "contact_email",
            "external_id",
            "source",
            postgresql_using="gin",
            postgresql_ops={
                "contact_email": "gin_trgm_ops",
                "external_id": "gin_trgm_ops",
                "source": "gin_trgm_ops",
            },
        ),
    )

    def created_by_manager(self, manager) -> None:
        self.created_by, self.created_by_name = manager.id, manager.name

    def edited_by_manager(self, manager) -> None:
        self.updated_by, self.updated_by_name = manager.id, manager.name
        self.edited_at = utcnow()

    def note_error(self, kind: StrEnum, code: int | None, message: str | None) -> None:
        self.error_kind, self.error_code, self.error_message = kind.value, code, message

    def clear_error(self) -> None:
        self.error_kind = self.error_code = self.error_message = None

    def remember(self, visit) -> None:
        """Take Leat's answer as the latest truth about this visit."""
        self.leat_uuid = visit.uuid
        if visit.contact is not None:  # null once the contact was deleted at Leat
            self.contact_uuid = visit.contact.uuid
            self.contact_email = visit.contact.email or self.contact_email
        self.external_id = visit.external_id
        self.snapshot = dict(visit.raw)
        self.snapshot_at = utcnow()

    def note_intended(self) -> None:
        """Copy the visit's start and source, as the record means them, into their
        columns: Leat's snapshot with any unsent change on top, or the unsent create
        (as ``service.intended_visit`` reads them). A record whose start is unknown
        sorts by when it was recorded."""
        fields = self.pending.fields if self.pending is not None else {}
        snapshot = self.snapshot or {}
        starts_at = fields.get("starts_at") or _instant(snapshot.get("starts_at"))
        starts_at = starts_at or self.created_at or utcnow()
        self.starts_at = starts_at.astimezone(UTC)  # as it reads back from the database
        source = fields.get("source")
        self.source = source if source is not None else snapshot.get("source")


@event.listens_for(VisitRecord, "before_insert")
@event.listens_for(VisitRecord, "before_update")
def _note_intended(mapper, connection, record: VisitRecord) -> None:
    # One place for every writer (the service, delivery, the worker, record again, a
    # refusal's undo): whatever changed the snapshot or the pending change, the
    # columns the list searches follow it in the same statement.
    record.note_intended()


def _instant(value: Any) -> datetime | None:
    """Leat's ISO 8601 time from a snapshot, or None when there is none to read."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class DeliveryPause(db.Model):
    """While Leat refuses the portal as a whole (token, account, too many requests,
    maintenance), every delivery waits: the worker sends one record as a probe when
    ``until`` comes, not every record. One row at most; none when Leat is fine."""

    __tablename__ = "delivery_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # an ErrorKind's value
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    probes: Mapped[int] = mapped_column(default=0, server_default="0")


class ManagerSession(db.Model):
    """A signed-in manager's session, kept on the server (portal/auth/sessions.py).

    The cookie holds only a random key; this row holds its SHA-256, so a copy of the
    database signs nobody in."""

    __tablename__ = "manager_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    manager_id: Mapped[str] = mapped_column(String(255), index=True)
    # What Flask's ``session`` holds: the manager, the CSRF token, flash messages.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UsedLaunchToken(db.Model):
    """The ``jti`` of every launch token used, kept until it can no longer be accepted:
    each works once."""

    __tablename__ = "used_launch_tokens"

    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    # When the id may be forgotten: the token's exp plus the leeway verify() allows.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
