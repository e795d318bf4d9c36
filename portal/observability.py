"""One JSON line per event on stdout, each with the request id.

The request id is the router's ``X-Request-ID`` when it sent one, else a new one; it
is echoed in the answer. Lines never carry tokens, launch links or e-mail addresses:
paths are logged without their query, Leat calls by path template.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# Fields a log call may add with ``extra=``; everything else is the logger's own.
FIELDS = (
    "method",
    "path",
    "status",
    "duration_ms",
    "retries",
    "record",
    "outcome",
    "fields",
    "traceback",
)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        for field in FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and has_request_context():
            record.request_id = g.get("request_id")
        return True


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time (a test may have replaced it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging() -> None:
    """The portal's loggers write JSON lines to stdout (once per process)."""
    logger = logging.getLogger("portal")
    if any(isinstance(h, StdoutHandler) for h in logger.handlers):
        return
    handler = StdoutHandler()
    handler.setFormatter(JsonLines())
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def init_app(app: Flask) -> None:
    configure_logging()
    access = logging.getLogger("portal.access")

    @app.before_request
    def start():
        given = request.headers.get(REQUEST_ID_HEADER, "")
        # The router's id when it is a sane token; never trust it to be anything else.
        g.request_id = (
            given if given and len(given) <= 200 and given.isprintable() else uuid.uuid4().hex
        )
        g.started = time.perf_counter()

    @app.after_request
    def finish(response):
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        access.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,  # no query: a launch link's token stays out
                "status": response.status_code,
                "duration_ms": round(
                    (time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1
                ),
            },
        )
        return response
