"""Card payments squared with Stripe when its webhook never came, and card money that
came after its order was cancelled given back.

`reconcile_card_payments` (the `reconcile_card_payments` job) asks Stripe about
- every card payment still pending RECONCILE_AFTER after it was made: a succeeded
  PaymentIntent settles the order as its webhook would have;
- every card payment of an order cancelled in the last LATE_PAYMENT_WINDOW whose
  PaymentIntent is not known to be cancelled at Stripe: one that can still be paid is
  cancelled there, one that succeeded after all (it was processing when the hold
  expired, or an operator cancelled the order while the buyer paid) is settled late;
- every cancelled order still holding card money (paid late, the goods gone).

Money that comes after the order was cancelled is kept if the stock is still there
(shop.payments.mark_paid takes it again and the order goes ahead) and refunded at once
otherwise, in the transaction that records it, so the books never hold a cancelled
order's money as a sale. Whoever settles first (the job, a late webhook, the buyer's
return page, the hold-expiry job) moves the payment by a conditional update; the others
find it done. The refund books first (locking the order's row, which the refund's own
webhook waits for) and then asks Stripe with an idempotency key and a metadata mark, so
a retry finds the refund it made rather than making a second one. That one call runs
inside the write transaction (as an operator's refund does), so nothing is booked
unless Stripe refunded; it is rare and short. Stripe unreachable: nothing is written,
the next run (or Stripe's resent webhook) tries again. Stripe refusing the refund: the
money stays on record and the order's note asks an operator to give it back.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import sqlalchemy as sa
import stripe
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.db import db, utcnow
from core.money import Money
from income import ledger
from shop import mails, payments
from shop.history import record_change
from shop.models import (
    DownloadGrant,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentRecordStatus,
    PaymentStatus,
    ProviderName,
    Refund,
)
from shop.providers import ProviderError, StripeProvider
from shop.stripe_refunds import RetryLater

logger = logging.getLogger(__name__)
RECONCILE_AFTER = timedelta(minutes=10)  # a card payment pending this long is asked about
LATE_PAYMENT_WINDOW = timedelta(days=7)  # a cancelled order's PaymentIntent is watched so long
BATCH = 200
BY = "stripe reconciliation"
LATE_REFUND_REASON = "Paid after the order was cancelled and the goods had gone"
CANCELLABLE = {"requires_payment_method", "requires_confirmation", "requires_action"}
CANCELED_EVENT = "payment_intent.canceled"
# Stripe's answers that asking again will not change (the others: try next run).
REFUSALS = (stripe.InvalidRequestError, stripe.CardError)
REFUSED_NOTE = "Paid after the order was cancelled; Stripe refused the automatic refund: " \
    "refund it by hand."


class LateRefundPending(RetryLater, ProviderError):
    """Money came after the order was cancelled and Stripe could not give it back yet:
    nothing is recorded (a webhook is answered 503, the job tries again next run)."""


class StripeUnreachable(Exception):
    """Stripe did not answer: the run stops and everything stays for the next one."""


def money_to_give_back(order: Order) -> int:
    """What a cancelled order holds of the buyer's money, in fen (0 for any other)."""
    if order.status != OrderStatus.CANCELLED:
        return 0
    return max(0, order.paid_amount - order.refunded_amount)


def settle_success(*, session: Session, payment: Payment, amount: int | None, currency: str,
                   by_system: str) -> str:
    """Apply a succeeded PaymentIntent: the order is paid, or, when the money came after
    the order was cancelled and the goods have gone, it is refunded at once."""
    if amount != payment.amount or (currency or "").upper() != payment.currency.upper():
        logger.warning("payment %s: Stripe's amount differs; not marked paid", payment.id)
        return "amount mismatch"
    if not payments.mark_paid(session=session, payment=payment, amount=amount,
                              currency=currency, by_system=by_system):
        return "already paid"
    order = session.get(Order, payment.order_id)
    session.refresh(order)
    if money_to_give_back(order):
        return refund_late_payment(session=session, order=order, payment=payment,
                                   by_system=by_system)
    return "paid"


