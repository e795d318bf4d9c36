"""What the per-process row cache saves: the portal's CPU per load of the visits page,
with the cache and without it.

    .venv/bin/python bench/page_cost.py        # 3 runs of 300 page loads per case, ~1 min

Run it on an otherwise quiet machine: other work on the same cores moves the ratio
by a few points (README, Benchmark). Not part of the test suite.

One process, no gunicorn: the portal in demo mode (its Leat sandbox in-process) on a
fresh SQLite database, driven by Flask's test client as one signed-in manager of
every shop. 50 visits are recorded through the portal (POST /visits, as the create
form sends them), so the page shows 50 confirmed rows built from Leat's snapshots, as
a manager sees them. Shops stay cached for the whole run: a timed page load makes no
Leat call.

Each case times N page loads (after a warm-up) with time.process_time, the CPU this
process used for the request (routing, session, queries, templates, compression: the
browser's Accept-Encoding is sent), and takes the median per load. The two variants
take turns in stretches of 10 loads within each run. The variants:

- with the cache: templates/visits/_results.html (the table on the page) as it is,
  ``{{ row_html(row) }}``;
- without: the same page with ``{% include "visits/_row.html" %}`` in its place,
  which is what the page is without the cache (a patched copy of _results.html,
  loaded in this script only);

each in two scenarios:

- steady: nothing changes between loads, so every row is a cache hit;
- churn: every record on the page changes between loads (as the worker, another
  manager or another instance would change it), so every row is a miss. The change
  is made outside the timed part.

Prints each run, then the medians of the runs: of each variant's cost and of the
ratio with / without (the pair measured side by side in each run).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jinja2 import BaseLoader, ChoiceLoader, DictLoader
from sqlalchemy import update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portal import create_app, demo  # noqa: E402
from portal.database import db  # noqa: E402
from portal.leat_sandbox import seed  # noqa: E402
from portal.models import Delivery, VisitRecord, utcnow  # noqa: E402
from portal.visits.service import ShopCache  # noqa: E402

ROWS = 50
TURN = 10  # page loads of one variant before the other takes its turn
HTMX = {"HX-Request": "true"}
BROWSER = {"Accept-Encoding": "br, gzip"}
TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
TABLE = re.compile(r'<tbody id="visit-rows">(.*?)</tbody>', re.S)
# The page's table of visits (included by index.html, and the answer to a search).
TABLE_TEMPLATE = "visits/_results.html"
CACHED_ROW = "{{ row_html(row) }}"
PLAIN_ROW = '{% include "visits/_row.html" %}'


def portal(folder: Path):
    """The portal in demo mode on a migrated database in ``folder``; shops never expire."""
    database = f"sqlite:///{folder / 'portal.sqlite3'}"
    # Migrated by `flask db upgrade` in a process of its own, as the release phase does:
    # Alembic would otherwise add its own log handlers to this one, and their cost.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAT_", "PORTAL_"))}
    env.update(
        DATABASE_URL=database,
        LEAT_API_TOKEN="unused",
        SECRET_KEY="unused-secret-key-at-least-32-characters",
        PORTAL_LAUNCH_SECRET="unused-but-at-least-32-characters-long",
    )
    migrate = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, capture_output=True)
    app = create_app(
        {
            "INSTANCE_PATH": folder,
            "SQLALCHEMY_DATABASE_URI": database,
            "PORTAL_DEMO": True,
            "LEAT_API_TOKEN": "",
            # 50 creates in a few seconds: over the default write limit per manager.
            "PORTAL_RATE_LIMIT_WRITES": "1000/minute",
        }
    )
    # Fetched once at warm-up, then never again: no timed load waits for Leat.
    app.extensions["shop_cache"] = ShopCache(ttl=math.inf)
    return app


def signed_in(app):
    browser = app.test_client()
    link = "/launch?token=" + demo.token(app.config["PORTAL_LAUNCH_SECRET"])
    assert browser.get(link).status_code == 303
    return browser


def record_visits(app, browser) -> None:
    """ROWS visits created through the portal, every one confirmed by the sandbox."""
    token = TOKEN.search(browser.get("/visits").text).group(1)
    for n in range(ROWS):
        data = {
            "csrf_token": token,
            "contact": seed.CONTACTS[n % len(seed.CONTACTS)].uuid,
            "shop": seed.SHOPS[n % len(seed.SHOPS)].uuid,
            "source": f"Counter {n % 7}",
        }
        assert browser.post("/visits", data=data, headers=HTMX).status_code == 200
    with app.app_context():
        states = db.session.scalars(db.select(VisitRecord.status)).all()
    assert states == [Delivery.CONFIRMED] * ROWS, states


def loaders(app) -> dict[str, BaseLoader]:
    """Template loaders for the page with the cache (the portal's own) and without it
    (the table including each row plainly, as the page is without the cache). Jinja
    keeps compiled templates per loader, so switching between them costs nothing."""
    own = app.jinja_env.loader
    source = own.get_source(app.jinja_env, TABLE_TEMPLATE)[0]
    assert source.count(CACHED_ROW) == 1, f"{TABLE_TEMPLATE} no longer calls row_html"
    plain = DictLoader({TABLE_TEMPLATE: source.replace(CACHED_ROW, PLAIN_ROW)})
    return {"with": own, "without": ChoiceLoader([plain, own])}


def change_every_record(app) -> None:
    """As an edit elsewhere would: each record's version moves (its cached row is stale)."""
    with app.app_context():
        db.session.execute(update(VisitRecord).values(updated_at=utcnow()))
        db.session.commit()


def page_costs(app, browser, variants, loads: int, churn: bool) -> dict[str, list[float]]:
    """CPU seconds of each page load, per variant. The variants take turns in short
    stretches (ABBA…), so whatever else the machine does meanwhile weighs on both
    alike, while most loads still follow one of their own kind, as in a worker that
    only has one of them (turns of one load each would make every load pay for
    evicting the other variant's code and data from the CPU caches)."""
    costs: dict[str, list[float]] = {name: [] for name in variants}
    for turn in range(loads // TURN):
        for name in sorted(variants, reverse=turn % 2 == 1):
            app.jinja_env.loader = variants[name]
            for _ in range(TURN):
                if churn:
                    change_every_record(app)
                started = time.process_time()
                answer = browser.get("/visits", headers=BROWSER)
                costs[name].append(time.process_time() - started)
                assert answer.status_code == 200
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=300, help="timed page loads per case")
    parser.add_argument("--warm-up", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    report = sys.stdout
    with (
        tempfile.TemporaryDirectory(prefix="portal-page-cost-") as folder,
        open(os.devnull, "w") as log,
        # The portal's JSON access line is still made and written for every request,
        # as in production (where stdout is a pipe), but not onto this report.
        contextlib.redirect_stdout(log),
    ):
        app = portal(Path(folder))
        browser = signed_in(app)
        record_visits(app, browser)
        variants = loaders(app)

        # Both variants must show the same rows, or the comparison means nothing.
        shown = {}
        for name, loader in variants.items():
            app.jinja_env.loader = loader
            shown[name] = TABLE.search(browser.get("/visits").text).group(1)
        assert shown["with"] == shown["without"]
        assert shown["with"].count("<tr ") == ROWS

        medians: dict[tuple[str, str], list[float]] = {}
        for run in range(1, args.runs + 1):
            for scenario in ("steady", "churn"):
                churn = scenario == "churn"
                page_costs(app, browser, variants, args.warm_up, churn)
                costs = page_costs(app, browser, variants, args.loads, churn)
                ms = {name: 1000 * statistics.median(c) for name, c in costs.items()}
                ms["ratio"] = ms["with"] / ms["without"]  # a pair measured side by side
                for name, value in ms.items():
                    medians.setdefault((scenario, name), []).append(value)
                print(
                    f"run {run} {scenario:6}  with the cache {ms['with']:5.2f} ms, "
                    f"without {ms['without']:5.2f} ms, with / without {ms['ratio']:.3f}",
                    file=report,
                    flush=True,
                )

        print(
            f"\nCPU per page load ({ROWS} confirmed rows), median of {args.runs} runs "
            f"of {args.loads} loads each:",
            file=report,
        )
        for scenario in ("steady", "churn"):
            with_ms, without_ms, ratio = (
                statistics.median(medians[scenario, name]) for name in ("with", "without", "ratio")
            )
            print(
                f"  {scenario:6}  with the cache {with_ms:5.2f} ms, without {without_ms:5.2f} ms,"
                f" with / without {ratio:.3f}",
                file=report,
            )


if __name__ == "__main__":
    main()
