"""Placing an order: prices from the database, stock held by the database.

The stock a checkout takes is decided by the database, in the same transaction that
writes the order, one update per line in variant-id order (so two checkouts never
wait on each other in opposite orders): either `UPDATE ... SET stock = stock - :q
WHERE stock >= :q`, or (checkout, `commit_taking_stock`) an unconditional decrement
that the CHECK (stock >= 0) constraint refuses when it would oversell.
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
from sqlmodel import Session, select

from catalog.models import Product, ProductStatus, ProductVariant
from core.db import take_write_lock, utcnow
from core.errors import Conflict, DomainError
from core.writes import CommitRefused, commit_with, insert_now, rows_now, write_with_commit
from shop import order_statements as sql
from shop.history import record_change
from shop.models import (
    DeliveryMethod,
    HoldStatus,
    Order,
    ProviderName,
)

MAX_LINE_QUANTITY = 99
STOCK_CONSTRAINT = "ck_variant_stock_not_negative"
KEY_TABLE = "order_idempotency_key"  # in the name of its key's constraint, both databases
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class _KeyTaken(Exception):
    """Another request committed an order with this checkout's key first."""


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


class TotalChanged(DomainError):
    """The total the buyer checked is not today's (a price changed, or a tampered form)."""

    code = "total_changed"

    def default_message(self):
        return _l("The total has changed since you checked it. Check the new total and "
                  "place the order again.")


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
    # One draw from the system's randomness, not six (secrets.choice each time).
    n = secrets.randbelow(len(_NUMBER_ALPHABET) ** 6)
    suffix = ""
    for _position in range(6):
        n, digit = divmod(n, len(_NUMBER_ALPHABET))
        suffix += _NUMBER_ALPHABET[digit]
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


def order_with_key(session: Session, key: str) -> Order | None:
    """The order already placed with this key, if any."""
    order_id = session.connection().execute(
        sql.ORDER_WITH_KEY, {"wanted_key": key}).scalar_one_or_none()
    return session.get(Order, order_id) if order_id is not None else None


def _claim_key(session: Session, key: str, order: Order) -> Order | None:
    """Tie the idempotency key to the order just written, or, if another request has
    it, drop that order and return the other.

    One statement, no savepoint: on PostgreSQL a second request with the key waits
    here for the first to commit, then finds its order.
    """
    connection = session.connection()
    taken = connection.execute(sql.CLAIM_KEY[connection.dialect.name], {
        "new_key": key, "at": utcnow(), "new_order_id": order.id}).first()
    if taken is not None:
        return None
    connection.execute(sql.DROP_UNCLAIMED_ORDER, {"unclaimed_id": order.id})
    session.expunge(order)
    other = order_with_key(session, key)
    if other is None:
        raise Conflict(_("This order is already being placed. Please wait."))
    return other


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


def commit_taking_stock(session: Session, wanted: dict[int, int], names: dict[int, str]) -> None:
    """Take the stock as the transaction's last statements and commit at once.

    The decrements are unconditional: the CHECK (stock >= 0) constraint refuses one
    that would oversell, and then nothing of the order is kept. On PostgreSQL they go
    to the server in one pipeline with the COMMIT, so a hot product's row is locked
    for the server's time only.
    """
    statements = [(sql.TAKE_STOCK, {"taken_variant": variant_id,
                                    "taken_quantity": wanted[variant_id]})
                  for variant_id in sorted(wanted)]
    try:
        commit_with(session, statements)
    except CommitRefused as refused:
        if KEY_TABLE in (refused.constraint or ""):
            raise _KeyTaken() from None
        if STOCK_CONSTRAINT not in (refused.constraint or ""):
            raise
        left = dict(session.execute(sa.select(ProductVariant.id, ProductVariant.stock)
                                    .where(ProductVariant.id.in_(list(wanted)))).all())
        shortages = [(names[v], left.get(v, 0)) for v in sorted(wanted)
                     if left.get(v, 0) < wanted[v]]
        if not shortages:  # stock came back in the meantime (an expired hold)
            raise Conflict(_("The stock changed while your order was being placed. "
                             "Please place it again.")) from None
        raise OutOfStock(shortages) from None


