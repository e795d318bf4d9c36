"""What finding visits costs the database: the list's two queries (the count, and a
page of 50) for typical searches, on PostgreSQL holding 100,000 records.

    pgdir=$(mktemp -d); url=$(.ci/start-postgres 55434 "$pgdir")
    .venv/bin/python bench/search_cost.py --database-url "$url"     # ~1 min
    .ci/start-postgres stop "$pgdir"

Not part of the test suite: it measures, it does not judge (the target is 20 ms of
database time for a filtered page; README, Benchmark).

It makes a database of its own on the given server (``portal_search_cost``, dropped
first), migrates it as the release phase does (``flask db upgrade``, so the indexes
are the migrations'), and fills it with RECORDS records: a chain of 12 shops, 5,000
contacts, visits over two years, most recorded through the portal (external ID
``portal-<uuid>``), some with a till's receipt number, a few pending or needing
attention; each with a snapshot as wide as Leat's. Then VACUUM ANALYZE, as autovacuum
would have done on a live database.

Each case is a search a manager makes, as the portal builds it
(``queries.counting`` and ``queries.matching``, limit 50, offset of the page), for a
manager of every shop and, where it differs, of two shops. Each query is run under
``EXPLAIN (ANALYZE)`` REPEATS times after a warm-up; printed are the medians of its
planning plus execution time (the database's time, without the network or Python)
for the count, the page and both, the fastest of the runs for both ("best": on a busy
machine, the closest to the cost itself), the rows that match, and the indexes the
plans use. ``--without-search-index`` runs
the search cases a second time without the trigram index, to show what it buys.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portal import create_app  # noqa: E402
from portal.auth.manager import Manager  # noqa: E402
from portal.config import database_url  # noqa: E402
from portal.database import db  # noqa: E402
from portal.models import Delivery, VisitRecord  # noqa: E402
from portal.visits import queries  # noqa: E402
from portal.visits.queries import VISITS_PER_PAGE, Order, VisitFilter  # noqa: E402

DATABASE = "portal_search_cost"
RECORDS = 100_000
SHOPS = 12
CONTACTS = 5_000
REPEATS = 15
FIRST_NAMES = [
    "anna",
    "bram",
    "chloe",
    "daan",
    "emma",
    "finn",
    "gijs",
    "hanna",
    "isa",
    "jesse",
    "julia",
    "lars",
    "lieke",
    "luuk",
    "maud",
    "milan",
    "noah",
    "noor",
    "olivia",
    "pieter",
    "quinten",
    "roos",
    "sam",
    "sanne",
    "sophie",
    "teun",
    "tim",
    "vera",
    "wouter",
    "yara",
]
LAST_NAMES = [
    "bakker",
    "boer",
    "bos",
    "brouwer",
    "dekker",
    "dijkstra",
    "hendriks",
    "jansen",
    "janssen",
    "de-jong",
    "koster",
    "meijer",
    "mulder",
    "peters",
    "smit",
    "van-dam",
    "van-dijk",
    "van-leeuwen",
    "vermeulen",
    "visser",
    "de-vries",
]
SOURCES = ["Portal"] * 6 + ["Till 1", "Till 2", "Till 3", "Webshop", "Kiosk"]
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server's URL")
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--without-search-index", action="store_true")
    args = parser.parse_args()

    url = fresh_database(args.database_url)
    migrate(url)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "LEAT_API_TOKEN": "unused",
            "SECRET_KEY": "unused",
            "PORTAL_LAUNCH_SECRET": "unused-but-at-least-32-characters-long",
        }
    )
    rng = random.Random(20261127)
    with app.app_context():
        shops, contacts = fill(rng, args.records)
        vacuum(url)
        cases = typical_cases(shops, contacts)
        print(
            f"{args.records:,} records, {SHOPS} shops, {CONTACTS:,} contacts; PostgreSQL "
            f"{db.session.execute(text('SHOW server_version')).scalar()}; medians of "
            f"{args.repeats} runs, planning + execution (EXPLAIN ANALYZE), in ms\n"
        )
        report(cases, args.repeats)
        if args.without_search_index:
            db.session.execute(text("DROP INDEX ix_visit_records_search"))
            db.session.commit()
            print("\nwithout the trigram index (ix_visit_records_search):\n")
            report([case for case in cases if case[2].text], args.repeats)
        db.engine.dispose()


def fresh_database(server: str) -> str:
    server = database_url(server, ROOT)
    admin = make_url(server)
    with psycopg.connect(
        host=admin.host,
        port=admin.port,
        user=admin.username,
        password=admin.password,
        dbname=admin.database or "postgres",
        autocommit=True,
    ) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    return admin.set(database=DATABASE).render_as_string(hide_password=False)


def migrate(url: str) -> None:
    """As the release phase migrates: ``flask db upgrade`` in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAT_", "PORTAL_"))}
    env.update(
        DATABASE_URL=url,
        LEAT_API_TOKEN="unused",
        SECRET_KEY="unused",
        PORTAL_LAUNCH_SECRET="unused-but-at-least-32-characters-long",
    )
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)


