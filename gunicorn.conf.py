"""gunicorn settings for the PaaS (the Procfile runs ``gunicorn wsgi:app``)."""

import math
import os

from portal.config import DEFAULT_THREADS, from_environ, preflight, worst_case_request_seconds

# A missing secret stops gunicorn here, with one line, before any worker boots.
preflight(os.environ)

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"

# Leat calls block on I/O for most of a request: a few processes with several
# threads each serve many managers without a process per waiting request.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# The Leat client sizes its connection pool from the same variable.
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


def when_ready(server):
    """Demo mode prints a sign-in link once gunicorn listens, as Jupyter prints its URL."""
    if os.environ.get("PORTAL_DEMO") != "1":
        return
    from portal.auth.demo import startup_link

    host, port = server.address[0][:2] if server.address else ("127.0.0.1", 8000)
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 (a wildcard bind)
    link = startup_link(f"http://{host}:{port}", os.environ.get("PORTAL_LAUNCH_SECRET", ""))
    print(
        f"\nSign in to the demo portal: {link}\n"
        "(It works once, for 10 minutes; the sign-in page offers a new one.)\n",
        flush=True,
    )
