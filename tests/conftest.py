"""Shared fixtures.

The Leat sandbox: each test gets a fresh SQLite file, the sandbox app on it, and that
app served over real loopback HTTP, so tests speak to it as the portal speaks to Leat.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask

from portal.leat_sandbox import API_PREFIX, SandboxServer, create_sandbox_app, serve_in_thread

# -- the Leat sandbox ------------------------------------------------------------


@pytest.fixture
def sandbox_db(tmp_path: Path) -> Path:
    return tmp_path / "leat-sandbox.sqlite3"


@pytest.fixture
def sandbox_app(sandbox_db: Path) -> Flask:
    return create_sandbox_app(str(sandbox_db))


@pytest.fixture
def sandbox(sandbox_app: Flask) -> Iterator[SandboxServer]:
    """The sandbox on a free loopback port: ``.base_url``, ``.token``, ``.connections_accepted``."""
    with serve_in_thread(sandbox_app) as server:
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
