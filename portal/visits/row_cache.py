"""Rendered table rows of confirmed visits, kept per process by record version.

The page renders 50 rows on every load. Kept because a measurement shows it pays
when rows are shown again unchanged: ``.venv/bin/python bench/page_cost.py``
(2026-11-26, quiet 2-core machine, medians of 3 runs of 300 loads) puts a page of 50
unchanged confirmed rows at 4.37 ms of CPU with the cache against 5.68 ms without,
0.77 (23 % cheaper; the rule for keeping it was at least 20 %). A miss costs more
than a plain include (key, lock, a separate render): with every row changed between
loads, 6.62 against 5.80 ms, 1.14. So the page is 20 % cheaper only while about 92 %
of its rows are hits in the same process, and dearer than without the cache once
more than about 60 % miss.

A confirmed row's markup depends only on its record (whose ``updated_at`` moves with
every change, whoever makes it: a web request, the worker, another instance), its
shop's name, the day (an edit made today shows its time alone), the URL prefix and
the language.
Rows waiting for Leat carry a CSRF token for Retry now, so they are always rendered
afresh.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Final

from flask import current_app, g, request
from markupsafe import Markup

from ..i18n import N_, Words, current_language
from ..models import Delivery
from .forms import portal_zone
from .service import VisitRow

# The row's fixed words (templates/visits/_row.html), translated once per language.
ROW_WORDS = Words(
    contact=N_("Contact"),
    shop=N_("Shop"),
    starts_at=N_("Starts at"),
    ends_at=N_("Ends at"),
    source=N_("Source"),
    external_id=N_("External ID"),
    created=N_("Created"),
    pending=N_("Pending — not yet confirmed by Leat"),
    attention=N_("Needs attention"),
    set_aside=N_("Set aside — not in Leat"),
    by=N_("by %(name)s"),
    edited_by=N_("edited by %(name)s, %(when)s"),
    record_again=N_("Record again"),
    retry=N_("Retry now"),
    put_aside=N_("Set aside"),
    edit=N_("Edit"),
    # After a button's word, which visit it is for: "Edit visit of anna@…, 1 May 2026, 10:00".
    which=N_("visit of %(contact)s, %(when)s"),
)
# The first ten pages of a busy chain; about 1.3 KB each, so well under a megabyte.
ROWS_KEPT: Final = 500
EXTENSION: Final = "visit_row_cache"


class RowCache:
    """At most ``size`` rendered rows, the least recently shown dropped first."""

    def __init__(self, size: int = ROWS_KEPT) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._rows: OrderedDict[Hashable, Markup] = OrderedDict()

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._rows

    def get(self, key: Hashable, render: Callable[[], Markup]) -> Markup:
        with self._lock:
            html = self._rows.get(key)
            if html is not None:
                self._rows.move_to_end(key)
                return html
        html = render()  # outside the lock: other threads' rows need not wait
        with self._lock:
            self._rows[key] = html
            self._rows.move_to_end(key)
            while len(self._rows) > self._size:
                self._rows.popitem(last=False)
        return html


def row_html(row: VisitRow) -> Markup:
    """The row's markup (templates/visits/_row.html), from the cache when it can be."""

    def render() -> Markup:
        # The template alone, without Flask's context processors: a row needs none,
        # and a page renders up to 50. Escaped by the template (autoescape) itself.
        template = current_app.jinja_env.get_template("visits/_row.html")
        return Markup(template.render(row=row))  # noqa: S704

    if row.state is not Delivery.CONFIRMED:
        return render()
    return current_app.extensions[EXTENSION].get(_key(row), render)


def drawn(row: VisitRow) -> bool:
    """Whether the row's markup is in the cache (its record's details are not needed)."""
    return row.state is Delivery.CONFIRMED and _key(row) in current_app.extensions[EXTENSION]


def _key(row: VisitRow) -> tuple:
    record = row.record
    return (record.id, record.updated_at, row.shop_name, *_shared_key())


def _shared_key() -> tuple:
    """What the key of every row of this answer ends with: the day, the URL prefix and
    the language. Worked out once an answer, not once a row (a page draws 50)."""
    shared = g.get("row_key_shared")
    if shared is None:
        today = datetime.now(UTC).astimezone(portal_zone()).date()
        shared = g.row_key_shared = (today, request.script_root, current_language())
    return shared
