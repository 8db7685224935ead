"""Card payments against localstripe, with its signed webhooks delivered to the app.

Also forged, stale, duplicated and reordered events signed with Stripe's scheme.
Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time

import pytest
import requests
import stripe
from sqlmodel import select

from core.errors import Conflict
from shop import refunds
from shop.models import (
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentRecordStatus,
    PaymentStatus,
    ProviderName,
    Refund,
)
from tests.factories import make_user
from tests.shop.conftest import WEBHOOK_SECRET, wait_for
from tests.shop.helpers import (
    card_reference,
    make_shop,
    payment_of,
    place,
    reload,
    signed_event,
    stock_of,
)


def _client(localstripe):
    return stripe.StripeClient("sk_test_gongfang", base_addresses={"api": localstripe.url})


def _card_order(app, db_session, *, stock=5, quantity=2):
    with app.test_request_context(), db_session() as session:
        _product, variant = make_shop(session, stock=stock, price=3000)["items"][0]
        order = place(session, [(variant.id, quantity)], provider=ProviderName.STRIPE)
    reference = card_reference(app, order.id)
    return order.id, variant.id, reference


def _browser_pays(localstripe, reference, payment_method):
    """What Stripe.js does in the browser: attach the card and confirm."""
    client = _client(localstripe)
    client.v1.payment_intents.update(reference, params={"payment_method": payment_method})
    return client.v1.payment_intents.confirm(reference)


def _paid(db_session, order_id):
    with db_session() as session:
        order = reload(session, order_id)
        return order if order.payment_status == PaymentStatus.PAID else None


def test_card_payment_is_marked_paid_by_the_signed_webhook(
        stripe_webhooks, app, db_session, localstripe):
    order_id, variant_id, reference = _card_order(app, db_session)
    assert reference.startswith("pi_")
    intent = _browser_pays(localstripe, reference, "pm_card_visa")
    assert intent.status == "succeeded"
    order = wait_for(lambda: _paid(db_session, order_id))
    assert order and order.paid_amount == 6000
    with db_session() as session:
        events = session.exec(select(PaymentEvent)).all()
        assert any(e.event_type == "payment_intent.succeeded" and e.outcome == "paid"
                   for e in events)
        assert payment_of(session, order_id).status == PaymentRecordStatus.SUCCEEDED
        assert stock_of(session, variant_id) == 3


def test_declined_card_leaves_the_order_payable(stripe_webhooks, app, db_session, localstripe):
    order_id, _variant_id, reference = _card_order(app, db_session)
    with pytest.raises(stripe.CardError):
        _browser_pays(localstripe, reference, "pm_card_chargeCustomerFail")

    def failed():
        with db_session() as session:
            return payment_of(session, order_id).status == PaymentRecordStatus.FAILED
    assert wait_for(failed)
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.status, order.payment_status) == (OrderStatus.OPEN, PaymentStatus.PENDING)
        token = order.public_token
    # Still payable: the card page offers another try (localstripe cannot retry a
    # declined intent itself, so the retry is not driven here).
    page = requests.get(f"{stripe_webhooks.url}/orders/{token}/pay", timeout=10)
    assert page.status_code == 200
    assert "did not go through" in page.text or "没有成功" in page.text


def test_browser_return_is_checked_with_stripe_not_trusted(
        stripe_config, app, db_session, localstripe, client):
    order_id, _variant_id, reference = _card_order(app, db_session)
    with db_session() as session:
        token = session.get(Order, order_id).public_token
    # The browser claims success before paying: nothing changes.
    client.post(f"/orders/{token}/card-result")
    assert _paid(db_session, order_id) is None
    _browser_pays(localstripe, reference, "pm_card_visa")
    response = client.post(f"/orders/{token}/card-result")
    assert response.status_code == 302
    assert _paid(db_session, order_id)


def test_card_refunds_never_exceed_what_was_paid(
        stripe_config, app, db_session, localstripe, client):
    order_id, variant_id, reference = _card_order(app, db_session)
    with db_session() as session:
        token = session.get(Order, order_id).public_token
        operator = make_user(session, roles=())
    _browser_pays(localstripe, reference, "pm_card_visa")
    client.post(f"/orders/{token}/card-result")
    with app.test_request_context(), db_session() as session:
        refunds.refund_order(session=session, order=session.get(Order, order_id), amount=1000,
                             reason="破损", restock=False, by_user_id=operator.id)
    with pytest.raises(Conflict), app.test_request_context(), db_session() as session:
        refunds.refund_order(session=session, order=session.get(Order, order_id), amount=5001,
                             reason="too much", restock=False, by_user_id=operator.id)
    with app.test_request_context(), db_session() as session:
        refunds.refund_order(session=session, order=session.get(Order, order_id), amount=5000,
                             reason="退货", restock=True, by_user_id=operator.id)
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.refunded_amount, order.payment_status) == (6000, PaymentStatus.REFUNDED)
        stored = session.exec(select(Refund).order_by(Refund.id)).all()
        assert [r.amount for r in stored] == [1000, 5000]
        assert all(r.provider_refund_id.startswith("re_") for r in stored)
        assert stock_of(session, variant_id) == 5
    listed = _client(localstripe).v1.refunds.list(params={"payment_intent": reference})
    assert sorted(r.amount for r in listed.data) == [1000, 5000]


def _signed(payload: dict, *, secret=WEBHOOK_SECRET, timestamp=None):
    return signed_event(payload, secret=secret, timestamp=timestamp)


def _event(event_id, event_type, reference, amount=6000, currency="cny"):
    return {"id": event_id, "object": "event", "type": event_type, "created": int(time.time()),
            "data": {"object": {"id": reference, "object": "payment_intent", "amount": amount,
                                "amount_received": amount, "currency": currency,
                                "status": "succeeded",
                                "last_payment_error": {"message": "declined"}}}}


def test_forged_stale_and_unsigned_events_are_refused(stripe_config, app, db_session, client):
    order_id, _variant_id, reference = _card_order(app, db_session)
    event = _event("evt_forged", "payment_intent.succeeded", reference)
    body, headers = _signed(event, secret="whsec_wrong")
    assert client.post("/stripe/webhook", data=body, headers=headers).status_code == 400
    body, headers = _signed(event, timestamp=int(time.time()) - 3600)
    assert client.post("/stripe/webhook", data=body, headers=headers).status_code == 400
    body, _headers = _signed(event)
    assert client.post("/stripe/webhook", data=body,
                       content_type="application/json").status_code == 400
    body, headers = _signed(event)
    tampered = body.replace(b"6000", b"6001")
    assert client.post("/stripe/webhook", data=tampered, headers=headers).status_code == 400
    with db_session() as session:
        assert session.exec(select(PaymentEvent)).all() == []
        assert reload(session, order_id).payment_status == PaymentStatus.PENDING


def test_duplicated_and_reordered_events_count_once(stripe_config, app, db_session, client):
    order_id, _variant_id, reference = _card_order(app, db_session)
    succeeded = _event("evt_ok_1", "payment_intent.succeeded", reference)
    failed_late = _event("evt_fail_0", "payment_intent.payment_failed", reference)
    replay_other_id = _event("evt_ok_2", "payment_intent.succeeded", reference)
    for event in (succeeded, succeeded, failed_late, replay_other_id, succeeded):
        body, headers = _signed(event)
        assert client.post("/stripe/webhook", data=body, headers=headers).status_code == 200
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.payment_status, order.paid_amount) == (PaymentStatus.PAID, 6000)
        assert payment_of(session, order_id).status == PaymentRecordStatus.SUCCEEDED
        events = session.exec(select(PaymentEvent).order_by(PaymentEvent.id)).all()
        assert [(e.provider_event_id, e.outcome) for e in events] == [
            ("evt_ok_1", "paid"), ("evt_fail_0", "no change"), ("evt_ok_2", "already paid")]


def test_event_with_a_different_amount_does_not_pay(stripe_config, app, db_session, client):
    order_id, _variant_id, reference = _card_order(app, db_session)
    for event in (_event("evt_low", "payment_intent.succeeded", reference, amount=1),
                  _event("evt_usd", "payment_intent.succeeded", reference, currency="usd"),
                  _event("evt_other", "payment_intent.succeeded", "pi_not_ours")):
        body, headers = _signed(event)
        assert client.post("/stripe/webhook", data=body, headers=headers).status_code == 200
    with db_session() as session:
        assert reload(session, order_id).payment_status == PaymentStatus.PENDING


def test_webhook_is_off_without_stripe_keys(client):
    assert client.post("/stripe/webhook", data=b"{}").status_code == 404


def test_expiry_asks_stripe_first_and_cancels_the_intent(
        stripe_config, app, db_session, localstripe):
    from datetime import timedelta

    from core.db import utcnow
    from core.scheduler import run_job

    paid_id, _v1, paid_ref = _card_order(app, db_session)
    unpaid_id, variant_id, unpaid_ref = _card_order(app, db_session)
    _browser_pays(localstripe, paid_ref, "pm_card_visa")
    with db_session() as session:
        for order_id in (paid_id, unpaid_id):
            order = session.get(Order, order_id)
            order.hold_expires_at = utcnow() - timedelta(seconds=1)
            session.add(order)
    assert run_job(app, "release_expired_holds") == 1
    with db_session() as session:
        assert reload(session, paid_id).payment_status == PaymentStatus.PAID
        assert reload(session, unpaid_id).status == OrderStatus.CANCELLED
        assert stock_of(session, variant_id) == 5
    assert _client(localstripe).v1.payment_intents.retrieve(unpaid_ref).status == "canceled"
    response = requests.get(f"{localstripe.url}/js.stripe.com/v3/", timeout=5)
    assert "confirmCardPayment" in response.text
