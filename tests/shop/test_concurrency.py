"""64 buyers racing for the last 100 units, on SQLite and PostgreSQL: exactly 100 sold.

Through the real HTTP app (served by live_server in threads) and through the service
with a session per thread. No timing assertions.
"""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import func, select

from core.db import db
from shop.models import Order, OrderLine, StockHold
from shop.orders import OutOfStock
from tests.shop.helpers import make_shop, place, stock_of
from tests.shop.http_buyers import prepare_buyer as _prepare_buyer

BUYERS = 64
UNITS = 100


def test_64_buyers_over_http_sell_exactly_100(app, db_session, live_server):
    with db_session() as session:
        _product, variant = make_shop(session, stock=UNITS)["items"][0]
        variant_id = variant.id
    # Each buyer wants 2: 128 wanted, 100 there. Everyone prepares, then all place at once.
    buyers = [_prepare_buyer(live_server.url, variant_id, 2) for _ in range(BUYERS)]
    start = threading.Barrier(BUYERS)

    def buy(buyer):
        browser, fields = buyer
        start.wait()
        response = browser.post(f"{live_server.url}/checkout/place", data=fields,
                                headers={"Accept": "application/json"},
                                allow_redirects=False, timeout=120)
        return response.status_code, response.text

    with ThreadPoolExecutor(BUYERS) as pool:
        results = list(pool.map(buy, buyers))
    placed = [r for r in results if r[0] == 302]
    sold_out = [r for r in results if r[0] == 409]
    assert len(placed) == 50 and len(sold_out) == 14, [r[0] for r in results]
    assert all('"sold_out"' in text and "sold out" in text for _status, text in sold_out)
    with db_session() as session:
        assert stock_of(session, variant_id) == 0
        assert session.exec(select(func.sum(OrderLine.quantity))).one() == UNITS
        assert session.exec(select(func.count()).select_from(Order)).one() == 50
        assert session.exec(select(func.sum(StockHold.quantity))).one() == UNITS


def test_double_submit_over_http_gives_one_order(app, db_session, live_server):
    with db_session() as session:
        _product, variant = make_shop(session, stock=10)["items"][0]
        variant_id = variant.id
    browser, fields = _prepare_buyer(live_server.url, variant_id, 3)
    start = threading.Barrier(8)

    def submit(_n):
        start.wait()
        return browser.post(f"{live_server.url}/checkout/place", data=fields,
                            allow_redirects=False, timeout=120)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(submit, range(8)))
    locations = {r.headers.get("Location") for r in responses}
    assert {r.status_code for r in responses} == {302}
    assert len(locations) == 1
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(Order)).one() == 1
        assert stock_of(session, variant_id) == 7


def test_64_threads_through_the_service_sell_exactly_100(app, db_session):
    with db_session() as session:
        _product, variant = make_shop(session, stock=UNITS)["items"][0]
        variant_id = variant.id
    start = threading.Barrier(BUYERS)
    outcome = {"orders": 0, "sold_out": 0}
    lock = threading.Lock()

    def buyer(_n):
        start.wait()
        while True:
            try:
                with app.app_context(), db.transaction() as session:
                    place(session, [(variant_id, 1)], key=secrets.token_urlsafe(24))
            except OutOfStock:
                with lock:
                    outcome["sold_out"] += 1
                return
            with lock:
                outcome["orders"] += 1

    with ThreadPoolExecutor(BUYERS) as pool:
        list(pool.map(buyer, range(BUYERS)))
    assert outcome == {"orders": UNITS, "sold_out": BUYERS}
    with db_session() as session:
        assert stock_of(session, variant_id) == 0
        assert session.exec(select(func.sum(OrderLine.quantity))).one() == UNITS
