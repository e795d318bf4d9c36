"""Serves a WSGI app over real HTTP with waitress: in a thread for tests, in the foreground
for people.

The portal's client keeps connections alive and tests check that it does, so the
server must speak HTTP/1.1 keep-alive properly (reading whatever body the app left
unread, answering ``Expect: 100-continue``, dropping idle connections); waitress is a
well-kept server that does, and runs in a thread. Tests also serve the portal itself
with it, for the browser tests.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Final

import waitress
from waitress import wasyncore

from .app import TOKEN_CONFIG

# Waitress answers from a fixed pool of threads, all started at once (a few ms for
# dozens here), and the test suite starts a server per test: a thread of a test needs
# few. The command line serves the benchmark, whose sandbox sleeps its latency in a
# thread while the portal's 2 gunicorn workers x 32 threads call at once: fewer
# threads there would queue calls that a distant Leat would answer together.
TEST_THREADS: Final = 16
FOREGROUND_THREADS: Final = 64
# Waitress stops accepting at this many open connections (its default is 100, which
# pooled gunicorn workers can reach in the benchmark).
CONNECTION_LIMIT: Final = 1000
# A request still running when the server stops may finish within this; the rest is
# abandoned, so stopping never waits for long.
STOP_TIMEOUT_SECONDS: Final = 5.0


class _ConnectionCounter:
    """WSGI middleware: counts the client connections that have sent a request.

    A connection is its client's (address, port), which stays the same for as long
    as the connection lives; a client reuses a port only long after (thousands of
    connections later), so counting distinct pairs counts connections.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._seen)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        peer = (environ.get("REMOTE_ADDR", ""), environ.get("REMOTE_PORT", ""))
        with self._lock:
            self._seen.add(peer)
        return self.app(environ, start_response)


class SandboxServer:
    """A WSGI app (the sandbox, or any other) behind a real socket; ``base_url`` has
    no /api/v3 prefix."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, *, threads: int = TEST_THREADS
    ) -> None:
        self.app = app
        self._counter = _ConnectionCounter(app)
        # Bound here rather than by waitress, so there is exactly one listening socket
        # whatever the host name resolves to, and a taken port fails right away.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family)
        # The server's own socket map: stopping closes every socket in it, the
        # kept-alive connections included.
        self._map: dict[int, Any] = {}
        try:
            self._server = waitress.create_server(
                self._counter,
                map=self._map,
                sockets=[listener],
                threads=threads,
                connection_limit=CONNECTION_LIMIT,
                # poll(), not select(): select() cannot watch descriptors above 1024.
                asyncore_use_poll=True,
                # Headers reach the app as sent (the portal's ProxyFix decides which
                # X-Forwarded-* to trust), as from any plain server.
                clear_untrusted_proxy_headers=False,
            )
        except BaseException:
            listener.close()
            raise
        self._address = listener.getsockname()[:2]
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def base_url(self) -> str:
        host, port = self._address
        return f"http://{_url_host(str(host))}:{port}"

    @property
    def token(self) -> str:
        """The bearer token the served sandbox accepts."""
        return self.app.config[TOKEN_CONFIG]

    @property
    def connections_accepted(self) -> int:
        return self._counter.count

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._server.run, name=f"waitress {self.base_url}")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        # Requests being served finish first, while their connections are still open
        # and the loop still sends what they answer. Idle kept-alive connections have
        # no request, so they hold nothing up.
        self._server.task_dispatcher.shutdown(timeout=STOP_TIMEOUT_SECONDS)
        if self._thread is not None and self._thread.is_alive():
            # Closed inside the loop's own thread, which owns these sockets; with its
            # map empty the loop ends. The loop may run the thunk before the pull has
            # written to the trigger's pipe, and the thunk closes that pipe: it waits
            # for the write, or the write could land in whatever reuses the number.
            pulled = threading.Event()

            def close_when_pulled() -> None:
                pulled.wait(STOP_TIMEOUT_SECONDS)
                self._close_sockets()

            self._server.trigger.pull_trigger(close_when_pulled)
            pulled.set()
            self._thread.join(STOP_TIMEOUT_SECONDS)
        else:
            self._close_sockets()

    def _close_sockets(self) -> None:
        for dispatcher in list(self._map.values()):
            # An answer finished just now may still wait in waitress's buffer for the
            # loop to send it: sent now, before its connection closes.
            if dispatcher.writable():
                with contextlib.suppress(OSError):
                    dispatcher.handle_write()
        wasyncore.close_all(self._map, ignore_all=True)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(app: Any) -> SandboxServer:
    """Start serving ``app`` on a free loopback port in a background thread."""
    return SandboxServer(app).start()


def serve_forever(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8100,
    *,
    on_ready: Callable[[SandboxServer], None] | None = None,
) -> None:
    """Serve ``app`` in the foreground until SIGINT or SIGTERM, then stop cleanly.

    ``on_ready`` is called once the socket is bound (with the real port, when 0 was
    asked for). Must run in the main thread, where signal handlers live.
    """
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop_requested.set()

    # Installed before the socket is bound, so even an early signal is a clean stop.
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with SandboxServer(app, host, port, threads=FOREGROUND_THREADS) as server:
            server.start()
            if on_ready is not None:
                on_ready(server)
            # Waits in short slices: on some platforms a signal can't interrupt an
            # endless wait, only end a short one.
            while not stop_requested.wait(timeout=0.5):
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):  # noqa: S104  (the address to name, not to bind)
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
