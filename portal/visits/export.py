"""The list as a CSV file: every visit the search selects, for a spreadsheet.

Written a batch of rows at a time as the records are read, so a download of every
visit a chain ever recorded neither waits for all of them nor holds them in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from ..i18n import _l
from ..models import Delivery, VisitRecord
from .service import row_for

# Excel reads a file without it as the machine's legacy code page, not as UTF-8.
BOM = "\ufeff"
# What a manager reads in their spreadsheet: in their language, as the page is.
HEADER = (
    _l("Contact e-mail"),
    _l("Contact UUID"),
    _l("Shop"),
    _l("Starts at"),
    _l("Ends at"),
    _l("Source"),
    _l("External ID"),
    _l("State"),
    _l("Recorded at"),
    _l("Recorded by"),
    _l("Last edited at"),
    _l("Last edited by"),
    _l("Leat visit UUID"),
)
STATES = {
    Delivery.CONFIRMED: _l("Confirmed by Leat"),
    Delivery.PENDING: _l("Pending"),
    Delivery.ATTENTION: _l("Needs attention"),
    Delivery.SET_ASIDE: _l("Set aside"),
}
# A cell that begins with one of these is a formula to a spreadsheet (OWASP's "CSV
# injection"): a contact's e-mail or a till's external ID could run one on the
# manager's machine. A leading quote makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 100


def neutralised(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(
    records: Iterable[VisitRecord], shop_names: dict[str, str], zone: ZoneInfo
) -> Iterator[str]:
    """The file, a few rows at a time: the byte-order mark and header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: quotes where needed, CRLF line ends
    buffer.write(BOM)
    writer.writerow([str(title) for title in HEADER])
    for count, record in enumerate(records, 1):
        writer.writerow([neutralised(cell) for cell in _cells(record, shop_names, zone)])
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cells(record: VisitRecord, shop_names: dict[str, str], zone: ZoneInfo) -> list:
    row = row_for(record, shop_names)
    visit, contact = row.visit, row.visit.contact
    return [
        (contact and contact.email) or record.contact_email,
        (contact and contact.uuid) or record.contact_uuid,
        row.shop_name,
        _local(visit.starts_at, zone),
        _local(visit.ends_at, zone),
        visit.source,
        visit.external_id,
        str(STATES.get(record.status, record.status)),
        _local(record.created_at, zone),
        record.created_by_name or record.created_by,
        _local(record.edited_at, zone),
        record.updated_by_name or record.updated_by,
        record.leat_uuid,
    ]


def _local(instant: datetime | None, zone: ZoneInfo) -> str:
    """ISO 8601 in the portal's zone, with its offset: a spreadsheet sorts it as text,
    and a program reads the exact instant."""
    return instant.astimezone(zone).isoformat(timespec="seconds") if instant else ""
