"""Refunds Stripe tells of (made or failed in the dashboard, or the app's own), squared
with the books once each: on SQLite and PostgreSQL, against localstripe.

localstripe sends no refund events itself, so the tests post the events a real Stripe
account sends (`charge.refunded`, `refund.updated`, `refund.failed`), signed with
Stripe's scheme; the refunds they point at are real localstripe objects, made from the
test as the dashboard would make them.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
import stripe
from sqlmodel import select

from accounts.models import Role
from core.mail import OutboxMail
from income import ledger
from shop import refunds
from shop.models import (
    Order,
    OrderStatusChange,
    PaymentEvent,
    PaymentRecordStatus,
    PaymentStatus,
    ProviderName,
    Refund,
)
from tests.factories import login, make_user
from tests.shop.conftest import WEBHOOK_SECRET
from tests.shop.helpers import card_reference, make_shop, payment_of, place, reload, signed_event

PAID = 6000


def _stripe(localstripe):
    return stripe.StripeClient("sk_test_gongfang", base_addresses={"api": localstripe.url})


def _paid_card_order(app, db_session, localstripe, client, *, confirm=True):
    """A card order for ¥60.00, paid in localstripe (and known as paid if `confirm`)."""
    with app.test_request_context(), db_session() as session:
        _product, variant = make_shop(session, stock=5, price=3000)["items"][0]
        order = place(session, [(variant.id, 2)], provider=ProviderName.STRIPE)
    reference = card_reference(app, order.id)
    api = _stripe(localstripe)
    api.v1.payment_intents.update(reference, params={"payment_method": "pm_card_visa"})
    intent = api.v1.payment_intents.confirm(reference)
    if confirm:
        assert client.post(f"/orders/{order.public_token}/card-result").status_code == 302
    charge = intent.latest_charge
    return order.id, reference, charge if isinstance(charge, str) else charge.id


def _dashboard_refund(localstripe, reference, amount):
    """A refund made outside the app (the Stripe dashboard)."""
    return _stripe(localstripe).v1.refunds.create(
        params={"payment_intent": reference, "amount": amount})


def _charge_refunded(event_id, charge, reference, refunded):
    return {"id": event_id, "object": "event", "type": "charge.refunded",
            "created": int(time.time()),
            "data": {"object": {"id": charge, "object": "charge", "amount": PAID,
                                "amount_refunded": refunded, "currency": "cny",
                                "payment_intent": reference, "refunded": refunded >= PAID,
                                "status": "succeeded"}}}


def _refund_event(event_id, event_type, refund_id, reference, amount, status):
    return {"id": event_id, "object": "event", "type": event_type,
            "created": int(time.time()),
            "data": {"object": {"id": refund_id, "object": "refund", "amount": amount,
                                "currency": "cny", "payment_intent": reference,
                                "status": status, "created": int(time.time()),
                                "failure_reason": "expired_or_canceled_card"
                                if status == "failed" else None}}}


def _post(client, event):
    body, headers = signed_event(event, secret=WEBHOOK_SECRET)
    return client.post("/stripe/webhook", data=body, headers=headers)


def _refunds(session, order_id):
    return session.exec(select(Refund).where(Refund.order_id == order_id)
                        .order_by(Refund.id)).all()


def _refund_mails(session):
    return [m for m in session.exec(select(OutboxMail)).all() if "Refund" in m.subject
            or "退款" in m.subject]


def test_dashboard_refund_is_booked_once(stripe_config, app, db_session, localstripe, client):
    order_id, reference, charge = _paid_card_order(app, db_session, localstripe, client)
    outside = _dashboard_refund(localstripe, reference, 2000)
    events = [_charge_refunded("evt_ch_1", charge, reference, 2000),
              _charge_refunded("evt_ch_1", charge, reference, 2000),  # delivered twice
              _refund_event("evt_re_1", "refund.updated", outside.id, reference, 2000,
                            "succeeded"),
              _charge_refunded("evt_ch_2", charge, reference, 2000)]  # a replay, new id
    for event in events:
        assert _post(client, event).status_code == 200
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.refunded_amount, order.payment_status) == (
            2000, PaymentStatus.PARTLY_REFUNDED)
        [refund] = _refunds(session, order_id)
        assert (refund.provider_refund_id, refund.amount, refund.created_by_id) == (
            outside.id, 2000, None)
        assert ledger.order_gap(session, order_id) == 0
        assert len(_refund_mails(session)) == 1
        change = session.exec(select(OrderStatusChange).where(
            OrderStatusChange.order_id == order_id,
            OrderStatusChange.to_value == PaymentStatus.PARTLY_REFUNDED.value)).one()
        assert change.by_system == "stripe webhook"
        outcomes = [e.outcome for e in session.exec(select(PaymentEvent).where(
            PaymentEvent.event_type != "payment_intent.succeeded").order_by(PaymentEvent.id))]
        assert outcomes == [f"{outside.id} booked", f"{outside.id} already booked",
                            f"{outside.id} already booked"]


def test_refund_made_in_the_app_is_not_counted_again(
        stripe_config, app, db_session, localstripe, client):
    order_id, reference, charge = _paid_card_order(app, db_session, localstripe, client)
    with db_session() as session:
        operator = make_user(session, roles=())
    with app.test_request_context(), db_session() as session:
        made = refunds.refund_order(session=session, order=session.get(Order, order_id),
                                    amount=1000, reason="破损", restock=False,
                                    by_user_id=operator.id).provider_refund_id
    for event in (_charge_refunded("evt_app_1", charge, reference, 1000),
                  _refund_event("evt_app_2", "refund.created", made, reference, 1000,
                                "succeeded")):
        assert _post(client, event).status_code == 200
    with db_session() as session:
        order = reload(session, order_id)
        assert order.refunded_amount == 1000
        assert [r.provider_refund_id for r in _refunds(session, order_id)] == [made]
        assert ledger.order_gap(session, order_id) == 0


def test_app_refund_and_its_event_racing_count_once(
        stripe_config, app, db_session, localstripe, client, live_server):
    """The event arrives while the app's refund is still being committed: it waits."""
    order_id, reference, charge = _paid_card_order(app, db_session, localstripe, client)
    with db_session() as session:
        operator = make_user(session, roles=())
    answers = []

    def deliver():
        body, headers = signed_event(_charge_refunded("evt_race", charge, reference, 2500),
                                     secret=WEBHOOK_SECRET)
        answers.append(requests.post(f"{live_server.url}/stripe/webhook", data=body,
                                     headers=headers, timeout=60).status_code)

    with app.test_request_context(), db_session() as session:
        refunds.refund_order(session=session, order=session.get(Order, order_id),
                             amount=2500, reason="退货", restock=False, by_user_id=operator.id)
        # Stripe has made the refund; our transaction is not committed yet.
        racer = threading.Thread(target=deliver)
        racer.start()
        racer.join(1.5)
        assert racer.is_alive()  # held back by the order being refunded
    racer.join(60)
    assert answers == [200]
    with db_session() as session:
        assert reload(session, order_id).refunded_amount == 2500
        assert len(_refunds(session, order_id)) == 1
        assert ledger.order_gap(session, order_id) == 0


