"""Typed failures of a Leat call.

Views turn each class into a message a shop manager understands; nothing above the
Leat client looks at HTTP status codes or error bodies.
"""

from __future__ import annotations

# Leat's documented error codes (``code`` in an error body).
INVALID_INPUT = 1003
SHOP_NOT_FOUND = 1008
CONTACT_NOT_FOUND = 55031


class LeatError(Exception):
    """Any failed Leat call. Carries Leat's ``code`` and ``message`` when it sent them."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        leat_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.leat_message = leat_message


class LeatRequestError(LeatError):
    """Leat refused the request for a reason none of the classes below names (e.g. 400, 409)."""


class LeatValidationError(LeatError):
    """Leat rejected the input (422). ``field_errors`` maps Leat's field names to messages."""

    def __init__(self, message: str, *, field_errors: dict[str, list[str]], **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.field_errors = field_errors


class LeatAuthError(LeatError):
    """The portal's token is wrong, expired or lacks rights (401/403): a configuration problem."""


class LeatNotFound(LeatError):
    """The visit, shop or contact does not exist at Leat (404, or codes 1008/55031)."""


class LeatRateLimited(LeatError):
    """Too many requests (429). ``retry_after`` is in seconds when Leat said so."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class LeatUnavailable(LeatError):
    """Leat could not be reached or failed (5xx, connection failure, timeout).

    ``may_have_happened`` is False only when the request surely never reached Leat
    (the connection could not be made): a create with an unknown outcome must be
    reconciled through its ``external_id``, never blindly sent again.
    """

    def __init__(self, message: str, *, may_have_happened: bool = True, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.may_have_happened = may_have_happened


class LeatMaintenance(LeatUnavailable):
    """Leat is in maintenance mode (503), whatever the body of its answer."""


class LeatMalformedResponse(LeatError):
    """Leat answered, but not in the documented shape (not JSON, no ``data``, bad values)."""
