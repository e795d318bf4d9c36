"""Sessions kept on the server, so the server can end them.

A signed cookie session lives as long as anyone holds a copy of the cookie: sign-out
could not end a copy, the lifetime slid with every request, and a manager removed by
the intranet kept their shops for as long as they kept clicking. Here the cookie holds
only a random key; the session (who the manager is, their shops, the CSRF token, flash
messages) lives in the ``manager_sessions`` table, found by the key's SHA-256. A
session ends on sign-out, ``PORTAL_SESSION_HOURS`` after sign-in however active it is,
after ``PORTAL_IDLE_MINUTES`` without a request, or by ``flask end-sessions``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import click
from flask import Flask, g
from flask.cli import with_appcontext
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import bindparam, delete, select, update
from werkzeug.datastructures import CallbackDict

from ..database import db
from ..models import ManagerSession, utcnow

# A request touches its session's last-seen time at most this often: idle time is
# known to the minute, without a database write on every request.
TOUCH_EVERY = timedelta(minutes=1)
# Ended and expired sessions are kept this long (for who-was-signed-in questions),
# then deleted at the next sign-in.
KEEP_ENDED = timedelta(days=7)
# Set by views the page asks by itself (a pending row's or the demo banner's poll):
# such a request is not the manager at work, so it does not keep the session alive.
NOT_ACTIVITY = "portal_not_activity"


# The session a key opens, if it still lives: asked by every request, so built once.
_LIVE_SESSION = select(ManagerSession).where(
    ManagerSession.key_hash == bindparam("key_hash"),
    ManagerSession.ended_at.is_(None),
    ManagerSession.expires_at > bindparam("now"),
    ManagerSession.last_seen_at > bindparam("active_since"),
)


class ServerSession(CallbackDict, SessionMixin):
    """A session's data, with what the interface needs to save it."""

    def __init__(self, data=None, row: ManagerSession | None = None) -> None:
        def changed(_self) -> None:
            self.modified = True

        super().__init__(data or {}, changed)
        self.row_id = row.id if row is not None else None
        self.last_seen_at = row.last_seen_at if row is not None else None
        self.expires_at = row.expires_at if row is not None else None
        self.manager_id = row.manager_id if row is not None else None
        self.modified = False
        self.renew = False  # a sign-in: end this session, start a new one with a new key

    @property
    def new(self) -> bool:  # SessionMixin's notion, used by flask-wtf
        return self.row_id is None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ServerSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request) -> ServerSession:
        key = request.cookies.get(self.get_cookie_name(app))
        if not key or len(key) > 128:
            return ServerSession()
        now = utcnow()
        idle = timedelta(minutes=app.config["PORTAL_IDLE_MINUTES"])
        row = db.session.scalar(
            _LIVE_SESSION, {"key_hash": _hash(key), "now": now, "active_since": now - idle}
        )
        if row is None:
            return ServerSession()
        return ServerSession(dict(row.data or {}), row)

    def save_session(self, app: Flask, session: ServerSession, response) -> None:
        name = self.get_cookie_name(app)
        cookie = {
            "domain": self.get_cookie_domain(app),
            "path": self.get_cookie_path(app),
            "secure": self.get_cookie_secure(app),
            "httponly": self.get_cookie_httponly(app),
            "samesite": self.get_cookie_samesite(app),
            "partitioned": self.get_cookie_partitioned(app),
        }
        now = utcnow()
        if session.renew and session.row_id is not None:
            end(session.row_id, now)
            db.session.commit()
            session.row_id = None
        if session.row_id is None:
            if not session.manager_id:
                # Nobody signed in: no session to keep (and none was asked for).
                if session.renew:
                    response.delete_cookie(name, **cookie)
                return
            key = secrets.token_urlsafe(32)
            expires_at = now + app.permanent_session_lifetime
            row = ManagerSession(
                key_hash=_hash(key),
                manager_id=session.manager_id,
                data=dict(session),
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
            )
            db.session.add(row)
            db.session.execute(
                delete(ManagerSession).where(ManagerSession.expires_at < now - KEEP_ENDED)
            )
            db.session.commit()
            response.vary.add("Cookie")
            response.set_cookie(name, key, expires=expires_at, **cookie)
            return
        values = {}
        if session.modified:
            values["data"] = dict(session)
        stale = session.last_seen_at is None or now - session.last_seen_at > TOUCH_EVERY
        if stale and not g.get(NOT_ACTIVITY):
            values["last_seen_at"] = now
        if values:
            db.session.execute(
                update(ManagerSession)
                .where(ManagerSession.id == session.row_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            db.session.commit()


def _deletable(cookie: dict) -> dict:
    return {
        k: cookie[k] for k in ("domain", "path", "secure", "httponly", "samesite", "partitioned")
    }


def not_activity() -> None:
    """This request was made by the page itself, on a timer: the session's idle time
    goes on as if it had not happened (PORTAL_IDLE_MINUTES holds for an open page)."""
    g.setdefault(NOT_ACTIVITY, True)


def start(session: ServerSession, manager_id: str) -> None:
    """A sign-in: a new session (and a new key), nothing from before carried over."""
    session.clear()
    session.renew = True
    session.manager_id = manager_id


def revoke(session: ServerSession) -> None:
    """Sign-out: the session ends on the server, whoever holds a copy of the cookie."""
    session.clear()
    session.renew = True
    session.manager_id = None


def end(row_id: int, now: datetime) -> None:
    db.session.execute(
        update(ManagerSession)
        .where(ManagerSession.id == row_id, ManagerSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )


def end_all(manager_id: str) -> int:
    """End every live session of a manager; how many there were."""
    now = utcnow()
    ended = db.session.execute(
        update(ManagerSession)
        .where(
            ManagerSession.manager_id == manager_id,
            ManagerSession.ended_at.is_(None),
            ManagerSession.expires_at > now,
        )
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return ended


@click.command("end-sessions")
@click.option(
    "--manager", "manager_id", required=True, help="The manager's id (launch link's sub)."
)
@with_appcontext
def end_sessions(manager_id: str) -> None:
    """End every session of a manager (for the intranet's offboarding)."""
    click.echo(f"Ended {end_all(manager_id)} session(s) of {manager_id}.")