def test_failed_refund_is_booked_back_once(stripe_config, app, db_session, localstripe,
                                           client):
    order_id, reference, charge = _paid_card_order(app, db_session, localstripe, client)
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
    with app.test_request_context(), db_session() as session:
        made = refunds.refund_order(session=session, order=session.get(Order, order_id),
                                    amount=PAID, reason="退货", restock=False,
                                    by_user_id=operator.id).provider_refund_id
    with db_session() as session:
        assert reload(session, order_id).payment_status == PaymentStatus.REFUNDED
    failed = [_refund_event("evt_f_1", "refund.failed", made, reference, PAID, "failed"),
              _refund_event("evt_f_2", "refund.updated", made, reference, PAID, "failed"),
              _refund_event("evt_f_1", "refund.failed", made, reference, PAID, "failed"),
              # Late news of the refund's first state: it does not come back to life.
              _refund_event("evt_f_0", "refund.created", made, reference, PAID, "succeeded"),
              _charge_refunded("evt_f_3", charge, reference, PAID)]
    for event in failed:
        assert _post(client, event).status_code == 200
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.refunded_amount, order.payment_status) == (0, PaymentStatus.PAID)
        assert order.needs_attention
        [refund] = _refunds(session, order_id)
        assert refund.failed_at is not None
        assert ledger.order_gap(session, order_id) == 0
        number = order.number
    login(client, operator.email)
    page = client.get(f"/operator/orders/{number}").get_data(as_text=True)
    assert "在 Stripe 失败" in page  # the operator sees the failed refund
    # The operator can refund again: the money is there to give back.
    with app.test_request_context(), db_session() as session:
        refunds.refund_order(session=session, order=session.get(Order, order_id),
                             amount=PAID, reason="again", restock=False, by_user_id=operator.id)
    with db_session() as session:
        assert reload(session, order_id).refunded_amount == PAID
        assert ledger.order_gap(session, order_id) == 0


