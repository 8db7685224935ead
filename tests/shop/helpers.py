"""Helpers to build a shop and place orders through the real services."""

from __future__ import annotations

import re
import secrets

from sqlmodel import select

from accounts.models import Role
from catalog.models import ProductVariant
from core.db import get_session
from shop.models import DeliveryMethod, Order, Payment, ProviderName
from shop.orders import Contact, Delivery, WantedLine, place_order
from shop.providers import card_payment_intent, get_provider
from tests.factories import make_product, make_user, make_workshop

CONTACT = Contact(name="王小明", email="buyer@example.cn", phone="13812345678")
PICKUP = Delivery(method=DeliveryMethod.PICKUP, pickup_point="metro-gulou",
                  pickup_point_name="Gulou")


def make_shop(session, *, stock=10, price=5000, products=1, digital=False):
    """A workshop with two makers and `products` published products."""
    makers = [make_user(session, roles=(Role.MAKER,)) for _ in range(2)]
    workshop = make_workshop(session, makers=makers)
    items = []
    for _ in range(products):
        product = make_product(session, workshop=workshop, makers=makers, stock=stock,
                               price=price)
        product.is_digital = digital
        session.add(product)
        variant = session.exec(select(ProductVariant).where(
            ProductVariant.product_id == product.id)).one()
        items.append((product, variant))
    session.flush()
    return {"makers": makers, "workshop": workshop, "items": items}


def place(session, lines, *, provider=ProviderName.OFFLINE, key=None, user_id=None,
          locale="zh_Hans_CN", contact=CONTACT, delivery=PICKUP):
    """Place an order as checkout does (order, holds, payment record)."""
    wanted = [WantedLine(variant_id, quantity) for variant_id, quantity in lines]
    order, created = place_order(
        session=session, lines=wanted, contact=contact, delivery=delivery, provider=provider,
        idempotency_key=key or secrets.token_urlsafe(24), hold_minutes=15, user_id=user_id,
        locale=locale)
    if created:
        get_provider(provider).record_payment(session=session, order=order)
        session.flush()
    return order


def card_reference(app, order_id):
    """Make the card order's PaymentIntent as its pay page does, once the order is
    committed; its id."""
    with app.test_request_context():
        payment_id = get_session().exec(select(Payment.id).where(
            Payment.order_id == order_id)).one()
        return card_payment_intent(provider=get_provider(ProviderName.STRIPE),
                                   payment_id=payment_id).id


def stock_of(session, variant_id):
    session.expire_all()
    return session.get(ProductVariant, variant_id).stock


def payment_of(session, order_id):
    return session.exec(select(Payment).where(Payment.order_id == order_id)).one()


def reload(session, order_id):
    session.expire_all()
    return session.get(Order, order_id)


def signed_event(payload: dict, *, secret: str, timestamp: int | None = None):
    """A webhook body and headers signed with Stripe's scheme (t=..., v1=HMAC-SHA256)."""
    import hashlib
    import hmac
    import json
    import time

    body = json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                         hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={timestamp},v1={signature}",
                  "Content-Type": "application/json"}


def checkout_until_check(client, variant_id, quantity=2, *, pickup=True, method="offline"):
    """Fill the cart and every checkout question; the hidden fields of "place order"."""
    assert client.post("/cart/add", data={"variant_id": variant_id,
                                          "quantity": quantity}).status_code == 302
    assert client.post("/checkout/contact", data={"name": "王小明",
                                                  "email": "buyer@example.cn"}).status_code == 302
    if pickup:
        assert client.post("/checkout/delivery", data={"method": "pickup"}).status_code == 302
        assert client.post("/checkout/pickup", data={"point": "metro-gulou"}).status_code == 302
    else:
        assert client.post("/checkout/address", data={
            "province": "浙江省", "city": "宁波市", "district": "海曙区",
            "street": "中山西路 1 号", "phone": "13812345678"}).status_code == 302
    assert client.post("/checkout/payment", data={"method": method}).status_code == 302
    page = client.get("/checkout/check")
    assert page.status_code == 200
    return dict(re.findall(r'name="(idempotency_key|total_amount)"[^>]*value="([^"]*)"',
                           page.get_data(as_text=True)))
