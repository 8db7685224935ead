"""Catalog benchmark, one command: `make bench` (or `.venv/bin/python bench/catalog_bench.py`).

1. Seeds a SQLite database with 10,000 published products (plus variants, makers and
   search documents made by the real tokeniser), serves the app and a bare Flask route
   with the same gunicorn settings on 127.0.0.1, and runs wrk (64 connections) against
   the catalogue and a product page, each run between two against the bare route: as
   a first-time visitor (no cookie) and as a returning one (the session their first
   buy box started).
2. Seeds 100,000 products and times `search_products` in-process for 15 kinds of
   search (QUERIES); prints p50/p95/max, each kind's p50 and max, and the load average.
   --plans prints every statement's plan. With --postgres URL it does the same on
   PostgreSQL (in a schema of its own, dropped afterwards).

Everything runs on loopback, bounded in time; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
GUNICORN = ["--workers", "2", "--worker-class", "gthread", "--threads", "8",
            "--log-level", "warning"]

ADJECTIVES = ["梅花", "蝴蝶", "青花", "手工", "宁波", "中国红", "竹编", "刺绣", "蓝印花", "老街",
              "如意", "福字", "荷花", "牡丹", "兰花", "小黄车", "有机", "山里", "古法", "星空"]
NOUNS = ["盘扣", "布包", "杯垫", "曲奇", "团扇", "书签", "胸针", "围巾", "香囊", "茶叶",
         "挂件", "手链", "钥匙扣", "抱枕", "笔袋", "发夹", "耳环", "相框", "年糕", "蜂蜜"]
SUFFIXES = ["", " 礼盒", " 两件套", " 三枚", " 十对装", " 大号", " 小号", " 限量"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "秀英丽华明芳军敏静伟强磊洋艳勇杰娟涛超霞平刚"


def seed(url: str, count: int, *, rng: random.Random) -> list[str]:
    """Migrate `url` and fill it with `count` published products; returns some slugs."""
    from alembic import command
    from sqlalchemy import text

    from app import create_app
    from catalog.search import document_tokens
    from core.cli import alembic_config

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "b" * 40})
    engine = app.extensions["database"].engine
    with app.app_context():
        command.upgrade(alembic_config(), "heads")
    # The first is the maker the search benchmark looks for (see QUERIES).
    makers = ["王秀英", *(rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2)) for _ in range(299))]
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO category (slug, name, name_en, is_digital, position) VALUES "
            "('craft', '手工艺', 'Handicraft', false, 0), ('farm', '农产品', 'Farm', false, 1)"))
        for w in range(40):
            connection.execute(text(
                "INSERT INTO workshop (slug, name, kind, story, is_featured, created_at) "
                "VALUES (:slug, :name, 'workshop', '', :featured, CURRENT_TIMESTAMP)"),
                {"slug": f"ws-{w}", "name": f"{rng.choice(ADJECTIVES)}共富工坊{w}",
                 "featured": w < 6})
        batch = 2000
        for start in range(0, count, batch):
            products, variants, documents = [], [], []
            for i in range(start, min(count, start + batch)):
                title = rng.choice(ADJECTIVES) + rng.choice(NOUNS) + rng.choice(SUFFIXES)
                maker = rng.choice(makers)
                description = f"{maker}亲手制作的{title}，每一件都不一样。"
                price = rng.randrange(990, 50000, 10)
                products.append({
                    "id": i + 1, "slug": f"p-{i + 1}", "workshop_id": i % 40 + 1,
                    "category_id": 1 + (i % 5 == 0), "title": title, "description": description,
                    "sold": rng.randrange(0, 500), "price": price,
                    "published": f"2026-{1 + i % 11:02d}-{1 + i % 28:02d} 08:00:00"})
                variants.append({"product_id": i + 1, "sku": f"SKU-{i + 1}", "price": price,
                                 "stock": rng.choice([0, 3, 10, 50])})
                documents.append({"product_id": i + 1, "document": " ".join(
                    document_tokens([title, description, maker]))})
            connection.execute(text(
                "INSERT INTO product (id, slug, workshop_id, category_id, title, description, "
                "maker_story, is_digital, status, created_at, updated_at, published_at, "
                "units_sold, min_price_amount) VALUES (:id, :slug, :workshop_id, :category_id, "
                ":title, :description, '', false, 'published', :published, :published, "
                ":published, :sold, :price)"), products)
            connection.execute(text(
                "INSERT INTO product_variant (product_id, sku, name, price_amount, "
                "price_currency, stock, position, is_active) VALUES (:product_id, :sku, '', "
                ":price, 'CNY', :stock, 0, true)"), variants)
            connection.execute(text(
                "INSERT INTO product_search_document (product_id, document) "
                "VALUES (:product_id, :document)"), documents)
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT setval(pg_get_serial_sequence('product', 'id'), "
                                    ":n)"), {"n": count})
        else:
            connection.execute(text("ANALYZE"))
    if engine.dialect.name == "postgresql":
        # What autovacuum does to a loaded table: the search document's trigger wrote
        # each product row twice. Named tables only: the server is shared.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE product, product_search_document, "
                                    "product_variant, workshop, category"))
    engine.dispose()
    return [f"p-{n}" for n in (1, count // 2, count)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(target: str, env: dict) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                                *GUNICORN, target], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"{target} did not start")


def wrk(url: str, seconds: int, cookie: str | None = None) -> dict:
    """Requests per second and latency from wrk, 64 connections, 2 threads."""
    headers = ["-H", f"Cookie: {cookie}"] if cookie else []
    output = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", *headers, url],
                            capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": round(rps), "p99": p99.group(1) if p99 else None,
            "non_2xx": int(errors.group(1)) if errors else 0}


def http_benchmark(seconds: int, count: int, workdir: Path) -> dict:
    """wrk against each page, each run between two runs against the bare route: the
    machine's load drifts, so a page is compared with the bare route just before and
    just after it (both servers stay up, one idle while the other is measured)."""
    url = f"sqlite:///{workdir / 'http.db'}"
    slugs = seed(url, count, rng=random.Random(1))
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "b" * 40,
           "INSTANCE_DIR": str(workdir), "MEDIA_DIR": str(workdir / "media")}
    results = {"load_before": _load()}
    search, product = "/products?q=%E7%9B%98%E6%89%A3", f"/products/{slugs[1]}"
    bare_process, bare = _serve("bench.bare_app:app", env)
    app_process, base = _serve("app:app", env)
    # The same app with its page cache off: what a page costs when it is rendered (a
    # visitor the cache does not serve, or the first visit in five seconds).
    uncached_process, uncached = _serve("app:app", {**env, "CATALOG_PAGE_CACHE_SECONDS": "0"})
    try:
        # A first visit carries no cookie. Every later one carries the session that
        # the first buy box started (it holds that visitor's CSRF token): "returning".
        cookie = _visitor_session(base + product)
        bare_runs = [wrk(bare + "/", seconds)["rps"]]
        for label, path, returning in [
                ("catalogue /products", "/products", False),
                ("catalogue search /products?q=盘扣", search, False),
                ("product page", product, False),
                ("catalogue search, returning visitor", search, True),
                ("product page, returning visitor", product, True),
                ("catalogue /products, rendered every time (cache off)", "/products", None),
                ("product page, rendered every time (cache off)", product, None)]:
            server = uncached if returning is None else base
            subprocess.run(["curl", "-sf", "-o", "/dev/null", server + path], check=True)
            result = wrk(server + path, seconds, cookie if returning else None)
            bare_runs.append(wrk(bare + "/", seconds)["rps"])
            yardstick = (bare_runs[-2] + bare_runs[-1]) / 2
            result["bare_rps_around"] = bare_runs[-2:]
            result["share_of_bare"] = f"{100 * result['rps'] / yardstick:.0f}%"
            results[label] = result
    finally:
        for process in (bare_process, app_process, uncached_process):
            process.terminate()
            process.wait(timeout=30)
    results["bare Flask route rps, each run"] = bare_runs
    results["cpu_us_per_request_in_process"] = _cpu_per_request(url, search, product)
    results["load_after"] = _load()
    return results


def _cpu_per_request(url: str, search: str, product: str, requests: int = 1000) -> dict:
    """CPU time per request of each page served in this process (the Flask test
    client, no gunicorn, no network): less thrown about by other processes than wrk's
    requests per second, so a second look at the same ratios."""
    from app import create_app
    from bench.bare_app import app as bare

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "b" * 40,
                      "CATALOG_PAGE_CACHE_SECONDS": 600})
    uncached = create_app({"DATABASE_URL": url, "SECRET_KEY": "b" * 40,
                           "CATALOG_PAGE_CACHE_SECONDS": 0})
    first = app.test_client()
    first.get(product)
    cookie = first.get_cookie("session").value
    costs = {}
    for label, served, path, returning in [
            ("bare Flask route", bare, "/", False),
            ("catalogue /products", app, "/products", False),
            ("catalogue search", app, search, False), ("product page", app, product, False),
            ("catalogue search, returning visitor", app, search, True),
            ("product page, returning visitor", app, product, True),
            ("product page, rendered every time (cache off)", uncached, product, False)]:
        headers = {"Cookie": f"session={cookie}"} if returning else {}
        client = served.test_client(use_cookies=False)
        client.get(path, headers=headers)  # fills the page cache
        started = time.process_time()
        for _ in range(requests):
            client.get(path, headers=headers)
        costs[label] = round((time.process_time() - started) / requests * 1e6)
    for served in (app, uncached):
        served.extensions["database"].engine.dispose()
    return {label: f"{us} us ({100 * costs['bare Flask route'] / us:.0f}% of bare's rate)"
            for label, us in costs.items()}


def _visitor_session(url: str) -> str:
    """The session cookie a visitor is given with their first product page."""
    headers = subprocess.run(["curl", "-sf", "-D", "-", "-o", "/dev/null", url], check=True,
                             capture_output=True, text=True, timeout=30).stdout
    return re.search(r"^set-cookie: (session=[^;]+)", headers, re.I | re.M).group(1)


# The 15 kinds of search timed: common and rare Chinese words, one character, pinyin,
# initials, a maker's name, no match, filters, sorts, a deeper page.
QUERIES = [dict(query=q) for q in ("盘扣", "手工", "梅花盘扣", "宁波团扇", "扣", "pankou", "pk",
                                   "王秀英", "蜂蜜 礼盒", "不存在的东西")] + [
    dict(query="盘扣", sort="price_low"), dict(query="手工", in_stock=True),
    dict(query="布包", min_price=2000, max_price=9000), dict(sort="best_selling"),
    dict(query="胸针", page=5)]


def _load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * share) - 1)], 2)


def _plans(session, statements: list[tuple[str, object]]) -> list[str]:
    """Each statement's plan: EXPLAIN QUERY PLAN (SQLite) or EXPLAIN ANALYZE (PostgreSQL)."""
    cursor = session.connection().connection.dbapi_connection.cursor()
    lines = []
    for statement, parameters in statements:
        lines.append("  " + " ".join(statement.split())[:150])
        if session.get_bind().dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            depth = {0: 0}
            for node, parent, _, detail in cursor.fetchall():
                depth[node] = depth.get(parent, 0) + 1
                lines.append("    " + "  " * depth[node] + detail)
        else:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
            lines += ["      " + row[0] for row in cursor.fetchall()]
    return lines


