"""A card order's PaymentIntent is made after the order is committed, on the pay page:
Stripe down at checkout loses no order, and two pages asking at once tie one intent.

Against localstripe (and a closed port standing for Stripe unreachable), on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import socket
import threading

import stripe
from sqlmodel import func, select

from shop import jobs
from shop.models import Order, OrderStatus, PaymentStatus, ProviderName, StockHold
from shop.providers import StripeProvider, card_payment_intent
from tests.shop.helpers import checkout_until_check, make_shop, payment_of, stock_of


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def _intents(localstripe):
    return stripe.StripeClient("sk_test_gongfang", base_addresses={
        "api": localstripe.url}).v1.payment_intents.list().data


def test_stripe_down_at_checkout_keeps_a_payable_order(stripe_config, app, client,
                                                       db_session, localstripe):
    with db_session() as session:
        _product, variant = make_shop(session, stock=5, price=3000)["items"][0]
    fields = checkout_until_check(client, variant.id, quantity=2, method="stripe")
    app.config["STRIPE_API_BASE"] = _closed_port()
    placed = client.post("/checkout/place", data=fields)
    # Placing never called Stripe: the order is there, its stock held, its payment pending.
    assert placed.status_code == 302 and "/pay" in placed.headers["Location"]
    with db_session() as session:
        order = session.exec(select(Order)).one()
        assert (order.status, order.payment_status) == (OrderStatus.OPEN, PaymentStatus.PENDING)
        assert payment_of(session, order.id).provider_reference is None
        assert stock_of(session, variant.id) == 3
        token = order.public_token
    client.get("/language/en")
    down = client.get(f"/orders/{token}/pay")
    assert down.status_code == 502
    assert "Your order is kept" in down.get_data(as_text=True)
    # Stripe is back: the same page makes the intent and offers the card form.
    app.config["STRIPE_API_BASE"] = localstripe.url
    page = client.get(f"/orders/{token}/pay")
    assert page.status_code == 200 and "data-client-secret" in page.get_data(as_text=True)
    again = client.get(f"/orders/{token}/pay")
    assert again.status_code == 200
    intents = _intents(localstripe)
    assert len(intents) == 1 and intents[0].amount == 6000
    with db_session() as session:
        assert payment_of(session, order.id).provider_reference == intents[0].id


def test_two_pay_pages_at_once_tie_one_intent_and_cancel_the_other(
        stripe_config, app, client, db_session, localstripe):
    with db_session() as session:
        _product, variant = make_shop(session, stock=5, price=3000)["items"][0]
    fields = checkout_until_check(client, variant.id, quantity=1, method="stripe")
    assert client.post("/checkout/place", data=fields).status_code == 302
    with db_session() as session:
        order_id = session.exec(select(Order.id)).one()
        payment_id = payment_of(session, order_id).id
    start = threading.Barrier(2)
    secrets = []

    def pay_page():
        provider = StripeProvider(app.config)
        with app.app_context():
            start.wait()
            secrets.append(card_payment_intent(provider=provider, payment_id=payment_id).id)

    threads = [threading.Thread(target=pay_page) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with db_session() as session:
        tied = payment_of(session, order_id).provider_reference
    assert secrets == [tied, tied]
    statuses = sorted(intent.status for intent in _intents(localstripe))
    assert statuses in (["requires_payment_method"], ["canceled", "requires_payment_method"])


def test_an_unpaid_card_order_without_an_intent_expires_and_gives_its_stock_back(
        stripe_config, app, client, db_session, localstripe):
    with db_session() as session:
        _product, variant = make_shop(session, stock=5)["items"][0]
    fields = checkout_until_check(client, variant.id, quantity=2, method="stripe")
    assert client.post("/checkout/place", data=fields).status_code == 302
    with db_session() as session:
        order = session.exec(select(Order)).one()
        assert order.payment_provider == ProviderName.STRIPE
        order.hold_expires_at = order.created_at.replace(year=2000)
        session.add(order)
    with app.app_context():
        assert jobs.release_expired_holds() == 1
    with db_session() as session:
        assert stock_of(session, variant.id) == 5
        assert session.exec(select(Order.status)).one() == OrderStatus.CANCELLED
        assert session.exec(select(func.count()).select_from(StockHold)
                            .where(StockHold.status == "held")).one() == 0
    assert _intents(localstripe) == []
