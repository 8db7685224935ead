"""Live prices: a live-only price for one version of a product in the line-up, for a
limited quantity, a limit per buyer and a countdown of 10 seconds to 20 minutes.

Both limits are the database's: the quantity by a conditional update of the price's
`sold_quantity` (with a CHECK behind it), the per-buyer limit by a conditional upsert
of the buyer's claim, both in the order's own transaction (`claim_units`). A price
stops applying when its countdown ends, to carts filled before too: the cart and the
checkout read it again each time (`running_prices`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from catalog.models import Product, ProductStatus, ProductVariant
from core.db import utcnow
from core.errors import Conflict, DomainError
from core.events import publish_after_commit
from livestream.models import LiveSession, LiveSessionProduct, SessionStatus
from livestream.room_models import LivePrice, LivePriceClaim

MIN_SECONDS = 10
MAX_SECONDS = 20 * 60
MAX_UNITS = 10_000


class LivePriceRefused(DomainError):
    """Bad live-price input; `field` names the form field the message belongs to."""

    code = "live_price_refused"

    def __init__(self, message, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LivePriceGone(Conflict):
    """The live price a buyer counted on ended, or its units are gone."""

    code = "live_price_gone"


class BuyerLimitReached(Conflict):
    """This buyer already has as many as one buyer may have at the live price."""

    code = "live_price_buyer_limit"


def channel(live_id: int) -> str:
    """The events channel of one session's room."""
    return f"live-{live_id}"


def price_event(price: LivePrice, now: datetime | None = None) -> dict:
    """What the room shows of a live price: the figures, the end and its state."""
    now = now or utcnow()
    state = ("running" if price.running(now) and price.left > 0
             else "sold_out" if price.running(now) else "ended")
    return {"id": price.id, "product_id": price.product_id, "variant_id": price.variant_id,
            "price_amount": price.price_amount, "normal_amount": price.normal_amount,
            "currency": price.currency, "quantity_limit": price.quantity_limit,
            "per_buyer_limit": price.per_buyer_limit, "left": price.left,
            "ends_at": price.ends_at.isoformat(), "state": state}


def lock_session(session: Session, live_id: int) -> LiveSession:
    """The session row, locked until the commit (PostgreSQL; SQLite writes one at a
    time already): two hosts pressing at once act one after the other."""
    return session.exec(select(LiveSession).where(LiveSession.id == live_id)
                        .with_for_update()).one()


def start_live_price(*, session: Session, live: LiveSession, variant_id: int,
                     price_amount: int, quantity_limit: int, per_buyer_limit: int,
                     seconds: int, by_user_id: int | None) -> LivePrice:
    """Start a live price (stopping the one running, if any); refused with the field."""
    live = lock_session(session, live.id)
    if live.status != SessionStatus.LIVE:
        raise Conflict(_l("The stream is not live, so a live price cannot start."))
    row = session.exec(
        select(ProductVariant, Product)
        .join(Product, Product.id == ProductVariant.product_id)
        .join(LiveSessionProduct, LiveSessionProduct.product_id == Product.id)
        .where(ProductVariant.id == variant_id, LiveSessionProduct.session_id == live.id,
               ProductVariant.is_active, Product.status == ProductStatus.PUBLISHED)).first()
    if row is None:
        raise LivePriceRefused(_l("Choose a product from this stream's line-up"),
                               field="variant_id")
    variant, product = row
    if not 0 < price_amount < variant.price_amount:
        raise LivePriceRefused(_l("The live price must be more than ¥0.00 and less than the "
                                  "normal price"), field="price")
    if variant.stock <= 0:
        raise LivePriceRefused(_l("This product is sold out"), field="variant_id")
    if not 1 <= quantity_limit <= min(variant.stock, MAX_UNITS):
        raise LivePriceRefused(_l("Offer between 1 and %(left)d at the live price (what is "
                                  "in stock)", left=min(variant.stock, MAX_UNITS)),
                               field="quantity_limit")
    if not 1 <= per_buyer_limit <= quantity_limit:
        raise LivePriceRefused(_l("Each buyer may have between 1 and %(n)d", n=quantity_limit),
                               field="per_buyer_limit")
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise LivePriceRefused(_l("The countdown must be from 10 seconds to 20 minutes"),
                               field="minutes")
    now = utcnow()
    for running in running_prices(session, live.id, now):
        _stop(session, running, now)
    price = LivePrice(session_id=live.id, product_id=product.id, variant_id=variant.id,
                      price_amount=price_amount, normal_amount=variant.price_amount,
                      currency=variant.price_currency, quantity_limit=quantity_limit,
                      per_buyer_limit=per_buyer_limit, starts_at=now,
                      ends_at=now + timedelta(seconds=seconds), started_by_id=by_user_id)
    session.add(price)
    session.flush()
    publish_after_commit(session, channel(live.id), "price", price_event(price, now))
    return price


def stop_live_price(*, session: Session, live: LiveSession, price_id: int) -> LivePrice:
    """Stop a running live price now."""
    lock_session(session, live.id)
    price = session.get(LivePrice, price_id)
    if price is None or price.session_id != live.id:
        raise Conflict(_l("That live price is not in this stream."))
    now = utcnow()
    if not price.running(now):
        raise Conflict(_l("That live price has already ended."))
    _stop(session, price, now)
    return price


def _stop(session: Session, price: LivePrice, now: datetime) -> None:
    price.stopped_at = now
    session.add(price)
    session.flush()
    publish_after_commit(session, channel(price.session_id), "price", price_event(price, now))


