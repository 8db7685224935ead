"""Benchmark: the live room through gunicorn, as `make run` (SQLite, in-process events)
and as a city runs it (PostgreSQL and Redis, two workers).

    .venv/bin/python bench/live_room.py                      # both, 2,000 viewers
    .venv/bin/python bench/live_room.py --backend sqlite --viewers 500
    .venv/bin/python bench/live_room.py --worker-class gthread --viewers 100

For each setting it makes a room that is live (a presenter, two products), serves the
app with gunicorn on 127.0.0.1 and measures:
1. the room page's requests per second (wrk, 10 s) with no viewer;
2. N viewers' event streams opened from a second process (gevent), and the same page's
   requests per second while they stay open;
3. five pins made in the control room, and for every viewer how long each took to arrive
   (from the moment the pin was made to the moment the viewer read it);
4. the app's memory (resident set of gunicorn and its workers) without and with viewers;
5. 64 buyers rushing a live price of 100 units (two each): what sold, and each order's
   time (p50, p99).
Everything is bounded (fixed work and timeouts) and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET = "bench-live-" + "s" * 40
PINS = 5
BUYERS = 64
UNITS = 100


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def raise_file_limit() -> None:
    """Enough open files for thousands of streams, for this process and its children."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


def setup(url: str) -> dict:
    """Migrate, and make a live room with a presenter and two products."""
    from alembic import command
    from sqlmodel import select

    from app import create_app
    from catalog.models import ProductVariant
    from core.cli import alembic_config
    from core.db import db
    from tests.livestream.room_helpers import make_live_room

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        command.upgrade(alembic_config(), "heads")
        with db.transaction() as session:
            made = make_live_room(session, stock=1000, price=5000, products=2)
            variants = [session.exec(select(ProductVariant.id).where(
                ProductVariant.product_id == product.id)).one() for product, _v in made["items"]]
            room = {"slug": made["live"].slug, "live_id": made["live"].id,
                    "presenter": made["presenter"].email,
                    "products": [product.id for product, _v in made["items"]],
                    "variants": variants}
    app.extensions["events"].close()
    app.extensions["database"].engine.dispose()
    return room


def start_gunicorn(env: dict, worker_class: str, workers: int, connections: int):
    port = free_port()
    if worker_class == "gevent":
        mode = ["--worker-class", "gevent", "--worker-connections", str(connections)]
    else:
        mode = ["--worker-class", "gthread", "--threads", str(connections)]
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), *mode, "--timeout", "120", "--graceful-timeout", "2",
         "--log-level", "warning", "app:app"],
        cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/healthz", timeout=5)
            return process, url, port
        except requests.RequestException:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError("gunicorn did not start")


def stop(process, how: int = signal.SIGQUIT) -> None:
    """Stop a process group: gunicorn by SIGQUIT (quick: a graceful stop waits for
    streams), nginx by SIGTERM; SIGKILL if it is still there after 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, how)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def resident_mb(master: int) -> float:
    """Resident memory of gunicorn's master and its workers, in MB."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(re.search(r"PPid:\s+(\d+)", status).group(1))
        if int(entry.name) == master or ppid == master:
            found = re.search(r"VmRSS:\s+(\d+) kB", status)
            total += int(found.group(1)) if found else 0
    return total / 1024


def wrk(url: str, seconds: int = 10) -> float:
    """Requests per second wrk reaches on one page (2 threads, 16 connections)."""
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "10s", url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"  wrk: {errors.group(1)} error answers", file=sys.stderr)
    return float(found.group(1)) if found else 0.0


