"""Made to order, on SQLite and PostgreSQL: units beyond stock count against the
product's weekly capacity (ISO weeks, Asia/Shanghai), this week first, then next week
with its later ship date; beyond both a clear refusal with nothing written; expiry and
payment after expiry give back and take again capacity as they do stock; many buyers
at once never exceed it; the shopper sees the ship date from product page to mail."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from babel.dates import format_date
from sqlmodel import func, select

from accounts.models import User
from catalog import made_to_order
from catalog.models import MadeToOrderWeek, Product, ProductMaker
from core.db import db, utcnow
from core.errors import Conflict
from core.mail import OutboxMail
from shop import jobs, payments
from shop.models import Order, OrderLine, StockHold
from shop.orders import OutOfCapacity
from tests.factories import login
from tests.shop.helpers import checkout_until_check, make_shop, payment_of, place, reload, stock_of


def _made_to_order(session, *, stock, capacity, lead=7):
    product, variant = make_shop(session, stock=stock)["items"][0]
    product.made_to_order, product.lead_time_days, product.weekly_capacity = True, lead, capacity
    session.add(product)
    session.flush()
    return product, variant


def _weeks(session, product_id):
    session.expire_all()
    return dict(session.exec(select(MadeToOrderWeek.week_start, MadeToOrderWeek.units_ordered)
                             .where(MadeToOrderWeek.product_id == product_id)).all())


def test_this_week_then_next_then_refused_and_expiry_gives_capacity_back(app, client,
                                                                       db_session):
    today = made_to_order.shop_today()
    this_week = made_to_order.week_start(today)
    next_week = this_week + timedelta(weeks=1)
    with db_session() as session:
        product, variant = _made_to_order(session, stock=2, capacity=3)
        maker = session.exec(select(ProductMaker.maker_id).where(
            ProductMaker.product_id == product.id)).first()
        maker_email = session.get(User, maker).email
        first = place(session, [(variant.id, 4)])  # 2 from stock, 2 made this week
        second = place(session, [(variant.id, 2)])  # this week has 1 left: next week
    with db_session() as session:
        assert stock_of(session, variant.id) == 0
        assert _weeks(session, product.id) == {this_week: 2, next_week: 2}
        hold = session.exec(select(StockHold).where(StockHold.order_id == first.id)).one()
        assert (hold.quantity, hold.made_to_order_quantity, hold.made_in_week) == (
            4, 2, this_week)
        lines = {line.order_id: line for line in session.exec(select(OrderLine))}
        assert (lines[first.id].made_to_order_quantity, lines[first.id].lead_time_days,
                lines[first.id].ships_on) == (2, 7, today + timedelta(days=7))
        assert lines[second.id].ships_on == next_week + timedelta(days=7)
    # 2 more fit in neither week (1 left in each): refused, in Chinese, nothing written.
    with pytest.raises(OutOfCapacity) as refused, db_session() as session:
        place(session, [(variant.id, 2)])
    assert refused.value.shortages == [(product.title, 1)]
    assert "工坊一周内最多还能做 1 件" in str(refused.value)
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(Order)).one() == 2
        assert _weeks(session, product.id) == {this_week: 2, next_week: 2}
        third = place(session, [(variant.id, 1)])
    with db_session() as session:
        assert _weeks(session, product.id) == {this_week: 3, next_week: 2}
        session.get(Order, first.id).hold_expires_at = utcnow() - timedelta(minutes=1)
    # The first order is not paid in time: its stock and its week's units come back.
    with app.app_context():
        assert jobs.release_expired_holds() == 1
    with db_session() as session:
        assert stock_of(session, variant.id) == 2
        assert _weeks(session, product.id) == {this_week: 1, next_week: 2}
        # Its money comes after all: stock and capacity are there, so both are taken again.
        order = reload(session, first.id)
        payment = payment_of(session, first.id)
        assert payments.mark_paid(session=session, payment=payment, amount=payment.amount,
                                  currency=payment.currency, by_system="test")
        assert reload(session, first.id).needs_attention is None
    # The workshop sees it among the orders to make, with the day it should ship.
    login(client, maker_email)
    ships = format_date(today + timedelta(days=7), "long", locale="zh_Hans_CN")
    assert f"其中 2 件按订单制作：做好后发货，约 7 天（预计 {ships} 发货）" in client.get(
        "/my/order-lines").get_data(as_text=True)
    with db_session() as session:
        assert stock_of(session, variant.id) == 0
        assert _weeks(session, product.id) == {this_week: 3, next_week: 2}
        # The other two are cancelled: every week back to nothing, the stock untouched.
        for other in (second, third):
            assert payments.cancel_unpaid(session=session, order=reload(session, other.id),
                                          by_system="test")
    with db_session() as session:
        assert _weeks(session, product.id) == {this_week: 2, next_week: 0}
        assert stock_of(session, variant.id) == 0
        assert order.id == first.id


def test_many_buyers_at_once_never_exceed_the_capacity(app, db_session):
    """32 buyers of one each for 3 in stock and 10 a week: exactly 23 orders."""
    with db_session() as session:
        product, variant = _made_to_order(session, stock=3, capacity=10)
        product_id, variant_id = product.id, variant.id
    buyers = 32
    start = threading.Barrier(buyers)
    outcome = {"orders": 0, "full": 0}
    lock = threading.Lock()

    def buyer(_n):
        start.wait()
        try:
            with app.app_context(), db.transaction() as session:
                place(session, [(variant_id, 1)], key=secrets.token_urlsafe(24))
        except OutOfCapacity:
            with lock:
                outcome["full"] += 1
            return
        with lock:
            outcome["orders"] += 1

    with ThreadPoolExecutor(buyers) as pool:
        list(pool.map(buyer, range(buyers)))
    assert outcome == {"orders": 23, "full": 9}
    with db_session() as session:
        assert stock_of(session, variant_id) == 0
        assert sorted(_weeks(session, product_id).values()) == [10, 10]
        assert session.exec(select(func.sum(StockHold.made_to_order_quantity))).one() == 20
        assert session.exec(select(func.sum(OrderLine.quantity))).one() == 23


def test_capacity_taken_after_the_first_look_is_refused_by_the_database(
        app, db_session, monkeypatch):
    """Both weeks fill up between this checkout's first look and its writes (another
    buyer's commit on PostgreSQL): the conditional update refuses, nothing is written."""
    import sqlalchemy as sa

    from shop import orders

    with db_session() as session:
        product, variant = _made_to_order(session, stock=1, capacity=4)
    real = orders._claim_key

    def weeks_filled_then_claim(session, key):
        today = made_to_order.shop_today()
        for n in range(2):
            week = made_to_order.week_start(today) + timedelta(weeks=n)
            session.add(MadeToOrderWeek(product_id=product.id, week_start=week,
                                        units_ordered=3))
        session.flush()
        return real(session, key)

    monkeypatch.setattr(orders, "_claim_key", weeks_filled_then_claim)
    with pytest.raises(OutOfCapacity) as refused, db_session() as session:
        place(session, [(variant.id, 3)])  # 1 from stock, 2 to make: only 1 left a week
    assert refused.value.shortages == [(product.title, 1)]
    with db_session() as session:
        assert stock_of(session, variant.id) == 1
        assert _weeks(session, product.id) == {}  # the whole transaction rolled back
        assert session.exec(select(func.count()).select_from(Order)).one() == 0
        assert session.execute(sa.select(func.count()).select_from(StockHold)).scalar() == 0


