"""Helpers for income tests: paid orders through the real shop services."""

from __future__ import annotations

import itertools
import secrets

from sqlmodel import select

from accounts.models import Role, User, UserRole
from catalog.models import ProductMaker, ProductVariant
from shop.models import Order, ProviderName
from shop.orders import WantedLine, place_order
from shop.payments import mark_paid
from shop.providers import get_provider
from tests.factories import make_product, make_user, make_workshop
from tests.shop.helpers import CONTACT, PICKUP, payment_of, place

_quick = itertools.count(1)


def quick_user(session, role=Role.MAKER) -> User:
    """A user with a role, without the (slow, deliberate) password hashing."""
    n = next(_quick)
    user = User(email=f"quick{n}-{secrets.token_hex(4)}@example.cn", display_name=f"手艺人{n}",
                password_hash="!unusable")
    session.add(user)
    session.flush()
    session.add(UserRole(user_id=user.id, role=role))
    session.flush()
    return user


def maker_shop(session, *, shares=(5000, 5000), price=10000, stock=100, quick=False):
    """A workshop with one product made by len(shares) makers with those shares."""
    makers = [quick_user(session) if quick else make_user(session, roles=(Role.MAKER,))
              for _ in shares]
    workshop = make_workshop(session, makers=makers)
    product = make_product(session, workshop=workshop, price=price, stock=stock)
    for maker, share in zip(makers, shares, strict=True):
        session.add(ProductMaker(product_id=product.id, maker_id=maker.id,
                                 share_basis_points=share))
    session.flush()
    variant = session.exec(select(ProductVariant).where(
        ProductVariant.product_id == product.id)).one()
    return {"makers": makers, "workshop": workshop, "product": product, "variant": variant}


def paid_order(session, lines, *, operator_id=None, live_session_id=None) -> Order:
    """Place an offline order (from a live stream, if given) and confirm its payment, as
    an operator would."""
    if live_session_id is None:
        order = place(session, lines)
    else:
        order, _created = place_order(
            session=session, lines=[WantedLine(v, q, live_session_id) for v, q in lines],
            contact=CONTACT, delivery=PICKUP, provider=ProviderName.OFFLINE,
            idempotency_key=secrets.token_urlsafe(24), hold_minutes=15)
        get_provider(ProviderName.OFFLINE).record_payment(session=session, order=order)
    payment = payment_of(session, order.id)
    mark_paid(session=session, payment=payment, amount=order.total_amount,
              currency=order.currency, by_user_id=operator_id, by_system="test")
    session.refresh(order)
    return order
