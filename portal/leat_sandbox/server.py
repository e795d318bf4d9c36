"""Serves the sandbox over real HTTP: in a thread for tests, in the foreground for people.

Werkzeug's own request handler ends every connection after one answer ("Connection:
close"), because it can't tell where an unread request body ends. The portal's client
keeps connections alive, and tests want to see that it does, so this handler speaks
real HTTP/1.1 keep-alive: it reads whatever the app left of the body (bounded by
Content-Length) before waiting for the next request on the same connection.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

from .app import TOKEN_CONFIG

STOP_TIMEOUT_SECONDS: Final = 5.0
POLL_SECONDS: Final = 0.05
# An idle kept-alive connection is dropped after this, so a vanished client can't
# hold a thread forever.
IDLE_CONNECTION_SECONDS: Final = 60


class _ConnectionTracker:
    """Counts accepted connections and can cut the open ones when the server stops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closing = False
        self.accepted = 0

    def opened(self, connection: socket.socket) -> None:
        with self._lock:
            self.accepted += 1
            self._open.add(connection)
            if self._closing:  # accepted just as the server stopped
                _cut(connection)

    def closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)

    def cut_all(self) -> None:
        # A kept-alive connection waits for its next request indefinitely; cutting
        # it lets its thread finish, so stopping the server never hangs.
        with self._lock:
            self._closing = True
            for connection in self._open:
                _cut(connection)


def _cut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already gone
        connection.shutdown(socket.SHUT_RDWR)


class _KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_CONNECTION_SECONDS
    server: _SandboxWSGIServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes; with Nagle's algorithm the body
        # would wait for the client's delayed ACK (~40 ms) on a kept-alive connection.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.tracker.opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.tracker.closed(self.connection)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if not self.server.quiet:
            super().log_request(code, size)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body = None
        if environ.get("wsgi.input_terminated"):
            # A chunked body: its end can't be found without reading it, so this
            # connection serves one request only.
            self.close_connection = True
        else:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self.send_error(400, "Bad Content-Length")
                return
            body = LimitedStream(self.rfile, length)
            environ["wsgi.input"] = body
            environ["wsgi.input_terminated"] = True
        try:
            status, headers, content = _call_app(self.server.app, environ)
            if body is not None:
                body.exhaust()  # the next request starts right after this body
        except ClientDisconnected:
            self.close_connection = True
            return
        except Exception:
            self.log_error("Leat sandbox: the app failed outside Flask's error handling")
            self.close_connection = True
            status, headers, content = "500 INTERNAL SERVER ERROR", [], b""
        self._respond(status, headers, content)

    def _respond(self, status: str, headers: list[tuple[str, str]], content: bytes) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        self.send_response(code, reason)
        names = set()
        for name, value in headers:
            if name.lower() != "connection":
                self.send_header(name, value)
                names.add(name.lower())
        bodyless = self.command == "HEAD" or code < 200 or code in (204, 304)
        if "content-length" not in names and not bodyless:
            self.send_header("Content-Length", str(len(content)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if content and self.command != "HEAD":
            self.wfile.write(content)


def _call_app(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    # The answer is collected whole before anything is sent: sandbox answers are
    # small, and knowing the length is what lets the connection stay open.
    started: list[Any] = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return chunks.append

    app_iter = app(environ, start_response)
    try:
        chunks.extend(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    return started[0], started[1], b"".join(chunks)


class _SandboxWSGIServer(ThreadedWSGIServer):
    # Handler threads are joined on close (instead of being left as daemons), so a
    # stopped server has really finished: no thread, no socket left behind.
    daemon_threads = False
    block_on_close = True

    def __init__(self, host: str, port: int, app: Any, *, quiet: bool) -> None:
        self.tracker = _ConnectionTracker()
        self.quiet = quiet
        super().__init__(host, port, app, handler=_KeepAliveHandler)


class SandboxServer:
    """The sandbox app behind a real socket; ``base_url`` has no /api/v3 prefix."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True):
        self.app = app
        self._server = _SandboxWSGIServer(host, port, app, quiet=quiet)
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{_url_host(str(host))}:{port}"

    @property
    def token(self) -> str:
        """The bearer token the served sandbox accepts."""
        return self.app.config[TOKEN_CONFIG]

    @property
    def connections_accepted(self) -> int:
        return self._server.tracker.accepted

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # How often the loop looks for a stop request: a test suite stops one
            # server per test, and waits this long each time.
            kwargs={"poll_interval": POLL_SECONDS},
            name=f"leat-sandbox {self.base_url}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        # Cut first: werkzeug's serve_forever ends by joining the handler threads,
        # and a kept-alive connection's thread only ends when its socket does.
        self._server.tracker.cut_all()
        if self._thread is not None:
            # shutdown() waits for serve_forever to notice; only call it if it runs.
            self._server.shutdown()
            self._thread.join(STOP_TIMEOUT_SECONDS)
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
    """Start serving ``app`` in a background thread; port 0 picks a free port."""
    return SandboxServer(app, host, port).start()


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
        with SandboxServer(app, host, port, quiet=False) as server:
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
