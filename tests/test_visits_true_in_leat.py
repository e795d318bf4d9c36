"""Every visit true in Leat: the instant the manager meant, "now" fixed when recorded,
and a visit found by its external_id adopted only when it is provably this record's."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from portal.database import db
from portal.leat_sandbox import MAINTENANCE_PAGE, seed
from portal.leat_sandbox import app as sandbox_module
from portal.models import Delivery, VisitRecord
from portal.visits import delivery

HTMX = {"HX-Request": "true"}
TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
ZONE = ZoneInfo("Europe/Amsterdam")  # PORTAL_TIMEZONE's default


def the_record(app) -> VisitRecord:
    with app.app_context():
        record = db.session.scalars(db.select(VisitRecord)).one()
        db.session.expunge(record)
        return record


def drain(app) -> None:
    with app.app_context():
        db.session.execute(db.update(VisitRecord).values(next_attempt_at=None))
        db.session.commit()
        delivery.drain()


def test_an_empty_starts_at_is_the_moment_of_recording_however_late_the_delivery(
    app, client, sandbox, sandbox_leat, monkeypatch
):
    token = TOKEN.search(client.get("/visits").text).group(1)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    before = datetime.now(UTC).replace(microsecond=0)
    data = {"csrf_token": token, "contact": seed.CONTACT_ANNA, "shop": seed.SHOP_AMSTERDAM}
    response = client.post("/visits", data=data, headers=HTMX)
    after = datetime.now(UTC)
    record = the_record(app)
    assert record.status is Delivery.PENDING
    recorded = record.pending.fields["starts_at"]
    assert before <= recorded <= after
    # The pending row shows that time at once (in the portal's zone).
    local = recorded.astimezone(ZONE)
    assert f"{local.day} {local:%b %Y, %H:%M}" in response.text

    # Leat comes back three hours later: were "now" left to Leat, it would say 3 h on.
    later = sandbox_module.now() + timedelta(hours=3)
    monkeypatch.setattr(sandbox_module, "now", lambda: later)
    drain(app)
    (visit,) = sandbox_leat.list_visits().visits
    assert visit.starts_at == recorded
    assert the_record(app).status is Delivery.CONFIRMED
