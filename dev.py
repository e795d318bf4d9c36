#!/usr/bin/env python3
"""The two commands of the README's quick start, needing nothing but Python 3.11+.

    python3 dev.py serve   # virtualenv, install, migrations, then the portal in demo mode
    python3 dev.py test    # virtualenv, install, then ruff and the whole test suite
    python3 dev.py messages   # extract the strings, update every catalogue, compile them

Both create ``.venv/`` on first use and reinstall only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".portal-installed"
DEMO_ADDRESS = "127.0.0.1:8000"

# Variables that would point a demo at a real Leat; demo mode refuses them, and
# `serve` is always a demo, so they are left out of its environment.
REAL_LEAT_VARIABLES = ("LEAT_API_TOKEN", "LEAT_BASE_URL")


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036  (this file must run on older ones to say so)
        sys.exit(f"The portal needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "serve":
        return serve(rest)
    if command == "test":
        return test(rest)
    if command == "messages":
        return messages(rest)
    print(__doc__.strip(), file=sys.stderr)
    return 2


def serve(extra: list[str]) -> int:
    ensure_installed()
    env = {k: v for k, v in os.environ.items() if k not in REAL_LEAT_VARIABLES}
    env["PORTAL_DEMO"] = "1"
    run([BIN / "flask", "--app", "wsgi", "db", "upgrade"], env=env)
    print(f"\nStarting the demo portal on http://{DEMO_ADDRESS}: open the sign-in link below.\n")
    gunicorn = [BIN / "gunicorn", "--config", "gunicorn.conf.py", "--bind", DEMO_ADDRESS]
    os.chdir(ROOT)
    os.execve(BIN / "gunicorn", [*map(str, gunicorn), *extra, "wsgi:app"], env)
    return 0  # not reached


def test(extra: list[str]) -> int:
    ensure_installed()
    run([BIN / "ruff", "check", "."])
    run([BIN / "ruff", "format", "--check", "."])
    return subprocess.call([BIN / "python", "-m", "pytest", *extra], cwd=ROOT)


def messages(extra: list[str]) -> int:
    """Extract every marked string, update each language's catalogue (new strings come
    in empty: translate them) and compile it (portal/catalogues.py; README, "Languages")."""
    ensure_installed()
    run([BIN / "python", "-m", "portal.catalogues", "update", *extra])
    return 0


def ensure_installed() -> None:
    if not (BIN / "python").exists():
        print("Creating the virtualenv in .venv/ …", flush=True)
        venv.create(VENV, with_pip=True)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print("Installing the portal and its test tools into .venv/ …", flush=True)
    run([BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([BIN / "python", "-m", "pip", "install", "--quiet", "--editable", ".[dev]"])
    STAMP.write_text(wanted)


def run(command: list, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(c) for c in command], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
