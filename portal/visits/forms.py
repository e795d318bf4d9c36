"""The create form and the row editor: they validate and convert, and call nobody."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..i18n import _, _l
from ..leat import EDITABLE_VISIT_FIELDS
from ..models import TIME_FIELDS
from .service import NewVisit
from .times import (
    CLOCK_PATTERN,
    DAY_PATTERN,
    LocalTimeError,
    parse_clock,
    parse_day,
    to_instant,
    to_wall,
    today_in,
)

# Leat's text fields are Laravel strings: at most 255 characters (and so are the
# portal's own columns for them).
MAX_TEXT = 255
TOO_LONG = _l("Enter at most %(max)d characters.")
DEFAULT_SOURCE = "Portal"
# The create form's one-time key as the portal makes it (uuid4().hex); anything else
# was not made by the portal and would not fit its column.
SUBMISSION_KEY = re.compile(r"[0-9a-f]{32}")


def no_control_characters(form, field):
    """No control character in a one-line text: nobody types one, PostgreSQL refuses
    NUL in text (a 500 instead of a message), and Leat would keep the rest unseen."""
    if field.data and any(unicodedata.category(char) == "Cc" for char in field.data):
        raise ValidationError(_("Remove the invisible control characters from this text."))


def portal_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["PORTAL_TIMEZONE"])


def portal_today() -> date:
    return today_in(portal_zone())


# The day and the times are plain text inputs, not <input type="date"/"time"> nor the
# datetime-local the form had. In Chromium a datetime-local is seven Tab stops and a
# date four (one per part, and the picker); an English browser shows them mm/dd/yyyy
# with AM/PM whatever the shop's habit; and a date takes a six-digit year (with a
# max, it quietly keeps the last four digits of one). A text input is one Tab stop,
# reads 24-hour and year-month-day in every browser, and takes a time typed the quick
# way (1430); the portal reads it (times.py) and says in words what it could not.
class DayField(StringField):
    """The visit's day, typed as 2026-05-01; ``data`` is a ``date``."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return  # not sent: the day stands as given (today, or the visit's)
        self.data = None
        if valuelist[0].strip():
            self.data = parse_day(valuelist[0], today=portal_today())

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if isinstance(self.data, date) else ""


class ClockField(StringField):
    """A time of day in ``PORTAL_TIMEZONE``, typed as 14:30 or 1430; ``data`` is a
    ``time`` to the minute. Given an aware instant (a visit's), it shows its wall clock."""

    def process_data(self, value):
        if isinstance(value, datetime):
            value = to_wall(value, portal_zone()).time().replace(second=0, microsecond=0)
        self.data = value

    def process_formdata(self, valuelist):
        if not valuelist:
            return  # not sent: the time stands as given
        self.data = None
        if valuelist[0].strip():
            self.data = parse_clock(valuelist[0])

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:%H:%M}" if isinstance(self.data, time) else ""


# The inputs say what the portal accepts (the form is ``novalidate``: the pattern only
# marks a slip, the portal's message explains it), a numeric keypad on a tablet for a
# time, and no browser history of earlier values dropping over the next field.
DAY_INPUT = {"pattern": DAY_PATTERN, "maxlength": 10, "autocomplete": "off"}
CLOCK_INPUT = {
    "pattern": CLOCK_PATTERN,
    "maxlength": 5,
    "inputmode": "numeric",
    "placeholder": "14:30",
    "autocomplete": "off",
}


def parse_contact(text: str) -> tuple[str, str]:
    """("uuid", canonical uuid) or ("email", normalised address); ValueError otherwise."""
    text = text.strip()
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        pass
    else:
        if len(text) == 36:  # the hyphenated form Leat uses, not any hex blob
            return "uuid", str(parsed)
    if "@" not in text:
        raise ValueError(_("Enter the contact's e-mail address or their Leat contact UUID."))
    try:
        address = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(_("This e-mail address is not valid.")) from None
    return "email", address.normalized


class VisitFieldsForm(FlaskForm):
    """What a visit's create form and row editor share."""

    # One day for both times: a visit at a shop does not cross midnight.
    date = DayField(_l("Date"), render_kw=DAY_INPUT)
    starts_at = ClockField(_l("Starts at"), render_kw=CLOCK_INPUT)
    ends_at = ClockField(_l("Ends at"), render_kw=CLOCK_INPUT)
    source = StringField(
        _l("Source"),
        validators=[Optional(), Length(max=MAX_TEXT, message=TOO_LONG), no_control_characters],
    )
    external_id = StringField(
        _l("External ID"),
        validators=[Optional(), Length(max=MAX_TEXT, message=TOO_LONG), no_control_characters],
    )

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        return self._place_in_time() and valid

    def _place_in_time(self) -> bool:
        """The day and each time as an aware instant (``self.instants``, None for an
        empty time); an error under the field that cannot make one."""
        self.instants: dict[str, datetime | None] = dict.fromkeys(TIME_FIELDS)
        day = self.date.data
        for name in TIME_FIELDS:
            field = self[name]
            if field.data is None or field.errors or self.date.errors:
                continue
            if day is None:
                self.date.errors.append(_("Enter the date of the visit."))
                continue
            try:
                self.instants[name] = self.instant(name, day, field.data)
            except LocalTimeError as exc:
                field.errors.append(str(exc))
        starts_at, ends_at = self.instants["starts_at"], self.instants["ends_at"]
        if starts_at and ends_at and ends_at <= starts_at:
            self.ends_at.errors.append(_("The end must be after the start."))
        return not (self.date.errors or self.starts_at.errors or self.ends_at.errors)

    def instant(self, name: str, day: date, clock: time) -> datetime:
        return to_instant(datetime.combine(day, clock), portal_zone())


