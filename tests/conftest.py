"""Shared fixtures.

The Leat sandbox: each test gets a fresh SQLite file, the sandbox app on it, and that
app served over real loopback HTTP, so tests speak to it as the portal speaks to Leat.
The portal: a fresh copy of a database built by the migrations, talking to that sandbox,
built by ``helpers.make_portal`` (TESTING on, undefined template variables an error).

Markers: ``browser`` is given here to every test that uses a browser fixture, so
``-m "not browser"`` is the quick loop; ``postgres`` tests are skipped on SQLite.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from databases import Databases, on_postgres
from flask import Flask
from flask_migrate import upgrade
from helpers import (
    LAUNCH_SECRET,
    SECRET_KEY,
    is_portal_setting,
    launch_path,
    portal_app,
    portal_config,
    signed_in,
)

from portal.database import enable_migrations
from portal.leat import LeatClient
from portal.leat_sandbox import (
    API_PREFIX,
    FaultInjector,
    SandboxServer,
    create_sandbox_app,
    serve_in_thread,
)

# -- the Leat sandbox ------------------------------------------------------------


@pytest.fixture
def sandbox_db(tmp_path: Path) -> Path:
    return tmp_path / "leat-sandbox.sqlite3"


@pytest.fixture
def sandbox_app(sandbox_db: Path) -> Flask:
    return create_sandbox_app(str(sandbox_db))


@pytest.fixture
def sandbox(sandbox_app: Flask) -> Iterator[SandboxServer]:
    """The sandbox on a free loopback port: ``.base_url``, ``.token``,
    ``.connections_accepted``, and ``.faults`` to make it fail on purpose."""
    faults = FaultInjector(sandbox_app, seed=20261125)
    with serve_in_thread(faults) as server:
        server.faults = faults
        yield server


@dataclass(frozen=True)
class SandboxApi:
    """Where the served sandbox's API is, and the headers that get in."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)

    def __call__(self, path: str) -> str:
        """The full URL of an API path such as ``"/visits"``."""
        return self.url + path


@pytest.fixture
def sandbox_api(sandbox: SandboxServer) -> SandboxApi:
    return SandboxApi(
        url=sandbox.base_url + API_PREFIX,
        headers={"Authorization": f"Bearer {sandbox.token}", "Accept": "application/json"},
    )


# -- the portal ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own portal settings."""
    for name in list(os.environ):
        if is_portal_setting(name):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    pool = Databases(tmp_path_factory.mktemp("databases"))
    yield pool
    pool.cleanup()


@pytest.fixture(scope="session")
def migrated_database(databases: Databases) -> str:
    """One database built by the migrations from empty; each test gets a copy."""
    url = databases.template_url()
    settings = {
        "INSTANCE_PATH": databases.folder,
        "LEAT_API_TOKEN": "unused",
        "SECRET_KEY": SECRET_KEY,
        "PORTAL_LAUNCH_SECRET": LAUNCH_SECRET,
        "SQLALCHEMY_DATABASE_URI": url,
    }
    with portal_app(settings) as app:
        enable_migrations(app)
        with app.app_context():
            upgrade()
    return url


@pytest.fixture
def database_url(databases: Databases, migrated_database: str, tmp_path: Path) -> str:
    """A migrated database of this test's own."""
    return databases.migrated(migrated_database, tmp_path)


@pytest.fixture
def empty_database_url(databases: Databases, tmp_path: Path) -> str:
    """An empty database of this test's own (for the migrations)."""
    return databases.empty(tmp_path)


@pytest.fixture
def portal_overrides() -> dict:
    """Settings a test module changes for its portal: override this fixture there."""
    return {}


@pytest.fixture
def app(
    tmp_path: Path, sandbox: SandboxServer, database_url: str, portal_overrides: dict
) -> Iterator[Flask]:
    """The portal on a migrated database, talking to the sandbox over loopback HTTP."""
    config = {**portal_config(tmp_path, database_url, sandbox), **portal_overrides}
    with portal_app(config) as portal:
        yield portal


@pytest.fixture
def anonymous(app: Flask):
    """A browser with no session."""
    return app.test_client()


@pytest.fixture
def client(app: Flask):
    """A manager of every shop, signed in by launch link."""
    return signed_in(app)


@pytest.fixture
def sandbox_leat(sandbox: SandboxServer) -> Iterator[LeatClient]:
    """The real Leat client on the served sandbox: to set up data, or to check it."""
    leat = LeatClient(sandbox.base_url, sandbox.token, connect_timeout=2, read_timeout=5)
    yield leat
    leat.close()


# -- a real browser ----------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
# As root, headless, on a machine whose only network is loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (which never downloads a browser here)."""
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI must install it, browser tests never skip there")
        pytest.skip(message + "; .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_portal(app: Flask) -> Iterator[str]:
    """The ``app`` fixture served over loopback HTTP; yields its base URL."""
    with serve_in_thread(app) as server:
        yield server.base_url


@pytest.fixture
def page(browser, live_portal):
    """A fresh browser tab on the portal; console errors are collected on ``page.errors``."""
    context = browser.new_context(base_url=live_portal, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.goto(launch_path())  # signed in, as the intranet would send a manager
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on(
        "console",
        lambda message: (
            message.type == "error"
            and "Failed to load resource" not in message.text
            and tab.errors.append(message.text)
        ),
    )
    yield tab
    context.close()


# -- markers -------------------------------------------------------------------------

BROWSER_FIXTURES = {"browser", "page"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``browser`` on every test that drives Chromium, found by the fixtures it uses
    (directly or through another fixture), so a new browser test is marked for free;
    ``postgres`` tests skipped unless the suite runs on a PostgreSQL server."""
    on_sqlite = pytest.mark.skip(reason="needs PostgreSQL; .ci/run runs it there")
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("postgres") and not on_postgres():
            item.add_marker(on_sqlite)
