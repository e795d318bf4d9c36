"""The words a shop manager reads about an outcome: chosen when a page is rendered,
from the facts the service returns (so they can be translated), never stored.

A problem at Leat is never the manager's fault unless it is: a refused token is the
administrator's to fix, an outage is Leat's, and only a refusal of what was typed
asks the manager to change something.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from ..i18n import _, _l
from ..leat import ErrorKind
from .outcome import Note, Outcome, PortalReason, Reason, Result, reason_kind
from .service import VisitRow

AUTH = _l(
    "The portal's Leat token is invalid or expired, so Leat refused the request. "
    "Ask your administrator to renew it; what you entered is still here."
)

REASONS = {
    ErrorKind.AUTH: AUTH,
    ErrorKind.ACCOUNT_INACTIVE: _l(
        "The portal's Leat account is inactive, so Leat refused the request. "
        "Ask your administrator; what you entered is still here."
    ),
    ErrorKind.NO_ACCESS: _l(
        "The portal's Leat token has no access to this Leat account. "
        "Ask your administrator; what you entered is still here."
    ),
    ErrorKind.MAINTENANCE: _l("Leat is down for maintenance. Try again in a few minutes."),
    ErrorKind.RATE_LIMITED: _l("Leat is receiving too many requests. Try again in a moment."),
    # A refused connection, a timeout and a 5xx alike: Leat did not do it, yet.
    ErrorKind.UNAVAILABLE: _l(
        "Leat is having trouble or cannot be reached. Try again in a moment."
    ),
    ErrorKind.MALFORMED: _l(
        "Leat sent an answer the portal could not read. "
        "Try again; if it persists, tell your administrator."
    ),
    ErrorKind.SHOP_NOT_FOUND: _l("Leat does not know this shop (any more). Choose another."),
    ErrorKind.VISIT_GONE: _l(
        "This visit no longer exists in Leat (it was deleted there). "
        "Record it again, or set it aside."
    ),
    ErrorKind.NOT_FOUND: _l("Leat does not know this item (any more)."),
    ErrorKind.CONTACT_LIMIT: _l(
        "Leat cannot add more contacts: the account's contact limit is reached. "
        "Ask your administrator."
    ),
    ErrorKind.CONTACT_EXISTS: _l("Leat already has this contact."),
    PortalReason.EXTERNAL_ID_IN_USE: _l("This external ID is already used by another visit."),
    PortalReason.ENDS_BEFORE_START: _l(
        "The end must be after the start, and an empty Starts at is now: "
        "enter the start, or a later end."
    ),
    PortalReason.NOT_STORED: _l(
        "Leat confirmed this visit, but another visit in the portal already holds the "
        "same Leat visit or external ID. Tell your administrator."
    ),
    PortalReason.EXTERNAL_ID_TAKEN_AT_LEAT: _l(
        "Leat already has another visit with this external ID. "
        "Edit this visit and give it another external ID."
    ),
}

# Leat's validation messages (1003) are Laravel's, in English, about Leat's field
# names ("The starts at must be a date before or equal to now.."): the ones the
# portal knows are said in its own words, in the manager's language; any other is
# shown as Leat's words.
_FIELD = r"The (?P<field>[a-z_ ]+?)(?: field)?"
LEAT_FIELD_MESSAGES = [
    (re.compile(_FIELD + r" is required\.*"), _l("Leat needs a value here.")),
    (
        re.compile(_FIELD + r" must be a date before or equal to now\.*"),
        _l("Leat does not take a visit that starts later than now: enter a time that has passed."),
    ),
    (
        re.compile(_FIELD + r" must be a date after or equal to starts at\.*"),
        _l("Leat needs the end to be after the start."),
    ),
    (
        re.compile(_FIELD + r" must be a valid date\.*"),
        _l("Leat could not read this as a date and time."),
    ),
    (
        re.compile(_FIELD + r" must not be greater than (?P<max>[0-9]+) characters\.*"),
        _l("Leat takes at most %(max)s characters here."),
    ),
    (
        re.compile(_FIELD + r" must be a valid email address\.*"),
        _l("Leat does not take this as an e-mail address."),
    ),
    (re.compile(_FIELD + r" must be a valid UUID\.*"), _l("Leat does not take this as a UUID.")),
]


def known_leat_words(message: str | None) -> str | None:
    """Leat's message about a field in the portal's words, when the portal knows it."""
    text = (message or "").strip()
    for pattern, words in LEAT_FIELD_MESSAGES:
        found = pattern.fullmatch(text)
        if found:
            return str(words) % {"max": found.groupdict().get("max") or ""}
    return None


class Tone(StrEnum):
    """How a message looks: green only when Leat confirmed."""

    DONE = "notice"
    WAITING = "waiting"
    REFUSED = "alert"


def reason_text(reason: Reason | None, *, by_email: bool = True) -> str:
    """A whole sentence (or two) for a reason, for the form or the page."""
    if reason is None:
        return _("Leat has not confirmed it yet.")
    if reason.kind is ErrorKind.CONTACT_NOT_FOUND:
        if by_email:
            return _(
                "Leat has no contact with this e-mail address. "
                "Tick “Create the contact if new” to add them."
            )
        return _("Leat has no contact with this UUID.")
    if reason.kind is ErrorKind.INVALID_INPUT:
        # One full stop, whatever Leat ended with ("…before or equal to now..").
        return known_leat_words(reason.message) or _(
            "Leat did not accept this: %(message)s.",
            message=(reason.message or _("the input is invalid")).strip().rstrip("."),
        )
    if reason.kind in REASONS:
        return str(REASONS[reason.kind])
    # Leat said something the portal has no words of its own for: its words, and
    # its code for whoever the manager asks.
    message = (reason.message or "").rstrip(".")
    if reason.code is not None:
        if message:
            return _(
                "Leat refused this: %(message)s (Leat's code %(code)s).",
                message=message,
                code=reason.code,
            )
        return _("Leat refused this without a reason (Leat's code %(code)s).", code=reason.code)
    if message:
        return _("Leat refused this: %(message)s.", message=message)
    return _("Leat refused this without a reason.")


def field_text(reason: Reason, *, by_email: bool = True) -> str:
    """Under a field, what Leat said about that field."""
    if reason.kind is ErrorKind.INVALID_INPUT and reason.message:
        return known_leat_words(reason.message) or _(
            "Leat says: %(message)s.", message=reason.message.strip().rstrip(".")
        )
    return reason_text(reason, by_email=by_email)


def delivered_message(row: VisitRow) -> tuple[str, Tone]:
    """What the page says when a row it shows pending turns out delivered meanwhile."""
    return done_message("retry", row.contact_label, row.shop_name), Tone.DONE


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
        return (
            _(
                "Leat already has the visit of %(contact)s; nothing was sent again.",
                contact=contact,
            ),
            Tone.DONE,
        )
    if outcome.note is Note.SET_ASIDE:
        # Not in Leat, and never sent: not a success to show in green.
        return (
            _(
                "The visit of %(contact)s is set aside: it stays in this list and is not sent "
                "to Leat.",
                contact=contact,
            ),
            Tone.WAITING,
        )
    if outcome.note is Note.NOTHING_CHANGED:
        # Nothing was sent: the visit stays where it stood (confirmed, waiting, refused).
        return (
            _("Nothing changed in the visit of %(contact)s, so nothing was sent.", contact=contact),
            STATE_TONES[outcome.result],
        )
    if outcome.result is Result.CONFIRMED:
        return done_message(action, contact, shop), Tone.DONE
    if outcome.result is Result.PENDING:
        from . import local_clock  # the filter the page uses (visits/__init__ imports this)

        if retry_at is not None:
            next_step = _(
                "The portal sends it again by itself at %(time)s; nothing needs to be typed again.",
                time=local_clock(retry_at),
            )
        else:
            next_step = _("The portal sends it again by itself; nothing needs to be typed again.")
        return (
            _(
                "The visit of %(contact)s is saved in the portal but not yet in Leat: "
                "%(reason)s %(next_step)s",
                contact=contact,
                reason=reason_text(outcome.reason),
                next_step=next_step,
            ),
            Tone.WAITING,
        )
    return (
        _(
            "Leat did not accept the visit of %(contact)s: %(reason)s",
            contact=contact,
            reason=reason_text(outcome.reason),
        ),
        Tone.REFUSED,
    )


def done_message(action: str, contact: str, shop: str) -> str:
    if action == "create":
        return _("Visit of %(contact)s at %(shop)s recorded.", contact=contact, shop=shop)
    if action == "save":
        return _("Visit of %(contact)s saved.", contact=contact)
    if action == "retry":
        return _("Visit of %(contact)s is now in Leat.", contact=contact)
    return _("Visit of %(contact)s recorded again in Leat.", contact=contact)


PAUSES = {
    ErrorKind.AUTH: _l("The portal's Leat token is invalid or expired — ask your administrator."),
    ErrorKind.ACCOUNT_INACTIVE: _l(
        "The portal's Leat account is inactive — ask your administrator."
    ),
    ErrorKind.NO_ACCESS: _l(
        "The portal's Leat token has no access to this Leat account — ask your administrator."
    ),
    ErrorKind.MAINTENANCE: _l("Leat is down for maintenance."),
    ErrorKind.RATE_LIMITED: _l("Leat asked the portal to slow down (too many requests)."),
}


def pause_reason(kind: str) -> str:
    """Why every delivery waits, for the page's queue status."""
    words = PAUSES.get(reason_kind(kind))
    return str(words) if words is not None else _("Leat is not taking visits at the moment.")
