"""What the test files share, in one place: the portal as tests build it, signing in,
pages read through an HTML parser (fields, htmx answers and their partials, the rows of
visits: never markup matched as a string), the visit forms, the project's own tools run
as subprocesses, and waiting on a condition with a deadline.

Fixtures live in conftest.py; these are plain functions, imported by name
(``from helpers import csrf_token, soup``). A page is whatever holds HTML: a string,
a Flask or ``requests`` response, or a parsed element.
"""

from __future__ import annotations

import copy
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import jinja2
from bs4 import BeautifulSoup, Tag
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from portal import create_app
from portal.auth.launch import mint
from portal.database import db, enable_migrations
from portal.leat_sandbox import seed
from portal.models import DeliveryPause, VisitRecord, utcnow
from portal.visits.delivery import drain

ROOT = Path(__file__).resolve().parents[1]
HTMX = {"HX-Request": "true"}
LAUNCH_SECRET = "launch-secret-for-tests-only-0123456789"
# As start-up demands: 32 characters or more, and not the launch secret.
SECRET_KEY = "session-secret-for-tests-only-9876543210"

T = TypeVar("T")

# -- the portal under test -----------------------------------------------------------


def make_portal(config: Mapping[str, Any]) -> Flask:
    """The portal as every test builds it: Flask's TESTING on, and a template that
    uses an undefined variable fails instead of rendering an empty string."""
    app = create_app({"TESTING": True, **config})
    app.jinja_env.undefined = jinja2.StrictUndefined
    return app


def demo_portal(instance: str | os.PathLike[str], **settings: Any) -> Flask:
    """The portal in demo mode (its sandbox in-process), its data under ``instance``,
    the database migrated as ``dev.py serve`` migrates it."""
    app = make_portal({**settings, "INSTANCE_PATH": instance, "PORTAL_DEMO": True})
    enable_migrations(app)
    with app.app_context():
        upgrade()
    return app


def close_portal(app: Flask) -> None:
    """Close the pool's database connections and the Leat client's now, not at GC."""
    with app.app_context():
        db.engine.dispose()
    app.extensions["leat"].close()


@contextmanager
def portal_app(config: Mapping[str, Any]) -> Iterator[Flask]:
    """``make_portal`` for the length of a ``with`` block, closed after."""
    app = make_portal(config)
    try:
        yield app
    finally:
        close_portal(app)


def portal_config(tmp_path: Path, database: str, sandbox: Any) -> dict[str, Any]:
    """Settings for a portal on ``database`` that talks to the served ``sandbox``."""
    return {
        "PORTAL_LAUNCH_SECRET": LAUNCH_SECRET,
        "INSTANCE_PATH": tmp_path / "instance",
        "LEAT_API_TOKEN": sandbox.token,
        "LEAT_BASE_URL": sandbox.base_url,
        "LEAT_CONNECT_TIMEOUT": 2.0,
        "LEAT_READ_TIMEOUT": 5.0,
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database,
    }


# -- signing in ------------------------------------------------------------------------


def launch_path(manager_id="anna@example.com", name="Anna", shops=("*",)) -> str:
    """A fresh launch link's path, as the intranet would sign it."""
    token = mint(LAUNCH_SECRET, manager_id=manager_id, name=name, shops=shops)
    return f"/launch?token={token}"


def signed_in(app: Flask, *shops: str, name="Anna", manager_id="anna@example.com") -> FlaskClient:
    """A test client signed in by launch link as a manager of ``shops`` (all if none)."""
    client = app.test_client()
    response = client.get(launch_path(manager_id=manager_id, name=name, shops=shops or ("*",)))
    assert response.status_code == 303
    assert response.headers["Location"] == "/visits"
    return client


def browser_at(app: Flask, address: str) -> FlaskClient:
    """A test client whose requests come from ``address`` (the connection's peer, as
    ``REMOTE_ADDR``): for what depends on where a request comes from."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


# -- pages, read through a parser ----------------------------------------------------------


def soup(page: Any) -> BeautifulSoup | Tag:
    """The parsed page (an element is returned as it is)."""
    if isinstance(page, Tag):
        return page
    return BeautifulSoup(page if isinstance(page, str) else page.text, "html.parser")


def text(page: Any) -> str:
    """The page's text as a reader sees it: no markup, runs of white space as one space."""
    return " ".join(soup(page).get_text(" ").split())


def csrf_token(source: Any) -> str:
    """The session's CSRF token, from the ``csrf-token`` meta tag of a page; given a
    signed-in test client, of a fresh ``/visits``."""
    if isinstance(source, FlaskClient):
        source = source.get("/visits")
    meta = soup(source).find("meta", attrs={"name": "csrf-token"})
    assert meta is not None, "the page has no csrf-token meta tag"
    return meta["content"]


def field(page: Any, name: str) -> Tag:
    """The first form field (input, select or textarea) called ``name`` in the page."""
    found = soup(page).find(["input", "select", "textarea"], attrs={"name": name})
    assert found is not None, f"no field named {name}"
    return found


