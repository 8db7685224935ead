"""Placing an order: prices from the database, stock held by the database.

The stock a checkout takes is decided by the database, in the same transaction that
writes the order: one `UPDATE ... SET stock = stock - :q WHERE stock >= :q` per line,
in variant-id order (so two checkouts never wait on each other in opposite orders),
with the CHECK (stock >= 0) constraint behind it. The service flushes; the request
commits.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from catalog import made_to_order
from catalog.models import Product, ProductMaker, ProductStatus, ProductVariant
from core.db import utcnow
from core.errors import Conflict, DomainError
from livestream import live_prices
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


class OutOfCapacity(Conflict):
    """More made-to-order units than the workshop can make in one week, this or next;
    the message names every such product."""

    code = "made_to_order_full"

    def __init__(self, shortages: list[tuple[str, int]]) -> None:
        parts = []
        for name, left in shortages:
            if left <= 0:
                parts.append(_("%(name)s: the workshop is fully booked this week and next",
                               name=name))
            else:
                parts.append(_("%(name)s: the workshop can make only %(left)d more in one "
                               "week", left=left, name=name))
        super().__init__(_("Sorry, the workshop cannot make that many: %(lines)s. Change "
                           "your cart and try again.", lines="; ".join(parts)))
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
    order_id = session.execute(select(OrderIdempotencyKey.order_id).where(
        OrderIdempotencyKey.key == key)).scalar_one_or_none()
    return session.get(Order, order_id) if order_id is not None else None


def _claim_key(session: Session, key: str) -> bool:
    """Take the checkout's key for the order about to be written; False if another
    request has it. On PostgreSQL a second request with the key waits here for the
    first to commit (or roll back), then finds its order."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    claimed = session.execute(
        insert(OrderIdempotencyKey).values(key=key, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OrderIdempotencyKey.key)).first()
    return claimed is not None


