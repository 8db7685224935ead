"""Benchmark: the maker's `/income` page for a maker with 100,000 ledger entries.

    .venv/bin/python bench/income_dashboard.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/income_dashboard.py --backend sqlite --runs 100

Each database is fresh: a temporary SQLite file, or a schema of its own on the
PostgreSQL server at BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test),
dropped afterwards. The maker gets two years of entries (sales online, in live streams
and at two stalls, over 40 products with photos; refunds, corrections, a payout every
month) and other makers some of their own. Then the whole request is timed through the
WSGI app, signed in, rendered page included: this month's page and last month's (a
full month), alternately. Besides wall time per request (p50, p95, max), it reports the
time spent inside the database driver and the CPU each request cost: this process's,
plus on PostgreSQL the server backends' (read from /proc), since CPU does not grow with
the load average the way wall time does. Bounded: fixed work, and it stops by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSWORD = "bench password 1"  # noqa: S105 - a throwaway account in a throwaway database
EMAIL = "bench-maker@example.cn"
PRODUCTS = 40


def seed(app, entries: int, rng: random.Random) -> int:
    """Migrate and fill the database; returns the maker's id."""
    from alembic import command

    from accounts import services
    from accounts.models import Role
    from catalog.models import Product, ProductImage, ProductStatus, ProductVariant
    from core.cli import alembic_config
    from core.db import db, utcnow
    from income.models import (
        Channel,
        EntryKind,
        LedgerEntry,
        Payout,
        PayoutMethod,
        PayoutStatus,
        SalesPoint,
    )
    from livestream.models import LiveSession, SessionStatus

    with app.app_context():
        command.upgrade(alembic_config(), "heads")
        now = utcnow()
        with db.transaction() as session:
            maker = services.register_user(session=session, email=EMAIL, password=PASSWORD,
                                           display_name="基准", roles=(Role.MAKER,))
            others = [services.register_user(session=session, email=f"other{n}@example.cn",
                                             password=PASSWORD, display_name=f"别人{n}",
                                             roles=(Role.MAKER,)) for n in range(3)]
            workshop = services.create_workshop(session=session, slug="bench-ws",
                                                name="基准工坊", kind="workshop")
            products = []
            for n in range(PRODUCTS):
                product = Product(slug=f"bench-{n}", workshop_id=workshop.id,
                                  title=f"盘扣{n}号", status=ProductStatus.PUBLISHED,
                                  published_at=now)
                session.add(product)
                session.flush()
                session.add(ProductVariant(product_id=product.id, sku=f"B-{n}",
                                           price_amount=5000, stock=10))
                session.add(ProductImage(product_id=product.id, content_hash=f"{n:064x}",
                                         width=1280, height=1280,
                                         rendition_widths="320,640,1280", alt=f"盘扣{n}号"))
                products.append((product.id, product.title))
            streams = []
            for n in range(24):
                start = now - timedelta(days=30 * n + 3)
                stream = LiveSession(slug=f"bench-live-{n}", title=f"直播{n}",
                                     planned_start=start,
                                     planned_end=start + timedelta(hours=1),
                                     status=SessionStatus.ENDED)
                session.add(stream)
                session.flush()
                streams.append(stream.id)
            points = []
            for n in range(2):
                point = SalesPoint(slug=f"bench-stall-{n}", name=f"地铁站{n}")
                session.add(point)
                session.flush()
                points.append(point.id)
            maker_id, other_ids = maker.id, [o.id for o in others]
            payouts = []
            for month in range(24):
                paid = now - timedelta(days=30 * month + 2)
                payout = Payout(maker_id=maker_id, amount=20000, method=PayoutMethod.BANK,
                                reference=f"B{month}", status=PayoutStatus.PAID,
                                created_by_id=maker_id, paid_by_id=maker_id, paid_at=paid)
                session.add(payout)
                session.flush()
                payouts.append((payout.id, paid))

        def entry(i: int, owner: int) -> dict:
            at = now - timedelta(minutes=rng.randint(0, 60 * 24 * 730))
            product_id, title = products[rng.randrange(PRODUCTS)]
            roll = rng.random()
            channel, live_id, point_id = Channel.ONLINE, None, None
            if roll < 0.2:  # in that month's live stream
                channel, live_id = Channel.LIVE, streams[min((now - at).days // 30, 23)]
            elif roll < 0.35:
                channel, point_id = Channel.STALL, rng.choice(points)
            kind = EntryKind.SALE if i % 20 else EntryKind.REFUND
            amount = rng.randint(10, 2000) * (1 if kind == EntryKind.SALE else -1)
            if i % 997 == 0:
                kind, channel, live_id, point_id = EntryKind.ADJUSTMENT, None, None, None
            return {"entry_key": f"bench:{owner}:{i}", "maker_id": owner, "kind": kind,
                    "amount": amount, "currency": "CNY", "channel": channel,
                    "live_session_id": live_id, "sales_point_id": point_id,
                    "product_id": product_id, "workshop_id": workshop.id,
                    "quantity": 1 if kind == EntryKind.SALE else 0, "description": title,
                    "occurred_at": at,
                    "available_at": at + timedelta(days=7) if kind == EntryKind.SALE else at}

        rows = [entry(i, maker_id) for i in range(entries)]
        rows += [entry(i, other_ids[i % 3]) for i in range(entries // 5)]
        rows += [{"entry_key": f"payout:{pid}", "maker_id": maker_id, "kind": EntryKind.PAYOUT,
                  "amount": -20000, "currency": "CNY", "payout_id": pid, "quantity": 0,
                  "description": "", "occurred_at": at, "available_at": at}
                 for pid, at in payouts]
        with db.transaction() as session:
            for start in range(0, len(rows), 5000):
                session.execute(sa.insert(LedgerEntry), rows[start:start + 5000])
    return maker_id


def _backend_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these local processes (0 if /proc cannot tell)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measure(url: str, *, entries: int, runs: int, max_seconds: float) -> dict:
    """Seed `url`, sign in, and time `runs` dashboard requests."""
    from sqlalchemy import event

    from app import create_app
    from income import queries as q

    app = create_app({"DATABASE_URL": url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "b" * 40})
    engine = app.extensions["database"].engine
    seed(app, entries, random.Random(7))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # What autovacuum does soon after a bulk load: statistics and the visibility
            # map (index-only scans need it).
            connection.execute(sa.text("VACUUM ANALYZE ledger_entry"))
    else:
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))
    in_driver = [0.0]

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _stop(conn, cursor, statement, parameters, context, executemany):
        in_driver[0] += time.perf_counter() - conn.info.pop("bench_started")

    client = app.test_client()
    signed_in = client.post("/account/login", data={"login": EMAIL, "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.status_code
    with app.app_context():
        last_month = q.previous_month(q.this_month()).month_key
    urls = ["/income", f"/income?month={last_month}"]
    for url_path in urls * 3:  # warm up: templates compiled, connections pooled
        assert client.get(url_path).status_code == 200
    backends: list[int] = []
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            backends = list(connection.execute(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'gf-income-bench'")).scalars())
    timings = {u: [] for u in urls}
    driver = {u: [] for u in urls}
    cpu_start, server_start = time.process_time(), _backend_cpu_seconds(backends)
    deadline = time.monotonic() + max_seconds
    for n in range(runs):
        if time.monotonic() > deadline and n >= 20:
            runs = n  # stop by ourselves on a machine too busy to finish in time
            break
        url_path = urls[n % 2]
        in_driver[0] = 0.0
        start = time.perf_counter()
        response = client.get(url_path)
        timings[url_path].append((time.perf_counter() - start) * 1000)
        driver[url_path].append(in_driver[0] * 1000)
        assert response.status_code == 200, response.status_code
        assert "收入" in response.get_data(as_text=True)
    cpu = (time.process_time() - cpu_start) * 1000 / runs
    server = (_backend_cpu_seconds(backends) - server_start) * 1000 / runs
    engine.dispose()

    def pct(values, p):
        return statistics.quantiles(values, n=100, method="inclusive")[p - 1]

    every = [t for u in urls for t in timings[u]]
    return {"backend": engine.dialect.name, "runs": runs, "entries": entries,
            "pages": {u: {"p50": pct(timings[u], 50), "p95": pct(timings[u], 95),
                          "max": max(timings[u]), "driver_p50": pct(driver[u], 50)}
                      for u in urls},
            "p95": pct(every, 95), "cpu_app": cpu, "cpu_server": server,
            "server_measured": bool(backends)}


def _report(result: dict, load_before: tuple, load_after: tuple) -> None:
    print(f"{result['backend']}: {result['entries']:,} entries for the maker, "
          f"{result['runs']} requests; load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after")
    for url_path, figures in result["pages"].items():
        print(f"  {url_path:28s} p50 {figures['p50']:6.1f} ms  p95 {figures['p95']:6.1f} ms  "
              f"max {figures['max']:6.1f} ms  (in the database driver: p50 "
              f"{figures['driver_p50']:.1f} ms)")
    server = (f" + database server {result['cpu_server']:.1f} ms"
              if result["server_measured"] else "")
    print(f"  every request p95 {result['p95']:.1f} ms; CPU per request: this process "
          f"{result['cpu_app']:.1f} ms{server}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--max-seconds", type=float, default=120,
                        help="stop timing after this long (at least 20 requests)")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        load_before = os.getloadavg()
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="gf-income-bench-") as folder:
                result = measure(f"sqlite:///{folder}/bench.db", entries=args.entries,
                                 runs=args.runs, max_seconds=args.max_seconds)
        else:
            server = os.environ.get("BENCH_POSTGRES_URL",
                                    "postgresql://postgres@127.0.0.1:5432/test")
            schema = f"gf_bench_{os.getpid()}_{secrets.token_hex(3)}"
            with psycopg.connect(server, autocommit=True) as connection:
                connection.execute(f'CREATE SCHEMA "{schema}"')
            try:
                base = server.replace("postgresql://", "postgresql+psycopg://", 1)
                result = measure(f"{base}?application_name=gf-income-bench"
                                 f"&options=-csearch_path%3D{schema}",
                                 entries=args.entries, runs=args.runs,
                                 max_seconds=args.max_seconds)
            finally:
                with psycopg.connect(server, autocommit=True) as connection:
                    connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        _report(result, load_before, os.getloadavg())


if __name__ == "__main__":
    main()
