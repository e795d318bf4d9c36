"""The create form and the row editor: they validate and convert, and call nobody."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..leat import EDITABLE_VISIT_FIELDS
from .service import NewVisit
from .times import LocalTimeError, to_instant, to_wall

# Leat's text fields are Laravel strings: at most 255 characters (and so are the
# portal's own columns for them).
MAX_TEXT = 255
DEFAULT_SOURCE = "Portal"
# The create form's one-time key as the portal makes it (uuid4().hex); anything else
# was not made by the portal and would not fit its column.
SUBMISSION_KEY = re.compile(r"[0-9a-f]{32}")


def no_control_characters(form, field):
    """No control character in a one-line text: nobody types one, PostgreSQL refuses
    NUL in text (a 500 instead of a message), and Leat would keep the rest unseen."""
    if field.data and any(unicodedata.category(char) == "Cc" for char in field.data):
        raise ValidationError("Remove the invisible control characters from this text.")


def portal_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["PORTAL_TIMEZONE"])


class LocalDateTimeField(DateTimeLocalField):
    """A ``datetime-local`` input typed in the portal's time zone; ``data`` is aware."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format="%Y-%m-%dT%H:%M", **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            try:
                self.data = to_instant(self.data, portal_zone())
            except LocalTimeError as exc:
                self.data = None
                raise ValueError(str(exc)) from None

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        if isinstance(self.data, datetime) and self.data.tzinfo is not None:
            return to_wall(self.data, portal_zone()).strftime(self.format[0])
        return ""


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
        raise ValueError("Enter the contact's e-mail address or their Leat contact UUID.")
    try:
        address = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"This e-mail address is not valid: {exc}") from None
    return "email", address.normalized


class VisitFieldsForm(FlaskForm):
    """What a visit's create form and row editor share."""

    starts_at = LocalDateTimeField("Starts at", validators=[Optional()])
    ends_at = LocalDateTimeField("Ends at", validators=[Optional()])
    source = StringField(
        "Source", validators=[Optional(), Length(max=MAX_TEXT), no_control_characters]
    )
    external_id = StringField(
        "External ID", validators=[Optional(), Length(max=MAX_TEXT), no_control_characters]
    )

    def validate_ends_at(self, field):
        if field.data and self.starts_at.data and field.data <= self.starts_at.data:
            raise ValidationError("The end must be after the start.")


class CreateVisitForm(VisitFieldsForm):
    contact = StringField(
        "Contact",
        validators=[
            InputRequired("Enter the contact's e-mail address or Leat contact UUID."),
            Length(max=MAX_TEXT),
            no_control_characters,
        ],
    )
    create_contact = BooleanField("Create the contact if new")
    shop = SelectField("Shop", validators=[InputRequired("Choose the shop of the visit.")])
    # One key per filled-in form: the same form sent twice makes one visit.
    submission_key = HiddenField()
    submit = SubmitField("Create visit")

    def __init__(self, *args, shops=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.shop.choices = [(shop.uuid, shop.name) for shop in shops]
        if len(self.shop.choices) != 1:
            # With several shops, nothing is chosen for the manager by accident.
            self.shop.choices.insert(0, ("", "Choose a shop…"))
        if self.source.data is None:
            self.source.data = DEFAULT_SOURCE
        if not self.submission_key.data:
            self.submission_key.data = uuid.uuid4().hex
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
            starts_at=self.starts_at.data,
            ends_at=self.ends_at.data,
            source=self.source.data or DEFAULT_SOURCE,
            external_id=self.external_id.data or None,
            submission_key=self.submission_key.data or None,
        )


class EditVisitForm(VisitFieldsForm):
    save = SubmitField("Save")

    def __init__(self, *args, visit, **kwargs):
        super().__init__(*args, **kwargs)
        self.visit = visit

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Leat keeps a value once set (clearing is unconfirmed, and the sandbox
        # refuses it), so a cleared field is stopped here, with a way out.
        for name in EDITABLE_VISIT_FIELDS:
            field = getattr(self, name)
            if getattr(self.visit, name) is not None and not field.data and not field.errors:
                field.errors.append(
                    "Leat cannot clear this once it is set: enter a value, or Cancel."
                )
                valid = False
        return valid

    def changes(self) -> dict:
        """Only what differs from the visit as Leat last answered it."""
        changed = {}
        for name in EDITABLE_VISIT_FIELDS:
            value = getattr(self, name).data
            if value not in (None, "") and value != _as_shown(getattr(self.visit, name)):
                changed[name] = value
        return changed


def _as_shown(value):
    """A time as the editor shows it (to the minute): an untouched field whose visit
    has seconds (an empty Starts at is the second of recording) is no change."""
    if isinstance(value, datetime):
        return value.replace(second=0, microsecond=0)
    return value
