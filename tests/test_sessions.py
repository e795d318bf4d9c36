"""Sessions kept on the server: sign-out ends them for every copy of the cookie, they
end a fixed time after sign-in and after a while without a request, an administrator
can end a manager's sessions, and the cookie carries nothing but a random key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import HTMX, csrf_token, launch_path, post_visit, signed_in, soup, text

from portal.database import db
from portal.leat_sandbox import MAINTENANCE_PAGE, seed
from portal.models import ManagerSession

COOKIE = "__Host-portal-session"
VISIT = {"contact": "anna.devries@example.com", "shop": seed.SHOP_AMSTERDAM}


def cookie_of(client) -> str:
    return client.get_cookie(COOKIE).value


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie_of(client), secure=True)
    return thief


def shift_session(app, **changes: timedelta) -> None:
    """Move every session's times into the past by the given amounts."""
    with app.app_context():
        for row in db.session.scalars(db.select(ManagerSession)):
            for column, delta in changes.items():
                setattr(row, column, getattr(row, column) - delta)
        db.session.commit()


def test_a_copied_cookie_signs_in_as_long_as_the_session_lives(app, client):
    assert post_visit(copy_of(app, client), **VISIT).status_code == 200


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(app, client):
    copy = copy_of(app, client)
    assert client.post("/sign-out", data={"csrf_token": csrf_token(client)}).status_code == 303
    assert copy.get("/visits").status_code == 401
    assert copy.post("/visits", data=VISIT).status_code == 401
    with app.app_context():
        assert db.session.scalar(db.select(ManagerSession.ended_at)) is not None


def test_a_session_ends_its_hours_after_sign_in_however_active(app, client):
    assert client.get("/visits").status_code == 200
    # Active a minute ago, signed in eight hours ago: over.
    shift_session(app, created_at=timedelta(hours=8), expires_at=timedelta(hours=8))
    assert client.get("/visits").status_code == 401


def test_activity_does_not_move_the_end_of_a_session(app, client):
    with app.app_context():
        expires = db.session.scalar(db.select(ManagerSession.expires_at))
    shift_session(app, last_seen_at=timedelta(minutes=5))
    for _ in range(3):
        assert client.get("/visits").status_code == 200
    with app.app_context():
        assert db.session.scalar(db.select(ManagerSession.expires_at)) == expires


def test_a_session_ends_after_an_idle_hour(app, client):
    shift_session(app, last_seen_at=timedelta(minutes=59))
    assert client.get("/visits").status_code == 200  # and this request counts as seen
    shift_session(app, last_seen_at=timedelta(minutes=61))
    assert client.get("/visits").status_code == 401


def test_a_page_polling_by_itself_does_not_keep_an_idle_session_alive(app, client, sandbox):
    """An open page with a pending row asks every 3 s (templates/visits/_row.html): those
    polls are not the manager at work, so the idle hour still ends the session."""
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)  # it waits
    answer = post_visit(client, **VISIT)
    [row] = soup(answer).select("tr.state-pending")
    poll = row["hx-get"]
    shift_session(app, last_seen_at=timedelta(minutes=59))
    assert client.get(poll, headers=HTMX).status_code == 204  # still waiting
    shift_session(app, last_seen_at=timedelta(minutes=2))  # 61 minutes without the manager
    assert client.get(poll, headers=HTMX).status_code == 401
    assert client.get("/visits").status_code == 401


def test_the_idle_time_is_configurable(app):
    app.config["PORTAL_IDLE_MINUTES"] = 5
    client = signed_in(app)
    shift_session(app, last_seen_at=timedelta(minutes=6))
    assert client.get("/visits").status_code == 401


def test_end_sessions_ends_every_session_of_one_manager(app):
    tablet, laptop = signed_in(app), signed_in(app)
    other = signed_in(app, manager_id="bob@example.com", name="Bob")
    result = app.test_cli_runner().invoke(args=["end-sessions", "--manager", "anna@example.com"])
    assert result.exit_code == 0
    assert "Ended 2 session(s) of anna@example.com." in result.output
    assert tablet.get("/visits").status_code == 401
    assert laptop.get("/visits").status_code == 401
    assert other.get("/visits").status_code == 200


def test_a_sign_in_starts_a_new_session_and_ends_the_one_before(app, client):
    before = cookie_of(client)
    stale = copy_of(app, client)
    assert client.get(launch_path()).status_code == 303
    assert cookie_of(client) != before
    assert client.get("/visits").status_code == 200
    assert stale.get("/visits").status_code == 401  # the key before sign-in is dead


def test_the_cookie_holds_a_random_key_and_no_customer_address(app, client):
    # A create without JavaScript flashes "Visit of anna.devries@example.com … recorded."
    answer = post_visit(client, htmx=False, **VISIT)
    assert answer.status_code == 303
    for header in answer.headers.getlist("Set-Cookie"):
        assert "@" not in header
    key = cookie_of(client)
    assert "@" not in key
    assert len(key) == 43  # 32 random bytes, URL-safe base64
    assert "Visit of anna.devries@example.com at Amsterdam Centrum recorded." in text(
        client.get("/visits")
    )


def test_the_database_holds_only_the_keys_hash(app, client):
    with app.app_context():
        stored = db.session.scalar(db.select(ManagerSession.key_hash))
    assert stored != cookie_of(client)
    assert len(stored) == 64


@pytest.mark.parametrize("key", ["", "x" * 200, "not-a-session"])
def test_an_unknown_or_odd_cookie_is_no_session(app, key):
    stranger = app.test_client()
    stranger.set_cookie(COOKIE, key, secure=True)
    assert stranger.get("/visits").status_code == 401
