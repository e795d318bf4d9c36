"""/healthz: a liveness check that answers at once, under gunicorn as the Procfile runs it."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from portal import create_app
from portal.auth.launch import mint
from portal.leat_sandbox import Fault

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = "l" * 32


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_touches_neither_leat_nor_the_database(tmp_path):
    # Leat is a closed port and the database a file in a folder that does not
    # exist: any use of either would fail or hang.
    app = create_app(
        {
            "INSTANCE_PATH": tmp_path,
            "LEAT_API_TOKEN": "t",
            "LEAT_BASE_URL": f"http://127.0.0.1:{closed_port()}",
            "SECRET_KEY": "k",
            "PORTAL_LAUNCH_SECRET": "l" * 32,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}",
        }
    )
    started = time.monotonic()
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert time.monotonic() - started < 0.5


def procfile_command(process: str) -> list[str]:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return shlex.split(command)
    raise AssertionError(f"the Procfile has no {process}: line")


@pytest.fixture
def procfile_web(tmp_path):
    """Starts the Procfile's web line as a PaaS would (PORT set, settings in the
    environment); each call may change the environment. Stopped with SIGTERM after."""
    processes = []

    def start(**overrides):
        port = closed_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LEAT_", "PORTAL_", "GUNICORN"))
        }
        env.update(
            PORT=str(port),
            WEB_CONCURRENCY="2",
            LEAT_API_TOKEN="t",
            LEAT_BASE_URL=f"http://127.0.0.1:{closed_port()}",
            SECRET_KEY="k",
            PORTAL_LAUNCH_SECRET="l" * 32,
            DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}",
            PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        )
        env.update(overrides)
        env = {k: v for k, v in env.items() if v is not None}
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        log = tmp_path / f"gunicorn-{port}.log"
        with log.open("w") as out:
            processes.append(
                subprocess.Popen(
                    procfile_command("web"),
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, log)
        start.process = processes[-1]
        return url, log

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(url, log):
    deadline = time.monotonic() + 30
    with requests.Session() as http:
        while time.monotonic() < deadline:
            try:
                http.get(url + "/healthz", timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
    raise AssertionError("gunicorn did not start:\n" + log.read_text())


def test_healthz_under_gunicorn_from_the_procfile(procfile_web):
    url, log = procfile_web()
    response = requests.get(url + "/healthz", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    # gunicorn.conf.py sends access lines to stdout: the request is there.
    time.sleep(0.2)
    output = log.read_text()
    assert "gthread" in output
    access = [
        json.loads(line) for line in output.splitlines() if '"logger": "portal.access"' in line
    ]
    assert any(
        (a["method"], a["path"], a["status"]) == ("GET", "/healthz", 200) and a["request_id"]
        for a in access
    ), output


def test_demo_mode_prints_a_sign_in_link_that_works(procfile_web):
    url, log = procfile_web(
        PORTAL_DEMO="1",
        LEAT_API_TOKEN=None,
        LEAT_BASE_URL=None,
        SECRET_KEY=None,
        PORTAL_LAUNCH_SECRET=None,
    )
    time.sleep(0.2)
    match = re.search(r"Sign in to the demo portal: (\S+)", log.read_text())
    assert match, log.read_text()
    link = match.group(1)
    assert link.startswith(url + "/launch?token=")
    with requests.Session() as http:
        response = http.get(link, allow_redirects=False, timeout=10)
        assert response.status_code == 303
        assert response.headers["Location"] == "/visits"
        page = http.get(url + "/visits", timeout=10)
    assert page.status_code == 200
    assert "Demo manager" in page.text


def test_gunicorn_outlives_the_slowest_request_the_leat_client_allows(monkeypatch):
    from portal.config import from_environ, worst_case_request_seconds

    for name in ("LEAT_CONNECT_TIMEOUT", "LEAT_READ_TIMEOUT", "LEAT_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_DEMO", "1")  # so the file's start-up check passes
    settings = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), settings)  # noqa: S102 (our own file)
    assert settings["timeout"] > worst_case_request_seconds(from_environ({}, "instance"))
    assert settings["worker_class"] == "gthread"
    assert settings["threads"] > 1
    assert settings["errorlog"] == "-"


def test_readyz_checks_the_database(anonymous):
    response = anonymous.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_readyz_answers_503_when_the_database_is_unreachable(tmp_path):
    app = create_app(
        {
            "INSTANCE_PATH": tmp_path,
            "LEAT_API_TOKEN": "t",
            "SECRET_KEY": "k",
            "PORTAL_LAUNCH_SECRET": "l" * 32,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}",
        }
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
    assert app.test_client().get("/healthz").status_code == 200


def test_sigterm_lets_a_request_in_flight_finish(procfile_web, sandbox):
    url, _log = procfile_web(
        LEAT_BASE_URL=sandbox.base_url, LEAT_API_TOKEN=sandbox.token, PORTAL_LAUNCH_SECRET=LAUNCH
    )
    gunicorn = procfile_web.process
    sandbox.faults.inject(Fault(delay=2.0), method="GET", path="/shops", times=1)
    with requests.Session() as browser:
        token = mint(LAUNCH, manager_id="m@example.com", name="M", shops=["*"])
        signed = browser.get(f"{url}/launch?token={token}", allow_redirects=False, timeout=10)
        # requests keeps a Secure cookie for https; this portal is plain http on loopback.
        cookie = signed.cookies["__Host-portal-session"]
        answers = []
        slow = threading.Thread(
            target=lambda: answers.append(
                browser.get(
                    url + "/visits",
                    headers={"Cookie": f"__Host-portal-session={cookie}"},
                    timeout=30,
                )
            )
        )
        slow.start()
        time.sleep(0.7)  # the request now waits on Leat's slow answer
        gunicorn.send_signal(signal.SIGTERM)
        slow.join(timeout=30)
    assert answers, "the request in flight got no answer"
    assert answers[0].status_code == 200
    assert "Amsterdam Centrum" in answers[0].text
    assert gunicorn.wait(timeout=30) == 0