def input_value(page: Any, name: str) -> str:
    """The value of the first input called ``name`` in the page (or element)."""
    found = soup(page).find("input", attrs={"name": name})
    assert found is not None, f"no input named {name}"
    return found.get("value", "")


def selected_option(page: Any, name: str) -> str:
    """The value of the one option chosen in the select called ``name``."""
    select = field(page, name)
    assert select.name == "select", f"{name} is an <{select.name}>, not a select"
    chosen = select.find_all("option", selected=True)
    assert len(chosen) == 1, f"{len(chosen)} options chosen in {name}"
    return chosen[0].get("value", "")


def focused(page: Any) -> Tag:
    """The element that takes the focus once the page or fragment is shown: the one
    with ``autofocus`` (htmx 4 focuses it when it swaps it in)."""
    found = soup(page).find_all(autofocus=True)
    assert len(found) == 1, f"{len(found)} elements with autofocus: {found}"
    return found[0]


def error_under(page: Any, field_id: str) -> str:
    """The error text shown under a field, checking it is linked to the field."""
    doc = soup(page)
    error = doc.find("p", class_="field-error", id=f"{field_id}-error")
    assert error is not None, f"no error under {field_id}"
    field = doc.find(["input", "select"], id=field_id)
    assert field is not None, f"no field {field_id}"
    assert field.get("aria-invalid") == "true"
    assert f"{field_id}-error" in field.get("aria-describedby", "").split()
    return error.get_text()


# -- htmx answers and the rows of visits --------------------------------------------------


def top_elements(page: Any) -> list[Tag]:
    """The elements an htmx fragment is made of, in order, checking that nothing but
    white space stands between them (no stray text, no doctype: not a whole page)."""
    doc = soup(page)
    for node in doc.contents:
        if not isinstance(node, Tag):
            assert not node.strip(), f"the fragment holds {node!r} outside its elements"
    return [node for node in doc.contents if isinstance(node, Tag)]


def partial(page: Any, target: str) -> Tag:
    """The ``<hx-partial>`` of an htmx answer aimed at ``target`` (``"#queue-status"``);
    its ``hx-swap`` says how htmx puts its content there."""
    found = soup(page).find("hx-partial", attrs={"hx-target": target})
    assert found is not None, f"no hx-partial for {target}"
    return found


def outside_partials(page: Any) -> BeautifulSoup | Tag:
    """An htmx answer without its ``<hx-partial>`` elements: what htmx swaps into the
    requesting element's own target (a copy; the page given is left as it is)."""
    doc = copy.copy(soup(page))
    for element in doc.find_all("hx-partial"):
        element.decompose()
    return doc


def row(page: Any, record_id: int) -> Tag:
    """The visit row ``<tr id="visit-N">`` of a record, wherever the page holds it (an
    ``<hx-partial>`` too)."""
    found = soup(page).find("tr", id=f"visit-{record_id}")
    assert found is not None, f"no row visit-{record_id}"
    return found


def leading_row(page: Any, record_id: int) -> Tag:
    """The row an answer to a row's own request begins with (htmx swaps it in for the
    row on screen, ``hx-target="closest tr"``): the record's ``<tr id="visit-N">``."""
    elements = top_elements(page)
    assert elements, "the answer is empty"
    first = elements[0]
    assert (first.name, first.get("id")) == ("tr", f"visit-{record_id}"), first
    return first


def row_state(row: Tag) -> str:
    """A visit row's state, from its classes: ``confirmed``, ``pending``, ``attention`` or
    ``set_aside`` (its ``state-…`` class), or ``editing`` for a row turned into an editor."""
    classes = row.get("class", [])
    assert "visit-row" in classes, f"not a visit row: {classes}"
    states = [name.removeprefix("state-") for name in classes if name.startswith("state-")]
    states += [name for name in classes if name == "editing"]
    assert len(states) == 1, f"a visit row has one state, not {states}"
    return states[0]


def cell(row: Tag, column: str) -> str:
    """The text of a visit row's cell in ``column`` (the cell's ``data-label``, which is
    the column's heading)."""
    found = row.find("td", attrs={"data-label": column})
    assert found is not None, f"the row has no {column} cell"
    return found.get_text()


# -- headers -----------------------------------------------------------------------------


def assert_security_headers(response: Any, *, https: bool = False) -> None:
    """The headers every answer of the portal carries (a page, a fragment, a JSON
    answer, a static file, an error): HSTS exactly when the request came over https."""
    headers = response.headers
    assert headers["Content-Security-Policy"].startswith("default-src 'self'"), headers
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    denied = {item.strip() for item in headers["Permissions-Policy"].split(",")}
    assert {"camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"} <= denied
    assert "Access-Control-Allow-Origin" not in headers
    if https:
        assert headers["Strict-Transport-Security"].startswith("max-age=")
    else:
        assert "Strict-Transport-Security" not in headers