def test_the_shopper_sees_the_ship_date_and_is_told_plainly_when_it_is_full(
        app, client, db_session):
    today = made_to_order.shop_today()
    ships = format_date(today + timedelta(days=7), "long", locale="zh_Hans_CN")
    with db_session() as session:
        product, variant = _made_to_order(session, stock=0, capacity=5)
    page = client.get(f"/products/{product.slug}").get_data(as_text=True)
    assert "做好后发货，约 7 天" in page and f"现在下单，预计 {ships} 发货" in page
    # More than a week can make: told so when adding, and nothing goes in the cart.
    response = client.post("/cart/add", data={"variant_id": variant.id, "quantity": "6"})
    assert response.status_code == 400 and "现在最多可以订 5 件" in response.get_data(
        as_text=True)
    client.get("/language/en")
    response = client.post("/cart/add", data={"variant_id": variant.id, "quantity": "6"})
    assert "You can order up to 5 now" in response.get_data(as_text=True)
    client.get("/language/zh_Hans_CN")
    assert product.title not in client.get("/cart").get_data(as_text=True)

    fields = checkout_until_check(client, variant.id, quantity=3)
    note = f"其中 3 件按订单制作：做好后发货，约 7 天（预计 {ships} 发货）"
    assert note in client.get("/cart").get_data(as_text=True)
    assert note in client.get("/checkout/check").get_data(as_text=True)
    # The workshop lowers its capacity meanwhile: placing is refused, nothing held.
    with db_session() as session:
        session.get(Product, product.id).weekly_capacity = 2
    response = client.post("/checkout/place", data=fields)
    text = response.get_data(as_text=True)
    assert response.status_code == 409 and "对不起，工坊做不了这么多" in text
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(Order)).one() == 0
        assert session.exec(select(func.count()).select_from(StockHold)).one() == 0
        assert sum(_weeks(session, product.id).values()) == 0
        session.get(Product, product.id).weekly_capacity = 5
    cart_page = client.get("/cart").get_data(as_text=True)
    assert note in cart_page
    # One more (4 in the cart, 5 a week): placed.
    response = client.post("/checkout/place", data=checkout_until_check(client, variant.id,
                                                                        quantity=1))
    assert response.status_code == 302
    order_page = client.get(response.headers["Location"]).get_data(as_text=True)
    note = f"其中 4 件按订单制作：做好后发货，约 7 天（预计 {ships} 发货）"
    assert note in order_page
    with db_session() as session:
        mail = session.exec(select(OutboxMail)).one()
        assert (f"{product.title}：其中 4 件按订单制作，做好后发货，约 7 天（预计 {ships} 发货）"
                in mail.body_text)