def search_benchmark(url: str, count: int, rounds: int, plans: bool = False) -> dict:
    """Times search_products for each kind in QUERIES, `rounds` times, after one untimed
    round (a running server has its statements compiled). Each search has a session
    of its own, its connection opened before the clock starts, as a request has it."""
    from sqlalchemy import event, text

    from app import create_app
    from catalog.search import search_products
    from core.db import db

    seed(url, count, rng=random.Random(2))
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "b" * 40})
    engine = app.extensions["database"].engine
    sent: list[tuple[str, object]] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cu, statement, params, _x, _m: sent.append((statement, params)))
    timings = {i: [] for i in range(len(QUERIES))}
    cpu: list[float] = []  # this process only: all of SQLite's work, none of PostgreSQL's
    report = {"load_before": _load()}
    with app.app_context():
        for round_ in range(rounds + 1):
            for i, kwargs in enumerate(QUERIES):
                with db.transaction(write=False) as session:
                    session.execute(text("SELECT 1"))  # the connection, as a request has it
                    sent.clear()
                    started, cpu_started = time.perf_counter(), time.process_time()
                    found = search_products(session=session, **kwargs)
                    elapsed = (time.perf_counter() - started) * 1000
                    if round_:
                        timings[i].append(elapsed)
                        cpu.append((time.process_time() - cpu_started) * 1000)
                    elif plans:
                        print(f"{kwargs} -> {found.total} found", *_plans(session, list(sent)),
                              sep="\n", flush=True)
    engine.dispose()
    every = [t for kind in timings.values() for t in kind]
    report.update(queries=len(every), p50_ms=_percentile(every, 0.5),
                  p95_ms=_percentile(every, 0.95), max_ms=round(max(every), 2),
                  cpu_p50_ms=_percentile(cpu, 0.5), cpu_p95_ms=_percentile(cpu, 0.95),
                  load_after=_load(), kinds={
                      " ".join(f"{k}={v}" for k, v in QUERIES[i].items()):
                      f"p50 {_percentile(t, 0.5)} ms, max {round(max(t), 2)} ms"
                      for i, t in timings.items()})
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--search-products", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--postgres", help="also time search on this PostgreSQL server")
    parser.add_argument("--search-only", action="store_true", help="skip the HTTP part")
    parser.add_argument("--http-only", action="store_true", help="skip the search part")
    parser.add_argument("--plans", action="store_true",
                        help="print every search statement's plan (first, untimed round)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp(prefix="gongfang-bench-"))
    try:
        report = {}
        if not args.search_only:
            report["http"] = http_benchmark(args.seconds, args.products, workdir)
            print(json.dumps(report, ensure_ascii=False, indent=2), flush=True)
        if args.http_only:
            return
        report["search_sqlite"] = search_benchmark(f"sqlite:///{workdir / 'search.db'}",
                                                   args.search_products, args.rounds, args.plans)
        if args.postgres:
            report["search_postgresql"] = _postgres_search(args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, ensure_ascii=False, indent=2))


def _postgres_search(args) -> dict:
    import psycopg

    schema = f"gf_bench_{os.getpid()}"
    with psycopg.connect(args.postgres, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    base = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        return search_benchmark(url, args.search_products, args.rounds, args.plans)
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