def fake_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def fill(rng: random.Random, count: int) -> tuple[list[str], list[tuple[str, str]]]:
    """``count`` records written in batches (Core inserts: the start and source columns
    are given here, as the model's listener would compute them)."""
    shops = [fake_uuid(rng) for _ in range(SHOPS)]
    contacts = [
        (fake_uuid(rng), f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}{n}@example.com")
        for n in range(CONTACTS)
    ]
    receipts = {shop: 0 for shop in shops}
    batch = []
    span = (datetime(2026, 11, 25, tzinfo=UTC) - EPOCH).total_seconds()
    for n in range(count):
        shop = shops[min(int(rng.expovariate(1 / 3)), SHOPS - 1)]  # a few busy shops
        contact_uuid, email = rng.choice(contacts)
        starts_at = EPOCH + timedelta(seconds=int(rng.random() * span))
        created_at = starts_at + timedelta(seconds=int(rng.expovariate(1 / 600)))
        source = rng.choice(SOURCES)
        if source.startswith("Till"):
            receipts[shop] += 1
            external_id = f"{shops.index(shop):02d}-{receipts[shop]:07d}"
        else:
            external_id = f"portal-{fake_uuid(rng)}"
        status = rng.choices(list(Delivery), weights=(970, 20, 8, 2))[0]
        leat_uuid = fake_uuid(rng)
        batch.append(
            {
                "leat_uuid": leat_uuid,
                "shop_uuid": shop,
                "contact_uuid": contact_uuid,
                "contact_email": email,
                "external_id": external_id,
                "snapshot": {
                    "uuid": leat_uuid,
                    "contact": {"uuid": contact_uuid, "email": email},
                    "external_id": external_id,
                    "source": source,
                    "starts_at": starts_at.isoformat(),
                    "ends_at": (starts_at + timedelta(minutes=30)).isoformat(),
                    "created_at": created_at.isoformat(),
                    "updated_at": created_at.isoformat(),
                },
                "snapshot_at": created_at,
                "created_by": "manager@example.com",
                "created_by_name": "A manager",
                "status": status,
                "attempts": 1,
                "created_at": created_at,
                "updated_at": created_at,
                "starts_at": starts_at,
                "source": source,
            }
        )
        if len(batch) == 5000 or n == count - 1:
            db.session.execute(insert(VisitRecord), batch)
            db.session.commit()
            batch = []
    return shops, contacts


def vacuum(url: str) -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE visit_records"))


