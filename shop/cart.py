"""The cart: in the session for guests, in `cart_item` for signed-in shoppers.

A guest's cart is merged into their account when they sign in. Prices are never kept
in the cart: every page reads them again from the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, has_request_context, request
from flask import session as web_session
from flask_babel import gettext as _
from flask_login import current_user, user_logged_in
from markupsafe import Markup
from sqlmodel import Session, select

from catalog import made_to_order
from catalog.models import Product, ProductVariant
from core.db import get_session, utcnow
from core.errors import DomainError, NotFound
from core.money import Money
from core.written import as_written, written_message
from livestream import live_prices
from livestream.attribution import session_presenting, watched_session
from livestream.room_models import LivePrice
from shop.models import CartItem
from shop.orders import MAX_LINE_QUANTITY, WantedLine, load_sellable

SESSION_KEY = "cart"


@dataclass
class CartLine:
    """A cart line with today's price and stock: the live price while it runs, for a
    line added in that session's room (read again on every page, so a price whose
    countdown has ended stops applying to carts filled before)."""

    variant: ProductVariant
    product: Product | None
    quantity: int
    live_session_id: int | None
    on_sale: bool
    live_price: LivePrice | None = None
    # For a made-to-order product: the week the units beyond stock would be made in
    # (with its ship date), or None when no week has room for them.
    made_week: made_to_order.WeekOffer | None = None

    @property
    def unit_price(self) -> Money:
        if self.live_price is not None:
            return Money(self.live_price.price_amount, self.live_price.currency)
        return self.variant.price

    @property
    def line_total(self) -> Money:
        return self.unit_price * self.quantity

    @property
    def name(self) -> Markup:
        """Product and version in the reader's language, each marked with its own."""
        title = as_written(self.product, "title") if self.product else self.variant.sku
        version = as_written(self.variant, "name")
        if not version:
            return written_message("%(title)s", title=title)
        return written_message(_("%(title)s (%(version)s)"), title=title, version=version)

    @property
    def made_to_order_quantity(self) -> int:
        """Units beyond stock, to be made (0 for goods sold from stock only)."""
        if self.product is None or not self.product.made_to_order:
            return 0
        return max(0, self.quantity - max(0, self.variant.stock))

    @property
    def enough_stock(self) -> bool:
        if not self.on_sale:
            return False
        if self.made_to_order_quantity:
            return self.made_week is not None
        return self.variant.stock >= self.quantity


def _raw() -> dict[int, tuple[int, int | None]]:
    """variant id -> (quantity, live session id) from wherever this cart lives."""
    if current_user.is_authenticated:
        rows = get_session().exec(select(CartItem).where(CartItem.user_id == current_user.id)
                                  .order_by(CartItem.id)).all()
        return {row.variant_id: (row.quantity, row.live_session_id) for row in rows}
    raw = web_session.get(SESSION_KEY) or {}
    result = {}
    for key, value in raw.items():
        if str(key).isdecimal() and isinstance(value, list) and len(value) == 2:
            result[int(key)] = (int(value[0]), value[1])
    return result


def _store(variant_id: int, quantity: int, live_session_id: int | None) -> None:
    g.pop("cart_lines", None)
    if current_user.is_authenticated:
        session = get_session()
        row = session.exec(select(CartItem).where(CartItem.user_id == current_user.id,
                                                  CartItem.variant_id == variant_id)).first()
        if quantity <= 0:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(CartItem(user_id=current_user.id, variant_id=variant_id,
                                 quantity=quantity, live_session_id=live_session_id))
        else:
            row.quantity = quantity
            row.live_session_id = live_session_id or row.live_session_id
            session.add(row)
        session.flush()
        return
    raw = dict(web_session.get(SESSION_KEY) or {})
    if quantity <= 0:
        raw.pop(str(variant_id), None)
    else:
        raw[str(variant_id)] = [quantity, live_session_id]
    web_session[SESSION_KEY] = raw


def lines() -> list[CartLine]:
    """The cart with today's prices; lines no longer on sale are marked, not dropped.

    Read once per request (a checkout page asks several times).
    """
    if "cart_lines" not in g:
        g.cart_lines = _read_lines()
    return g.cart_lines


def _attributed() -> dict[int, tuple[int, int | None]]:
    """The cart, each line without a session credited to the stream this browser
    watched in the last 30 minutes when that stream presents the line's product
    (livestream.attribution): the cart and the checkout price it alike."""
    raw = _raw()
    watched = watched_session(request) if has_request_context() else None
    if watched is None:
        return raw
    session = get_session()
    return {vid: (q, ls if ls else session_presenting(session, variant_id=vid,
                                                      session_id=watched))
            for vid, (q, ls) in raw.items()}


def _read_lines() -> list[CartLine]:
    raw = _attributed()
    if not raw:
        return []
    session = get_session()
    sellable = load_sellable(session, list(raw))
    now = utcnow()
    offers = live_prices.prices_for(session, {(ls, vid) for vid, (_q, ls) in raw.items()
                                              if ls and vid in sellable}, now)
    result = []
    for variant_id, (quantity, live_session_id) in raw.items():
        if variant_id in sellable:
            variant, product = sellable[variant_id]
            offer = offers.get((live_session_id, variant_id))
            if offer is not None and not (offer.running(now) and offer.left > 0):
                offer = None
            result.append(CartLine(variant, product, quantity, live_session_id, True, offer))
        else:
            variant = session.get(ProductVariant, variant_id)
            if variant is None:
                _store(variant_id, 0, None)
                continue
            product = session.get(Product, variant.product_id)
            result.append(CartLine(variant, product, quantity, live_session_id, False))
    _find_made_weeks(session, result)
    return result


