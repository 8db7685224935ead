"""Benchmark: a maker with 100,000 ledger entries; time the dashboard queries (p50/p95).

    DATABASE_URL=sqlite:////tmp/bench.db .venv/bin/python -m bench.income_dashboard
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \
        .venv/bin/python -m bench.income_dashboard

The database is migrated first; the entries are bulk-inserted once (found again by key).
Measures `shop.income_queries.dashboard` plus rendering the page through the test client.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import timedelta

import sqlalchemy as sa

ENTRIES = int(os.environ.get("BENCH_ENTRIES", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "60"))


def main() -> None:
    from alembic import command

    from app import create_app
    from core.cli import alembic_config
    from core.db import db, utcnow

    app = create_app({"DATABASE_URL": os.environ["DATABASE_URL"], "TESTING": True,
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        command.upgrade(alembic_config(), "heads")
        from accounts import services
        from accounts.models import Role, User
        from shop.ledger_models import Channel, EntryKind, LedgerEntry

        email = "bench-maker@example.cn"
        with db.transaction() as session:
            maker = session.exec(sa.select(User).where(User.email == email)).scalars().first()
            if maker is None:
                maker = services.register_user(session=session, email=email,
                                               password="bench password 1",  # noqa: S106
                                               display_name="基准",
                                               roles=(Role.MAKER,))
            maker_id = maker.id
            have = session.exec(sa.select(sa.func.count()).select_from(LedgerEntry).where(
                LedgerEntry.maker_id == maker_id)).scalar()
        if have < ENTRIES:
            now = utcnow()
            rng = random.Random(7)
            rows = []
            for i in range(have, ENTRIES):
                at = now - timedelta(minutes=rng.randint(0, 60 * 24 * 730))
                kind = EntryKind.SALE if i % 20 else EntryKind.REFUND
                rows.append({"entry_key": f"bench:{maker_id}:{i}", "maker_id": maker_id,
                             "kind": kind, "amount": rng.randint(100, 20000) * (
                                 1 if kind == EntryKind.SALE else -1) // 10,
                             "currency": "CNY", "channel": Channel.ONLINE,
                             "quantity": 1, "description": f"商品{i % 40}",
                             "occurred_at": at, "available_at": at + timedelta(days=7)})
            with db.transaction() as session:
                for start in range(0, len(rows), 5000):
                    session.execute(sa.insert(LedgerEntry), rows[start:start + 5000])
        from shop import income_queries as q
        from shop.income_jobs import make_statements

        make_statements(q.previous_month(q.this_month()))  # as the monthly job does

        timings_query, timings_page = [], []
        client = app.test_client()
        client.post("/account/login", data={"login": email, "password": "bench password 1"})
        for _ in range(RUNS):
            with db.transaction(write=False) as session:
                maker = session.get(User, maker_id)
                start = time.perf_counter()
                q.dashboard(session, maker, q.this_month(), utcnow())
                timings_query.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            response = client.get("/income")
            timings_page.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code

        def p(values, pct):
            return statistics.quantiles(values, n=100)[pct - 1]

        backend = app.config["DATABASE_URL"].split(":")[0]
        print(f"{backend}: {ENTRIES} entries, {RUNS} runs")
        print(f"  queries p50 {p(timings_query, 50):.1f} ms, p95 {p(timings_query, 95):.1f} ms")
        print(f"  page    p50 {p(timings_page, 50):.1f} ms, p95 {p(timings_page, 95):.1f} ms")


if __name__ == "__main__":
    main()
