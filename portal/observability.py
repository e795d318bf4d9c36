"""One JSON line per event on stdout, each with the request id.

The request id is the router's ``X-Request-ID`` when it sent one, else a new one; it
is echoed in the answer. Lines never carry tokens, launch links or e-mail addresses:
paths are logged without their query, Leat calls by path template.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
ACCESS_LOGGER = "portal.access"
# PORTAL_LOG_FORMAT: "json" (the default, for the PaaS's log service) or "terminal".
LOG_FORMAT_VARIABLE = "PORTAL_LOG_FORMAT"
# How the portal's own source files show in a traceback's file names.
PACKAGE_FOLDER = f"{os.sep}portal{os.sep}"
# What a request id from outside must look like to be used (a uuid, with or without
# hyphens, or a router's token): it goes into every log line and back in the answer,
# so anything else (markup, a forged JSON field, a megabyte) is replaced by a new one.
REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
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
    "error",
    "where",
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
        if record.exc_info and "error" not in line:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, ensure_ascii=False)


class TerminalLines(logging.Formatter):
    """``PORTAL_LOG_FORMAT=terminal`` (``python3 dev.py serve``): short lines for a
    person at a terminal, one per request ("10:42:13 GET /visits 200 12 ms"), other
    events as "time level logger: event". Never the JSON fields a log service reads."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        if record.name == ACCESS_LOGGER and hasattr(record, "status"):
            return (
                f"{moment} {record.method} {record.path} {record.status}"
                f" {record.duration_ms:.0f} ms"
            )
        line = f"{moment} {record.levelname.lower()} {record.name}: {record.getMessage()}"
        if hasattr(record, "error"):
            line += f" ({record.error}{' at ' + record.where if hasattr(record, 'where') else ''})"
        return line


def error_fields(error: BaseException) -> dict[str, str]:
    """An unexpected error as a log line may carry it: its kind and where it was raised.

    Never its message or traceback text: a database error's message holds the SQL
    statement, and exceptions raised on customer data may quote an e-mail address.
    """
    fields = {"error": type(error).__name__}
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if PACKAGE_FOLDER in frame.filename]
    if ours:  # the portal's innermost line: a library's own would say little
        innermost = ours[-1]
        where = innermost.filename.rsplit(PACKAGE_FOLDER, 1)[-1]
        fields["where"] = f"portal/{where}:{innermost.lineno}"
    return fields


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
    """Every log line of the process is one JSON line on stdout: the portal's own from
    INFO up, any library's from WARNING up (the handler is added once per process).
    With ``PORTAL_LOG_FORMAT=terminal``, short plain lines instead (``TerminalLines``)."""
    terminal = os.environ.get(LOG_FORMAT_VARIABLE, "").strip().lower() == "terminal"
    root = logging.getLogger()
    if not any(isinstance(h, StdoutHandler) for h in root.handlers):
        # On the root logger, not "portal": a library's warning would otherwise reach
        # Python's last-resort handler and come out as a plain-text line on stderr.
        handler = StdoutHandler()
        handler.setFormatter(TerminalLines() if terminal else JsonLines())
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    logging.getLogger("portal").setLevel(logging.INFO)
    # At a terminal, one line per request: the access line. The portal's line per
    # Leat call (several per page) is for the log service only.
    logging.getLogger("portal.leat").setLevel(logging.WARNING if terminal else logging.NOTSET)
    # urllib3 warns of every retry with the URL and its query, which can hold a
    # contact's e-mail address (GET /contacts/find-one-by?email=…); the portal's own
    # line per Leat call counts the retries instead.
    logging.getLogger("urllib3").setLevel(logging.ERROR)


def init_app(app: Flask) -> None:
    configure_logging()
    access = logging.getLogger(ACCESS_LOGGER)

    @app.before_request
    def start():
        given = request.headers.get(REQUEST_ID_HEADER, "")
        # The router's id when it looks like one; never trust it to be anything else.
        g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
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
