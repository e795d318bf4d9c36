"""``python3 dev.py serve`` as a newcomer runs it: the demo portal and its worker, a
simulated Leat outage, and a quiet terminal."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading

import pytest
import requests
from helpers import HTMX, ROOT, closed_port, csrf_token, soup, text, tool_environ, wait_until

from portal.leat_sandbox import seed

pytestmark = pytest.mark.slow


class Serve:
    """``dev.py serve --port …`` with its own instance folder; its output collected."""

    def __init__(self, instance) -> None:
        self.port = closed_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environ = tool_environ(
            PORTAL_INSTANCE_PATH=str(instance), WEB_CONCURRENCY="1", PYTHONUNBUFFERED="1"
        )
        self.process = subprocess.Popen(
            [sys.executable, "dev.py", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, so teardown reaches gunicorn too
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def sign_in_link(self) -> str:
        def link():
            found = re.search(r"Sign in to the demo portal: (\S+)", self.output())
            return found and found.group(1)

        return wait_until(link, 60, message=self.output)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(30)
        self.reader.join(5)  # every line read
        return code


@pytest.fixture
def serve(tmp_path):
    running = Serve(tmp_path / "instance")
    try:
        yield running
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group is gone once all stopped
            os.killpg(running.process.pid, signal.SIGKILL)
        running.process.wait()
        running.reader.join(5)
        running.process.stdout.close()


def test_serve_delivers_what_waited_through_a_simulated_outage(serve):
    browser = requests.Session()
    page = browser.get(serve.sign_in_link(), timeout=10)
    assert page.status_code == 200
    assert page.url == f"{serve.base}/visits"
    token = csrf_token(page)

    outage = browser.post(f"{serve.base}/demo/outage", data={"csrf_token": token}, timeout=10)
    assert "Leat outage simulated until" in text(outage)
    created = browser.post(
        f"{serve.base}/visits",
        data={
            "csrf_token": token,
            "contact": "anna.devries@example.com",
            "shop": seed.SHOP_UTRECHT,
            "date": "2026-05-01",
            "starts_at": "10:00",
        },
        headers=HTMX,
        timeout=30,
    )
    row = soup(created).select_one("tr.visit-row")
    assert "state-pending" in row["class"], text(created)
    watch = row["hx-get"]
    assert browser.get(f"{serve.base}{watch}", headers=HTMX, timeout=10).status_code == 204

    ended = browser.post(f"{serve.base}/demo/outage/end", data={"csrf_token": token}, timeout=10)
    assert "Simulate a Leat outage" in text(ended)
    # Nothing here sends it: the worker `serve` started does, within seconds.
    polls = []

    def delivered():
        answer = browser.get(f"{serve.base}{watch}", headers=HTMX, timeout=10)
        polls.append(answer.status_code)
        return answer.status_code == 200 and answer

    answer = wait_until(delivered, 15, interval=0.5, message=serve.output)
    assert "state-confirmed" in soup(answer).select_one("tr.visit-row")["class"]
    assert soup(answer).select_one("tr.visit-row").get("hx-get") is None  # polling stops

    assert serve.stop() == 0
    output = serve.output()
    assert "leat-sync: stopped after 1 deliveries" in output
    # A quiet terminal: no migration chatter, and one short line per request.
    assert "alembic" not in output
    assert "INFO  [" not in output
    assert len([line for line in serve.lines if f" GET {watch} " in line]) == len(polls) + 1
    assert len([line for line in serve.lines if " POST /visits " in line]) == 1
    assert not [line for line in serve.lines if line.startswith("{")]  # no JSON lines


def test_serve_refuses_a_port_another_portal_listens_on():
    """gunicorn listens with SO_REUSEPORT, which would let a second demo share the
    first one's port in silence: serve checks the port first and says so."""
    port = closed_port()
    with socket.socket() as first:
        first.bind(("127.0.0.1", port))
        first.listen()
        result = subprocess.run(
            [sys.executable, "dev.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=tool_environ(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert result.returncode != 0
    assert f"Port {port} is in use" in result.stderr
