"""What Leat answers, as small typed values.

Parsing is strict about what the portal needs (uuids, dates) and deaf to everything
else: Leat may add keys anywhere, and ``meta`` is ``[]`` on single objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import LeatMalformedResponse


@dataclass(frozen=True)
class Shop:
    uuid: str
    name: str
    type: str | None = None
    reference: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Shop:
        obj = _object(data, "shop")
        return cls(
            uuid=_required_str(obj, "uuid", "shop"),
            name=_optional_str(obj, "name") or "",
            type=_optional_str(obj, "type"),
            reference=_optional_str(obj, "reference"),
        )


@dataclass(frozen=True)
class Contact:
    uuid: str
    email: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Contact:
        obj = _object(data, "contact")
        return cls(uuid=_required_str(obj, "uuid", "contact"), email=_optional_str(obj, "email"))


@dataclass(frozen=True)
class Visit:
    uuid: str
    # None once the contact was deleted at Leat (its visits stay).
    contact: Contact | None
    external_id: str | None
    source: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime | None
    # Leat's object as it came, kept as the portal's snapshot of the visit.
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Visit:
        obj = _object(data, "visit")
        return cls(
            uuid=_required_str(obj, "uuid", "visit"),
            contact=Contact.from_json(obj["contact"]) if obj.get("contact") is not None else None,
            external_id=_optional_str(obj, "external_id"),
            source=_optional_str(obj, "source"),
            starts_at=_optional_datetime(obj, "starts_at"),
            ends_at=_optional_datetime(obj, "ends_at"),
            created_at=_optional_datetime(obj, "created_at"),
            raw=dict(obj),
        )


@dataclass(frozen=True)
class VisitPage:
    # Pagination as Laravel gives it; the portal relies on these to read every page.
    PAGINATION_KEYS = frozenset({"current_page", "last_page", "per_page", "total"})

    visits: list[Visit]
    current_page: int
    last_page: int
    per_page: int
    total: int
    # The pagination keys Leat sent (leat-check compares them with Laravel's).
    meta_keys: frozenset[str] = frozenset()

    @property
    def has_next(self) -> bool:
        return self.current_page < self.last_page

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> VisitPage:
        items = body.get("data")
        if not isinstance(items, list):
            raise LeatMalformedResponse("Leat's list of visits has no list under 'data'")
        visits = [Visit.from_json(item) for item in items]
        meta = body.get("meta")
        meta = meta if isinstance(meta, Mapping) else {}
        # Pagination keys are Laravel's; when one is missing, infer it from what came.
        current = _optional_int(meta, "current_page") or 1
        return cls(
            visits=visits,
            current_page=current,
            last_page=_optional_int(meta, "last_page") or current,
            per_page=_optional_int(meta, "per_page") or len(visits),
            total=_optional_int(meta, "total") or len(visits),
            meta_keys=frozenset(meta),
        )


def _object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise LeatMalformedResponse(f"Leat's {what} is not an object")
    return data


def _required_str(obj: Mapping[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise LeatMalformedResponse(f"Leat's {what} has no '{key}'")
    return value


def _optional_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise LeatMalformedResponse(f"Leat's '{key}' is not text")
    return value


def _optional_int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _optional_datetime(obj: Mapping[str, Any], key: str) -> datetime | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise LeatMalformedResponse(f"Leat's '{key}' is not a date")
    return parse_datetime(value, key)


def parse_datetime(value: str, key: str = "date") -> datetime:
    """ISO 8601 with an offset, as Leat sends it, into an aware datetime.

    A value without an offset cannot be placed in time; Leat's documented answers
    always carry one, so its absence is a malformed answer rather than a guess.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise LeatMalformedResponse(f"Leat's '{key}' is not an ISO 8601 date: {value!r}") from None
    if parsed.tzinfo is None:
        raise LeatMalformedResponse(f"Leat's '{key}' has no UTC offset: {value!r}")
    return parsed
