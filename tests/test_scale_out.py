"""A city on one machine: two app hosts (gunicorn each, on their own ports) and one
scheduler process sharing a PostgreSQL schema and Redis. Checkouts spread over both hosts
sell exactly the stock, with the totals one process gives; a live event published through
one host reaches a viewer of the other; the hold-expiry job releases each hold once.

The scheduler runs every interval job a few seconds after it becomes active (then on
its interval), so the processes start before anything else and the expiry test waits
for that first run; the rest happens meanwhile."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from catalog.models import ProductVariant
from core.db import db, utcnow
from shop.models import Order, OrderLine, OrderStatus, OrderStatusChange, StockHold
from tests.app_processes import (
    ROOT,
    EventStream,
    flask_command,
    post_form,
    signed_in,
    start_gunicorn,
    start_process,
    stop,
)
from tests.conftest import _empty_postgres, wait_for
from tests.livestream.room_helpers import make_live_room
from tests.shop.helpers import make_shop, place
from tests.shop.http_buyers import place_prepared, prepare_buyer

STOCK, PRICE, BUYERS, EACH = 30, 4000, 24, 2
EXPIRED_ORDERS, EXPIRY_STOCK = 4, 10


def _set_up(url: str) -> dict:
    """The shop for each test, and orders whose holds ran out a minute ago."""
    from app import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "s" * 40, "TESTING": True,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    try:
        with app.app_context(), db.transaction() as session:
            rush = make_shop(session, stock=STOCK, price=PRICE)["items"][0][1]
            room = make_live_room(session)
            late = make_shop(session, stock=EXPIRY_STOCK)["items"][0][1]
            expired = [place(session, [(late.id, 2)]).id for _ in range(EXPIRED_ORDERS)]
            session.execute(sa.update(Order).where(Order.id.in_(expired)).values(
                hold_expires_at=utcnow() - timedelta(minutes=1)))
            return {"app": app, "rush_variant": rush.id, "late_variant": late.id,
                    "expired": expired, "slug": room["live"].slug,
                    "presenter": room["presenter"].email,
                    "product_id": room["items"][0][0].id}
    except BaseException:
        app.extensions["database"].engine.dispose()
        raise


@pytest.fixture(scope="module")
def city(postgres_schema_url, redis_url, tmp_path_factory):
    """One scheduler and two hosts on one schema and one Redis prefix; all stopped and
    emptied afterwards, whatever happens."""
    if postgres_schema_url is None:
        pytest.skip("PostgreSQL is not reachable (see tests/conftest.py)")
    prefix = f"gf-test-city:{secrets.token_hex(4)}:"
    env = {"DATABASE_URL": postgres_schema_url, "REDIS_URL": redis_url,
           "EVENTS_REDIS_PREFIX": prefix, "EVENTS_HEARTBEAT_SECONDS": "1",
           "SECRET_KEY": "scale-out-" + "k" * 32, "EMBEDDED_SCHEDULER": "0",
           "CATALOG_PAGE_CACHE_SECONDS": "0",
           "INSTANCE_DIR": str(tmp_path_factory.mktemp("city")),
           "MEDIA_DIR": str(tmp_path_factory.mktemp("city-media"))}
    processes, made, log = [], None, None
    try:
        made = _set_up(postgres_schema_url)
        log = (tmp_path_factory.mktemp("scheduler") / "scheduler.log").open("w")
        processes.append(start_process(flask_command("scheduler"), env, stdout=log,
                                       stderr=subprocess.STDOUT))
        hosts = []
        for _ in range(2):
            process, url = start_gunicorn(env)
            processes.append(process)
            hosts.append(url)
        yield {**made, "hosts": hosts, "env": env, "scheduler_log": log.name}
    finally:
        for process in processes:
            stop(process)
        if log is not None:
            log.close()
        if made is not None:
            made["app"].extensions["database"].engine.dispose()
        _empty_postgres(postgres_schema_url)
        import redis

        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()


def _read(city, read):
    with city["app"].app_context(), db.transaction(write=False) as session:
        return read(session)


def test_checkouts_over_both_hosts_sell_exactly_the_stock(city):
    hosts = city["hosts"]
    # Buyer n fills the cart on one host and half of them place the order on the other:
    # the cart and the checkout answers live in the shared database and signed cookie.
    buyers = [(n, *prepare_buyer(hosts[n % 2], city["rush_variant"], EACH))
              for n in range(BUYERS)]
    start = threading.Barrier(BUYERS)

    def buy(buyer):
        n, browser, fields = buyer
        host = hosts[(n // 2) % 2]
        start.wait()
        return host, place_prepared(browser, host, fields).status_code

    with ThreadPoolExecutor(BUYERS) as pool:
        results = list(pool.map(buy, buyers))
    placed = [host for host, status in results if status == 302]
    sold_out = [host for host, status in results if status == 409]
    # What one process gives (tests/shop/test_concurrency.py): every unit sold once.
    assert (len(placed), len(sold_out)) == (STOCK // EACH, BUYERS - STOCK // EACH)
    assert set(placed) == set(hosts)

    def books(session):
        variant = session.get(ProductVariant, city["rush_variant"])
        lines = select(OrderLine).where(OrderLine.variant_id == variant.id)
        order_ids = [line.order_id for line in session.exec(lines)]
        return (variant.stock,
                session.exec(select(func.sum(OrderLine.quantity)).where(
                    OrderLine.variant_id == variant.id)).one(),
                session.exec(select(func.sum(Order.total_amount)).where(
                    Order.id.in_(order_ids))).one(),
                session.exec(select(func.sum(StockHold.quantity)).where(
                    StockHold.variant_id == variant.id)).one(),
                len(order_ids))

    assert _read(city, books) == (0, STOCK, STOCK * PRICE, STOCK, STOCK // EACH)


def test_a_pin_on_one_host_reaches_a_viewer_of_the_other(city):
    one, two = city["hosts"]
    viewer = EventStream(f"{two}/live/{city['slug']}/events")
    try:
        assert viewer.next_event()["event"] == "snapshot"
        presenter = signed_in(one, city["presenter"])
        response = post_form(presenter, one, f"/live/{city['slug']}/control/pin",
                             {"product_id": city["product_id"]},
                             form_page=f"/live/{city['slug']}/control")
        assert response.status_code == 200, response.text[:300]
        pinned = viewer.next_event()
        assert pinned["event"] == "pin"
        assert json.loads(pinned["data"])["product_id"] == city["product_id"]
    finally:
        viewer.close()


def test_the_scheduler_releases_each_expired_hold_once(city):
    def state(session):
        stock = session.get(ProductVariant, city["late_variant"]).stock
        statuses = session.exec(select(Order.status).where(
            Order.id.in_(city["expired"]))).all()
        cancellations = session.exec(select(OrderStatusChange.order_id).where(
            OrderStatusChange.order_id.in_(city["expired"]),
            OrderStatusChange.to_value == OrderStatus.CANCELLED.value)).all()
        return stock, sorted(statuses), sorted(cancellations)

    # Its first run comes a few seconds after the scheduler becomes active.
    assert wait_for(lambda: _read(city, state)[0] == EXPIRY_STOCK, timeout=90), \
        open(city["scheduler_log"]).read()[-2000:]
    # Another run, as a second scheduler would make it, finds nothing left to do.
    ran = subprocess.run(flask_command("run-job", "release_expired_holds"),
                         cwd=ROOT, env={**os.environ, **city["env"]},
                         capture_output=True, text=True, timeout=60, check=True)
    assert ran.stdout.strip().endswith("0")
    assert _read(city, state) == (EXPIRY_STOCK, [OrderStatus.CANCELLED] * EXPIRED_ORDERS,
                                  sorted(city["expired"]))