def take_stock(session: Session, wanted: dict[int, int], names: dict[int, str],
               made_to_order_ids: frozenset[int] = frozenset()) -> dict[int, int]:
    """Take each quantity with a conditional update, or raise OutOfStock naming all.

    A made-to-order variant's row is locked and gives what stock it has; the rest is
    to be made: the units beyond stock per such variant are returned.
    """
    shortages = []
    beyond: dict[int, int] = {}
    for variant_id in sorted(wanted):
        quantity = wanted[variant_id]
        if variant_id in made_to_order_ids:
            # FOR NO KEY UPDATE, as the UPDATE below takes: this order's lines and holds
            # already hold a key-share lock on the row, as other checkouts' may.
            stock = session.execute(sa.select(ProductVariant.stock).where(
                ProductVariant.id == variant_id).with_for_update(key_share=True)).scalar_one()
            from_stock = min(max(stock, 0), quantity)
            if from_stock:
                session.execute(sa.update(ProductVariant)
                                .where(ProductVariant.id == variant_id)
                                .values(stock=ProductVariant.stock - from_stock)
                                .execution_options(synchronize_session=False))
            beyond[variant_id] = quantity - from_stock
            continue
        result = session.execute(
            sa.update(ProductVariant)
            .where(ProductVariant.id == variant_id, ProductVariant.stock >= quantity)
            .values(stock=ProductVariant.stock - quantity)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            shortages.append(variant_id)
    if shortages:
        left = dict(session.execute(sa.select(ProductVariant.id, ProductVariant.stock)
                                    .where(ProductVariant.id.in_(shortages))).all())
        raise OutOfStock([(names[v], left.get(v, 0)) for v in shortages])
    return beyond


def _beyond_stock_by_product(sellable: dict, wanted: dict[int, int],
                             stock: dict[int, int]) -> dict[int, int]:
    """product id -> units of its made-to-order variants beyond `stock`."""
    beyond: dict[int, int] = {}
    for vid, quantity in wanted.items():
        product = sellable[vid].product
        if product.made_to_order:
            beyond[product.id] = beyond.get(product.id, 0) + max(0, quantity - stock[vid])
    return beyond


def _short_lines(session: Session, sellable: dict, wanted: dict[int, int],
                 names: dict[int, str]) -> None:
    """Before anything is written: OutOfStock or OutOfCapacity naming every line that
    cannot be had as things stand (a read; the updates decide for sure)."""
    short = [(names[vid], sellable[vid].variant.stock) for vid in sorted(wanted)
             if not sellable[vid].product.made_to_order
             and sellable[vid].variant.stock < wanted[vid]]
    if short:
        raise OutOfStock(short)
    beyond = _beyond_stock_by_product(sellable, wanted, {
        vid: max(0, item.variant.stock) for vid, item in sellable.items()})
    products = {item.product.id: item.product for item in sellable.values()}
    over = [(products[pid].title, made_to_order.most_orderable(session=session,
                                                               product=products[pid]))
            for pid, units in sorted(beyond.items()) if units and made_to_order.offer_for(
                session=session, product=products[pid], units=units) is None]
    if over:
        raise OutOfCapacity(over)


def _take_capacity(session: Session, sellable: dict, beyond: dict[int, int]) -> dict:
    """Count the units to be made against each product's week, in product-id order
    (after every variant row, the order every checkout locks them in); variant id ->
    the week taken. OutOfCapacity naming every product that has no week with room."""
    by_product: dict[int, list[int]] = {}
    for vid, units in beyond.items():
        if units:
            by_product.setdefault(sellable[vid].product.id, []).append(vid)
    weeks, over = {}, []
    for product_id in sorted(by_product):
        product = sellable[by_product[product_id][0]].product
        units = sum(beyond[vid] for vid in by_product[product_id])
        week = made_to_order.take_capacity(session=session, product=product, units=units)
        if week is None:
            over.append((product.title, made_to_order.most_orderable(session=session,
                                                                     product=product)))
            continue
        weeks.update({vid: week for vid in by_product[product_id]})
    if over:
        raise OutOfCapacity(over)
    return weeks


@dataclass(frozen=True)
class _Sellable:
    """What placing reads of a variant on sale and its product."""

    variant: ProductVariant
    product: Product

    @property
    def name(self) -> str:
        if self.variant.name:
            return _("%(title)s (%(version)s)", title=self.product.title,
                     version=self.variant.name)
        return self.product.title


def place_order(*, session: Session, lines: list[WantedLine], contact: Contact,
                delivery: Delivery, provider: ProviderName, idempotency_key: str,
                hold_minutes: int, user_id: int | None = None,
                locale: str = "zh_Hans_CN",
                expected_total: int | None = None) -> tuple[Order, bool]:
    """Write the order, its lines, makers' shares and stock holds; (order, created_now).

    A key already used returns its order (a double click or a retry). Prices are
    today's; `expected_total` is what the buyer checked (TotalChanged if it differs).
    Nothing is written before the checks that need no lock: a buyer who is too late
    is told so by a read. The stock is taken last, so on PostgreSQL a hot product's
    row is locked only for the last statements and the commit.
    """
    if not KEY_PATTERN.fullmatch(idempotency_key or ""):
        raise DomainError(_("This checkout has expired. Please check your answers again."))
    if (already := order_with_key(session, idempotency_key)) is not None:
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
    sellable = {vid: _Sellable(variant, product)
                for vid, (variant, product) in load_sellable(session, list(merged)).items()}
    if set(sellable) != set(merged):
        raise NotOnSale()
    currencies = {item.variant.price_currency for item in sellable.values()}
    if len(currencies) != 1:
        raise DomainError(_("These goods cannot be bought together. Buy them separately."))
    names = {vid: item.name for vid, item in sellable.items()}
    now = utcnow()
    offers = live_prices.prices_for(session, {(sid, vid) for vid, sid in sessions.items()
                                              if sid}, now)
    at_live_price = {}
    for vid, quantity in merged.items():
        offer = offers.get((sessions.get(vid), vid))
        if offer is not None and live_prices.applies(offer, quantity, now):
            at_live_price[vid] = offer
    unit_prices = {vid: at_live_price[vid].price_amount if vid in at_live_price
                   else sellable[vid].variant.price_amount for vid in merged}
    total = sum(unit_prices[vid] * q for vid, q in merged.items())
    if expected_total is not None and expected_total != total:
        raise TotalChanged()
    _short_lines(session, sellable, merged, names)

    if not _claim_key(session, idempotency_key):
        if (other := order_with_key(session, idempotency_key)) is None:
            raise Conflict(_("This order is already being placed. Please wait."))
        return other, False
    order = Order(
        number=new_order_number(), public_token=secrets.token_urlsafe(24),
        user_id=user_id, locale=locale, contact_name=contact.name, email=contact.email,
        phone=contact.phone, delivery_method=delivery.method, province=delivery.province,
        city=delivery.city, district=delivery.district, street=delivery.street,
        pickup_point=delivery.pickup_point, pickup_point_name=delivery.pickup_point_name,
        payment_provider=provider, total_amount=total, currency=currencies.pop(),
        hold_expires_at=now + timedelta(minutes=hold_minutes), created_at=now)
    session.add(order)
    session.flush()
    session.execute(sa.update(OrderIdempotencyKey)
                    .where(OrderIdempotencyKey.key == idempotency_key)
                    .values(order_id=order.id)
                    .execution_options(synchronize_session=False))
    lines_by_variant, holds_by_variant = _write_lines(session, order, [
        (sellable[vid], merged[vid], sessions.get(vid), unit_prices[vid],
         at_live_price[vid].id if vid in at_live_price else None) for vid in sorted(merged)])
    record_change(session, order, "order", None, order.status.value, by_user_id=user_id,
                  by_system=None if user_id else "checkout")
    keys = live_prices.buyer_keys(user_id=user_id, email=contact.email, phone=contact.phone)
    for vid in sorted(at_live_price):
        live_prices.claim_units(session=session, price=at_live_price[vid],
                                quantity=merged[vid], keys=keys, now=now)
    beyond = take_stock(session, merged, names, frozenset(
        vid for vid, item in sellable.items() if item.product.made_to_order))
    for vid, week in _take_capacity(session, sellable, beyond).items():
        holds_by_variant[vid].made_to_order_quantity = beyond[vid]
        holds_by_variant[vid].made_in_week = week.week_start
        line = lines_by_variant[vid]
        line.made_to_order_quantity = beyond[vid]
        line.lead_time_days = sellable[vid].product.lead_time_days
        line.ships_on = week.ships_on
    session.flush()
    return order, True


def _write_lines(session: Session, order: Order, wanted: list) -> tuple[dict, dict]:
    """The order's lines (each a snapshot of name, SKU, price, makers, session and live
    price) and its stock holds, each by variant id."""
    lines = [OrderLine(
        order_id=order.id, product_id=item.product.id, variant_id=item.variant.id,
        workshop_id=item.product.workshop_id, live_session_id=live_session_id,
        live_price_id=live_price_id,
        product_name=item.product.title, product_name_en=item.product.title_en,
        variant_name=item.variant.name, variant_name_en=item.variant.name_en,
        sku=item.variant.sku, is_digital=item.product.is_digital,
        unit_price_amount=unit_price, currency=item.variant.price_currency,
        quantity=quantity, line_total_amount=unit_price * quantity)
        for item, quantity, live_session_id, unit_price, live_price_id in wanted]
    session.add_all(lines)
    session.flush()
    makers: dict[int, list[ProductMaker]] = {}
    for maker in session.execute(select(ProductMaker).where(
            ProductMaker.product_id.in_({line.product_id for line in lines}))
            .order_by(ProductMaker.id)).scalars():
        makers.setdefault(maker.product_id, []).append(maker)
    session.add_all([OrderLineMaker(order_line_id=line.id, maker_id=maker.maker_id,
                                    share_basis_points=maker.share_basis_points)
                     for line in lines for maker in makers.get(line.product_id, [])])
    holds = [StockHold(order_id=order.id, variant_id=line.variant_id, quantity=line.quantity,
                       status=HoldStatus.HELD, expires_at=order.hold_expires_at,
                       created_at=order.created_at) for line in lines]
    session.add_all(holds)
    return ({line.variant_id: line for line in lines},
            {hold.variant_id: hold for hold in holds})
