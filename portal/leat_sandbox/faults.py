"""Fault injection: the sandbox told to fail the way a real upstream fails.

Wrapped around the sandbox app, ``FaultInjector`` answers chosen calls with a status
and body (a non-JSON maintenance page included), delays them, drops the connection
without an answer, or **commits then stalls**: the visit is really made, but the
answer comes only after the client has given up. Tests use it over loopback HTTP;
the benchmark uses ``latency`` to play a distant Leat.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from waitress.channel import ClientDisconnected
from werkzeug.test import run_wsgi_app

from .app import API_PREFIX

STATS_PATH = "/_sandbox/stats"


class _DropConnection(ClientDisconnected):
    """Raised to make waitress close the socket without answering.

    WSGI has no way to say "drop this connection"; waitress does exactly that when
    the app raises its own ``ClientDisconnected`` before anything was sent.
    """


@dataclass(frozen=True)
class Fault:
    status: int | None = None  # answer with this instead of the real app
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0  # wait this long before anything else
    drop: bool = False  # close the connection without an answer
    commit: bool = False  # let the real app act first (then stall, drop or answer)
    stall: float = 0.0  # after committing, wait this long before answering


MAINTENANCE_PAGE = Fault(
    status=503, body="<html><body><h1>Be right back.</h1></body></html>", content_type="text/html"
)


@dataclass
class _Rule:
    method: str | None
    path: str | None
    fault: Fault
    times: int | None  # None: every matching call
    chance: float = 1.0


class FaultInjector:
    """WSGI middleware: each call either meets a fault or reaches the sandbox."""

    def __init__(self, app: Callable, *, seed: int | None = None) -> None:
        self.app = app
        self.latency = 0.0  # added to every answer, fault or not
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)  # noqa: S311 (chaos, not cryptography)
        self.faults_served = 0
        # Calls seen, by (method, first path segment), e.g. ("POST", "/visits").
        self.calls: Counter[tuple[str, str]] = Counter()

    @property
    def config(self):  # so a server serving the injector still finds the sandbox's token
        return self.app.config

    def inject(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        path: str | None = None,
        times: int | None = 1,
        chance: float = 1.0,
    ) -> None:
        """Meet the next ``times`` calls (all, if None) to ``method path*`` with ``fault``.

        ``path`` is matched as a prefix of the API path, e.g. ``"/visits"``.
        """
        with self._lock:
            self._rules.append(_Rule(method, path, fault, times, chance))

    def chaos(self, faults: Iterable[Fault], *, rate: float) -> None:
        """Each call meets one of ``faults`` with probability ``rate``."""
        faults = list(faults)
        for fault in faults:
            self.inject(fault, times=None, chance=rate / len(faults))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.method not in (None, method):
                    continue
                if rule.path is not None and not path.startswith(rule.path):
                    continue
                if rule.chance < 1.0 and self._random.random() >= rule.chance:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                self.faults_served += 1
                return rule.fault
        return None

    def stats(self) -> dict[str, Any]:
        """Calls seen and connections accepted (the benchmark's count of upstream work)."""
        with self._lock:
            calls = {f"{method} {path}": n for (method, path), n in sorted(self.calls.items())}
        connections = getattr(self, "connections", None)
        return {"calls": calls, "connections": connections() if connections else None}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == STATS_PATH:  # not Leat's: the sandbox's own counters
            body = json.dumps(self.stats()).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if self.latency:
            time.sleep(self.latency)
        path = environ.get("PATH_INFO", "")
        path = path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path
        with self._lock:
            self.calls[(environ["REQUEST_METHOD"], "/" + path.strip("/").split("/")[0])] += 1
        fault = self._take(environ["REQUEST_METHOD"], path)
        if fault is None:
            return self.app(environ, start_response)
        if fault.delay:
            time.sleep(fault.delay)
        committed = None
        if fault.commit:
            # The real answer is held back, not started: the fault may still replace
            # it, and a server takes only one start_response.
            committed = run_wsgi_app(self.app, environ, buffered=True)
        if fault.stall:
            time.sleep(fault.stall)
        if fault.drop:
            raise _DropConnection()
        if fault.status is None:
            if committed is None:
                return self.app(environ, start_response)
            chunks, status, real_headers = committed
            start_response(status, real_headers.to_wsgi_list())
            return chunks
        body = fault.body.encode()
        headers = [("Content-Type", fault.content_type), *fault.headers.items()]
        start_response(f"{fault.status} FAULT", headers)
        return [body]