def signed_in(url: str, email: str):
    import requests

    browser = requests.Session()
    page = browser.get(f"{url}/account/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    from tests.factories import PASSWORD

    browser.post(f"{url}/account/login", timeout=30,
                 data={"login": email, "password": PASSWORD, "csrf_token": token})
    return browser


def pin(browser, url: str, slug: str, product_id: int) -> None:
    page = browser.get(f"{url}/live/{slug}/control", timeout=60).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = browser.post(f"{url}/live/{slug}/control/pin", timeout=60,
                            headers={"Accept": "application/json"},
                            data={"product_id": product_id, "csrf_token": token})
    if response.status_code != 200:
        raise RuntimeError(f"pin refused: {response.status_code} {response.text[:200]}")


# --- The viewers' process --------------------------------------------------------------

def viewers_process(port: int, path: str, count: int, pins: int) -> None:
    """Open `count` streams, say READY once each has its snapshot, then note how long
    each of `pins` pins took to arrive; print the result as JSON."""
    from gevent import monkey

    monkey.patch_all()
    from datetime import datetime

    lock = threading.Lock()
    ready = threading.Semaphore(0)
    latencies: list[float] = []
    failed = []

    def view():
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=300)
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Accept: text/event-stream\r\n\r\n".encode())
            reader = sock.makefile("rb")
            got, kind = 0, None
            for line in reader:
                if line.startswith(b"event: "):
                    kind = line[7:].strip()
                    if kind == b"snapshot":
                        ready.release()
                elif line.startswith(b"data: ") and kind == b"pin":
                    arrived = time.time()
                    made = datetime.fromisoformat(json.loads(line[6:])["at"]).timestamp()
                    with lock:
                        latencies.append(arrived - made)
                    got += 1
                    if got == pins:
                        break
            sock.close()
        except OSError as error:
            failed.append(type(error).__name__)
            ready.release()

    threads = [threading.Thread(target=view, daemon=True) for _ in range(count)]
    opened = time.perf_counter()
    for thread in threads:
        thread.start()
    for _ in threads:
        ready.acquire()
    print(json.dumps({"ready": round(time.perf_counter() - opened, 2)}), flush=True)
    for thread in threads:
        thread.join(timeout=240)
    latencies.sort()
    print(json.dumps({
        "deliveries": len(latencies), "expected": count * pins, "failed": len(failed),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1)
        if latencies else None,
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None}), flush=True)


# --- One setting ------------------------------------------------------------------------

def run_viewers(name: str, url_db: str, env: dict, *, viewers: int, worker_class: str,
                workers: int) -> dict:
    room = setup(url_db)
    process, url, port = start_gunicorn({**env, "DATABASE_URL": url_db}, worker_class,
                                        workers, connections=viewers + 200)
    result = {"setting": name, "worker_class": worker_class, "workers": workers,
              "viewers": viewers}
    try:
        page = f"{url}/live/{room['slug']}"
        wrk(page, 3)  # warm up
        result["page_rps_alone"] = wrk(page)
        result["memory_mb_alone"] = round(resident_mb(process.pid), 1)
        client = subprocess.Popen(
            [sys.executable, __file__, "--viewers-process", str(port),
             f"/live/{room['slug']}/events", str(viewers), str(PINS)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ},
            preexec_fn=raise_file_limit)
        ready = json.loads(client.stdout.readline() or "{}")
        result["all_connected_seconds"] = ready.get("ready")
        result["page_rps_with_viewers"] = wrk(page)
        result["memory_mb_with_viewers"] = round(resident_mb(process.pid), 1)
        presenter = signed_in(url, room["presenter"])
        for n in range(PINS):
            pin(presenter, url, room["slug"], room["products"][n % 2])
            time.sleep(1.5)
        out, _err = client.communicate(timeout=300)
        result.update(json.loads(out.strip().splitlines()[-1]))
    finally:
        stop(process)
    result["page_kept"] = (result["page_rps_with_viewers"] / result["page_rps_alone"]
                           if result.get("page_rps_alone") else 0)
    return result


