"""Typed failures of a Leat call.

Nothing above the Leat client looks at HTTP statuses, error bodies or Leat's codes:
each failure says what kind of problem it is (``ErrorKind``), and carries Leat's own
``code`` and ``message`` as facts to record and show.
"""

from __future__ import annotations

from enum import StrEnum

# Leat's documented error codes (``code`` in an error body; see shared/leat-api.md).
INVALID_INPUT = 1003
SHOP_NOT_FOUND = 1008
CONTACT_NOT_FOUND = 55031
MODEL_NOT_FOUND = 60013
USAGE_LIMIT_REACHED = 60000
CONTACT_EXISTS = 60005
ACCOUNT_INACTIVE = 7002
NO_ACCESS_TO_ACCOUNT = 7011


class ErrorKind(StrEnum):
    """What went wrong, as the portal acts on it. The values are stored with records."""

    INVALID_INPUT = "invalid_input"
    CONTACT_NOT_FOUND = "contact_not_found"
    SHOP_NOT_FOUND = "shop_not_found"
    VISIT_GONE = "visit_gone"
    NOT_FOUND = "not_found"
    CONTACT_LIMIT = "contact_limit"
    CONTACT_EXISTS = "contact_exists"
    AUTH = "auth"
    ACCOUNT_INACTIVE = "account_inactive"
    NO_ACCESS = "no_access"
    RATE_LIMITED = "rate_limited"
    MAINTENANCE = "maintenance"
    UNAVAILABLE = "unavailable"
    MALFORMED = "malformed"
    # Leat refused with a code (or a status) the portal does not know: its own words
    # are all there is, and nothing says that trying again would help.
    UNKNOWN = "unknown"


# Kinds after which Leat may take the same request later, unchanged.
TRANSIENT = frozenset(
    {
        ErrorKind.AUTH,
        ErrorKind.ACCOUNT_INACTIVE,
        ErrorKind.NO_ACCESS,
        ErrorKind.RATE_LIMITED,
        ErrorKind.MAINTENANCE,
        ErrorKind.UNAVAILABLE,
        ErrorKind.MALFORMED,
    }
)

# The kind each documented code means, whatever the HTTP status it came with.
KIND_OF_CODE = {
    INVALID_INPUT: ErrorKind.INVALID_INPUT,
    SHOP_NOT_FOUND: ErrorKind.SHOP_NOT_FOUND,
    CONTACT_NOT_FOUND: ErrorKind.CONTACT_NOT_FOUND,
    MODEL_NOT_FOUND: ErrorKind.VISIT_GONE,
    USAGE_LIMIT_REACHED: ErrorKind.CONTACT_LIMIT,
    CONTACT_EXISTS: ErrorKind.CONTACT_EXISTS,
    ACCOUNT_INACTIVE: ErrorKind.ACCOUNT_INACTIVE,
    NO_ACCESS_TO_ACCOUNT: ErrorKind.NO_ACCESS,
}


class LeatError(Exception):
    """Any failed Leat call. Carries Leat's ``code`` and ``message`` when it sent them."""

    default_kind = ErrorKind.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        leat_message: str | None = None,
        kind: ErrorKind | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.leat_message = leat_message
        self.kind = kind or self.default_kind
        # Messages per field, keyed by the client's own argument names (which are
        # Leat's field names); empty unless Leat named fields.
        self.field_errors: dict[str, list[str]] = {}

    @property
    def transient(self) -> bool:
        """True when the same request may succeed later without anyone changing it."""
        return self.kind in TRANSIENT


class LeatRequestError(LeatError):
    """Leat refused the request for a reason none of the classes below names."""


class LeatValidationError(LeatError):
    """Leat rejected the input (``1003``). ``field_errors`` maps fields to messages."""

    default_kind = ErrorKind.INVALID_INPUT

    def __init__(self, message: str, *, field_errors: dict[str, list[str]], **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.field_errors = field_errors


class LeatAuthError(LeatError):
    """The portal's token or account cannot be used (401/403, ``7002``, ``7011``):
    a configuration problem, never the manager's."""

    default_kind = ErrorKind.AUTH


class LeatNotFound(LeatError):
    """The visit, shop or contact does not exist at Leat (``60013``, ``1008``, ``55031``)."""

    default_kind = ErrorKind.NOT_FOUND


class LeatRateLimited(LeatError):
    """Too many requests (429). ``retry_after`` is in seconds when Leat said so."""

    default_kind = ErrorKind.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class LeatUnavailable(LeatError):
    """Leat could not be reached or failed (5xx, connection failure, timeout).

    ``may_have_happened`` is False only when the request surely never reached Leat
    (the connection could not be made): a create with an unknown outcome must be
    reconciled through its ``external_id``, never blindly sent again.
    """

    default_kind = ErrorKind.UNAVAILABLE

    def __init__(self, message: str, *, may_have_happened: bool = True, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.may_have_happened = may_have_happened


class LeatMaintenance(LeatUnavailable):
    """Leat is in maintenance mode (503), whatever the body of its answer."""

    default_kind = ErrorKind.MAINTENANCE


class LeatMalformedResponse(LeatError):
    """Leat answered, but not in the documented shape (not JSON, no ``data``, bad values)."""

    default_kind = ErrorKind.MALFORMED
