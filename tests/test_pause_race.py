"""The queue's one pause, begun by two senders at the same moment (PostgreSQL: SQLite's
write lock lets only one of them look for the pause at a time)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert

from portal.database import db
from portal.leat import LeatRateLimited
from portal.models import DeliveryPause, utcnow
from portal.visits import pause

pytestmark = pytest.mark.postgres


def test_a_pause_begun_meanwhile_by_another_sender_is_extended_not_a_500(app):
    # Both senders find no pause; the other one's row is in before this one's INSERT.
    # PostgreSQL refuses that INSERT itself, not the commit after it: seen as a 500 on
    # a manager's create in the 300-create soak test.
    with app.app_context():
        engine = db.engine
        raced = []

        def other_sender_first(conn, cursor, statement, parameters, context, executemany):
            if not raced and statement.startswith("UPDATE delivery_pauses"):
                raced.append(True)
                now = utcnow()
                with engine.begin() as other:
                    other.execute(
                        insert(DeliveryPause).values(
                            id=pause.PAUSE_ID, kind="maintenance", since=now, until=now, probes=0
                        )
                    )

        event.listen(engine, "after_cursor_execute", other_sender_first)
        try:
            pause.begin_or_extend(LeatRateLimited("Leat answered 429"))
        finally:
            event.remove(engine, "after_cursor_execute", other_sender_first)

        assert raced
        current = pause.current()
        assert (current.kind, current.probes) == ("rate_limited", 1)
        assert current.until > current.since
