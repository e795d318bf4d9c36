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
from . import delivery

log = logging.getLogger(__name__)


def run(stopping: threading.Event, *, once: bool = False, idle: float = 10.0) -> int:
    """Deliver until ``stopping`` is set (or, with ``once``, until nothing is due)."""
    delivered = 0
    pause = 0.5
    while not stopping.is_set():
        try:
            done = delivery.drain(should_stop=stopping.is_set)
        except SQLAlchemyError:
            log.exception("the database is unreachable; trying again")
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    click.echo("leat-sync: delivering pending visits", err=True)
    delivered = run(stopping, once=once, idle=idle)
    click.echo(f"leat-sync: stopped after {delivered} deliveries", err=True)
