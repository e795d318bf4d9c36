"""What the portal must remember because Leat cannot tell it.

A Leat visit carries no shop, and Leat cannot list visits by shop: the portal keeps,
for every visit created or edited through it, the shop and contact it belongs to and
the last snapshot Leat returned.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String, Text
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
        if value is not None and value.tzinfo is None:
            raise ValueError("the portal stores aware datetimes only")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# A record's delivery state. Confirmed: Leat has it as the snapshot says. Pending: a
# create or an edit whose outcome Leat has not confirmed yet; the worker (or Retry
# now) delivers it. Attention: Leat refused it; the manager must correct it.
CONFIRMED = "confirmed"
PENDING = "pending"
ATTENTION = "attention"


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

    status: Mapped[str] = mapped_column(String(16), default=CONFIRMED, server_default=CONFIRMED)
    # What still has to reach Leat: {"kind": "create" | "update", "fields": {...}}.
    pending: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A sender (web request, worker, Retry now) holds the record until then; a sender
    # that dies lets its claim run out, and the record is delivered by the next one.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_kind: Mapped[str | None] = mapped_column(String(32))
    # The create form's one-time key: a repeated submission finds the first result.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_visit_records_shop_created", "shop_uuid", "created_at"),
        # The page's order for a manager of all shops (see migration 0004).
        Index("ix_visit_records_newest_first", "created_at", "id"),
        Index("ix_visit_records_due", "status", "next_attempt_at"),
    )

    def created_by_manager(self, manager) -> None:
        self.created_by, self.created_by_name = manager.id, manager.name

    def edited_by_manager(self, manager) -> None:
        self.updated_by, self.updated_by_name = manager.id, manager.name
        self.edited_at = utcnow()

    def remember(self, visit) -> None:
        """Take Leat's answer as the latest truth about this visit."""
        self.leat_uuid = visit.uuid
        self.contact_uuid = visit.contact.uuid
        self.contact_email = visit.contact.email or self.contact_email
        self.external_id = visit.external_id
        self.snapshot = dict(visit.raw)
        self.snapshot_at = utcnow()


class UsedLaunchToken(db.Model):
    """The ``jti`` of every launch token used, kept until it expires: each works once."""

    __tablename__ = "used_launch_tokens"

    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
