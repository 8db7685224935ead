"""Placing an order: prices from the database, stock held by conditional updates.

The stock a checkout takes is decided by the database: one `UPDATE ... SET stock =
stock - :q WHERE stock >= :q` per line, in variant-id order (so two checkouts never
wait on each other in opposite orders), in the same transaction that writes the order.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from catalog.models import Product, ProductMaker, ProductStatus, ProductVariant
from core.db import utcnow
from core.errors import Conflict, DomainError
from shop.history import record_change
from shop.models import (
    DeliveryMethod,
    HoldStatus,
    Order,
    OrderIdempotencyKey,
    OrderLine,
    OrderLineMaker,
    ProviderName,
    StockHold,
)

MAX_LINE_QUANTITY = 99
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class OutOfStock(Conflict):
    """One or more lines cannot be had; the message names every short line."""

    code = "sold_out"

    def __init__(self, shortages: list[tuple[str, int]]) -> None:
        parts = []
        for name, left in shortages:
            if left <= 0:
                parts.append(_("%(name)s is sold out", name=name))
            else:
                parts.append(_("only %(left)d left of %(name)s", left=left, name=name))
        super().__init__(_("Sorry, not enough stock: %(lines)s. Change your cart and try "
                           "again.", lines="; ".join(parts)))
        self.shortages = shortages


class NotOnSale(DomainError):
    """A cart line points at a product that is gone or archived."""

    code = "not_on_sale"

    def default_message(self):
        return _l("Something in your cart is no longer on sale. Remove it and try again.")


@dataclass(frozen=True)
class WantedLine:
    """A line the shopper wants: variant, quantity and the live session it came from."""

    variant_id: int
    quantity: int
    live_session_id: int | None = None


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    phone: str | None = None


@dataclass(frozen=True)
class Delivery:
    method: DeliveryMethod
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    pickup_point: str | None = None
    pickup_point_name: str | None = None


def new_order_number() -> str:
    """A short number people can read out: GF + date + six unambiguous characters."""
    suffix = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(6))
    return f"GF{utcnow():%y%m%d}-{suffix}"


def load_sellable(session: Session, variant_ids: list[int]) -> dict[int, tuple]:
    """(variant, product) for each id that is active and on sale."""
    if not variant_ids:
        return {}
    rows = session.exec(
        select(ProductVariant, Product)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(ProductVariant.id.in_(variant_ids), ProductVariant.is_active,
               Product.status == ProductStatus.PUBLISHED)
    ).all()
    return {variant.id: (variant, product) for variant, product in rows}


def _claim_key(session: Session, key: str) -> Order | None:
    """Take the idempotency key, or return the order that already has it."""
    existing = session.get(OrderIdempotencyKey, key)
    if existing is not None and existing.order_id is not None:
        return session.get(Order, existing.order_id)
    try:
        with session.begin_nested():
            session.add(OrderIdempotencyKey(key=key))
            session.flush()
    except IntegrityError:
        # Another request with this key committed while we waited on its row.
        session.expire_all()
        existing = session.get(OrderIdempotencyKey, key)
        if existing is not None and existing.order_id is not None:
            return session.get(Order, existing.order_id)
        raise Conflict(_("This order is already being placed. Please wait.")) from None
    return None


def take_stock(session: Session, wanted: dict[int, int], names: dict[int, str]) -> None:
    """Take each quantity with a conditional update, or raise OutOfStock naming all."""
    shortages = []
    for variant_id in sorted(wanted):
        quantity = wanted[variant_id]
        result = session.execute(
            sa.update(ProductVariant)
            .where(ProductVariant.id == variant_id, ProductVariant.stock >= quantity)
            .values(stock=ProductVariant.stock - quantity)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            left = session.execute(
                sa.select(ProductVariant.stock).where(ProductVariant.id == variant_id)
            ).scalar_one_or_none() or 0
            shortages.append((names[variant_id], left))
    if shortages:
        raise OutOfStock(shortages)


def place_order(*, session: Session, lines: list[WantedLine], contact: Contact,
                delivery: Delivery, provider: ProviderName, idempotency_key: str,
                hold_minutes: int, user_id: int | None = None,
                locale: str = "zh_Hans_CN",
                before_stock: Callable[[Order], object] | None = None) -> tuple[Order, bool]:
    """Write the order, its lines and holds; returns (order, created_now).

    The stock is taken last, just before the caller commits: on PostgreSQL the
    variant's row stays locked from that update to the commit, so the less that
    happens after it, the more buyers a hot product serves. `before_stock(order)`
    runs after the order is written and before the stock is taken (payment record,
    confirmation mail); if the stock is short, all of it rolls back.
    """
    if not KEY_PATTERN.fullmatch(idempotency_key or ""):
        raise DomainError(_("This checkout has expired. Please check your answers again."))
    already = _claim_key(session, idempotency_key)
    if already is not None:
        return already, False
    if not lines:
        raise DomainError(_("Your cart is empty."))
    merged: dict[int, int] = {}
    sessions: dict[int, int | None] = {}
    for line in lines:
        if not 1 <= line.quantity <= MAX_LINE_QUANTITY:
            raise DomainError(_("Quantity must be between 1 and %(max)d", max=MAX_LINE_QUANTITY))
        merged[line.variant_id] = merged.get(line.variant_id, 0) + line.quantity
        sessions.setdefault(line.variant_id, line.live_session_id)
    sellable = load_sellable(session, list(merged))
    if set(sellable) != set(merged):
        raise NotOnSale()
    currencies = {variant.price_currency for variant, _product in sellable.values()}
    if len(currencies) != 1:
        raise DomainError(_("These goods cannot be bought together. Buy them separately."))
    names = {vid: _line_name(p, v) for vid, (v, p) in sellable.items()}

    now = utcnow()
    total = sum(sellable[vid][0].price_amount * q for vid, q in merged.items())
    order = Order(
        number=new_order_number(), public_token=secrets.token_urlsafe(24), user_id=user_id,
        locale=locale, contact_name=contact.name, email=contact.email, phone=contact.phone,
        delivery_method=delivery.method, province=delivery.province, city=delivery.city,
        district=delivery.district, street=delivery.street,
        pickup_point=delivery.pickup_point, pickup_point_name=delivery.pickup_point_name,
        payment_provider=provider, total_amount=total, currency=currencies.pop(),
        hold_expires_at=now + timedelta(minutes=hold_minutes), created_at=now)
    session.add(order)
    session.flush()
    makers = _makers_by_product(session, [p.id for _v, p in sellable.values()])
    for variant_id in sorted(merged):
        variant, product = sellable[variant_id]
        quantity = merged[variant_id]
        line = OrderLine(
            order_id=order.id, product_id=product.id, variant_id=variant.id,
            workshop_id=product.workshop_id, live_session_id=sessions.get(variant_id),
            product_name=product.title, variant_name=variant.name, sku=variant.sku,
            is_digital=product.is_digital, unit_price_amount=variant.price_amount,
            currency=variant.price_currency, quantity=quantity,
            line_total_amount=variant.price_amount * quantity)
        session.add(line)
        session.flush()
        for maker_id, share in makers.get(product.id, []):
            session.add(OrderLineMaker(order_line_id=line.id, maker_id=maker_id,
                                       share_basis_points=share))
        session.add(StockHold(order_id=order.id, variant_id=variant.id, quantity=quantity,
                              status=HoldStatus.HELD, expires_at=order.hold_expires_at))
    key = session.get(OrderIdempotencyKey, idempotency_key)
    key.order_id = order.id
    session.add(key)
    record_change(session, order, "order", None, order.status.value, by_user_id=user_id,
                  by_system=None if user_id else "checkout")
    session.flush()
    if before_stock is not None:
        before_stock(order)
    take_stock(session, merged, names)
    return order, True


def _line_name(product: Product, variant: ProductVariant) -> str:
    return f"{product.title} ({variant.name})" if variant.name else product.title


def _makers_by_product(session: Session, product_ids: list[int]) -> dict[int, list]:
    rows = session.exec(select(ProductMaker).where(ProductMaker.product_id.in_(product_ids))
                        .order_by(ProductMaker.id)).all()
    result: dict[int, list] = {}
    for row in rows:
        result.setdefault(row.product_id, []).append((row.maker_id, row.share_basis_points))
    return result
