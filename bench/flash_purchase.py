"""Flash purchase: 64 buyers race for 1,000 units of one product through gunicorn.

Run: .venv/bin/python bench/flash_purchase.py [--backend sqlite|postgresql|both]

For each database it migrates a fresh database (a temporary SQLite file, or a schema of
its own on the PostgreSQL at BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1
:5432/test), adds one product with 1,000 units, serves the app with gunicorn on
127.0.0.1, and prepares 1,100 guest buyers (cart, contact, pick-up, offline payment,
check-your-answers). Then 64 threads place those orders as fast as they can and the
script reports orders per second, the sold-out answers and whether anything was
oversold. The same gunicorn settings serve a bare Flask route for the yardstick, timed
before and after the orders.
Everything is bounded (fixed work, timeouts) and stops by itself.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BUYERS = 64
UNITS = 1000
PREPARED = 1100
BARE_REQUESTS = 6400
# SQLite is served as in its embedded mode (`make run`): one process, many threads.
# SQLite has one write lock per database; within one process the app hands it from
# thread to thread at once (core.db), between processes SQLite's busy timeout polls
# for it. PostgreSQL is served as a city would run it: several worker processes.
GUNICORN = {
    "sqlite": ["--workers", "1", "--worker-class", "gthread", "--threads", "16"],
    "postgresql": ["--workers", "4", "--worker-class", "gthread", "--threads", "8"],
}
GUNICORN_COMMON = ["--timeout", "60", "--log-level", "warning"]
SECRET = "bench-" + "s" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(app_spec: str, env: dict, backend: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--bind", f"127.0.0.1:{port}", *GUNICORN[backend],
         *GUNICORN_COMMON, app_spec],
        cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    # Four workers each import the app; on a loaded machine that takes a minute or more.
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/", timeout=10)
            return process, url
        except requests.RequestException:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError("gunicorn did not start")


def server_cpu_seconds(master_pid: int) -> float:
    """CPU time used so far by gunicorn's master and its workers (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == master_pid or ppid == master_pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def measure_bare(env: dict, backend: str) -> tuple[float, float]:
    """Requests per second, and server CPU milliseconds per request."""
    process, url = start_gunicorn("bench.bare_app:app", env, backend)
    try:
        sessions = [requests.Session() for _ in range(BUYERS)]
        per = BARE_REQUESTS // BUYERS

        def hammer(session):
            for _ in range(per):
                try:
                    response = session.get(url + "/", timeout=30)
                except requests.ConnectionError:
                    # gunicorn closed this idle keep-alive connection as it was reused.
                    response = session.get(url + "/", timeout=30)
                assert response.status_code == 200

        cpu = server_cpu_seconds(process.pid)
        started = time.perf_counter()
        with ThreadPoolExecutor(BUYERS) as pool:
            list(pool.map(hammer, sessions))
        done = per * BUYERS
        return (done / (time.perf_counter() - started),
                (server_cpu_seconds(process.pid) - cpu) * 1000 / done)
    finally:
        stop(process)


def setup_database(url: str) -> int:
    """Migrate and add one product with UNITS units; returns its variant id."""
    from alembic import command

    from app import create_app
    from core.cli import alembic_config
    from core.db import db
    from tests.factories import make_product, make_workshop

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET})
    with app.app_context():
        command.upgrade(alembic_config(), "heads")
        with db.transaction() as session:
            product = make_product(session, workshop=make_workshop(session), stock=UNITS,
                                   price=3900, title="限量盘扣胸针")
            from sqlmodel import select

            from catalog.models import ProductVariant

            variant = session.exec(select(ProductVariant).where(
                ProductVariant.product_id == product.id)).one()
            variant_id = variant.id
    app.extensions["database"].engine.dispose()
    return variant_id


def count_sold(url: str, variant_id: int) -> tuple[int, int, int]:
    import sqlalchemy as sa

    from core.db import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        stock = connection.execute(sa.text("SELECT stock FROM product_variant WHERE id = :v"),
                                   {"v": variant_id}).scalar_one()
        sold = connection.execute(sa.text("SELECT COALESCE(SUM(quantity), 0) FROM order_line "
                                          "WHERE variant_id = :v"), {"v": variant_id}).scalar_one()
        orders = connection.execute(sa.text("SELECT COUNT(*) FROM shop_order")).scalar_one()
    engine.dispose()
    return stock, sold, orders