def place_order(*, session: Session, lines: list[WantedLine], contact: Contact,
                delivery: Delivery, provider: ProviderName, idempotency_key: str,
                hold_minutes: int, user_id: int | None = None,
                locale: str = "zh_Hans_CN",
                before_stock: Callable[[Order], object] | None = None,
                commit: bool = False, expected_total: int | None = None) -> tuple[Order, bool]:
    """Write the order, its lines and holds; returns (order, created_now).

    Reads come first: the prices and a first look at the stock, so a buyer who is too
    late is told so without writing anything (on SQLite, without queueing for the
    write lock). Then the writes, few and in bulk, and the stock
    last, just before the commit: on PostgreSQL the variant's row stays locked from
    that update to the commit, so the less that happens after it, the more buyers a
    hot product serves. `before_stock(order)` runs after the order is written and
    before the stock is taken (payment record, confirmation mail); if the stock is
    short, all of it rolls back. With `commit=True` the stock is taken by
    `commit_taking_stock` and the transaction is committed here.
    """
    if not KEY_PATTERN.fullmatch(idempotency_key or ""):
        raise DomainError(_("This checkout has expired. Please check your answers again."))
    if not lines:
        already = order_with_key(session, idempotency_key)
        if already is not None:
            return already, False
        raise DomainError(_("Your cart is empty."))
    merged: dict[int, int] = {}
    sessions: dict[int, int | None] = {}
    for line in lines:
        if not 1 <= line.quantity <= MAX_LINE_QUANTITY:
            raise DomainError(_("Quantity must be between 1 and %(max)d", max=MAX_LINE_QUANTITY))
        merged[line.variant_id] = merged.get(line.variant_id, 0) + line.quantity
        sessions.setdefault(line.variant_id, line.live_session_id)
    rows = rows_now(session, sql.sellable(len(merged)), {
        "wanted_key": idempotency_key,
        **{f"variant_{n}": variant_id for n, variant_id in enumerate(merged)}})
    placed_id = rows[0].placed_order_id if rows else None
    if placed_id is not None or not rows:
        already = (session.get(Order, placed_id) if placed_id is not None
                   else order_with_key(session, idempotency_key))
        if already is not None:
            return already, False
    sellable = {row.id: row for row in rows}
    if set(sellable) != set(merged):
        raise NotOnSale()
    currencies = {row.price_currency for row in sellable.values()}
    if len(currencies) != 1:
        raise DomainError(_("These goods cannot be bought together. Buy them separately."))
    names = {vid: _("%(title)s (%(version)s)", title=row.title, version=row.name)
             if row.name else row.title for vid, row in sellable.items()}
    total = sum(sellable[vid].price_amount * q for vid, q in merged.items())
    if expected_total is not None and expected_total != total:
        raise TotalChanged()
    short = [(names[vid], sellable[vid].stock) for vid in sorted(merged)
             if sellable[vid].stock < merged[vid]]
    if short:
        raise OutOfStock(short)

    # What was read may change before the lock is ours (SQLite); the writes below
    # guard what matters: the key is claimed by a unique insert, the stock by its
    # constraint. A price changed meanwhile is the one the buyer saw and agreed to.
    take_write_lock(session)
    now = utcnow()
    order = insert_now(
        session, Order, number=new_order_number(), public_token=secrets.token_urlsafe(24),
        user_id=user_id, locale=locale, contact_name=contact.name, email=contact.email,
        phone=contact.phone, delivery_method=delivery.method, province=delivery.province,
        city=delivery.city, district=delivery.district, street=delivery.street,
        pickup_point=delivery.pickup_point, pickup_point_name=delivery.pickup_point_name,
        payment_provider=provider, total_amount=total, currency=currencies.pop(),
        hold_expires_at=now + timedelta(minutes=hold_minutes), created_at=now)
    if commit:
        # The key goes first with the commit: a request that lost it to another with
        # the same key (a double click) learns so there, and returns the other's order.
        write_with_commit(session, sql.INSERT_KEY, {
            "key": idempotency_key, "created_at": now, "order_id": order.id})
    elif (already := _claim_key(session, idempotency_key, order)) is not None:
        return already, False
    _write_lines(session, order, [(sellable[vid], merged[vid], sessions.get(vid))
                                  for vid in sorted(merged)])
    record_change(session, order, "order", None, order.status.value, by_user_id=user_id,
                  by_system=None if user_id else "checkout", with_commit=True)
    if before_stock is not None:
        before_stock(order)
    if commit:
        try:
            commit_taking_stock(session, merged, names)
        except _KeyTaken:
            if (other := order_with_key(session, idempotency_key)) is None:
                raise Conflict(_("This order is already being placed. Please wait.")) from None
            return other, False
    else:
        session.flush()
        take_stock(session, merged, names)
    return order, True


def _write_lines(session: Session, order: Order, wanted: list) -> None:
    """The order's lines, their makers' shares and the stock holds: three inserts, sent
    with the commit (nothing reads them back before it)."""
    write_with_commit(session, sql.INSERT_LINES, [dict(
        order_id=order.id, product_id=row.product_id, variant_id=row.id,
        workshop_id=row.workshop_id, live_session_id=live_session_id,
        product_name=row.title, variant_name=row.name, sku=row.sku,
        is_digital=row.is_digital, unit_price_amount=row.price_amount,
        currency=row.price_currency, quantity=quantity, refunded_quantity=0,
        line_total_amount=row.price_amount * quantity)
        for row, quantity, live_session_id in wanted])
    write_with_commit(session, sql.INSERT_LINE_MAKERS, {"placed_order_id": order.id})
    write_with_commit(session, sql.INSERT_HOLDS, [dict(
        order_id=order.id, variant_id=row.id, quantity=quantity, status=HoldStatus.HELD,
        expires_at=order.hold_expires_at, created_at=order.created_at, closed_at=None)
        for row, quantity, _s in wanted])
