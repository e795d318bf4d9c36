"""The search form above the list: what a manager asks for, checked and converted into
a ``VisitFilter``. It is a GET form: its values are the page's URL, so Back, bookmarks
and the links to other pages and to the download keep them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from wtforms import DateField, Form, SearchField, SelectField
from wtforms.validators import Length, Optional, ValidationError

from ..i18n import _, _l, format_wall
from .forms import MAX_TEXT, portal_zone
from .queries import Order, VisitFilter

ORDERS = [(Order.START.value, _l("Visit start")), (Order.RECORDED.value, _l("When recorded"))]
# Leat began long after 2000; the bounds keep a mistyped year (0202, 20266) from
# reaching the database as a date it cannot hold, or Python as one it cannot shift.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2999, 12, 31)


def _printable(value):
    """Typed text without control characters (PostgreSQL refuses a NUL in text), and
    without the spaces around it."""
    if not isinstance(value, str):
        return value
    return "".join(character for character in value if character.isprintable()).strip()


class DayField(DateField):
    """A day (``<input type="date">``), said in the portal's words when it is not one."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Enter a date as YYYY-MM-DD, for example 2026-05-01.")) from None


def _within_range(form, field):
    if field.data is not None and not EARLIEST_DAY <= field.data <= LATEST_DAY:
        raise ValidationError(
            _(
                "Enter a date between %(first)s and %(last)s.",
                first=format_wall(EARLIEST_DAY, "long_day"),
                last=format_wall(LATEST_DAY, "long_day"),
            )
        )


class FindVisitsForm(Form):
    """Every field may stay empty: an empty form lists every visit, newest first.
    Ids are prefixed: the create form above has a Shop too."""

    q = SearchField(
        _l("Search visits"),
        validators=[
            Optional(),
            Length(max=MAX_TEXT, message=_l("Search for at most %(max)d characters.")),
        ],
        filters=[_printable],
        id="find-q",
    )
    shop = SelectField(_l("Shop"), default="", validate_choice=False, id="find-shop")
    starts_from = DayField(
        _l("From"), validators=[Optional(), _within_range], name="from", id="find-from"
    )
    starts_to = DayField(_l("To"), validators=[Optional(), _within_range], name="to", id="find-to")
    order = SelectField(
        _l("Newest first by"),
        default=Order.START.value,
        id="find-order",
        invalid_choice_message=_l("Choose one of the orders offered."),
    )

    def __init__(self, formdata, *, shops=()):
        super().__init__(formdata)
        self.order.choices = list(ORDERS)
        self.shop.choices = [("", _("All shops")), *((shop.uuid, shop.name) for shop in shops)]
        if self.shop.data and self.shop.data not in {value for value, _ in self.shop.choices}:
            # One of the manager's shops that Leat does not list (any more, or just now):
            # its visits can still be found, under its uuid.
            self.shop.choices.append((self.shop.data, self.shop.data))

    def validate_shop(self, field):
        # The view answers 404 for a shop that is not the manager's; this is for what
        # cannot be a shop at all (a manager of every shop may name any uuid).
        if field.data and not _is_uuid(field.data):
            raise ValidationError(_("Choose one of your shops."))

    def validate_starts_to(self, field):
        if field.data and self.starts_from.data and field.data < self.starts_from.data:
            raise ValidationError(_("“To” is before “From”: choose a later day."))

    @property
    def narrowing(self) -> bool:
        """Whether anything but the order is asked for: the list is not every visit."""
        return bool(self.q.data or self.shop.data or self.starts_from.data or self.starts_to.data)

    def visit_filter(self) -> VisitFilter:
        """The validated form as the queries take it: the days as instants in the
        portal's zone, "To" including its whole day."""
        zone = portal_zone()

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time.min, tzinfo=zone)

        to = self.starts_to.data
        return VisitFilter(
            text=self.q.data or "",
            shop_uuid=self.shop.data or None,
            starts_from=midnight(self.starts_from.data) if self.starts_from.data else None,
            starts_before=midnight(to + timedelta(days=1)) if to else None,
            order=Order(self.order.data),
        )

    def args(self, page: int = 1) -> dict[str, str | int]:
        """What the form asks for (and which page of it), as URL arguments: only what
        differs from the empty form, so a link or a bookmark is as short as it can be."""
        args: dict[str, str | int] = {}
        if self.q.data:
            args["q"] = self.q.data
        if self.shop.data:
            args["shop"] = self.shop.data
        if self.starts_from.data:
            args["from"] = self.starts_from.data.isoformat()
        if self.starts_to.data:
            args["to"] = self.starts_to.data.isoformat()
        if self.order.data and self.order.data != Order.START.value:
            args["order"] = self.order.data
        if page > 1:
            args["page"] = page
        return args


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False
