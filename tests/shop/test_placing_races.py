"""Races the flash-purchase path must survive, on SQLite and PostgreSQL: stock taken by
another buyer between the first look and the commit, and two refunds at once."""

from __future__ import annotations

import secrets
import threading

import pytest
import sqlalchemy as sa
import stripe
from sqlmodel import func, select

from catalog.models import ProductVariant
from core.db import db
from core.errors import Conflict
from income import ledger
from shop import orders, payments, refunds
from shop.models import Order, OrderIdempotencyKey, ProviderName, Refund, StockHold
from shop.orders import OutOfStock, WantedLine, place_order
from tests.factories import make_user
from tests.shop.helpers import (
    CONTACT,
    PICKUP,
    checkout_until_check,
    make_shop,
    payment_of,
    place,
    reload,
    stock_of,
)


def _stock_goes_first(monkeypatch, variant_id, quantity):
    """Let `quantity` of the stock go just after this checkout's first look at it and
    before its writes, as another buyer's commit would on PostgreSQL. (On SQLite the
    whole placing runs under the write lock, so no other buyer can come between; the
    change is made in the checkout's own transaction, where the guard must see it too.)"""
    real = orders._claim_key
    done = []

    def stock_taken_then_claim(session, key):
        if not done:
            done.append(True)
            session.execute(sa.update(ProductVariant).where(ProductVariant.id == variant_id)
                            .values(stock=ProductVariant.stock - quantity))
        return real(session, key)

    monkeypatch.setattr(orders, "_claim_key", stock_taken_then_claim)


def test_stock_taken_after_the_first_look_is_refused_by_the_database(
        app, db_session, monkeypatch):
    with db_session() as session:
        product, variant = make_shop(session, stock=3)["items"][0]
    _stock_goes_first(monkeypatch, variant.id, 2)
    # The first look sees 3; when the stock is taken only 1 is left: refused, all of it.
    with pytest.raises(OutOfStock) as caught, db_session() as session:
        place_order(session=session, lines=[WantedLine(variant.id, 2)], contact=CONTACT,
                    delivery=PICKUP, provider=ProviderName.OFFLINE,
                    idempotency_key=secrets.token_urlsafe(24), hold_minutes=15)
    assert caught.value.shortages == [(product.title, 1)]
    with db_session() as session:
        assert stock_of(session, variant.id) == 3  # the whole transaction rolled back
        assert session.exec(select(func.count()).select_from(Order)).one() == 0
        assert session.exec(select(func.count()).select_from(OrderIdempotencyKey)).one() == 0


def test_card_order_beaten_to_the_stock_is_not_placed_and_no_intent_is_made(
        stripe_config, app, client, db_session, localstripe, monkeypatch):
    with db_session() as session:
        product, variant = make_shop(session, stock=2)["items"][0]
    fields = checkout_until_check(client, variant.id, quantity=2, method="stripe")
    _stock_goes_first(monkeypatch, variant.id, 1)
    client.get("/language/en")
    response = client.post("/checkout/place", data=fields)
    assert response.status_code == 409
    assert "only 1 left" in response.get_data(as_text=True)
    # The PaymentIntent is made only on the pay page, after an order is committed.
    intents = stripe.StripeClient("sk_test_gongfang", base_addresses={
        "api": localstripe.url}).v1.payment_intents.list().data
    assert intents == []
    with db_session() as session:
        assert stock_of(session, variant.id) == 2
        assert session.exec(select(func.count()).select_from(Order)).one() == 0
    # The buyer's cart is kept, to change and try again.
    assert product.title in client.get("/cart").get_data(as_text=True)


def test_key_taken_after_the_first_look_returns_the_order_placed_with_it(
        app, client, db_session, database_url, monkeypatch):
    """A double click on PostgreSQL: the other request commits an order with this
    checkout's key after this one's first look. This one writes nothing of its own and
    sends the buyer to the one order."""
    if database_url.startswith("sqlite"):
        pytest.skip("on SQLite placing runs under the write lock: no other request can "
                    "come between the first look and the key (test_double_submit_over_http)")
    from core.mail import OutboxMail

    with db_session() as session:
        _product, variant = make_shop(session, stock=5)["items"][0]
    fields = checkout_until_check(client, variant.id, quantity=2)
    real = orders._claim_key
    first = []

    def same_key_first(session, key):
        if not first:
            first.append(None)  # the other request's own checkout passes through here
            with db.transaction() as other:
                first[0] = place(other, [(variant.id, 2)], key=key).public_token
        return real(session, key)

    monkeypatch.setattr(orders, "_claim_key", same_key_first)
    response = client.post("/checkout/place", data=fields)
    assert response.status_code == 302
    assert first[0] in response.headers["Location"]
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(Order)).one() == 1
        assert stock_of(session, variant.id) == 3
        assert session.exec(select(func.sum(StockHold.quantity))).one() == 2
        assert session.exec(select(func.count()).select_from(OutboxMail)).one() == 0


def test_two_refunds_at_once_never_give_back_more_than_was_paid(app, db_session):
    with db_session() as session:
        _product, variant = make_shop(session, stock=5, price=3000)["items"][0]
        operators = [make_user(session, roles=()) for _ in range(2)]
        order_id = place(session, [(variant.id, 2)]).id
    with app.test_request_context(), db_session() as session:
        payment = payment_of(session, order_id)
        payments.mark_paid(session=session, payment=payment, amount=6000, currency="CNY",
                           by_system="test")
    start = threading.Barrier(2)
    outcomes = []

    def refund(operator):
        start.wait()
        try:
            with app.test_request_context(), db.transaction() as session:
                refunds.refund_order(session=session, order=session.get(Order, order_id),
                                     amount=4000, reason="同时退款", restock=False,
                                     by_user_id=operator.id)
            outcomes.append("refunded")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=refund, args=(operator,)) for operator in operators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refunded", "refused"]
    with db_session() as session:
        assert reload(session, order_id).refunded_amount == 4000
        assert len(session.exec(select(Refund)).all()) == 1
        assert ledger.order_gap(session, order_id) == 0


def _hold_sqlite_write_lock(database_url):
    """Another connection (as another process would) holding SQLite's write lock."""
    import sqlite3

    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_checkout_questions_do_not_queue_for_the_write_lock(
        app, client, db_session, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's one write lock; PostgreSQL locks rows")
    with db_session() as session:
        _product, variant = make_shop(session, stock=1)["items"][0]
    checkout_until_check(client, variant.id, quantity=1)
    with db_session() as session:
        place(session, [(variant.id, 1)])  # someone else buys the last one
    holder = _hold_sqlite_write_lock(database_url)
    try:
        # Each would wait the 30 s busy timeout and fail if it asked for the lock.
        assert client.post("/checkout/contact", data={
            "name": "王小明", "email": "buyer@example.cn"}).status_code == 302
        assert client.post("/checkout/pickup", data={"point": "metro-gulou"}).status_code == 302
    finally:
        holder.rollback()
        holder.close()
