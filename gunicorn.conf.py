"""gunicorn settings for the PaaS (the Procfile runs ``gunicorn wsgi:app``)."""

import math
import os

from portal.config import from_environ, preflight, worst_case_request_seconds

# A missing secret stops gunicorn here, with one line, before any worker boots.
preflight(os.environ)

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"

# Leat calls block on I/O for most of a request: a few processes with several
# threads each serve many managers without a process per waiting request.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))

# Access lines on stdout, where the PaaS collects logs.
accesslog = "-"
errorlog = "-"

# A worker must outlive the slowest request the Leat client allows (every call
# timing out in a row), or gunicorn would kill it while it still waits on Leat.
# from_environ reads the same LEAT_*_TIMEOUT variables the portal uses.
timeout = math.ceil(worst_case_request_seconds(from_environ(os.environ, "instance"))) + 15
# The PaaS sends SIGTERM and kills after about 30 s: finish in-flight requests first.
graceful_timeout = 25
keepalive = 5
