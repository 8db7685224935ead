"""Races the flash-purchase path must survive, on SQLite and PostgreSQL: stock taken by
another buyer between the first look and the commit, and two refunds at once."""

from __future__ import annotations

import secrets
import threading

import pytest
import stripe
from sqlmodel import func, select

from core.db import db
from core.errors import Conflict
from shop import ledger, orders, payments, refunds
from shop.models import Order, ProviderName, Refund, StockHold
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


def _another_buyer_first(monkeypatch, variant_id, quantity):
    """Let another buyer take `quantity` just before this checkout's writes begin."""
    real = orders.take_write_lock
    done = []

    def competitor_then_lock(session):
        if not done:
            done.append(True)
            with db.transaction() as other:
                place(other, [(variant_id, quantity)])
        real(session)

    monkeypatch.setattr(orders, "take_write_lock", competitor_then_lock)


def test_stock_taken_after_the_first_look_is_refused_by_the_database(
        app, db_session, monkeypatch):
    with db_session() as session:
        product, variant = make_shop(session, stock=3)["items"][0]
    _another_buyer_first(monkeypatch, variant.id, 2)
    # The first look sees 3; by the commit only 1 is left: the CHECK constraint refuses.
    with pytest.raises(OutOfStock) as caught, db_session(write=False) as session:
        place_order(session=session, lines=[WantedLine(variant.id, 2)], contact=CONTACT,
                    delivery=PICKUP, provider=ProviderName.OFFLINE,
                    idempotency_key=secrets.token_urlsafe(24), hold_minutes=15, commit=True)
    assert caught.value.shortages == [(product.title, 1)]
    with db_session() as session:
        assert stock_of(session, variant.id) == 1
        assert session.exec(select(func.count()).select_from(Order)).one() == 1
        assert session.exec(select(func.sum(StockHold.quantity))).one() == 2


def test_card_order_beaten_to_the_stock_is_not_placed_and_its_intent_cancelled(
        stripe_config, app, client, db_session, localstripe, monkeypatch):
    with db_session() as session:
        product, variant = make_shop(session, stock=2)["items"][0]
    fields = checkout_until_check(client, variant.id, quantity=2, method="stripe")
    _another_buyer_first(monkeypatch, variant.id, 1)
    client.get("/language/en")
    response = client.post("/checkout/place", data=fields)
    assert response.status_code == 409
    assert "only 1 left" in response.get_data(as_text=True)
    intents = stripe.StripeClient("sk_test_gongfang", base_addresses={
        "api": localstripe.url}).v1.payment_intents.list().data
    assert [intent.status for intent in intents] == ["canceled"]
    with db_session() as session:
        assert stock_of(session, variant.id) == 1
        assert session.exec(select(func.count()).select_from(Order)).one() == 1
    # The buyer's cart is kept (with the shortage shown), to buy the one that is left.
    cart = client.get("/cart").get_data(as_text=True)
    assert product.title in cart and "data-error-summary" in cart


def test_key_taken_after_the_first_look_returns_the_order_placed_with_it(
        stripe_config, app, client, db_session, localstripe, monkeypatch):
    """A double click: the other request commits an order with this checkout's key while
    this one is writing. Its own order, lines, payment and mail roll back; the buyer is
    sent to the one order, and the card payment this request started is cancelled."""
    from core.mail import OutboxMail

    with db_session() as session:
        _product, variant = make_shop(session, stock=5)["items"][0]
    fields = checkout_until_check(client, variant.id, quantity=2, method="stripe")
    real = orders.take_write_lock
    first = []

    def same_key_first(session):
        if not first:
            first.append(None)  # the other request's own checkout passes through here
            with db.transaction() as other:
                first[0] = place(other, [(variant.id, 2)], key=fields["idempotency_key"],
                                 provider=ProviderName.STRIPE).public_token
        real(session)

    monkeypatch.setattr(orders, "take_write_lock", same_key_first)
    response = client.post("/checkout/place", data=fields)
    assert response.status_code == 302
    assert first[0] in response.headers["Location"]
    intents = stripe.StripeClient("sk_test_gongfang", base_addresses={
        "api": localstripe.url}).v1.payment_intents.list().data
    # The other order's payment stays open; the one this request started is stopped.
    assert sorted(intent.status for intent in intents) == ["canceled", "requires_payment_method"]
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


def test_checkout_questions_and_a_late_buyer_do_not_queue_for_the_write_lock(
        app, client, db_session, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's one write lock; PostgreSQL locks rows")
    with db_session() as session:
        _product, variant = make_shop(session, stock=1)["items"][0]
    fields = checkout_until_check(client, variant.id, quantity=1)
    with db_session() as session:
        place(session, [(variant.id, 1)])  # someone else buys the last one
    holder = _hold_sqlite_write_lock(database_url)
    try:
        # Each would wait the 30 s busy timeout and fail if it asked for the lock.
        assert client.post("/checkout/contact", data={
            "name": "王小明", "email": "buyer@example.cn"}).status_code == 302
        assert client.post("/checkout/pickup", data={"point": "metro-gulou"}).status_code == 302
        assert client.post("/checkout/place", data=fields).status_code == 409
    finally:
        holder.rollback()
        holder.close()