def test_a_refund_gives_unmade_units_back_to_their_week_never_to_stock(app, db_session):
    """4 ordered, 2 from stock and 2 to make this week: the units put back are the
    unmade ones first (their week's room comes back, the stock does not grow), then the
    ones from stock; once the order has gone out, or the week is over, none go to a week."""
    from shop import refunds
    from shop.models import FulfilmentStatus
    from tests.factories import make_user
    from tests.income.helpers import paid_order

    this_week = made_to_order.week_start(made_to_order.shop_today())
    last_week = this_week - timedelta(weeks=1)
    with db_session() as session:
        operator = make_user(session, email="mto-refund@example.cn").id
        product, variant = _made_to_order(session, stock=4, capacity=5)
        first = paid_order(session, [(variant.id, 2)])  # from stock: 2 left
        order = paid_order(session, [(variant.id, 4)])  # 2 from stock, 2 made this week
        line = session.exec(select(OrderLine.id).where(OrderLine.order_id == order.id)).one()
        price = session.get(OrderLine, line).unit_price_amount

    def refund(order_id, restock, units=1):
        with db_session() as session:
            refunds.refund_order(session=session, order=reload(session, order_id),
                                 amount=price * units, reason="退货", restock=restock,
                                 by_user_id=operator)
        with db_session() as session:
            return stock_of(session, variant.id), _weeks(session, product.id)

    assert refund(order.id, {line: 1}) == (0, {this_week: 1})
    assert refund(order.id, {line: 2}, 2) == (1, {this_week: 0})  # 1 unmade, 1 from stock
    assert refund(order.id, True) == (2, {this_week: 0})
    with pytest.raises(Conflict), db_session() as session:  # never more than sold
        refunds.refund_order(session=session, order=reload(session, order.id),
                             amount=price, reason="退货", restock={line: 1},
                             by_user_id=operator)
    assert refund(first.id, True, 2) == (4, {this_week: 0})  # stock only, as before

    # Shipped: every unit was made, so all go back to stock.
    with db_session() as session:
        shipped = paid_order(session, [(variant.id, 5)])  # 4 from stock, 1 made
        session.get(Order, shipped.id).fulfilment_status = FulfilmentStatus.SHIPPED
    assert refund(shipped.id, True, 5) == (5, {this_week: 1})
    # Booked in a week that is over: its room is not given back, nor is stock added.
    with db_session() as session:
        late = paid_order(session, [(variant.id, 6)])  # 5 from stock, 1 made
        hold = session.exec(select(StockHold).where(StockHold.order_id == late.id)).one()
        hold.made_in_week = last_week
        session.add(MadeToOrderWeek(product_id=product.id, week_start=last_week,
                                    units_ordered=2))
    assert refund(late.id, True, 6) == (5, {this_week: 2, last_week: 2})
