#!/usr/bin/env python3
"""The two commands of the README's quick start, needing nothing but Python 3.11+.

    python3 dev.py serve   # virtualenv, install, migrations, then the portal in demo mode
    python3 dev.py serve --port 8123   # the same on another port (gunicorn's own options follow)
    python3 dev.py test    # virtualenv, install, then ruff and the whole test suite
    python3 dev.py messages   # extract the strings, update every catalogue, compile them

Both create ``.venv/`` on first use and reinstall only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".portal-installed"
DEMO_HOST = "127.0.0.1"
DEMO_PORT = "8000"
# The demo's worker looks for due visits at least this often (seconds): a manager
# watching sees a visit delivered within seconds (production's worker: up to 10).
DEMO_WORKER_IDLE = "1"

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
    port, extra = take_option(extra, "--port", DEMO_PORT)
    ensure_installed()
    env = {k: v for k, v in os.environ.items() if k not in REAL_LEAT_VARIABLES}
    env["PORTAL_DEMO"] = "1"
    # Short lines, one per request, for a person at a terminal (not the PaaS's JSON).
    env.setdefault("PORTAL_LOG_FORMAT", "terminal")
    # Migrations say nothing unless something is wrong.
    run([BIN / "flask", "--app", "wsgi", "db", "upgrade", "-x", "quiet=1"], env=env)
    address = f"{DEMO_HOST}:{port}"
    if not port_is_free(DEMO_HOST, int(port)):
        # gunicorn listens with SO_REUSEPORT (gunicorn.conf.py), so a second portal on a
        # port in use would not fail: it would quietly share the connections.
        sys.exit(f"Port {port} is in use (another portal?): stop it, or add --port 8001.")
    print(f"\nStarting the demo portal on http://{address}: open the sign-in link below.\n")
    return run_demo(address, extra, env)


def port_is_free(host: str, port: int) -> bool:
    """Whether a plain bind (no SO_REUSEPORT) succeeds: nothing else listens there."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def demo_commands(address: str, extra: list[str]) -> list[list[str]]:
    """The demo's two processes: the worker that delivers what waits for Leat (so
    every "the portal keeps sending it" is true here too), and gunicorn with the same
    gunicorn.conf.py as production."""
    worker = [BIN / "flask", "--app", "wsgi", "leat-sync", "--idle", DEMO_WORKER_IDLE]
    web = [BIN / "gunicorn", "--config", "gunicorn.conf.py", "--bind", address, *extra, "wsgi:app"]
    return [[str(part) for part in command] for command in (worker, web)]


def run_demo(address: str, extra: list[str], env: dict[str, str]) -> int:
    """Both processes until Ctrl+C or SIGTERM (passed on to each, which finish what
    they hold), or until one of them stops (then the other is stopped too)."""
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env) for command in demo_commands(address, extra)
    ]

    def stop(_signum=None, _frame=None) -> None:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    # Ctrl+C reaches the children from the terminal too; SIGTERM only this process.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.2)
    finally:
        stop()
        codes = [process.wait() for process in processes]
    return next((code for code in codes if code not in (0, -signal.SIGTERM)), 0)


def take_option(args: list[str], name: str, default: str) -> tuple[str, list[str]]:
    """``--name value`` or ``--name=value`` taken out of ``args``: (value, the rest)."""
    rest, value, i = [], default, 0
    while i < len(args):
        if args[i] == name and i + 1 < len(args):
            value, i = args[i + 1], i + 2
            continue
        if args[i].startswith(name + "="):
            value = args[i].partition("=")[2]
        else:
            rest.append(args[i])
        i += 1
    return value, rest


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