def typical_cases(shops, contacts):
    """(name, manager, filter, page) for the searches a manager makes."""
    everyone = Manager(id="a", name="All shops", shops=("*",))
    two_shops = Manager(id="b", name="Two shops", shops=(shops[0], shops[5]))
    email = contacts[1234][1]
    name_part = email.split("@")[0][:-2]  # "bram.jansen12" of bram.jansen1234@…
    may = {
        "starts_from": datetime(2026, 5, 1, tzinfo=UTC),
        "starts_before": datetime(2026, 6, 1, tzinfo=UTC),
    }
    return [
        ("every visit (page 1)", everyone, VisitFilter(), 1),
        ("every visit, page 20", everyone, VisitFilter(), 20),
        ("every visit, by recording", everyone, VisitFilter(order=Order.RECORDED), 1),
        ("two shops' visits", two_shops, VisitFilter(), 1),
        ("one shop", everyone, VisitFilter(shop_uuid=shops[0]), 1),
        ("one month", everyone, VisitFilter(**may), 1),
        ("one shop, one month", everyone, VisitFilter(shop_uuid=shops[0], **may), 1),
        ("two shops, one month", two_shops, VisitFilter(**may), 1),
        (f"search {email!r}", everyone, VisitFilter(text=email), 1),
        (f"search {name_part!r}", everyone, VisitFilter(text=name_part), 1),
        (f"search {name_part!r}, two shops", two_shops, VisitFilter(text=name_part), 1),
        ("search 'jansen'", everyone, VisitFilter(text="jansen"), 1),
        ("search an external ID '00-0001234'", everyone, VisitFilter(text="00-0001234"), 1),
        ("search a source 'kiosk'", everyone, VisitFilter(text="kiosk"), 1),
        (
            "search 'jansen', one shop, one month",
            everyone,
            VisitFilter(text="jansen", shop_uuid=shops[0], **may),
            1,
        ),
        ("search 'an' (2 letters)", everyone, VisitFilter(text="an"), 1),
    ]


def explain(statement) -> tuple[float, set[str]]:
    """The database's time for ``statement`` (planning + execution, ms) and the
    indexes its plan reads. Parameters are bound as the portal binds them."""
    compiled = statement.compile(db.engine, compile_kwargs={"render_postcompile": True})
    sql = "EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled)
    with db.engine.connect() as connection:
        (plan,) = connection.exec_driver_sql(sql, compiled.params).scalar()
    indexes: set[str] = set()

    def walk(node):
        if "Index Name" in node:
            indexes.add(node["Index Name"].removeprefix("ix_visit_records_"))
        if node["Node Type"] == "Seq Scan":
            indexes.add("seq scan")
        for child in node.get("Plans", ()):
            walk(child)

    walk(plan["Plan"])
    return plan["Planning Time"] + plan["Execution Time"], indexes


def report(cases, repeats: int) -> None:
    print(f"{'case':44} {'matches':>8} {'count':>7} {'page':>7} {'total':>7} {'best':>7}  plan")
    for name, manager, wanted, page in cases:
        count_query = queries.counting(manager, wanted)
        page_query = (
            queries.matching(manager, wanted)
            .limit(VISITS_PER_PAGE)
            .offset((page - 1) * VISITS_PER_PAGE)
        )
        for _ in range(2):  # warm: the pages the query reads are in memory, as on a live server
            explain(count_query), explain(page_query)
        counts, pages, used = [], [], set()
        for _ in range(repeats):
            ms, indexes = explain(count_query)
            counts.append(ms)
            used |= indexes
            ms, indexes = explain(page_query)
            pages.append(ms)
            used |= indexes
        matches = db.session.scalar(count_query)
        count_ms, page_ms = statistics.median(counts), statistics.median(pages)
        totals = [c + p for c, p in zip(counts, pages, strict=True)]
        total_ms, best_ms = statistics.median(totals), min(totals)
        print(
            f"{name[:44]:44} {matches:8,} {count_ms:7.2f} {page_ms:7.2f} {total_ms:7.2f} "
            f"{best_ms:7.2f}  " + ", ".join(sorted(used)),
            flush=True,
        )


if __name__ == "__main__":
    main()