# -- the visit forms ---------------------------------------------------------------------


# A visit as the create form sends it: a contact, a shop, a day and a time.
A_VISIT = {
    "contact": "anna.devries@example.com",
    "shop": seed.SHOP_AMSTERDAM,
    "date": "2026-05-01",
    "starts_at": "10:00",
}


def post_visit(client: FlaskClient, htmx: bool = True, **fields: str):
    """Send the create form with ``fields`` and the session's CSRF token."""
    data = {"csrf_token": csrf_token(client), **fields}
    return client.post("/visits", data=data, headers=HTMX if htmx else {})


def editor_fields(key: str, **fields: str) -> dict[str, str]:
    """A row editor's form data: each field name carries the row's prefix."""
    return {f"visit-{key}-{name}": value for name, value in fields.items()}


def save_visit(client: FlaskClient, key: str, htmx: bool = True, **fields: str):
    """Send a row editor (PUT with htmx, POST without) with the session's CSRF token."""
    data = editor_fields(key, csrf_token=csrf_token(client), **fields)
    if htmx:
        return client.put(f"/visits/{key}", data=data, headers=HTMX)
    return client.post(f"/visits/{key}", data=data)


# -- the project's own tools, ports and processes --------------------------------------------


def only_record(app: Flask) -> VisitRecord:
    """The one record in the portal's database, detached so its fields can be read."""
    with app.app_context():
        record = db.session.scalars(db.select(VisitRecord)).one()
        db.session.expunge(record)
        return record


def all_records(app: Flask) -> list[VisitRecord]:
    with app.app_context():
        found = db.session.scalars(db.select(VisitRecord).order_by(VisitRecord.id)).all()
        for record in found:
            db.session.expunge(record)
        return found


def deliver_waiting(app: Flask) -> int:
    """What the worker does, with every waiting record (and any pause) due at once."""
    with app.app_context():
        make_everything_due()
        return drain()


def shown_start(instant: datetime, zone: str = "Europe/Amsterdam") -> dict[str, str]:
    """A visit's start as the editor shows it (in PORTAL_TIMEZONE's default): its
    Date and Starts at fields, to send back untouched (``**shown_start(…)``)."""
    wall = instant.astimezone(ZoneInfo(zone))
    return {"date": f"{wall:%Y-%m-%d}", "starts_at": f"{wall:%H:%M}"}


def make_everything_due() -> None:
    """What time does for the worker, at once: every waiting record and any pause of
    the queue due now (inside an app context)."""
    db.session.execute(db.update(VisitRecord).values(next_attempt_at=None))
    db.session.execute(db.update(DeliveryPause).values(until=utcnow()))
    db.session.commit()


def closed_port() -> int:
    """A loopback port nothing listens on (free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile_command(process: str) -> list[str]:
    """The command of the Procfile's ``process:`` line, split as a shell would."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return shlex.split(command)
    raise AssertionError(f"the Procfile has no {process}: line")


def is_portal_setting(name: str) -> bool:
    """Whether the environment variable ``name`` configures the portal or its gunicorn."""
    prefixes, names = ("LEAT_", "PORTAL_", "GUNICORN"), ("SECRET_KEY", "DATABASE_URL")
    return name.startswith(prefixes) or name in names


def tool_environ(**settings: str | None) -> dict[str, str]:
    """This process's environment without any portal setting, plus ``settings`` (a
    setting given as None stays unset): what a freshly configured host would run with."""
    environ = {name: value for name, value in os.environ.items() if not is_portal_setting(name)}
    environ.update(settings)
    return {name: value for name, value in environ.items() if value is not None}


def run_python(*args: str, env: Mapping[str, str], timeout: float = 60, check: bool = False):
    """``python *args`` in the project's folder with this interpreter, output captured
    as text (e.g. ``run_python("-m", "flask", "--app", "wsgi", "db", "upgrade", env=…)``)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


# -- waiting -----------------------------------------------------------------------------------


def wait_until(
    condition: Callable[[], T],
    timeout: float = 10,
    *,
    message: str | Callable[[], str] = "",
    interval: float = 0.05,
    pause: Callable[[float], object] = time.sleep,
) -> T:
    """Ask ``condition`` until it answers something true, and return that answer; fail
    with ``message`` (or what it returns) once ``timeout`` seconds have passed.

    ``pause`` waits between two questions; a Playwright page must wait with its own
    clock (``playwright_pause(page)``) so that its events keep arriving meanwhile.
    """
    deadline = time.monotonic() + timeout
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() >= deadline:
            said = message() if callable(message) else message
            raise AssertionError(said or f"still false after {timeout} s: {condition}")
        pause(interval)


def playwright_pause(page: Any) -> Callable[[float], object]:
    """A pause for ``wait_until`` during which a Playwright page handles its events."""
    return lambda seconds: page.wait_for_timeout(seconds * 1000)
