"""/healthz: a liveness check that answers at once, under gunicorn as the Procfile runs it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from helpers import (
    ROOT,
    SECRET_KEY,
    closed_port,
    make_portal,
    procfile_command,
    run_python,
    tool_environ,
    wait_until,
)

from portal.auth.launch import mint
from portal.leat_sandbox import Fault

LAUNCH = "l" * 32


def test_healthz_touches_neither_leat_nor_the_database(tmp_path):
    # Leat is a closed port and the database a file in a folder that does not
    # exist: any use of either would fail or hang.
    app = make_portal(
        {
            "INSTANCE_PATH": tmp_path,
            "LEAT_API_TOKEN": "t",
            "LEAT_BASE_URL": f"http://127.0.0.1:{closed_port()}",
            "SECRET_KEY": SECRET_KEY,
            "PORTAL_LAUNCH_SECRET": "l" * 32,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}",
        }
    )
    started = time.monotonic()
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert time.monotonic() - started < 0.5


@pytest.fixture
def procfile_web(tmp_path):
    """Starts the Procfile's web line as a PaaS would (PORT set, settings in the
    environment); each call may change the environment. Stopped after the test with
    SIGQUIT, gunicorn's quick shutdown (SIGTERM's graceful one cost ~2 s a test)."""
    processes = []

    def start(**overrides):
        port = closed_port()
        settings = {
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "LEAT_API_TOKEN": "t",
            "LEAT_BASE_URL": f"http://127.0.0.1:{closed_port()}",
            "SECRET_KEY": SECRET_KEY,
            "PORTAL_LAUNCH_SECRET": "l" * 32,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        }
        env = tool_environ(**{**settings, **overrides})
        run_python("-m", "flask", "--app", "wsgi", "db", "upgrade", env=env, check=True)
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
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(url, log):
    def answering() -> bool:
        try:
            requests.get(url + "/healthz", timeout=2)
        except requests.ConnectionError:
            return False
        return True

    wait_until(answering, 30, message=lambda: "gunicorn did not start:\n" + log.read_text())


def access_lines(log: Path) -> list[dict]:
    """The access log's lines written so far (a line still being written is not one)."""
    lines = log.read_text().splitlines(keepends=True)
    return [
        json.loads(line)
        for line in lines
        if line.endswith("\n") and '"logger": "portal.access"' in line
    ]