class CreateVisitForm(VisitFieldsForm):
    contact = StringField(
        _l("Contact"),
        validators=[
            InputRequired(_l("Enter the contact's e-mail address or Leat contact UUID.")),
            Length(max=MAX_TEXT, message=TOO_LONG),
            no_control_characters,
        ],
    )
    create_contact = BooleanField(_l("Create the contact if new"))
    shop = SelectField(
        _l("Shop"),
        validators=[InputRequired(_l("Choose the shop of the visit."))],
        invalid_choice_message=_l("Choose one of your shops."),
    )
    # One key per filled-in form: the same form sent twice makes one visit.
    submission_key = HiddenField()
    submit = SubmitField(_l("Create visit"))

    def __init__(self, *args, shops=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.shop.choices = [(shop.uuid, shop.name) for shop in shops]
        if len(self.shop.choices) != 1:
            # With several shops, nothing is chosen for the manager by accident.
            self.shop.choices.insert(0, ("", _("Choose a shop…")))
        if self.source.data is None:
            self.source.data = DEFAULT_SOURCE
        if not self.submission_key.data:
            self.submission_key.data = uuid.uuid4().hex
        if self.date.data is None and self.date.raw_data is None:
            self.date.data = portal_today()  # a fresh form (not a sent one) is for today
        self.contact_kind: str | None = None

    def validate_contact(self, field):
        if field.errors:  # too long, or a control character: no need to parse it too
            return
        try:
            self.contact_kind, field.data = parse_contact(field.data or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_submission_key(self, field):
        # A key the portal did not make (a tampered or broken form) is ignored: the
        # visit is recorded with a fresh key, never looked up or stored as sent.
        if not SUBMISSION_KEY.fullmatch(field.data or ""):
            field.data = uuid.uuid4().hex

    def new_visit(self) -> NewVisit:
        """The validated form as the service takes it."""
        by_email = self.contact_kind == "email"
        return NewVisit(
            shop_uuid=self.shop.data,
            contact_uuid=None if by_email else self.contact.data,
            contact_email=self.contact.data if by_email else None,
            create_contact=bool(self.create_contact.data) and by_email,
            # An empty Starts at stays None, whatever the Date: the service makes it
            # the moment of recording.
            starts_at=self.instants["starts_at"],
            ends_at=self.instants["ends_at"],
            source=self.source.data or DEFAULT_SOURCE,
            external_id=self.external_id.data or None,
            submission_key=self.submission_key.data or None,
        )


class EditVisitForm(VisitFieldsForm):
    save = SubmitField(_l("Save"))

    def __init__(self, *args, visit, **kwargs):
        zone = portal_zone()
        shown_day = to_wall(visit.starts_at, zone).date() if visit.starts_at else None
        # Each time as the editor shows it: on the start's day, to the minute.
        self.shown = {
            name: (shown_day, to_wall(value, zone).time().replace(second=0, microsecond=0))
            for name in TIME_FIELDS
            if (value := getattr(visit, name)) is not None
        }
        super().__init__(*args, date=shown_day, **kwargs)
        self.visit = visit

    def instant(self, name: str, day: date, clock: time) -> datetime:
        if self.shown.get(name) == (day, clock):
            # Untouched, so no change: the visit's own instant, not the minute shown
            # (an empty Starts at is the second of recording), nor that wall time
            # read again (in the hour the clocks go back it names two instants; an
            # end on another day than the start would move).
            return getattr(self.visit, name)
        return super().instant(name, day, clock)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Leat keeps a value once set (clearing is unconfirmed, and the sandbox
        # refuses it), so a cleared field is stopped here, with a way out.
        for name in EDITABLE_VISIT_FIELDS:
            field = getattr(self, name)
            if getattr(self.visit, name) is not None and not field.data and not field.errors:
                field.errors.append(
                    _("Leat cannot clear this once it is set: enter a value, or Cancel.")
                )
                valid = False
        return valid

    def changes(self) -> dict:
        """Only what differs from the visit as Leat last answered it."""
        changed = {}
        for name in EDITABLE_VISIT_FIELDS:
            value = self.instants[name] if name in TIME_FIELDS else getattr(self, name).data
            if value not in (None, "") and value != getattr(self.visit, name):
                changed[name] = value
        return changed
