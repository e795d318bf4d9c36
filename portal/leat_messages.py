"""What a shop manager reads when a Leat call fails: never their fault unless it is."""

from __future__ import annotations

from .leat import (
    LeatAuthError,
    LeatError,
    LeatMaintenance,
    LeatMalformedResponse,
    LeatNotFound,
    LeatRateLimited,
    LeatUnavailable,
    LeatValidationError,
)


def manager_message(exc: LeatError) -> str:
    if isinstance(exc, LeatAuthError):
        return (
            "The portal's Leat token is invalid or expired, so Leat refused the request. "
            "Ask your administrator to renew it; what you entered is still here."
        )
    if isinstance(exc, LeatMaintenance):
        return "Leat is down for maintenance. Try again in a few minutes."
    if isinstance(exc, LeatRateLimited):
        wait = f" in {round(exc.retry_after)} seconds" if exc.retry_after else " in a moment"
        return f"Leat is receiving too many requests. Try again{wait}."
    if isinstance(exc, LeatUnavailable):
        if exc.status is not None:
            return f"Leat is having trouble (error {exc.status}). Try again in a moment."
        return "Leat could not be reached. Try again in a moment."
    if isinstance(exc, LeatMalformedResponse):
        return (
            "Leat sent an answer the portal could not read. "
            "Try again; if it persists, tell your administrator."
        )
    if isinstance(exc, LeatNotFound):
        return "Leat does not know this item (any more)."
    if isinstance(exc, LeatValidationError):
        return f"Leat did not accept this: {exc.leat_message or 'the input is invalid'}."
    return "Leat refused the request. Try again; if it persists, tell your administrator."


def status_for(exc: LeatError) -> int:
    """The portal's own status when a Leat call failed (the page still shows a form)."""
    if isinstance(exc, LeatValidationError):
        return 422
    if isinstance(exc, LeatMaintenance):
        return 503
    if isinstance(exc, LeatRateLimited):
        return 429
    if isinstance(exc, LeatNotFound):
        return 404
    return 502