def run_rush(name: str, url_db: str, env: dict, *, worker_class: str, workers: int) -> dict:
    """64 buyers from the room rush a live price of 100 units, two each."""
    import requests
    import sqlalchemy as sa

    from app import create_app
    from core.db import db, utcnow
    from livestream.room_models import LivePrice

    room = setup(url_db)
    app = create_app({"DATABASE_URL": url_db, "SECRET_KEY": SECRET})
    with app.app_context(), db.transaction() as session:
        now = utcnow()
        price = LivePrice(session_id=room["live_id"], product_id=room["products"][0],
                          variant_id=room["variants"][0], price_amount=3900, normal_amount=5000,
                          quantity_limit=UNITS, per_buyer_limit=2, starts_at=now,
                          ends_at=now + timedelta(minutes=15))
        session.add(price)
        session.flush()
        price_id = price.id
    process, url, _port = start_gunicorn({**env, "DATABASE_URL": url_db}, worker_class,
                                         workers, connections=200)
    try:
        def prepare(n):
            browser = requests.Session()
            page = browser.get(f"{url}/account/login", timeout=60).text
            post = {"csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                                            page).group(1)}
            browser.post(f"{url}/cart/add", timeout=60, allow_redirects=False, data={
                **post, "variant_id": room["variants"][0], "quantity": 2,
                "live_session_id": room["live_id"]})
            browser.post(f"{url}/checkout/contact", timeout=60, allow_redirects=False,
                         data={**post, "name": "抢购者", "email": f"buyer{n}@example.cn"})
            browser.post(f"{url}/checkout/pickup", data={**post, "point": "metro-gulou"},
                         timeout=60, allow_redirects=False)
            browser.post(f"{url}/checkout/payment", data={**post, "method": "offline"},
                         timeout=60, allow_redirects=False)
            check = browser.get(f"{url}/checkout/check", timeout=60).text
            fields = dict(re.findall(
                r'name="(csrf_token|idempotency_key|total_amount)"[^>]*value="([^"]*)"', check))
            return browser, fields

        with ThreadPoolExecutor(16) as pool:
            buyers = list(pool.map(prepare, range(BUYERS)))
        start = threading.Barrier(BUYERS)

        def buy(buyer):
            browser, fields = buyer
            start.wait()
            began = time.perf_counter()
            response = browser.post(f"{url}/checkout/place", data=fields, timeout=120,
                                    allow_redirects=False)
            return response.status_code, time.perf_counter() - began

        with ThreadPoolExecutor(BUYERS) as pool:
            results = list(pool.map(buy, buyers))
    finally:
        stop(process)
    with app.app_context(), db.transaction(write=False) as session:
        sold = session.get(LivePrice, price_id).sold_quantity
        at_live = session.execute(sa.text(
            "SELECT COALESCE(SUM(quantity), 0) FROM order_line WHERE live_price_id = :p"),
            {"p": price_id}).scalar_one()
    app.extensions["events"].close()
    app.extensions["database"].engine.dispose()
    times = sorted(seconds for _status, seconds in results)
    codes = [status for status, _seconds in results]
    return {"setting": name, "placed": codes.count(302),
            "refused": len(codes) - codes.count(302), "sold_at_live_price": sold,
            "units_on_order_lines": at_live, "oversold": max(0, at_live - UNITS),
            "order_p50_ms": round(statistics.median(times) * 1000),
            "order_p99_ms": round(times[max(0, int(len(times) * 0.99) - 1)] * 1000)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--worker-class", choices=["gevent", "gthread"], default="gevent")
    parser.add_argument("--skip-rush", action="store_true")
    parser.add_argument("--viewers-process", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.viewers_process:
        port, path, count, pins = args.viewers_process
        viewers_process(int(port), path, int(count), int(pins))
        return 0
    raise_file_limit()
    results, rushes = [], []
    with tempfile.TemporaryDirectory(prefix="gf-bench-live-") as folder:
        env = {"SECRET_KEY": SECRET, "INSTANCE_DIR": folder, "EMBEDDED_SCHEDULER": "0",
               "SMTP_HOST": "", "REDIS_URL": "", "CATALOG_PAGE_CACHE_SECONDS": "5"}
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{folder}/live.db"
            results.append(run_viewers("sqlite + in-process events", url, env,
                                       viewers=args.viewers, worker_class=args.worker_class,
                                       workers=1))
            if not args.skip_rush:
                rushes.append(run_rush("sqlite", f"sqlite:///{folder}/rush.db", env,
                                       worker_class=args.worker_class, workers=1))
        if args.backend in ("postgresql", "both"):
            import psycopg

            server = os.environ.get("BENCH_POSTGRES_URL",
                                    "postgresql://postgres@127.0.0.1:5432/test")
            redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
            for purpose in ("viewers", "rush"):
                if purpose == "rush" and args.skip_rush:
                    continue
                schema = f"gf_bench_{os.getpid()}_{secrets.token_hex(3)}"
                with psycopg.connect(server, autocommit=True) as connection:
                    connection.execute(f'CREATE SCHEMA "{schema}"')
                url = (server.replace("postgresql://", "postgresql+psycopg://", 1)
                       + f"?options=-csearch_path%3D{schema}")
                city = {**env, "REDIS_URL": redis_url,
                        "EVENTS_REDIS_PREFIX": f"gf-bench:{schema}:"}
                try:
                    if purpose == "viewers":
                        results.append(run_viewers(
                            "postgresql + redis", url, city, viewers=args.viewers,
                            worker_class=args.worker_class, workers=2))
                    else:
                        rushes.append(run_rush("postgresql + redis", url, city,
                                               worker_class=args.worker_class, workers=2))
                finally:
                    with psycopg.connect(server, autocommit=True) as connection:
                        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    for r in results:
        print(json.dumps(r, ensure_ascii=False))
    for r in rushes:
        print(json.dumps(r, ensure_ascii=False))
    return 0 if all(r["oversold"] == 0 and r["sold_at_live_price"] == UNITS
                    for r in rushes) else 1


if __name__ == "__main__":
    sys.exit(main())
