"""Payment providers behind one interface: offline (always on) and Stripe (with keys)."""

from __future__ import annotations

import logging
from typing import Protocol

import stripe
from flask import current_app
from flask_babel import gettext as _
from sqlmodel import Session

from core.db import utcnow
from core.errors import DomainError
from core.writes import write_with_commit
from shop.models import Order, Payment, PaymentRecordStatus, ProviderName

logger = logging.getLogger(__name__)


class PaymentProvider(Protocol):
    """What every provider does: start paying for an order, and give money back."""

    name: ProviderName

    def start(self, *, session: Session, order: Order) -> str | None:
        """Start the provider's side of paying and record the payment (written with the
        order's commit); the provider's reference for it, if it has one."""

    def refund(self, *, payment: Payment, amount: int, refund_key: str) -> str | None:
        """Return `amount` to the payer; the provider's refund id, or None if recorded."""


class ProviderError(DomainError):
    """The payment provider said no or could not be reached."""

    status_code = 502
    code = "provider_error"


_INSERT_PAYMENT = Payment.__table__.insert()


def _record(session: Session, order: Order, provider: ProviderName, reference: str | None):
    """The payment record, sent with the order's commit (nothing reads it back first)."""
    write_with_commit(session, _INSERT_PAYMENT, dict(
        order_id=order.id, provider=provider, provider_reference=reference,
        amount=order.total_amount, currency=order.currency,
        status=PaymentRecordStatus.PENDING, failure_message=None, created_at=utcnow(),
        succeeded_at=None, confirmed_by_id=None))


class OfflineProvider:
    """Pay at pick-up or by bank transfer; an operator confirms the money arrived."""

    name = ProviderName.OFFLINE

    def start(self, *, session: Session, order: Order) -> str | None:
        _record(session, order, self.name, None)
        return None

    def refund(self, *, payment: Payment, amount: int, refund_key: str) -> str | None:
        return None  # handed back in cash or by transfer; we record it


class StripeProvider:
    """Stripe PaymentIntents, confirmed in the browser with the Card Element."""

    name = ProviderName.STRIPE

    def __init__(self, config) -> None:
        base = config.get("STRIPE_API_BASE")
        self.client = stripe.StripeClient(
            config["STRIPE_SECRET_KEY"],
            base_addresses={"api": base} if base else {},
            max_network_retries=2,
        )
        self.publishable_key = config["STRIPE_PUBLISHABLE_KEY"]
        self.js_url = config["STRIPE_JS_URL"]

    def start(self, *, session: Session, order: Order) -> str | None:
        try:
            intent = self.client.v1.payment_intents.create(
                params={"amount": order.total_amount, "currency": order.currency.lower(),
                        "payment_method_types": ["card"],
                        "metadata": {"order_number": order.number}},
                options={"idempotency_key": f"gf-order-{order.public_token}"})
        except stripe.StripeError as exc:
            raise ProviderError(_("Card payments are not available right now. Choose "
                                  "another way to pay or try again later.")) from exc
        _record(session, order, self.name, intent.id)
        return intent.id

    def retrieve(self, reference: str):
        """The PaymentIntent as Stripe has it now."""
        return self.client.v1.payment_intents.retrieve(reference)

    def cancel(self, reference: str) -> None:
        """Stop an unpaid PaymentIntent so it can no longer be paid."""
        self.client.v1.payment_intents.cancel(reference)

    def refund(self, *, payment: Payment, amount: int, refund_key: str) -> str | None:
        try:
            refund = self.client.v1.refunds.create(
                params={"payment_intent": payment.provider_reference, "amount": amount},
                options={"idempotency_key": refund_key})
        except stripe.StripeError as exc:
            raise ProviderError(_("The card refund did not go through: %(reason)s",
                                  reason=getattr(exc, "user_message", None) or
                                  type(exc).__name__)) from exc
        return refund.id


def cancel_unused_payment(provider: PaymentProvider, reference: str | None) -> None:
    """Stop a payment started for an order that was then not placed (stock gone)."""
    if provider.name != ProviderName.STRIPE or not reference:
        return
    try:
        provider.cancel(reference)
    except stripe.StripeError:
        # Nobody can pay it: it belongs to no order and its client secret was never shown.
        logger.warning("could not cancel unused PaymentIntent %s", reference)


def stripe_enabled() -> bool:
    """True when the three Stripe keys are set."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def get_provider(name: ProviderName | str) -> PaymentProvider:
    """The provider called `name`, if it is on."""
    name = ProviderName(name)
    if name == ProviderName.STRIPE:
        if not stripe_enabled():
            raise DomainError(_("Card payments are not available. Choose another way to pay."))
        return StripeProvider(current_app.config)
    return OfflineProvider()


def available_providers() -> list[ProviderName]:
    """The ways to pay that are on, offline first."""
    return [ProviderName.OFFLINE] + ([ProviderName.STRIPE] if stripe_enabled() else [])
