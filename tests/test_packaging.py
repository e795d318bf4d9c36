"""The built wheel carries what the portal needs beside its code."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest
from helpers import ROOT


@pytest.mark.slow  # pip builds the wheel in a process of its own: 1.5 s to over 2 s
def test_the_wheel_ships_templates_static_files_catalogues_and_migrations(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), "."],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("leat_visits_portal-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "portal/__init__.py",
        "portal/leat/client.py",
        "portal/leat_sandbox/app.py",
        "portal/migrations/alembic.ini",
        "portal/migrations/env.py",
        "portal/migrations/versions/0001_visit_records.py",
        "templates/base.html",
        "static/css/portal.css",
        "static/vendor/htmx-4.0.1/htmx.min.js",
        # The compiled catalogues the portal reads (portal/i18n.py).
        "translations/nl/LC_MESSAGES/messages.mo",
        "translations/en/LC_MESSAGES/messages.mo",
    } <= names
    assert not any(name.startswith("tests/") for name in names)
