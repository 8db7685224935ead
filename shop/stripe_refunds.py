"""Refunds as Stripe tells of them: made or failed in the dashboard, or the app's own.

Stripe sends `charge.refunded` when a charge is refunded (from the app or from the
dashboard), `refund.created` / `refund.updated` / `refund.failed` (and the older
`charge.refund.updated`) as a refund's status changes. An event only says "look
again": the refunds of the PaymentIntent are listed from Stripe's API, and each is
squared with what is booked, keyed on Stripe's refund id, so an event that comes
twice, late or out of order changes nothing. A refund the app made is already booked
under its id: the app's refund keeps the order's row locked until it commits, and the
event waits for that lock before it looks. A refund counts while it is pending or
succeeded; a failed or cancelled one (final at Stripe: it never succeeds after) is
booked back once. Nothing is ever booked beyond what was paid: localstripe allows an
over-refund, so this is checked here, and an operator is asked to look.
"""

from __future__ import annotations

import logging

import stripe
from flask import current_app
from sqlmodel import Session, select

from shop import payments, refunds
from shop.models import Order, Payment, PaymentRecordStatus, Refund
from shop.providers import StripeProvider

logger = logging.getLogger(__name__)
REFUND_EVENTS = {"charge.refunded", "charge.refund.updated", "refund.created",
                 "refund.updated", "refund.failed"}
COUNTED = {"pending", "requires_action", "succeeded"}
FINAL_FAILURES = {"failed", "canceled"}
BY = "stripe webhook"


class RetryLater(Exception):
    """Cannot be applied yet (Stripe unreachable, or the payment not known as paid):
    answered with an error so that Stripe sends the event again later."""


def apply_refund_event(*, session: Session, event_type: str, obj: dict) -> str:
    """Square the PaymentIntent's refunds with the books; what happened, for the log."""
    intent_id = obj.get("payment_intent")
    if not isinstance(intent_id, str):
        return "no payment intent"
    payment = payments.stripe_payment(session, intent_id)
    if payment is None:
        return "unknown payment intent"
    # Wait for any refund of this order still being made by the app (it holds the
    # row until it commits), then read what is booked.
    order = session.exec(select(Order).where(Order.id == payment.order_id)
                         .with_for_update().execution_options(populate_existing=True)).one()
    provider = StripeProvider(current_app.config)
    payment = _paid_payment(session, provider, payment)
    seen = _refunds_at_stripe(provider, intent_id)
    if obj.get("object") == "refund" and isinstance(obj.get("id"), str):
        mine = seen.get(obj["id"])
        if mine is None or obj.get("status") in FINAL_FAILURES:
            seen[obj["id"]] = _observed(obj)
    outcomes = [_square(session, order, payment, refund_id, seen[refund_id])
                for refund_id in sorted(seen, key=lambda r: (seen[r]["created"], r))]
    return "; ".join(outcomes) or "no refunds"


def _paid_payment(session: Session, provider: StripeProvider, payment: Payment) -> Payment:
    if payment.status == PaymentRecordStatus.SUCCEEDED:
        return payment
    # The refund's news came before the payment's: ask Stripe about the payment.
    try:
        intent = provider.retrieve(payment.provider_reference)
    except stripe.StripeError as exc:
        raise RetryLater("Stripe unreachable") from exc
    if intent.status != "succeeded":
        raise RetryLater("refund of a payment that has not succeeded")
    received = intent.to_dict().get("amount_received") or intent.amount
    payments.mark_paid(session=session, payment=payment, amount=received,
                       currency=intent.currency, by_system="stripe retrieve")
    session.refresh(payment)
    return payment


def _observed(refund: dict) -> dict:
    return {"amount": refund.get("amount"), "currency": (refund.get("currency") or "").upper(),
            "status": refund.get("status"), "created": refund.get("created") or 0}


def _refunds_at_stripe(provider: StripeProvider, intent_id: str) -> dict[str, dict]:
    try:
        listed = provider.client.v1.refunds.list(
            params={"payment_intent": intent_id, "limit": 100})
        return {refund.id: _observed(refund.to_dict()) for refund in listed.auto_paging_iter()}
    except stripe.StripeError as exc:
        raise RetryLater("Stripe unreachable") from exc


def _square(session: Session, order: Order, payment: Payment, refund_id: str,
            seen: dict) -> str:
    """Book one refund Stripe knows of, or book it back, or leave it: once each."""
    booked = session.exec(select(Refund).where(Refund.provider_refund_id == refund_id)).first()
    counts = seen["status"] in COUNTED
    if booked is not None:
        if booked.failed_at is not None or counts:
            return f"{refund_id} already booked"
        refunds.unbook_failed_refund(session=session, refund=booked, by_system=BY)
        return f"{refund_id} failed: booked back"
    if not counts:
        return f"{refund_id} {seen['status']}: nothing to book"
    amount = seen["amount"]
    if not isinstance(amount, int) or amount <= 0 or seen["currency"] != order.currency.upper():
        return _flag(session, order, f"Stripe reports refund {refund_id} we cannot read.")
    refund = refunds.book_refund(
        session=session, order=order, payment=payment, amount=amount,
        reason="Refunded at Stripe (dashboard)", restock=False, by_system=BY,
        provider_refund_id=refund_id)
    if refund is None:
        return _flag(session, order, f"Stripe reports refund {refund_id} of more than is "
                                     "left of what was paid: check it.")
    return f"{refund_id} booked"


def _flag(session: Session, order: Order, note: str) -> str:
    logger.warning("order %s: %s", order.number, note)
    order.needs_attention = note[:200]
    session.add(order)
    session.flush()
    return note

