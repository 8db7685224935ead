"""The reconcile_card_payments job against localstripe, with webhooks that never came.

localstripe delivers webhooks only to the addresses registered with it; these tests
register none (the `stripe_webhooks` fixture is not used), so every payment's webhook
is dropped. Ten minutes pass by moving the payment's creation time back in the
database. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa
import stripe
from sqlmodel import func, select

from core.db import utcnow
from core.mail import OutboxMail
from core.scheduler import run_job
from income import ledger
from income.models import LedgerEntry
from shop import payments
from shop.models import (
    HoldStatus,
    Order,
    OrderStatus,
    OrderStatusChange,
    Payment,
    PaymentRecordStatus,
    PaymentStatus,
    ProviderName,
    Refund,
    StockHold,
)
from shop.reconciliation import RECONCILE_AFTER
from tests.shop.conftest import WEBHOOK_SECRET
from tests.shop.helpers import (
    card_reference,
    make_shop,
    payment_of,
    place,
    reload,
    signed_event,
    stock_of,
)


def _stripe(localstripe):
    return stripe.StripeClient("sk_test_gongfang", base_addresses={"api": localstripe.url})


def _card_order(app, db_session, *, stock=5, quantity=2, locale="zh_Hans_CN"):
    """A card order with its PaymentIntent made (as its pay page does)."""
    with app.test_request_context(), db_session() as session:
        _product, variant = make_shop(session, stock=stock, price=3000)["items"][0]
        order = place(session, [(variant.id, quantity)], provider=ProviderName.STRIPE,
                      locale=locale)
    return order.id, variant.id, card_reference(app, order.id)


def _pays(localstripe, reference, payment_method="pm_card_visa"):
    """What Stripe.js does in the browser: attach the card and confirm."""
    client = _stripe(localstripe)
    client.v1.payment_intents.update(reference, params={"payment_method": payment_method})
    return client.v1.payment_intents.confirm(reference)


def _made_ago(db_session, order_id, age):
    with db_session() as session:
        payment = payment_of(session, order_id)
        payment.created_at = utcnow() - age
        session.add(payment)


def _cancelled_by_hold_expiry(app, db_session, order_id):
    """What release_expired_holds does when Stripe would not cancel the PaymentIntent
    (it was processing): the order is cancelled, its stock given back, and the intent
    can still succeed."""
    with app.test_request_context(), db_session() as session:
        assert payments.cancel_unpaid(session=session, order=session.get(Order, order_id),
                                      by_system="hold expiry", note="not paid in time")


def _mails(db_session, subject_part):
    with db_session() as session:
        return [m for m in session.exec(select(OutboxMail).order_by(OutboxMail.id)).all()
                if subject_part in m.subject]


def _ledger(db_session, order_id):
    with db_session() as session:
        entries = session.exec(select(LedgerEntry).where(LedgerEntry.order_id == order_id)).all()
        return sorted((e.entry_key, e.amount) for e in entries), ledger.order_gap(session,
                                                                                   order_id)


def _no_webhooks_registered():
    from localstripe import webhooks

    return not webhooks._webhooks


def test_a_dropped_webhook_is_settled_by_the_job_after_ten_minutes(
        stripe_config, app, db_session, localstripe):
    order_id, variant_id, reference = _card_order(app, db_session)
    assert _pays(localstripe, reference).status == "succeeded"
    assert _no_webhooks_registered()
    # Paid at Stripe a moment ago: the webhook may still come, the job leaves it.
    assert run_job(app, "reconcile_card_payments") == 0
    with db_session() as session:
        assert reload(session, order_id).payment_status == PaymentStatus.PENDING
    _made_ago(db_session, order_id, RECONCILE_AFTER + timedelta(seconds=1))
    assert run_job(app, "reconcile_card_payments") == 1
    assert run_job(app, "reconcile_card_payments") == 0
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.status, order.payment_status, order.paid_amount) == (
            OrderStatus.OPEN, PaymentStatus.PAID, 6000)
        assert payment_of(session, order_id).status == PaymentRecordStatus.SUCCEEDED
        assert stock_of(session, variant_id) == 3
        assert session.exec(select(StockHold.status).where(
            StockHold.order_id == order_id)).all() == [HoldStatus.SOLD]
        change = session.exec(select(OrderStatusChange).where(
            OrderStatusChange.order_id == order_id, OrderStatusChange.to_value == "paid")).one()
        assert change.by_system == "stripe reconciliation"
    entries, gap = _ledger(db_session, order_id)
    assert gap == 0 and sum(amount for _key, amount in entries) == 6000
    paid_mails = _mails(db_session, "已付款")
    assert len(paid_mails) == 1 and "¥60.00" in paid_mails[0].body_text


def test_a_payment_still_being_made_is_left_alone(stripe_config, app, db_session, localstripe):
    client = _stripe(localstripe)
    three_d_secure = client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": "4000002500003155", "exp_month": 12,
                                 "exp_year": 2040, "cvc": "123"}})
    asked_id, _v1, asked_ref = _card_order(app, db_session)
    unpaid_id, _v2, unpaid_ref = _card_order(app, db_session)
    young_id, _v3, young_ref = _card_order(app, db_session)
    assert _pays(localstripe, asked_ref, three_d_secure.id).status == "requires_action"
    assert _pays(localstripe, young_ref).status == "succeeded"
    _made_ago(db_session, asked_id, RECONCILE_AFTER + timedelta(minutes=1))
    _made_ago(db_session, unpaid_id, RECONCILE_AFTER + timedelta(minutes=1))
    _made_ago(db_session, young_id, RECONCILE_AFTER - timedelta(minutes=1))
    assert run_job(app, "reconcile_card_payments") == 0
    with db_session() as session:
        for order_id in (asked_id, unpaid_id, young_id):
            order = reload(session, order_id)
            assert (order.status, order.payment_status) == (OrderStatus.OPEN,
                                                            PaymentStatus.PENDING)
            assert payment_of(session, order_id).status == PaymentRecordStatus.PENDING
    statuses = [client.v1.payment_intents.retrieve(ref).status
                for ref in (asked_ref, unpaid_ref, young_ref)]
    assert statuses == ["requires_action", "requires_payment_method", "succeeded"]
    assert _mails(db_session, "") == []
    # Its ten minutes up, the one that was paid is settled.
    _made_ago(db_session, young_id, RECONCILE_AFTER + timedelta(seconds=1))
    assert run_job(app, "reconcile_card_payments") == 1
    with db_session() as session:
        assert reload(session, young_id).payment_status == PaymentStatus.PAID
        assert reload(session, asked_id).payment_status == PaymentStatus.PENDING


def test_paid_after_the_hold_expired_with_the_stock_still_there_is_kept(
        stripe_config, app, db_session, localstripe):
    order_id, variant_id, reference = _card_order(app, db_session, stock=5, quantity=2)
    _cancelled_by_hold_expiry(app, db_session, order_id)
    with db_session() as session:
        assert stock_of(session, variant_id) == 5
    assert _pays(localstripe, reference).status == "succeeded"
    assert run_job(app, "reconcile_card_payments") == 1
    assert run_job(app, "reconcile_card_payments") == 0
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.status, order.payment_status, order.paid_amount) == (
            OrderStatus.OPEN, PaymentStatus.PAID, 6000)
        assert order.needs_attention is None
        assert stock_of(session, variant_id) == 3
        assert session.exec(select(StockHold.status).where(
            StockHold.order_id == order_id)).all() == [HoldStatus.SOLD]
        assert session.exec(select(Refund)).all() == []
    entries, gap = _ledger(db_session, order_id)
    assert gap == 0 and sum(amount for _key, amount in entries) == 6000
    paid_mails = _mails(db_session, "已付款")
    assert len(paid_mails) == 1
    assert "你的付款在我们取消订单之后才到账" in paid_mails[0].body_text
    assert _stripe(localstripe).v1.refunds.list(params={"payment_intent": reference}).data == []


def test_paid_after_the_hold_expired_with_the_stock_gone_is_refunded(
        stripe_config, app, db_session, localstripe):
    order_id, variant_id, reference = _card_order(app, db_session, stock=2, quantity=2,
                                                  locale="en")
    _cancelled_by_hold_expiry(app, db_session, order_id)
    with app.test_request_context(), db_session() as session:
        place(session, [(variant_id, 1)])  # another buyer takes one of the two
    assert _pays(localstripe, reference).status == "succeeded"
    assert run_job(app, "reconcile_card_payments") == 1
    assert run_job(app, "reconcile_card_payments") == 0
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.status, order.payment_status) == (OrderStatus.CANCELLED,
                                                        PaymentStatus.REFUNDED)
        assert (order.paid_amount, order.refunded_amount) == (6000, 6000)
        assert order.needs_attention is None
        assert payment_of(session, order_id).status == PaymentRecordStatus.SUCCEEDED
        assert stock_of(session, variant_id) == 1
        refund = session.exec(select(Refund)).one()
        assert refund.amount == 6000 and refund.provider_refund_id.startswith("re_")
        notes = session.exec(select(OrderStatusChange.note).where(
            OrderStatusChange.order_id == order_id,
            OrderStatusChange.to_value == "refunded")).all()
        assert len(notes) == 1 and "refunded automatically" in notes[0]
    at_stripe = _stripe(localstripe).v1.refunds.list(params={"payment_intent": reference}).data
    assert [(r.id, r.amount) for r in at_stripe] == [(refund.provider_refund_id, 6000)]
    entries, gap = _ledger(db_session, order_id)
    assert (entries, gap) == ([], 0)  # never a sale: nothing credited, nothing to take back
    refund_mails = _mails(db_session, "Refund for order")
    assert len(refund_mails) == 1
    assert "came after the order had been cancelled" in refund_mails[0].body_text
    assert "We have refunded CN¥60.00 to your card" in refund_mails[0].body_text
    assert _mails(db_session, "is paid") == []


@pytest.mark.parametrize("stock_gone", [False, True], ids=["on time", "late, stock gone"])
def test_the_job_and_a_late_webhook_at_once_settle_once(
        stripe_config, app, db_session, localstripe, live_server, stock_gone):
    order_id, variant_id, reference = _card_order(app, db_session, stock=2, quantity=2)
    if stock_gone:
        _cancelled_by_hold_expiry(app, db_session, order_id)
        with app.test_request_context(), db_session() as session:
            place(session, [(variant_id, 1)])
    intent = _pays(localstripe, reference)
    _made_ago(db_session, order_id, RECONCILE_AFTER + timedelta(seconds=1))
    # The event Stripe would have sent, signed with its scheme, from the real intent.
    event = {"id": "evt_late_1", "object": "event", "type": "payment_intent.succeeded",
             "created": 0, "data": {"object": json.loads(json.dumps(intent.to_dict()))}}
    body, headers = signed_event(event, secret=WEBHOOK_SECRET)
    start = threading.Barrier(2)
    answers, settled = [], []

    def webhook():
        start.wait()
        answers.append(requests.post(f"{live_server.url}/stripe/webhook", data=body,
                                     headers=headers, timeout=60).json())

    def job():
        start.wait()
        settled.append(run_job(app, "reconcile_card_payments"))

    threads = [threading.Thread(target=webhook), threading.Thread(target=job)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    outcome = answers[0]["outcome"]
    assert sorted([outcome, settled[0]], key=str) in (
        [0, "paid" if not stock_gone else "paid late: refunded"], [1, "already paid"])
    with db_session() as session:
        order = reload(session, order_id)
        changes = session.exec(select(func.count()).select_from(OrderStatusChange).where(
            OrderStatusChange.order_id == order_id, OrderStatusChange.kind == "payment")).one()
        if stock_gone:
            assert (order.status, order.payment_status, order.refunded_amount) == (
                OrderStatus.CANCELLED, PaymentStatus.REFUNDED, 6000)
            assert changes == 2  # paid, then refunded
            assert session.exec(select(func.count()).select_from(Refund)).one() == 1
        else:
            assert (order.status, order.payment_status) == (OrderStatus.OPEN,
                                                            PaymentStatus.PAID)
            assert changes == 1
    entries, gap = _ledger(db_session, order_id)
    assert gap == 0 and len(entries) == len({key for key, _amount in entries})
    assert sum(amount for _key, amount in entries) == (0 if stock_gone else 6000)
    refunds_at_stripe = _stripe(localstripe).v1.refunds.list(
        params={"payment_intent": reference}).data
    assert len(refunds_at_stripe) == (1 if stock_gone else 0)
    assert len(_mails(db_session, "退款" if stock_gone else "已付款")) == 1


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_stripe_unreachable_changes_nothing_and_the_next_run_settles(
        stripe_config, app, db_session, localstripe, caplog):
    pending_id, _v1, pending_ref = _card_order(app, db_session)
    late_id, late_variant, late_ref = _card_order(app, db_session, stock=2, quantity=2)
    _cancelled_by_hold_expiry(app, db_session, late_id)
    with app.test_request_context(), db_session() as session:
        place(session, [(late_variant, 2)])  # the late one's goods are gone
    _pays(localstripe, pending_ref)
    _pays(localstripe, late_ref)
    _made_ago(db_session, pending_id, RECONCILE_AFTER + timedelta(seconds=1))

    def state():
        with db_session() as session:
            rows = session.execute(sa.select(Order.id, Order.status, Order.payment_status,
                                             Order.paid_amount, Order.refunded_amount)
                                   .order_by(Order.id)).all()
            return (rows, session.exec(select(Payment.status).order_by(Payment.id)).all(),
                    session.exec(select(func.count()).select_from(LedgerEntry)).one(),
                    session.exec(select(func.count()).select_from(OutboxMail)).one())

    before = state()
    app.config["STRIPE_API_BASE"] = _closed_port()
    with caplog.at_level(logging.WARNING):
        assert run_job(app, "reconcile_card_payments") == 0
    lines = [r.getMessage() for r in caplog.records
             if r.name.startswith("shop") and r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "Stripe unreachable" in lines[0]
    assert state() == before
    app.config["STRIPE_API_BASE"] = localstripe.url
    assert run_job(app, "reconcile_card_payments") == 2
    with db_session() as session:
        assert reload(session, pending_id).payment_status == PaymentStatus.PAID
        late = reload(session, late_id)
        assert (late.status, late.payment_status) == (OrderStatus.CANCELLED,
                                                      PaymentStatus.REFUNDED)
    assert len(_stripe(localstripe).v1.refunds.list(params={"payment_intent": late_ref}).data) == 1


def test_card_pages_with_stripe_unreachable_say_so_in_the_buyers_language(
        stripe_config, app, db_session, localstripe, client):
    order_id, variant_id, reference = _card_order(app, db_session)
    with db_session() as session:
        token = reload(session, order_id).public_token
    _pays(localstripe, reference)
    app.config["STRIPE_API_BASE"] = _closed_port()
    pay = client.get(f"/orders/{token}/pay")
    assert pay.status_code == 502
    assert "你的订单已保留" in pay.get_data(as_text=True)
    returned = client.post(f"/orders/{token}/card-result")
    assert returned.status_code == 409
    assert "我们还查不到你的付款" in returned.get_data(as_text=True)
    client.get("/language/en")
    assert "Your order is kept" in client.get(f"/orders/{token}/pay").get_data(as_text=True)
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.status, order.payment_status) == (OrderStatus.OPEN, PaymentStatus.PENDING)
        assert stock_of(session, variant_id) == 3
    # Stripe back: the return page settles it.
    app.config["STRIPE_API_BASE"] = localstripe.url
    assert client.post(f"/orders/{token}/card-result").status_code == 302
    with db_session() as session:
        assert reload(session, order_id).payment_status == PaymentStatus.PAID


def test_a_cancelled_orders_payable_intent_is_cancelled_at_stripe_and_asked_once(
        stripe_config, app, db_session, localstripe, caplog):
    order_id, _variant_id, reference = _card_order(app, db_session)
    _cancelled_by_hold_expiry(app, db_session, order_id)  # or an operator's cancel
    assert _stripe(localstripe).v1.payment_intents.retrieve(reference).status == \
        "requires_payment_method"
    assert run_job(app, "reconcile_card_payments") == 0
    assert _stripe(localstripe).v1.payment_intents.retrieve(reference).status == "canceled"
    # Known final: the next runs do not ask Stripe about it (with Stripe gone, no line).
    app.config["STRIPE_API_BASE"] = _closed_port()
    with caplog.at_level(logging.WARNING):
        assert run_job(app, "reconcile_card_payments") == 0
    assert not [r for r in caplog.records if r.name.startswith("shop")]
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.status, order.payment_status) == (OrderStatus.CANCELLED,
                                                        PaymentStatus.NOT_PAID)


def test_a_refund_an_earlier_try_made_is_booked_not_made_again(
        stripe_config, app, db_session, localstripe):
    order_id, variant_id, reference = _card_order(app, db_session, stock=2, quantity=2)
    _cancelled_by_hold_expiry(app, db_session, order_id)
    with app.test_request_context(), db_session() as session:
        place(session, [(variant_id, 2)])
        number = reload(session, order_id).number
    _pays(localstripe, reference)
    # What a try that refunded at Stripe and then rolled back leaves (localstripe
    # ignores idempotency keys, so the key alone would not stop a second refund).
    earlier = _stripe(localstripe).v1.refunds.create(params={
        "payment_intent": reference, "amount": 6000,
        "metadata": {"late_payment_order": number}})
    assert run_job(app, "reconcile_card_payments") == 1
    with db_session() as session:
        assert session.exec(select(Refund.provider_refund_id)).all() == [earlier.id]
        assert reload(session, order_id).payment_status == PaymentStatus.REFUNDED
    at_stripe = _stripe(localstripe).v1.refunds.list(params={"payment_intent": reference}).data
    assert [r.id for r in at_stripe] == [earlier.id]


def test_a_late_webhook_refunds_at_once_or_changes_nothing(
        stripe_config, app, db_session, localstripe, client):
    order_id, variant_id, reference = _card_order(app, db_session, stock=2, quantity=2)
    _cancelled_by_hold_expiry(app, db_session, order_id)
    with app.test_request_context(), db_session() as session:
        place(session, [(variant_id, 2)])
    intent = _pays(localstripe, reference)
    event = {"id": "evt_late_2", "object": "event", "type": "payment_intent.succeeded",
             "created": 0, "data": {"object": json.loads(json.dumps(intent.to_dict()))}}
    body, headers = signed_event(event, secret=WEBHOOK_SECRET)
    # Stripe gone while the refund is made: nothing is kept, Stripe is asked to resend.
    app.config["STRIPE_API_BASE"] = _closed_port()
    assert client.post("/stripe/webhook", data=body, headers=headers).status_code == 503
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.payment_status, order.paid_amount) == (PaymentStatus.NOT_PAID, 0)
        assert payment_of(session, order_id).status == PaymentRecordStatus.CANCELLED
    app.config["STRIPE_API_BASE"] = localstripe.url
    body, headers = signed_event(event, secret=WEBHOOK_SECRET)
    answer = client.post("/stripe/webhook", data=body, headers=headers)
    assert answer.status_code == 200 and answer.json["outcome"] == "paid late: refunded"
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.status, order.payment_status, order.refunded_amount) == (
            OrderStatus.CANCELLED, PaymentStatus.REFUNDED, 6000)
    assert run_job(app, "reconcile_card_payments") == 0
    assert len(_stripe(localstripe).v1.refunds.list(
        params={"payment_intent": reference}).data) == 1
    assert _ledger(db_session, order_id) == ([], 0)
    assert len(_mails(db_session, "退款")) == 1


def test_the_job_and_the_hold_expiry_at_once_settle_once(
        stripe_config, app, db_session, localstripe):
    order_id, variant_id, reference = _card_order(app, db_session)
    _pays(localstripe, reference)
    _made_ago(db_session, order_id, RECONCILE_AFTER + timedelta(minutes=6))
    with db_session() as session:
        order = session.get(Order, order_id)
        order.hold_expires_at = utcnow() - timedelta(seconds=1)
        session.add(order)
    start = threading.Barrier(2)
    results = {}

    def run(job_id):
        start.wait()
        results[job_id] = run_job(app, job_id)

    threads = [threading.Thread(target=run, args=(job_id,))
               for job_id in ("reconcile_card_payments", "release_expired_holds")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert results["release_expired_holds"] == 0  # paid, not released
    with db_session() as session:
        order = reload(session, order_id)
        assert (order.status, order.payment_status) == (OrderStatus.OPEN, PaymentStatus.PAID)
        assert stock_of(session, variant_id) == 3
        assert session.exec(select(func.count()).select_from(OrderStatusChange).where(
            OrderStatusChange.order_id == order_id, OrderStatusChange.kind == "payment")).one() == 1
    entries, gap = _ledger(db_session, order_id)
    assert gap == 0 and sum(amount for _key, amount in entries) == 6000
    assert len(_mails(db_session, "已付款")) == 1


def test_a_cancelled_order_holding_card_money_is_refunded_or_left_to_an_operator(
        stripe_config, app, db_session, localstripe, caplog):
    """Money recorded on a cancelled order without its refund (a refund's event that came
    before the payment's, or a late payment recorded before refunds were automatic)."""
    owed = []
    for _ in range(2):
        order_id, variant_id, reference = _card_order(app, db_session, stock=2, quantity=2)
        _cancelled_by_hold_expiry(app, db_session, order_id)
        with app.test_request_context(), db_session() as session:
            place(session, [(variant_id, 2)])
        _pays(localstripe, reference)
        with app.test_request_context(), db_session() as session:
            payment = payment_of(session, order_id)
            assert payments.mark_paid(session=session, payment=payment, amount=6000,
                                      currency="CNY", by_system="stripe retrieve")
        owed.append((order_id, reference))
    (refunded_id, refunded_ref), (refused_id, _ref) = owed
    # Stripe refuses this one's refund: its record points at a PaymentIntent whose card
    # was declined.
    unpaid = _stripe(localstripe).v1.payment_intents.create(params={
        "amount": 6000, "currency": "cny", "payment_method_types": ["card"]})
    with pytest.raises(stripe.CardError):
        _pays(localstripe, unpaid.id, "pm_card_chargeCustomerFail")
    with db_session() as session:
        payment = payment_of(session, refused_id)
        payment.provider_reference = unpaid.id
        session.add(payment)
        session.flush()
        assert reload(session, refused_id).needs_attention  # asked to refund it
    with caplog.at_level(logging.WARNING):
        assert run_job(app, "reconcile_card_payments") == 1
    with db_session() as session:
        order = reload(session, refunded_id)
        assert (order.payment_status, order.refunded_amount) == (PaymentStatus.REFUNDED, 6000)
        refused = reload(session, refused_id)
        assert (refused.payment_status, refused.refunded_amount) == (PaymentStatus.PAID, 0)
        assert "refund it by hand" in refused.needs_attention
        assert session.exec(select(Refund.order_id)).all() == [refunded_id]
    assert len(_stripe(localstripe).v1.refunds.list(
        params={"payment_intent": refunded_ref}).data) == 1
    assert _ledger(db_session, refunded_id) == ([], 0)
    assert len(_mails(db_session, "退款")) == 1
    # Only the job's own lines: another test's app may still be logging that its live edge
    # refused a connection.
    refusals = [r for r in caplog.records
                if r.name == "shop.reconciliation" and "refused" in r.getMessage()]
    assert len(refusals) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert run_job(app, "reconcile_card_payments") == 0
    assert not [r for r in caplog.records if r.name.startswith("shop")]