def test_a_dashboard_refund_that_failed_is_never_booked(
        stripe_config, app, db_session, localstripe, client):
    order_id, reference, _charge = _paid_card_order(app, db_session, localstripe, client)
    event = _refund_event("evt_never", "refund.failed", "re_not_from_here", reference, 1500,
                          "failed")
    assert _post(client, event).status_code == 200
    with db_session() as session:
        assert reload(session, order_id).refunded_amount == 0
        assert _refunds(session, order_id) == []


def test_refunds_beyond_what_was_paid_are_flagged_not_booked(
        stripe_config, app, db_session, localstripe, client):
    order_id, reference, charge = _paid_card_order(app, db_session, localstripe, client)
    # localstripe lets the dashboard refund more than was paid; Stripe would not.
    made = {_dashboard_refund(localstripe, reference, 5000).id for _ in range(2)}
    assert _post(client, _charge_refunded("evt_over", charge, reference, 10000)
                 ).status_code == 200
    with db_session() as session:
        order = reload(session, order_id)
        assert order.refunded_amount == 5000 <= order.paid_amount
        [booked] = _refunds(session, order_id)  # one of the two: they came in one second
        assert booked.provider_refund_id in made and booked.amount == 5000
        assert "more than" in order.needs_attention
        assert ledger.order_gap(session, order_id) == 0


def test_refund_news_before_the_payment_news(stripe_config, app, db_session, localstripe,
                                             client):
    order_id, reference, charge = _paid_card_order(app, db_session, localstripe, client,
                                                   confirm=False)
    outside = _dashboard_refund(localstripe, reference, 1000)
    assert _post(client, _charge_refunded("evt_early", charge, reference, 1000)
                 ).status_code == 200
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.paid_amount, order.refunded_amount) == (PAID, 1000)
        assert payment_of(session, order_id).status == PaymentRecordStatus.SUCCEEDED
        assert [r.provider_refund_id for r in _refunds(session, order_id)] == [outside.id]
        assert ledger.order_gap(session, order_id) == 0


def test_refund_event_for_an_unpaid_intent_is_sent_again_later(
        stripe_config, app, db_session, client):
    with app.test_request_context(), db_session() as session:
        _product, variant = make_shop(session, stock=5, price=3000)["items"][0]
        order = place(session, [(variant.id, 1)], provider=ProviderName.STRIPE)
    reference = card_reference(app, order.id)
    event = _charge_refunded("evt_unpaid", "ch_x", reference, 1000)
    assert _post(client, event).status_code == 503
    with db_session() as session:
        assert session.exec(select(PaymentEvent)).all() == []  # not kept: Stripe retries
        assert reload(session, order.id).refunded_amount == 0


@pytest.mark.parametrize("secret", ["whsec_wrong", None])
def test_unsigned_or_forged_refund_events_book_nothing(
        stripe_config, app, db_session, localstripe, client, secret):
    order_id, reference, charge = _paid_card_order(app, db_session, localstripe, client)
    _dashboard_refund(localstripe, reference, 2000)
    event = _charge_refunded("evt_forged", charge, reference, 2000)
    body, headers = signed_event(event, secret=secret or WEBHOOK_SECRET)
    if secret is None:
        headers.pop("Stripe-Signature")
    assert client.post("/stripe/webhook", data=body, headers=headers).status_code == 400
    with db_session() as session:
        assert reload(session, order_id).refunded_amount == 0
        assert _refunds(session, order_id) == []