def _find_made_weeks(session: Session, cart_lines: list[CartLine]) -> None:
    """The week each made-to-order product's units beyond stock would go into: one
    week per product for all its lines, as placing the order counts them."""
    beyond: dict[int, list[CartLine]] = {}
    for line in cart_lines:
        if line.on_sale and line.made_to_order_quantity:
            beyond.setdefault(line.product.id, []).append(line)
    for product_lines in beyond.values():
        week = made_to_order.offer_for(
            session=session, product=product_lines[0].product,
            units=sum(line.made_to_order_quantity for line in product_lines))
        for line in product_lines:
            line.made_week = week


def total() -> int:
    """What the lines still on sale cost today, in fen (one currency per cart)."""
    return sum(line.line_total.amount for line in lines() if line.on_sale)


def count() -> int:
    """How many items are in the cart."""
    return sum(q for q, _ls in _raw().values())


def add(variant_id: int, quantity: int, live_session_id: int | None = None) -> CartLine:
    """Add to the cart, checked against what is on sale and in stock."""
    sellable = load_sellable(get_session(), [variant_id])
    if variant_id not in sellable:
        raise NotFound(_("That product is not on sale."))
    variant, product = sellable[variant_id]
    current, kept_session = _raw().get(variant_id, (0, None))
    wanted = current + quantity
    _check_quantity(variant, wanted, product)
    live_session_id = live_session_id or kept_session
    if live_session_id:  # over the live price's limits: say so now, not at checkout
        now = utcnow()
        offer = live_prices.prices_for(get_session(), {(live_session_id, variant_id)},
                                       now).get((live_session_id, variant_id))
        if offer is not None:
            live_prices.applies(offer, wanted, now)
    _store(variant_id, wanted, live_session_id)
    line = CartLine(variant, product, wanted, live_session_id, True)
    _find_made_weeks(get_session(), [line])
    return line


def set_quantity(variant_id: int, quantity: int) -> None:
    """Change a line's quantity (0 removes it)."""
    raw = _raw()
    if variant_id not in raw:
        raise NotFound(_("That item is not in your cart."))
    if quantity > 0:
        sellable = load_sellable(get_session(), [variant_id])
        if variant_id not in sellable:
            raise DomainError(_("That product is no longer on sale. Remove it from your cart."))
        variant, product = sellable[variant_id]
        _check_quantity(variant, quantity, product)
    _store(variant_id, quantity, raw[variant_id][1])


def _check_quantity(variant: ProductVariant, quantity: int, product: Product) -> None:
    if quantity > MAX_LINE_QUANTITY:
        raise DomainError(_("You can buy up to %(max)d of one item at a time",
                            max=MAX_LINE_QUANTITY))
    if product.made_to_order and quantity > variant.stock:
        in_stock = max(0, variant.stock)
        session = get_session()
        if made_to_order.offer_for(session=session, product=product,
                                   units=quantity - in_stock) is None:
            most = in_stock + made_to_order.most_orderable(session=session, product=product)
            if most <= 0:
                raise DomainError(_("Sorry, the workshop is fully booked this week and "
                                    "next"), code="made_to_order_full")
            raise DomainError(_("You can order up to %(count)d now", count=most),
                              code="made_to_order_full")
        return
    if quantity > variant.stock:
        if variant.stock <= 0:
            raise DomainError(_("Sorry, this is sold out"), code="sold_out")
        raise DomainError(_("Only %(left)d left in stock", left=variant.stock), code="sold_out")


def clear() -> None:
    """Empty the cart (after an order is placed)."""
    clear_saved()
    forget()


def clear_saved() -> None:
    """Delete a signed-in shopper's saved lines, in the current transaction."""
    if current_user.is_authenticated:
        get_session().execute(sa.delete(CartItem).where(CartItem.user_id == current_user.id))
    g.pop("cart_lines", None)


def forget() -> None:
    """Drop the cart kept in the session (once the order it became is committed)."""
    web_session.pop(SESSION_KEY, None)
    g.pop("cart_lines", None)


def wanted_lines() -> list[WantedLine]:
    """The cart as lines to order."""
    return [WantedLine(vid, q, ls) for vid, (q, ls) in sorted(_attributed().items())]


def merge_guest_cart(*, session: Session, user_id: int, guest: dict) -> None:
    """Add a guest cart to the account's cart (quantities add up, capped)."""
    for key, value in guest.items():
        if not (str(key).isdecimal() and isinstance(value, list) and len(value) == 2):
            continue
        variant_id, quantity = int(key), int(value[0])
        if session.get(ProductVariant, variant_id) is None:
            continue
        row = session.exec(select(CartItem).where(CartItem.user_id == user_id,
                                                  CartItem.variant_id == variant_id)).first()
        if row is None:
            row = CartItem(user_id=user_id, variant_id=variant_id, quantity=0,
                           live_session_id=value[1])
        row.quantity = min(MAX_LINE_QUANTITY, row.quantity + quantity)
        session.add(row)
    session.flush()


def _on_login(_app, user, **_extra) -> None:
    guest = web_session.pop(SESSION_KEY, None)
    if guest:
        merge_guest_cart(session=get_session(), user_id=user.id, guest=guest)


user_logged_in.connect(_on_login)
