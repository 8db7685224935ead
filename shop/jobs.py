"""Scheduled shop jobs: give back the stock of orders not paid in time, and square card
payments with Stripe when its webhook never came."""

from __future__ import annotations

import logging

import stripe
from flask import current_app
from sqlmodel import select

from core.db import db, utcnow
from core.scheduler import register_job
from shop import payments, reconciliation
from shop.models import Order, Payment, PaymentRecordStatus, ProviderName
from shop.providers import StripeProvider
from shop.stripe_events import reconcile
from shop.stripe_refunds import RetryLater

logger = logging.getLogger(__name__)


@register_job("release_expired_holds", "interval", seconds=60)
def release_expired_holds() -> int:
    """Cancel unpaid orders whose hold has run out and return their stock; how many."""
    now = utcnow()
    with db.transaction(write=False) as session:
        due = payments.expired_order_ids(session, now)
    released = 0
    for order_id in due:
        if _check_card_first(order_id):
            continue
        with db.transaction() as session:
            order = session.get(Order, order_id)
            if payments.cancel_unpaid(session=session, order=order,
                                      by_system="hold expiry", note="not paid in time"):
                released += 1
    return released


def _check_card_first(order_id: int) -> bool:
    """For a card payment, ask Stripe before expiring: True if it turned out paid."""
    with db.transaction(write=False) as session:
        payment = session.exec(select(Payment).where(
            Payment.order_id == order_id, Payment.provider == ProviderName.STRIPE,
            Payment.status.in_([PaymentRecordStatus.PENDING, PaymentRecordStatus.FAILED]))
        ).first()
    if (payment is None or not payment.provider_reference
            or not current_app.config.get("STRIPE_SECRET_KEY")):
        return False  # no PaymentIntent was made: nobody can have paid
    provider = StripeProvider(current_app.config)
    try:
        intent = provider.retrieve(payment.provider_reference)
        if intent.status != "succeeded":
            provider.cancel(payment.provider_reference)
            return False
    except stripe.StripeError:
        # Cancelling failed: it may have just succeeded; look again below.
        try:
            intent = provider.retrieve(payment.provider_reference)
        except stripe.StripeError:
            logger.warning("Stripe unreachable; order %s kept for the next run", order_id)
            return True
        if intent.status != "succeeded":
            return False
    try:
        with db.transaction() as session:
            reconcile(session=session, payment=session.get(Payment, payment.id), intent=intent)
    except RetryLater:
        logger.warning("order %s paid but not settled yet; kept for the next run", order_id)
    return True


@register_job("reconcile_card_payments", "interval", seconds=120)
def reconcile_card_payments() -> int:
    """Ask Stripe about card payments still pending after ten minutes, and about those
    of cancelled orders; settle, keep or refund them (shop.reconciliation)."""
    return reconciliation.reconcile_card_payments()