def refund_late_payment(*, session: Session, order: Order, payment: Payment,
                        by_system: str = BY) -> str:
    """Give a cancelled order's card money back through Stripe, book it and tell the
    buyer; LateRefundPending (nothing written) if Stripe says no or cannot be reached."""
    order = session.exec(select(Order).where(Order.id == order.id).with_for_update()
                         .execution_options(populate_existing=True)).one()
    amount = money_to_give_back(order)
    if amount <= 0:
        return "nothing to give back"
    if session.exec(select(Refund.id).where(Refund.order_id == order.id,
                                            Refund.failed_at.is_not(None))).first():
        return "a refund of it failed before: left to an operator"
    try:
        with session.begin_nested():
            refund = _book(session, order, payment, amount, by_system)
            refund.provider_refund_id = _refund_at_stripe(session, order, payment, amount)
            session.add(refund)
            session.flush()
    except REFUSALS as exc:
        # Asking again would be refused again: the money stays on record, an operator
        # gives it back by hand, and the job leaves the order alone.
        logger.warning("order %s: Stripe refused the automatic refund (%s)", order.number,
                       type(exc).__name__)
        session.execute(sa.update(Order).where(Order.id == order.id)
                        .values(needs_attention=REFUSED_NOTE)
                        .execution_options(synchronize_session=False))
        return "paid late: refund refused"
    except stripe.StripeError as exc:
        logger.warning("order %s: late card payment not refunded yet (%s)", order.number,
                       type(exc).__name__)
        raise LateRefundPending(_(
            "Your payment came after this order was cancelled. It will be refunded to "
            "your card automatically, and we will email you when it is done.")) from exc
    return "paid late: refunded"


def _book(session: Session, order: Order, payment: Payment, amount: int,
          by_system: str) -> Refund:
    previous = order.payment_status
    session.execute(sa.update(Order).where(
        Order.id == order.id, Order.refunded_amount + amount <= Order.paid_amount,
    ).values(refunded_amount=Order.refunded_amount + amount,
             payment_status=PaymentStatus.REFUNDED, needs_attention=None)
        .execution_options(synchronize_session=False))
    session.refresh(order)
    refund = Refund(order_id=order.id, payment_id=payment.id, amount=amount,
                    currency=order.currency, reason=LATE_REFUND_REASON, restocked=False,
                    created_at=utcnow())
    session.add(refund)
    session.flush()
    # A late payment recorded before refunds were automatic may have download links.
    line_ids = select(OrderLine.id).where(OrderLine.order_id == order.id)
    session.execute(sa.update(DownloadGrant).where(DownloadGrant.order_line_id.in_(line_ids))
                    .values(revoked=True).execution_options(synchronize_session=False))
    record_change(session, order, "payment", previous.value, PaymentStatus.REFUNDED.value,
                  by_system=by_system, note=f"{Money(amount, order.currency).format('en')} "
                                            f"{LATE_REFUND_REASON}: refunded automatically")
    session.flush()
    # Nothing was credited for it (see payments.mark_paid); a late payment credited
    # before refunds were automatic is taken back here.
    ledger.reverse_refund(session=session, refund=refund)
    mails.late_payment_refunded(session=session, order=order, amount=amount)
    return refund


def _refund_at_stripe(session: Session, order: Order, payment: Payment, amount: int) -> str:
    """The refund's id at Stripe: the one an earlier, rolled-back try made, or a new one
    (localstripe ignores idempotency keys, so the mark is looked for first)."""
    provider = StripeProvider(current_app.config)
    booked = set(session.exec(select(Refund.provider_refund_id).where(
        Refund.order_id == order.id, Refund.provider_refund_id.is_not(None))).all())
    listed = provider.client.v1.refunds.list(
        params={"payment_intent": payment.provider_reference, "limit": 100})
    for earlier in listed.auto_paging_iter():
        mark = (earlier.to_dict().get("metadata") or {}).get("late_payment_order")
        if mark == order.number and earlier.id not in booked and earlier.status != "failed":
            return earlier.id
    made = provider.client.v1.refunds.create(
        params={"payment_intent": payment.provider_reference, "amount": amount,
                "metadata": {"late_payment_order": order.number}},
        options={"idempotency_key": f"gf-late-refund-{order.public_token}-{payment.id}"})
    return made.id


