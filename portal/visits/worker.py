"""``flask --app wsgi leat-sync``: the worker process that delivers pending records.

It loops: deliver what is due, then sleep a little longer each time nothing is (up
to ``--idle`` seconds). SIGTERM (the PaaS stopping it) lets the record in hand finish
and then ends the loop; a record claimed by a worker that was killed outright is
delivered by the next one when its claim runs out.
"""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from ..database import db
from ..observability import configure_logging, error_fields
from . import delivery

log = logging.getLogger(__name__)


def run(stopping: threading.Event, *, once: bool = False, idle: float = 10.0) -> int:
    """Deliver until ``stopping`` is set (or, with ``once``, until nothing is due)."""
    delivered = 0
    pause = 0.5
    while not stopping.is_set():
        try:
            done = delivery.drain(should_stop=stopping.is_set)
        except SQLAlchemyError as exc:
            # One line, with the error's kind only: its message holds the SQL
            # statement (and any values bound to it).
            log.error("the database is unreachable; trying again", extra=error_fields(exc))
            db.session.rollback()
            done = 0
        delivered += done
        if done:
            pause = 0.5
            continue
        if once:
            break
        stopping.wait(pause)
        pause = min(idle, pause * 2)
    return delivered


@click.command("leat-sync")
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
@click.option("--idle", default=10.0, show_default=True, help="Longest sleep when idle (s).")
@with_appcontext
def leat_sync(once: bool, idle: float) -> None:
    """Deliver pending visits to Leat until stopped (SIGTERM or Ctrl+C)."""
    stopping = threading.Event()

    def stop(signum, _frame):
        log.info("signal %s: finishing the record in hand, then stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # JSON lines on stdout, as the web process writes them (create_app has set this up
    # already; said here because the worker's log must never fall back to plain text).
    configure_logging()
    log.info("leat-sync: delivering pending visits")
    try:
        delivered = run(stopping, once=once, idle=idle)
    except Exception as exc:
        # A bug outside any one record's delivery: one line naming it, no traceback
        # (whose text may quote SQL or a customer's data), and a failed exit so the
        # PaaS restarts the worker.
        log.critical("leat-sync: stopped by an unexpected error", extra=error_fields(exc))
        raise SystemExit(1) from None
    log.info("leat-sync: stopped after %s deliveries", delivered)
