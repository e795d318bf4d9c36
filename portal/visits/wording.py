"""The words a shop manager reads about an outcome: chosen when a page is rendered,
from the facts the service returns (so they can be translated), never stored.

A problem at Leat is never the manager's fault unless it is: a refused token is the
administrator's to fix, an outage is Leat's, and only a refusal of what was typed
asks the manager to change something.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ..leat import ErrorKind
from .outcome import Note, Outcome, PortalReason, Reason, Result, reason_kind
from .service import VisitRow

AUTH = (
    "The portal's Leat token is invalid or expired, so Leat refused the request. "
    "Ask your administrator to renew it; what you entered is still here."
)

REASONS = {
    ErrorKind.AUTH: AUTH,
    ErrorKind.ACCOUNT_INACTIVE: (
        "The portal's Leat account is inactive, so Leat refused the request. "
        "Ask your administrator; what you entered is still here."
    ),
    ErrorKind.NO_ACCESS: (
        "The portal's Leat token has no access to this Leat account. "
        "Ask your administrator; what you entered is still here."
    ),
    ErrorKind.MAINTENANCE: "Leat is down for maintenance. Try again in a few minutes.",
    ErrorKind.RATE_LIMITED: "Leat is receiving too many requests. Try again in a moment.",
    # A refused connection, a timeout and a 5xx alike: Leat did not do it, yet.
    ErrorKind.UNAVAILABLE: "Leat is having trouble or cannot be reached. Try again in a moment.",
    ErrorKind.MALFORMED: (
        "Leat sent an answer the portal could not read. "
        "Try again; if it persists, tell your administrator."
    ),
    ErrorKind.SHOP_NOT_FOUND: "Leat does not know this shop (any more). Choose another.",
    ErrorKind.VISIT_GONE: (
        "This visit no longer exists in Leat (it was deleted there). "
        "Record it again, or set it aside."
    ),
    ErrorKind.NOT_FOUND: "Leat does not know this item (any more).",
    ErrorKind.CONTACT_LIMIT: (
        "Leat cannot add more contacts: the account's contact limit is reached. "
        "Ask your administrator."
    ),
    ErrorKind.CONTACT_EXISTS: "Leat already has this contact.",
    PortalReason.EXTERNAL_ID_IN_USE: "This external ID is already used by another visit.",
    PortalReason.ENDS_BEFORE_START: (
        "The end must be after the start, and an empty Starts at is now: "
        "enter the start, or a later end."
    ),
    PortalReason.NOT_STORED: (
        "Leat confirmed this visit, but another visit in the portal already holds the "
        "same Leat visit or external ID. Tell your administrator."
    ),
    PortalReason.EXTERNAL_ID_TAKEN_AT_LEAT: (
        "Leat already has another visit with this external ID. "
        "Edit this visit and give it another external ID."
    ),
}


class Tone(StrEnum):
    """How a message looks: green only when Leat confirmed."""

    DONE = "notice"
    WAITING = "waiting"
    REFUSED = "alert"


def reason_text(reason: Reason | None, *, by_email: bool = True) -> str:
    """A whole sentence (or two) for a reason, for the form or the page."""
    if reason is None:
        return "Leat has not confirmed it yet."
    if reason.kind is ErrorKind.CONTACT_NOT_FOUND:
        if by_email:
            return (
                "Leat has no contact with this e-mail address. "
                "Tick “Create the contact if new” to add them."
            )
        return "Leat has no contact with this UUID."
    if reason.kind is ErrorKind.INVALID_INPUT:
        return (
            f"Leat did not accept this: {(reason.message or 'the input is invalid').rstrip('.')}."
        )
    if reason.kind in REASONS:
        return REASONS[reason.kind]
    # Leat said something the portal has no words of its own for: its words, and
    # its code for whoever the manager asks.
    code = f" (Leat's code {reason.code})" if reason.code is not None else ""
    return f"Leat refused this: {(reason.message or 'no reason given').rstrip('.')}{code}."


def field_text(reason: Reason, *, by_email: bool = True) -> str:
    """Under a field, Leat's own words about that field are the most precise."""
    if reason.kind is ErrorKind.INVALID_INPUT and reason.message:
        return reason.message
    return reason_text(reason, by_email=by_email)


DONE = {
    "create": "Visit of {contact} at {shop} recorded.",
    "save": "Visit of {contact} saved.",
    "retry": "Visit of {contact} is now in Leat.",
    "record_again": "Visit of {contact} recorded again in Leat.",
}


# The tone of a message follows where the visit stands in Leat, whatever was done.
STATE_TONES = {
    Result.CONFIRMED: Tone.DONE,
    Result.PENDING: Tone.WAITING,
    Result.REFUSED: Tone.REFUSED,
}


def outcome_message(
    action: str, outcome: Outcome, row: VisitRow, retry_at: datetime | None = None
) -> tuple[str, Tone]:
    """What the page says after ``action`` ("create", "save", "retry"), and its tone:
    green only when Leat has the visit as shown, amber while it waits (with when the
    portal tries again, ``retry_at``), red when Leat refused it (with what to do)."""
    contact, shop = row.contact_label, row.shop_name
    if outcome.note is Note.ALREADY_CONFIRMED:
        return f"Leat already has the visit of {contact}; nothing was sent again.", Tone.DONE
    if outcome.note is Note.SET_ASIDE:
        # Not in Leat, and never sent: not a success to show in green.
        return (
            f"The visit of {contact} is set aside: it stays in this list and is not sent to Leat.",
            Tone.WAITING,
        )
    if outcome.note is Note.NOTHING_CHANGED:
        # Nothing was sent: the visit stays where it stood (confirmed, waiting, refused).
        return (
            f"Nothing changed in the visit of {contact}, so nothing was sent.",
            STATE_TONES[outcome.result],
        )
    if outcome.result is Result.CONFIRMED:
        return DONE[action].format(contact=contact, shop=shop), Tone.DONE
    if outcome.result is Result.PENDING:
        from . import local_clock  # the filter the page uses (visits/__init__ imports this)

        if retry_at is not None:
            next_step = (
                f"The portal sends it again by itself at {local_clock(retry_at)}; "
                "nothing needs to be typed again."
            )
        else:
            next_step = "The portal sends it again by itself; nothing needs to be typed again."
        return (
            f"The visit of {contact} is saved in the portal but not yet in Leat: "
            f"{reason_text(outcome.reason)} {next_step}",
            Tone.WAITING,
        )
    return (
        f"Leat did not accept the visit of {contact}: {reason_text(outcome.reason)}",
        Tone.REFUSED,
    )


PAUSES = {
    ErrorKind.AUTH: "The portal's Leat token is invalid or expired — ask your administrator.",
    ErrorKind.ACCOUNT_INACTIVE: "The portal's Leat account is inactive — ask your administrator.",
    ErrorKind.NO_ACCESS: (
        "The portal's Leat token has no access to this Leat account — ask your administrator."
    ),
    ErrorKind.MAINTENANCE: "Leat is down for maintenance.",
    ErrorKind.RATE_LIMITED: "Leat asked the portal to slow down (too many requests).",
}


def pause_reason(kind: str) -> str:
    """Why every delivery waits, for the page's queue status."""
    return PAUSES.get(reason_kind(kind), "Leat is not taking visits at the moment.")