def reconcile_card_payments() -> int:
    """Ask Stripe about card payments its webhooks left open (see the module doc); how
    many were settled (paid or refunded). Stripe unreachable: one log line, nothing
    changed, the next run tries again."""
    if not current_app.config.get("STRIPE_SECRET_KEY"):
        return 0
    now = utcnow()
    with db.transaction(write=False) as session:
        pending = session.execute(_card_payments().where(
            Payment.status.in_([PaymentRecordStatus.PENDING, PaymentRecordStatus.FAILED]),
            Payment.created_at <= now - RECONCILE_AFTER,
            Order.status == OrderStatus.OPEN, Order.payment_status == PaymentStatus.PENDING,
        ).order_by(Payment.id).limit(BATCH)).all()
        cancelled = session.execute(_card_payments().where(
            Payment.status == PaymentRecordStatus.CANCELLED,
            Payment.created_at >= now - LATE_PAYMENT_WINDOW,
            Order.payment_status == PaymentStatus.NOT_PAID,
            ~sa.exists().where(PaymentEvent.object_reference == Payment.provider_reference,
                               PaymentEvent.event_type == CANCELED_EVENT),
        ).order_by(Payment.id).limit(BATCH)).all()
        owed = session.exec(select(Order.id).where(
            Order.status == OrderStatus.CANCELLED, Order.paid_amount > Order.refunded_amount,
            Order.payment_provider == ProviderName.STRIPE,
            sa.or_(Order.needs_attention.is_(None), Order.needs_attention != REFUSED_NOTE),
        ).order_by(Order.id).limit(BATCH)).all()
    provider = StripeProvider(current_app.config)
    settled = 0
    try:
        for payment_id, reference in [*pending, *cancelled]:
            settled += _ask_about(provider, payment_id, reference)
        for order_id in owed:
            settled += _give_back(order_id)
    except StripeUnreachable as exc:
        logger.warning("Stripe unreachable (%s): card payments left as they are until the "
                       "next run", exc)
    return settled


def _card_payments():
    return (sa.select(Payment.id, Payment.provider_reference)
            .join(Order, Order.id == Payment.order_id)
            .where(Payment.provider == ProviderName.STRIPE,
                   Payment.provider_reference.is_not(None)))


def _ask_about(provider: StripeProvider, payment_id: int, reference: str) -> int:
    """Settle one payment by what Stripe says now; 1 if it was settled."""
    answered, intent = _stripe(provider.retrieve, reference)
    if not answered:
        return 0
    if intent.status == "succeeded":
        received = intent.to_dict().get("amount_received") or intent.amount
        try:
            with db.transaction() as session:
                outcome = settle_success(session=session,
                                         payment=session.get(Payment, payment_id),
                                         amount=received, currency=intent.currency,
                                         by_system=BY)
        except LateRefundPending as exc:
            if isinstance(exc.__cause__, stripe.APIConnectionError):
                raise StripeUnreachable(type(exc.__cause__).__name__) from exc
            return 0
        logger.info("card payment %s (%s): %s", payment_id, reference, outcome)
        return 1 if outcome.startswith("paid") else 0
    with db.transaction(write=False) as session:
        cancelled = session.get(Payment, payment_id).status == PaymentRecordStatus.CANCELLED
    if not cancelled:
        return 0  # still being paid (or declined): the hold-expiry job decides in time
    if intent.status in CANCELLABLE:
        # The order is cancelled but the buyer could still pay: stop that at Stripe.
        if not _stripe(provider.cancel, reference)[0]:
            return 0
        _note_cancelled(reference, "cancelled by reconciliation")
    elif intent.status == "canceled":
        _note_cancelled(reference, "seen cancelled by reconciliation")
    return 0  # processing: asked again next run


def _stripe(call, reference: str) -> tuple[bool, object]:
    """(True, what `call(reference)` returned), or (False, None) when Stripe refuses
    (logged); StripeUnreachable when it does not answer."""
    try:
        return True, call(reference)
    except stripe.APIConnectionError as exc:
        raise StripeUnreachable(type(exc).__name__) from exc
    except stripe.StripeError as exc:
        logger.warning("Stripe said no about %s: %s", reference, type(exc).__name__)
        return False, None


def _note_cancelled(reference: str, outcome: str) -> None:
    """Stored like Stripe's own event (once), so a final PaymentIntent is not asked again."""
    with db.transaction() as session:
        try:
            with session.begin_nested():
                session.add(PaymentEvent(
                    provider=ProviderName.STRIPE, provider_event_id=f"retrieve:{reference}",
                    event_type=CANCELED_EVENT, object_reference=reference,
                    payload=json.dumps({"id": reference, "status": "canceled"}),
                    outcome=outcome))
                session.flush()
        except IntegrityError:
            pass  # noted already


def _give_back(order_id: int) -> int:
    """Refund a cancelled order that still holds card money; 1 if it was refunded."""
    try:
        with db.transaction() as session:
            order = session.get(Order, order_id)
            payment = session.exec(select(Payment).where(
                Payment.order_id == order_id, Payment.provider == ProviderName.STRIPE,
                Payment.status == PaymentRecordStatus.SUCCEEDED).order_by(Payment.id)).first()
            if payment is None:
                return 0
            outcome = refund_late_payment(session=session, order=order, payment=payment)
    except LateRefundPending as exc:
        if isinstance(exc.__cause__, stripe.APIConnectionError):
            raise StripeUnreachable(type(exc.__cause__).__name__) from exc
        return 0
    logger.info("order %s: %s", order_id, outcome)
    return 1 if outcome == "paid late: refunded" else 0
