"""Stripe webhook events: verified, stored once, applied forward-only.

Each event is written to `payment_event` first, unique on Stripe's event id, inside a
savepoint: a duplicate or replay hits the unique constraint and changes nothing.
An order becomes paid only from `payment_intent.succeeded` (verified here) or from a
server-side retrieve of the PaymentIntent, never from what the browser says. Refund
events are squared with the books by shop.stripe_refunds.
"""

from __future__ import annotations

import json
import logging

import stripe
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from shop import payments
from shop.models import Payment, PaymentEvent, ProviderName
from shop.stripe_refunds import REFUND_EVENTS, apply_refund_event

logger = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300


class BadWebhook(Exception):
    """Unsigned, forged, stale or malformed: refused with 400."""


def verify(payload: bytes, signature: str | None, secret: str) -> dict:
    """The event if Stripe signed it within the tolerance; BadWebhook otherwise."""
    if not signature:
        raise BadWebhook("no signature")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret,
                                               tolerance=TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise BadWebhook(type(exc).__name__) from exc
    data = event.to_dict() if hasattr(event, "to_dict") else json.loads(payload)
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise BadWebhook("malformed")
    return data


def handle_event(*, session: Session, event: dict, payload: str) -> str:
    """Store the event once and apply it; returns what happened (for the log)."""
    obj = (event.get("data") or {}).get("object") or {}
    reference = obj.get("id") if isinstance(obj.get("id"), str) else None
    record = PaymentEvent(provider=ProviderName.STRIPE, provider_event_id=event["id"][:100],
                          event_type=event["type"][:80], object_reference=reference,
                          payload=payload)
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        return "duplicate"
    outcome = _apply(session, event["type"], obj, reference)
    record.outcome = outcome[:200]
    session.add(record)
    session.flush()
    return outcome


def _apply(session: Session, event_type: str, obj: dict, reference: str | None) -> str:
    if event_type in REFUND_EVENTS:
        return apply_refund_event(session=session, event_type=event_type, obj=obj)
    if not event_type.startswith("payment_intent.") or reference is None:
        return "ignored"
    payment = payments.stripe_payment(session, reference)
    if payment is None:
        return "unknown payment intent"
    if event_type == "payment_intent.succeeded":
        amount = obj.get("amount_received") or obj.get("amount")
        currency = obj.get("currency") or ""
        if amount != payment.amount or currency.upper() != payment.currency:
            logger.warning("payment %s: amount in event differs; not marked paid", payment.id)
            return "amount mismatch"
        changed = payments.mark_paid(session=session, payment=payment, amount=amount,
                                     currency=currency, by_system="stripe webhook")
        return "paid" if changed else "already paid"
    if event_type == "payment_intent.payment_failed":
        error = obj.get("last_payment_error") or {}
        changed = payments.mark_failed(session=session, payment=payment,
                                       message=error.get("message"))
        return "failed" if changed else "no change"
    return "ignored"


def reconcile(*, session: Session, payment: Payment, intent) -> str:
    """Apply what a server-side retrieve of the PaymentIntent says."""
    if intent.status == "succeeded":
        received = intent.to_dict().get("amount_received") or intent.amount
        changed = payments.mark_paid(session=session, payment=payment, amount=received,
                                     currency=intent.currency, by_system="stripe retrieve")
        return "paid" if changed else "already paid"
    return intent.status
