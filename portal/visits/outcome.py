"""What became of a create, a save or a retry: one answer for all three.

``Outcome`` holds facts only (the record, why it waits or was refused); the view
chooses the words when it renders them, so they can be translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ..leat import ErrorKind, LeatError
from ..models import Delivery, VisitRecord


class Result(StrEnum):
    CONFIRMED = "confirmed"  # Leat has the visit as the row shows it
    PENDING = "pending"  # kept by the portal; Leat has not confirmed it yet
    REFUSED = "refused"  # not done: the reasons say what to correct


class PortalReason(StrEnum):
    """Refusals the portal makes itself, before Leat is asked."""

    EXTERNAL_ID_IN_USE = "external_id_in_use"  # another record of the portal has it
    # Leat has a visit with it that this record did not make (a till's, another shop's).
    EXTERNAL_ID_TAKEN_AT_LEAT = "external_id_taken_at_leat"
    # Leat confirmed a visit that another record already holds (its uuid or external_id).
    NOT_STORED = "not_stored"
    # An end before the start, which an empty Starts at makes the moment of recording.
    ENDS_BEFORE_START = "ends_before_start"


class Note(StrEnum):
    """Something the manager should know beside the result."""

    REPEATED = "repeated"  # the same form came again: this is the first one's result
    ALREADY_CONFIRMED = "already_confirmed"  # a retry found nothing left to send
    NOTHING_CHANGED = "nothing_changed"  # a save without changes: nothing was sent
    IN_HAND = "in_hand"  # another sender holds the record and sends the latest values
    SET_ASIDE = "set_aside"  # kept in the portal, never sent


@dataclass(frozen=True)
class Reason:
    """Why something waits or was refused, as facts: the kind, and Leat's own code
    and message when Leat said something."""

    kind: ErrorKind | PortalReason
    code: int | None = None
    message: str | None = None

    @classmethod
    def of(cls, error: LeatError) -> Reason:
        return cls(error.kind, error.code, error.leat_message)

    @classmethod
    def of_record(cls, record: VisitRecord) -> Reason | None:
        if record.error_kind is None:
            return None
        return cls(reason_kind(record.error_kind), record.error_code, record.error_message)


def reason_kind(value: str) -> ErrorKind | PortalReason:
    """A stored kind back as its enum (Leat's kinds and the portal's share the column)."""
    if value in PortalReason._value2member_map_:
        return PortalReason(value)
    if value in ErrorKind._value2member_map_:
        return ErrorKind(value)
    return ErrorKind.UNKNOWN  # a kind an older or newer release wrote


@dataclass(frozen=True)
class Outcome:
    result: Result
    # None only for a refused create: nothing was kept.
    record: VisitRecord | None = None
    # Why it waits (pending) or why it was refused, when it is not about one field.
    reason: Reason | None = None
    # Refusals by the form's own field names.
    field_reasons: Mapping[str, tuple[Reason, ...]] = field(default_factory=dict)
    note: Note | None = None

    @classmethod
    def of_record(cls, record: VisitRecord, note: Note | None = None) -> Outcome:
        """The outcome a record's current state stands for."""
        result = {
            Delivery.CONFIRMED: Result.CONFIRMED,
            Delivery.PENDING: Result.PENDING,
            Delivery.ATTENTION: Result.REFUSED,
            Delivery.SET_ASIDE: Result.REFUSED,
        }[record.status]
        reason = None if result is Result.CONFIRMED else Reason.of_record(record)
        return cls(result, record, reason=reason, note=note)

    @classmethod
    def refused(
        cls,
        record: VisitRecord | None = None,
        reason: Reason | None = None,
        field_reasons: Mapping[str, tuple[Reason, ...]] | None = None,
    ) -> Outcome:
        return cls(Result.REFUSED, record, reason=reason, field_reasons=field_reasons or {})
