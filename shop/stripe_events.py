"""Stripe webhook events: verified, stored once, applied forward-only.

Each event is written to `payment_event` first, unique on Stripe's event id, inside a
savepoint: a duplicate or replay hits the unique constraint and changes nothing.
An order becomes paid only from `payment_intent.succeeded` (verified here) or from a
server-side retrieve of the PaymentIntent, never from what the browser says; money that
comes after its order was cancelled is kept or refunded by shop.reconciliation. Refund
events are squared with the books by shop.stripe_refunds.

A signed event that is not ours to apply is refused (REFUSED, answered 200 "ignored" so
Stripe stops sending an event that can never become valid) and credits nothing:
- another account's: the event names an `account` (Stripe Connect) that is not
  STRIPE_ACCOUNT_ID, or any account when that is unset (the shop uses no Connect), or
  its `livemode` is not the mode of STRIPE_SECRET_KEY (sk_live_ / sk_test_);
- a PaymentIntent no payment of ours has: its client secret was never shown (an intent
  is tied to its payment before the pay page shows it), so nobody can pay it here;
- a succeeded PaymentIntent whose amount received or currency is not the order's.
The first two are not stored (their payload is somebody else's data), the third is, with
its outcome, beside the order's other events.
"""

from __future__ import annotations

import json
import logging

import stripe
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from shop import payments
from shop.models import Order, Payment, PaymentEvent, ProviderName
from shop.reconciliation import settle_success
from shop.stripe_refunds import REFUND_EVENTS, apply_refund_event

logger = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300
REFUSED = "refused: "
MONEY_EVENTS = {"payment_intent.succeeded", "payment_intent.payment_failed"}


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


def refusal(outcome: str) -> str | None:
    """Why an event was refused, from `handle_event`'s outcome; None if it was not."""
    return outcome[len(REFUSED):] if outcome.startswith(REFUSED) else None


def _not_our_account(event: dict) -> bool:
    ours = current_app.config.get("STRIPE_ACCOUNT_ID") or None
    if event.get("account") is not None and event.get("account") != ours:
        return True
    key = current_app.config.get("STRIPE_SECRET_KEY") or ""
    live = True if key.startswith(("sk_live_", "rk_live_")) else \
        False if key.startswith(("sk_test_", "rk_test_")) else None
    return live is not None and event.get("livemode") not in (None, live)


def _money_differs(session: Session, payment: Payment, obj: dict) -> bool:
    received = obj.get("amount_received")
    received = obj.get("amount") if received is None else received
    order = session.get(Order, payment.order_id)
    return (received != payment.amount or received != order.total_amount
            or str(obj.get("currency") or "").upper() != order.currency.upper()
            or payment.currency.upper() != order.currency.upper())


def handle_event(*, session: Session, event: dict, payload: str) -> str:
    """Store the event once and apply it; returns what happened (for the log)."""
    obj = (event.get("data") or {}).get("object") or {}
    reference = obj.get("id") if isinstance(obj.get("id"), str) else None
    if _not_our_account(event):
        return REFUSED + "for another Stripe account"
    intent_event = event["type"].startswith("payment_intent.") and reference is not None
    payment = payments.stripe_payment(session, reference) if intent_event else None
    if intent_event and payment is None:
        # Only the events that move money are worth a warning; a stranger's "created"
        # or "canceled" is simply not ours. Neither is kept.
        if event["type"] in MONEY_EVENTS:
            return REFUSED + "unknown payment intent"
        return "not our payment intent"
    record = PaymentEvent(provider=ProviderName.STRIPE, provider_event_id=event["id"][:100],
                          event_type=event["type"][:80], object_reference=reference,
                          payload=payload)
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        return "duplicate"
    if event["type"] == "payment_intent.succeeded" and _money_differs(session, payment, obj):
        outcome = REFUSED + "amount or currency differs from the order"
    else:
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
        return settle_success(session=session, payment=payment,
                              amount=obj.get("amount_received") or obj.get("amount"),
                              currency=obj.get("currency") or "", by_system="stripe webhook")
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
        return settle_success(session=session, payment=payment, amount=received,
                              currency=intent.currency, by_system="stripe retrieve")
    return intent.status
