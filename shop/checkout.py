"""Completing a checkout: the answers the buyer gave, turned into one placed order.

The view checks the form and the steps; this places the order with its payment
record and its mail in the request's transaction. Nothing here calls a payment
provider: a card's PaymentIntent is made after the commit, on the pay page
(shop.providers.card_payment_intent), so a provider that is slow or down never holds
the order's transaction open and never loses an order.
"""

from __future__ import annotations

from sqlmodel import Session

from livestream.room import announce_order
from shop import mails, payments
from shop.models import DeliveryMethod, Order, ProviderName
from shop.orders import Contact, Delivery, WantedLine, place_order
from shop.pickup import pickup_name
from shop.providers import get_provider


def answers(state: dict) -> tuple[Contact, Delivery, ProviderName]:
    """The contact, delivery and way to pay kept in the checkout's session state."""
    contact = Contact(**state["contact"])
    info = state["delivery"]
    delivery = Delivery(
        method=DeliveryMethod(info["method"]), province=info.get("province"),
        city=info.get("city"), district=info.get("district"), street=info.get("street"),
        pickup_point=info.get("point"),
        pickup_point_name=pickup_name(info.get("point")))
    if delivery.method == DeliveryMethod.DELIVERY and info.get("phone"):
        contact = Contact(contact.name, contact.email, contact.phone or info["phone"])
    return contact, delivery, ProviderName(state["payment"])


def complete_checkout(*, session: Session, lines: list[WantedLine], state: dict,
                      idempotency_key: str, expected_total: int | None,
                      user_id: int | None, locale: str) -> tuple[Order, bool]:
    """Place the order the answers describe, with its pending payment and its mail;
    (order, created_now). A key already used gives back the order placed with it."""
    contact, delivery, provider_name = answers(state)
    provider = get_provider(provider_name)
    order, created = place_order(
        session=session, lines=lines, contact=contact, delivery=delivery,
        provider=provider.name, idempotency_key=idempotency_key,
        hold_minutes=payments.hold_minutes(provider.name), user_id=user_id, locale=locale,
        expected_total=expected_total)
    if created:
        provider.record_payment(session=session, order=order)
        mails.order_placed(session=session, order=order)
        session.flush()
        announce_order(session=session, order_id=order.id)
    return order, created