@pytest.mark.slow
def test_healthz_under_gunicorn_from_the_procfile(procfile_web):
    url, log = procfile_web()
    response = requests.get(url + "/healthz", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    # gunicorn.conf.py sends access lines to stdout: the request is there.
    wait_until(
        lambda: any(
            (a["method"], a["path"], a["status"]) == ("GET", "/healthz", 200) and a["request_id"]
            for a in access_lines(log)
        ),
        message=log.read_text,
    )
    assert "Using worker: gthread" in log.read_text()


@pytest.mark.slow
def test_demo_mode_prints_a_sign_in_link_that_works(procfile_web):
    url, log = procfile_web(
        PORTAL_DEMO="1",
        LEAT_API_TOKEN=None,
        LEAT_BASE_URL=None,
        SECRET_KEY=None,
        PORTAL_LAUNCH_SECRET=None,
    )
    printed = re.compile(r"Sign in to the demo portal: (\S+)\n")
    link = wait_until(lambda: printed.search(log.read_text()), message=log.read_text).group(1)
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
    # Measured against gevent (README, Benchmark): threads enough for fifty slow
    # clients beside the managers, and connections spread by the kernel (no cap).
    assert settings["worker_class"] == "gthread"
    assert settings["threads"] >= 48
    assert settings["reuse_port"] is True
    assert settings["worker_connections"] >= 1000
    assert settings["errorlog"] == "-"
    assert settings["control_socket_disable"] is True
    assert settings["limit_request_line"] == 8190  # gunicorn's ceiling


@pytest.mark.slow
def test_gunicorn_opens_no_control_socket(procfile_web, tmp_path):
    # gunicorn would put it under $XDG_RUNTIME_DIR, else under $HOME/.gunicorn/.
    home, runtime = tmp_path / "home", tmp_path / "runtime"
    home.mkdir()
    runtime.mkdir()
    _url, log = procfile_web(
        HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        # At debug level gunicorn says either way, once its workers are up.
        GUNICORN_CMD_ARGS="--log-level debug",
    )
    said = re.compile(r"Control socket (disabled|listening at .*)")
    decided = wait_until(lambda: said.search(log.read_text()), message=log.read_text)
    assert decided.group(1) == "disabled"
    assert not list(runtime.iterdir())
    assert not (home / ".gunicorn").exists()


def seventy_shop_link(secret: str) -> str:
    """A launch link's path for a manager of 70 shops whose id is the longest e-mail
    address there may be (254 characters)."""
    manager = "m" * (254 - len("@example.com")) + "@example.com"
    shops = [f"00000000-0000-4000-8000-{n:012d}" for n in range(70)]
    token = mint(secret, manager_id=manager, name="Manager of many shops", shops=shops)
    return f"/launch?token={token}"


@pytest.mark.slow
def test_a_launch_link_for_70_shops_gets_through_gunicorn(procfile_web):
    url, _log = procfile_web(PORTAL_LAUNCH_SECRET=LAUNCH)
    path = seventy_shop_link(LAUNCH)
    assert len(f"GET {path} HTTP/1.1") > 4094  # over gunicorn's own default
    response = requests.get(url + path, allow_redirects=False, timeout=10)
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/visits"


def test_readyz_checks_the_database(anonymous):
    response = anonymous.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_readyz_answers_503_when_the_database_is_unreachable(tmp_path):
    app = make_portal(
        {
            "INSTANCE_PATH": tmp_path,
            "LEAT_API_TOKEN": "t",
            "SECRET_KEY": SECRET_KEY,
            "PORTAL_LAUNCH_SECRET": "l" * 32,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}",
        }
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
    assert app.test_client().get("/healthz").status_code == 200


@pytest.mark.slow
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
        # The request now waits on Leat's slow answer.
        wait_until(lambda: sandbox.faults.faults_served, message="the page never asked Leat")
        gunicorn.send_signal(signal.SIGTERM)
        slow.join(timeout=30)
    assert answers, "the request in flight got no answer"
    assert answers[0].status_code == 200
    assert "Amsterdam Centrum" in answers[0].text
    assert gunicorn.wait(timeout=30) == 0


class Trickler:
    """Slow clients: each connection sends a POST's headers, then its body one byte a
    second, as long as the test lasts (at most ``seconds``)."""

    def __init__(self, url: str, count: int, seconds: float = 30) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sockets = []
        for _ in range(count):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(
                b"POST /launch HTTP/1.1\r\nHost: portal\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 1000\r\n\r\ntoken="
            )
            self.sockets.append(sock)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, args=(seconds,), daemon=True)
        self.thread.start()

    def _trickle(self, seconds: float) -> None:
        ends = time.monotonic() + seconds
        while not self.stop.wait(1.0) and time.monotonic() < ends:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.send(b"x")

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


@pytest.mark.slow
def test_fifty_slow_clients_delay_no_one_by_more_than_a_second(procfile_web, sandbox):
    # Security issue: connections that send their headers and then trickle the body
    # held a worker thread each; with 2 workers x 8 threads forty of them held
    # /healthz for 10 s. The worker model must serve everyone else regardless.
    url, _log = procfile_web(
        LEAT_BASE_URL=sandbox.base_url,
        LEAT_API_TOKEN=sandbox.token,
        PORTAL_LAUNCH_SECRET=LAUNCH,
        PORTAL_RATE_LIMIT_LAUNCH="10000/minute",
    )
    token = mint(LAUNCH, manager_id="m@example.com", name="M", shops=["*"])
    signed = requests.get(f"{url}/launch?token={token}", allow_redirects=False, timeout=10)
    cookie = {"Cookie": f"__Host-portal-session={signed.cookies['__Host-portal-session']}"}
    assert requests.get(url + "/visits", headers=cookie, timeout=10).status_code == 200

    slow = Trickler(url, 50)
    try:
        time.sleep(2)  # every slow connection accepted and waiting on its body
        for path, headers in (("/healthz", {}), ("/visits", cookie)):
            started = time.monotonic()
            # A new connection each, as another manager's browser would open.
            response = requests.get(url + path, headers=headers, timeout=15)
            took = time.monotonic() - started
            assert response.status_code == 200
            assert took < 1.0, f"{path} took {took:.1f} s behind 50 slow clients"
    finally:
        slow.close()