def running_prices(session: Session, live_id: int, now: datetime) -> list[LivePrice]:
    """The session's live prices whose countdown runs now (sold out or not)."""
    return list(session.exec(select(LivePrice).where(
        LivePrice.session_id == live_id, LivePrice.stopped_at.is_(None),
        LivePrice.starts_at <= now, LivePrice.ends_at > now).order_by(LivePrice.id)).all())


def prices_for(session: Session, wanted: set[tuple[int, int]],
               now: datetime) -> dict[tuple[int, int], LivePrice]:
    """The live price running now for each (session id, variant id), if any: what a cart
    line added in that session's room is charged."""
    if not wanted:
        return {}
    rows = session.exec(select(LivePrice).where(
        sa.tuple_(LivePrice.session_id, LivePrice.variant_id).in_(list(wanted)),
        LivePrice.stopped_at.is_(None), LivePrice.starts_at <= now,
        LivePrice.ends_at > now).order_by(LivePrice.id)).all()
    return {(row.session_id, row.variant_id): row for row in rows}


def applies(price: LivePrice, quantity: int, now: datetime) -> bool:
    """Whether a line of `quantity` is charged the live price: while it runs and has
    units left. A line over the per-buyer limit or over what is left is refused, not
    charged part at one price and part at the other (BuyerLimitReached, LivePriceGone),
    so the buyer is never surprised by a total made of two prices."""
    if not price.running(now) or price.left <= 0:
        return False
    if quantity > price.per_buyer_limit:
        raise BuyerLimitReached(_("Each buyer can have at most %(n)d at the live price. "
                                  "Lower the quantity.", n=price.per_buyer_limit))
    if quantity > price.left:
        raise LivePriceGone(_("Only %(left)d left at the live price. Change the quantity "
                              "and try again.", left=price.left))
    return True


def buyer_keys(*, user_id: int | None, email: str | None, phone: str | None) -> list[str]:
    """Every identity the per-buyer limit counts for one order: the account, and the
    e-mail and phone it gives (so a guest cannot pass the limit with a new address)."""
    keys = [f"user:{user_id}"] if user_id else []
    if email:
        keys.append("email:" + email.strip().lower()[:320])
    digits = re.sub(r"\D", "", phone or "")
    if digits:
        # The last 11 digits: a Chinese mobile number with or without +86 counts once.
        keys.append("phone:" + digits[-11:])
    return keys


def claim_units(*, session: Session, price: LivePrice, quantity: int, keys: list[str],
                now: datetime) -> None:
    """Take `quantity` units of the live price for one order's buyer, in its transaction.

    Raises LivePriceGone (ended or not enough left) or BuyerLimitReached; the caller's
    transaction then rolls back and nothing is kept.
    """
    sold = session.execute(
        sa.update(LivePrice)
        .where(LivePrice.id == price.id, LivePrice.stopped_at.is_(None),
               LivePrice.ends_at > now,
               LivePrice.sold_quantity + quantity <= LivePrice.quantity_limit)
        .values(sold_quantity=LivePrice.sold_quantity + quantity)
        .returning(LivePrice.sold_quantity)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    if sold is None:
        session.refresh(price)
        if not price.running(now):
            raise LivePriceGone(_("The live price has ended. Check the new total and place "
                                  "the order again."))
        raise LivePriceGone(_("Only %(left)d left at the live price. Change the quantity and "
                              "try again.", left=max(0, price.left)))
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for key in keys:
        statement = insert(LivePriceClaim).values(
            live_price_id=price.id, buyer_key=key, quantity=quantity)
        statement = statement.on_conflict_do_update(
            index_elements=["live_price_id", "buyer_key"],
            set_={"quantity": LivePriceClaim.quantity + statement.excluded.quantity},
            where=(LivePriceClaim.quantity + statement.excluded.quantity
                   <= price.per_buyer_limit)).returning(LivePriceClaim.id)
        if session.execute(statement).first() is None:
            raise BuyerLimitReached(_("Each buyer can have at most %(n)d at the live price, "
                                      "and you already have some. Lower the quantity or buy "
                                      "at the normal price later.", n=price.per_buyer_limit))
    publish_after_commit(session, channel(price.session_id), "price",
                         {**price_event(price, now), "left": price.quantity_limit - sold,
                          "state": "running" if sold < price.quantity_limit else "sold_out"})


def give_back_units(*, session: Session, price_id: int, quantity: int, keys: list[str],
                    now: datetime) -> bool:
    """Units of a cancelled or refunded order go back to the live price's count, while
    its countdown runs only (afterwards the price is over and the count is history)."""
    back = session.execute(
        sa.update(LivePrice)
        .where(LivePrice.id == price_id, LivePrice.stopped_at.is_(None),
               LivePrice.starts_at <= now, LivePrice.ends_at > now,
               LivePrice.sold_quantity >= quantity)
        .values(sold_quantity=LivePrice.sold_quantity - quantity)
        .execution_options(synchronize_session=False)).rowcount == 1
    if back:
        session.execute(
            sa.update(LivePriceClaim)
            .where(LivePriceClaim.live_price_id == price_id,
                   LivePriceClaim.buyer_key.in_(keys), LivePriceClaim.quantity >= quantity)
            .values(quantity=LivePriceClaim.quantity - quantity)
            .execution_options(synchronize_session=False))
        price = session.get(LivePrice, price_id)
        session.refresh(price)
        publish_after_commit(session, channel(price.session_id), "price",
                             price_event(price, now))
    return back
