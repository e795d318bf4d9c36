"""Instants go into the database and come back as the same aware UTC instants, on
SQLite (which keeps text without an offset, read by the portal itself) and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from portal.database import db
from portal.models import VisitRecord, _utc_from_sqlite


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-05-01 10:00:00.000000", datetime(2026, 5, 1, 10, tzinfo=UTC)),
        ("2026-05-01 10:00:00.250000", datetime(2026, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2026-05-01 10:00:00", datetime(2026, 5, 1, 10, tzinfo=UTC)),  # CURRENT_TIMESTAMP's
        ("2026-05-01T12:00:00+02:00", datetime(2026, 5, 1, 10, tzinfo=UTC)),  # by hand
        (None, None),
    ],
)
def test_sqlite_text_is_read_as_the_utc_instant_it_stands_for(text, instant):
    read = _utc_from_sqlite(text)
    assert read == instant
    if read is not None:
        assert read.utcoffset() == timedelta(0)


def test_every_stored_instant_comes_back_aware_and_equal(app):
    amsterdam = timezone(timedelta(hours=2))
    moments = {
        "created_at": datetime(2026, 5, 1, 10, 0, 0, 123456, tzinfo=UTC),
        "snapshot_at": datetime(2026, 5, 1, 12, 30, tzinfo=amsterdam),  # stored as 10:30 UTC
        "next_attempt_at": datetime(2026, 5, 1, 11, 0, tzinfo=UTC),
    }
    with app.app_context():
        record = VisitRecord(shop_uuid="shop", external_id="times-1", **moments)
        record.created_by = record.updated_by = "anna@example.com"
        db.session.add(record)
        db.session.commit()
        record_id = record.id
        db.session.remove()
        read = db.session.get(VisitRecord, record_id)
        for name, moment in moments.items():
            value = getattr(read, name)
            assert value == moment, name
            assert value.utcoffset() == timedelta(0), name
        assert read.edited_at is None
