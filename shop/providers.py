"""Payment providers behind one interface: offline (always on) and Stripe (with keys)."""

from __future__ import annotations

import logging
from typing import Protocol

import sqlalchemy as sa
import stripe
from flask import current_app
from flask_babel import gettext as _
from sqlmodel import Session

from core.db import utcnow
from core.errors import DomainError
from shop.models import Order, Payment, PaymentRecordStatus, ProviderName

logger = logging.getLogger(__name__)
# stripe-python's DEBUG lines hold whole request and response bodies: a PaymentIntent's
# client secret, the buyer's e-mail. Its INFO lines (method, path, status) are enough.
logging.getLogger("stripe").setLevel(logging.INFO)


class PaymentProvider(Protocol):
    """What every provider does: record a payment for an order, and give money back."""

    name: ProviderName

    def record_payment(self, *, session: Session, order: Order) -> Payment:
        """The order's pending payment record, written in the order's transaction.

        Nothing here calls the provider: a card's PaymentIntent is made after the
        order is committed (`card_payment_intent`), so no network call ever runs
        while the order's transaction (and SQLite's write lock) is open."""

    def refund(self, *, payment: Payment, amount: int, refund_key: str) -> str | None:
        """Return `amount` to the payer; the provider's refund id, or None if recorded."""


class ProviderError(DomainError):
    """The payment provider said no or could not be reached."""

    status_code = 502
    code = "provider_error"


def _record(session: Session, order: Order, provider: ProviderName) -> Payment:
    payment = Payment(order_id=order.id, provider=provider, amount=order.total_amount,
                      currency=order.currency, status=PaymentRecordStatus.PENDING,
                      created_at=utcnow())
    session.add(payment)
    return payment


class OfflineProvider:
    """Pay at pick-up or by bank transfer; an operator confirms the money arrived."""

    name = ProviderName.OFFLINE

    def record_payment(self, *, session: Session, order: Order) -> Payment:
        return _record(session, order, self.name)

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

    def record_payment(self, *, session: Session, order: Order) -> Payment:
        return _record(session, order, self.name)

    def create_intent(self, order: Order):
        """A PaymentIntent for the order, keyed by it: asked twice, Stripe returns the
        same one (localstripe ignores the key; `card_payment_intent` guards that)."""
        try:
            return self.client.v1.payment_intents.create(
                params={"amount": order.total_amount, "currency": order.currency.lower(),
                        "payment_method_types": ["card"],
                        "metadata": {"order_number": order.number}},
                options={"idempotency_key": f"gf-order-{order.public_token}"})
        except stripe.StripeError as exc:
            raise ProviderError(_("Card payments are not available right now. Your order "
                                  "is kept: try again in a few minutes, or choose another "
                                  "way to pay.")) from exc

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


def card_payment_intent(*, provider: StripeProvider, payment_id: int):
    """The PaymentIntent the buyer pays an order with: made on first need, after the
    order was committed, and tied to its payment record once.

    Stripe is called outside any transaction, so no writer ever waits on it; only the
    tying is a (short) write. Two pages asking at once may both make one (localstripe
    ignores idempotency keys): the conditional update keeps the first, the other is
    cancelled.
    """
    from core.db import db

    with db.transaction(write=False) as session:
        payment = session.get(Payment, payment_id)
        order = session.get(Order, payment.order_id)
    if payment.provider_reference:
        return _retrieve(provider, payment.provider_reference)
    intent = provider.create_intent(order)
    with db.transaction() as session:
        tied = session.execute(
            sa.update(Payment).where(Payment.id == payment_id,
                                     Payment.provider_reference.is_(None))
            .values(provider_reference=intent.id)
            .execution_options(synchronize_session=False)).rowcount == 1
        reference = session.get(Payment, payment_id).provider_reference
    if tied:
        return intent
    try:
        provider.cancel(intent.id)
    except stripe.StripeError:
        # Nobody can pay it: it is tied to no payment and its client secret is never shown.
        logger.warning("could not cancel the spare PaymentIntent %s", intent.id)
    return _retrieve(provider, reference)


def _retrieve(provider: StripeProvider, reference: str):
    try:
        return provider.retrieve(reference)
    except stripe.StripeError as exc:
        raise ProviderError(_("Card payments are not available right now. Your order "
                              "is kept: try again in a few minutes, or choose another "
                              "way to pay.")) from exc


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