def prepare_buyer(url: str, variant_id: int) -> tuple[requests.Session, dict]:
    browser = requests.Session()
    page = browser.get(url + "/account/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    post = {"csrf_token": token}
    browser.post(url + "/cart/add", data={**post, "variant_id": variant_id, "quantity": 1},
                 timeout=30, allow_redirects=False)
    browser.post(url + "/checkout/contact", data={**post, "name": "抢购者",
                                                  "email": "buyer@example.cn"},
                 timeout=30, allow_redirects=False)
    browser.post(url + "/checkout/pickup", data={**post, "point": "metro-gulou"}, timeout=30,
                 allow_redirects=False)
    browser.post(url + "/checkout/payment", data={**post, "method": "offline"}, timeout=30,
                 allow_redirects=False)
    page = browser.get(url + "/checkout/check", timeout=30).text
    pattern = r'name="(csrf_token|idempotency_key|total_amount)"[^>]*value="([^"]*)"'
    fields = dict(re.findall(pattern, page))
    if len(fields) != 3:
        raise RuntimeError("could not prepare a buyer: " + page[:300])
    return browser, fields


def _try_prepare(url: str, variant_id: int):
    try:
        return prepare_buyer(url, variant_id)
    except (requests.RequestException, RuntimeError) as exc:
        print(f"a buyer could not be prepared: {type(exc).__name__}", file=sys.stderr)
        return None


def run_backend(name: str, url: str, env_base: dict) -> dict:
    load_before = os.getloadavg()[0]
    variant_id = setup_database(url)
    env = {**env_base, "DATABASE_URL": url}
    process, base = start_gunicorn("app:app", env, name)
    try:
        # Preparing is not timed; 16 at a time keeps it from being a race of its own.
        with ThreadPoolExecutor(16) as pool:
            prepared = list(pool.map(lambda _n: _try_prepare(base, variant_id), range(PREPARED)))
        buyers = [b for b in prepared if b is not None]
        # The bare route is timed just before and just after the orders (the app's
        # server idles meanwhile) and the mean taken, as the catalogue benchmark does:
        # a shared machine's speed drifts within a minute.
        bare_before, bare_cpu_before = measure_bare(env, name)

        def buy(buyer):
            browser, fields = buyer
            try:
                response = browser.post(base + "/checkout/place", data=fields, timeout=60,
                                        allow_redirects=False)
            except requests.RequestException:
                return 0
            return response.status_code

        cpu = server_cpu_seconds(process.pid)
        started = time.perf_counter()
        with ThreadPoolExecutor(BUYERS) as pool:
            codes = list(pool.map(buy, buyers))
        elapsed = time.perf_counter() - started
        order_cpu_ms = (server_cpu_seconds(process.pid) - cpu) * 1000 / max(1, len(codes))
    finally:
        stop(process)
    bare_after, bare_cpu_after = measure_bare(env, name)
    bare, bare_cpu_ms = (bare_before + bare_after) / 2, (bare_cpu_before + bare_cpu_after) / 2
    stock, sold, orders = count_sold(url, variant_id)
    placed = codes.count(302)
    return {"backend": name, "prepared": len(buyers), "placed": placed,
            "sold_out": codes.count(409),
            "other": len(codes) - placed - codes.count(409), "seconds": elapsed,
            "orders_per_second": placed / elapsed, "bare_per_second": bare,
            "ratio": (placed / elapsed) / bare, "bare_range": f"{bare_before:.0f}/{bare_after:.0f}",
            "stock_left": stock, "units_sold": sold,
            "orders": orders, "oversold": max(0, sold - UNITS),
            "load": f"{load_before:.1f}-{os.getloadavg()[0]:.1f}",
            "order_cpu_ms": order_cpu_ms, "bare_cpu_ms": bare_cpu_ms}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="gf-bench-") as folder:
        # Every simulated buyer comes from 127.0.0.1: one address's order limit (made for
        # a script, not a crowd behind a NAT) would measure the limit, not the shop.
        env = {"SECRET_KEY": SECRET, "INSTANCE_DIR": folder, "GONGFANG_ENV": "development",
               "EMBEDDED_SCHEDULER": "0", "SMTP_HOST": "",
               "RATE_LIMIT_CHECKOUT_ADDRESS": "1000000 per minute"}
        if args.backend in ("sqlite", "both"):
            results.append(run_backend("sqlite", f"sqlite:///{folder}/bench.db", env))
        if args.backend in ("postgresql", "both"):
            import psycopg

            server = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
            schema = f"gf_bench_{os.getpid()}_{secrets.token_hex(3)}"
            with psycopg.connect(server, autocommit=True) as connection:
                connection.execute(f'CREATE SCHEMA "{schema}"')
            try:
                url = (server.replace("postgresql://", "postgresql+psycopg://", 1)
                       + f"?options=-csearch_path%3D{schema}")
                results.append(run_backend("postgresql", url, env))
            finally:
                with psycopg.connect(server, autocommit=True) as connection:
                    connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    print(f"{'database':<11} {'orders':>6} {'sold out':>8} {'other':>5} {'orders/s':>9} "
          f"{'bare req/s':>10} {'ratio':>6} {'stock left':>10} {'oversold':>8} {'load avg':>10} "
          f"{'cpu ms/order':>12} {'cpu ms/bare':>11} {'bare before/after':>17}")
    for r in results:
        print(f"{r['backend']:<11} {r['placed']:>6} {r['sold_out']:>8} {r['other']:>5} "
              f"{r['orders_per_second']:>9.1f} {r['bare_per_second']:>10.1f} "
              f"{r['ratio']:>6.1%} {r['stock_left']:>10} {r['oversold']:>8} {r['load']:>10} "
              f"{r['order_cpu_ms']:>12.1f} {r['bare_cpu_ms']:>11.2f} {r['bare_range']:>17}")
    return 0 if all(r["oversold"] == 0 and r["units_sold"] == UNITS for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
