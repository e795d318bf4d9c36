"""gunicorn settings for the PaaS (the Procfile runs ``gunicorn wsgi:app``)."""

import ctypes
import ctypes.util
import math
import os

from portal.config import (
    DEFAULT_THREADS,
    DEFAULT_WORKER_CLASS,
    from_environ,
    preflight,
    worst_case_request_seconds,
)

# A missing secret stops gunicorn here, with one line, before any worker boots.
preflight(os.environ)


def _cap_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's per-thread malloc arenas, as MALLOC_ARENA_MAX would.

    glibc gives threads up to 8 arenas per core, and with dozens of threads each
    arena keeps its own free memory: a worker's resident memory grew past 100 MB under
    the benchmark's 64 managers, against 87 MB with two arenas (bench/, README), at no
    measurable cost in speed. Set here, in the master before it forks, so every
    worker inherits it however the process is started.
    """
    if "MALLOC_ARENA_MAX" in os.environ:  # the operator's choice wins
        return
    libc = ctypes.util.find_library("c")
    mallopt = getattr(ctypes.CDLL(libc), "mallopt", None) if libc else None
    if mallopt is not None:  # glibc only; elsewhere nothing to do
        mallopt(-8, arenas)  # M_ARENA_MAX


_cap_malloc_arenas()

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"

# Leat calls block on I/O for most of a request, so a worker serves many requests at
# once. GUNICORN_WORKER_CLASS picks how (README, Benchmark: both measured):
# - gthread (the default): GUNICORN_THREADS threads per worker. A kept-alive
#   connection waits in the worker's poller, not on a thread; a client trickling its
#   request body holds a thread while the app reads it, so there are threads enough
#   for fifty such clients beside the managers (tests/test_health.py).
# - gevent: a greenlet per connection, so any number of slow clients is cheap; but
#   SQLite's wait for another process's write lock blocks the whole worker, which on
#   SQLite cost more than the threads do (measured). For PostgreSQL installations.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "") or DEFAULT_WORKER_CLASS
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# The Leat client's pool sizes itself from the same variable.
threads = int(os.environ.get("GUNICORN_THREADS", str(DEFAULT_THREADS)))

# Access lines go to stdout, where the PaaS collects logs, as the portal's own JSON
# lines (portal/observability.py: request id, path without its query so a launch
# link's token never reaches a log). gunicorn's access log would repeat each one.
accesslog = None
errorlog = "-"

# A worker must outlive the slowest request the Leat client allows (every call
# timing out in a row), or gunicorn would kill it while it still waits on Leat.
# from_environ reads the same LEAT_*_TIMEOUT variables the portal uses.
timeout = math.ceil(worst_case_request_seconds(from_environ(os.environ, "instance"))) + 15
# The PaaS sends SIGTERM and kills after about 30 s: finish in-flight requests first.
graceful_timeout = 25
keepalive = 5
# Each worker listens on a socket of its own (SO_REUSEPORT), and the kernel spreads
# new connections across them evenly. With one shared socket the worker that woke
# first took nearly every kept-alive browser (gevent, 16 managers: one worker 0.48 of
# a core, the other 0.0), and the former cure, a cap of threads + 25 % connections
# per worker, left managers waiting in the backlog behind idle kept-alive
# connections (64 managers, 2 x 8 threads: p95 15.5 s). With the kernel spreading
# them, no cap below gunicorn's default is needed.
reuse_port = True
worker_connections = 1000

# A launch link carries its JWT in the query string, and the JWT lists the manager's
# shops: 39 bytes per shop uuid, a third more once base64-encoded. The request line of
# a link for 70 shops is 3,962 bytes with a short `sub` and name, and 4,250 with a
# 254-character e-mail address as `sub`: gunicorn's default of 4,094 is not enough.
# 8,190, gunicorn's ceiling, fits about 140 shops, room enough: a longer list belongs
# in the body of a POST /launch. A longer line is still refused (400) before the app.
limit_request_line = 8190

# gunicorn 25.1+ opens a control socket ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl)
# through which any process of the same user can list, add or stop workers and reload
# the server. The PaaS manages the processes with signals and never uses it; a socket
# nobody needs is one more way in, so none is opened.
control_socket_disable = True


def post_worker_init(worker):
    """Demo mode prints a sign-in link once the portal answers, as Jupyter prints its URL.

    Printed by the first worker when it has loaded the app: with `reuse_port` each
    worker opens its own socket after it starts, so nothing listens before then (the
    master's `when_ready` came too early: a link followed at once was refused).
    """
    if os.environ.get("PORTAL_DEMO") != "1" or worker.age != 1:
        return
    from portal.demo import startup_link

    host, port = worker.sockets[0].getsockname()[:2]
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 (a wildcard bind)
    link = startup_link(f"http://{host}:{port}", os.environ.get("PORTAL_LAUNCH_SECRET", ""))
    print(
        f"\nSign in to the demo portal: {link}\n"
        "(It works once, for 10 minutes; the sign-in page offers a new one.)\n",
        flush=True,
    )
