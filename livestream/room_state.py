"""What a live room shows at one moment: the snapshot a viewer's page starts from and
the events stream and polling fall back to, and the control room's running figures."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, func, select

from core.db import utcnow
from livestream.chat import message_event, visible_messages
from livestream.edge import stream_addresses
from livestream.live_prices import price_event, running_prices
from livestream.models import LiveSession, LiveSessionProduct
from livestream.room import caption_event, current_pin
from livestream.room_models import LiveCaption, LiveMessage, LivePrice
from shop.models import Order, OrderLine, OrderStatus

TICKER_SIZE = 10


def snapshot(*, session: Session, live: LiveSession, now: datetime | None = None) -> dict:
    """Everything the viewer's room shows, as the events would have built it."""
    now = now or utcnow()
    pin = current_pin(session, live.id)
    prices = running_prices(session, live.id, now)
    from catalog.models import ProductVariant

    stock = session.exec(
        select(ProductVariant.id, ProductVariant.product_id, ProductVariant.stock)
        .join(LiveSessionProduct, LiveSessionProduct.product_id == ProductVariant.product_id)
        .where(LiveSessionProduct.session_id == live.id, ProductVariant.is_active)).all()
    captions = session.exec(select(LiveCaption).where(LiveCaption.session_id == live.id)
                            .order_by(LiveCaption.id.desc()).limit(3)).all()
    return {
        "status": live.status.value,
        "pin": pin.product_id if pin else None,
        "price": price_event(prices[-1], now) if prices else None,
        "stock": [{"variant_id": v, "product_id": p, "stock": s} for v, p, s in stock],
        "ticker": ticker(session, live.id),
        "messages": [message_event(m) for m in visible_messages(session, live.id)],
        "captions": [caption_event(c) for c in reversed(captions)],
        "streams": stream_addresses(session=session, live=live),
    }


def ticker(session: Session, live_id: int) -> list[dict]:
    """The latest lines bought from the room, newest first: product and quantity only."""
    rows = session.exec(
        select(OrderLine.id, OrderLine.product_id, OrderLine.quantity, Order.created_at)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.live_session_id == live_id, Order.status != OrderStatus.CANCELLED)
        .order_by(OrderLine.id.desc()).limit(TICKER_SIZE)).all()
    return [{"line_id": line_id, "product_id": product_id, "quantity": quantity,
             "at": at.isoformat()} for line_id, product_id, quantity, at in rows]


def running_figures(*, session: Session, live: LiveSession, viewers_now: int) -> dict:
    """The control room's figures: orders and sales from the room so far (placed, not
    cancelled), questions waiting, viewers now, units sold at live prices."""
    orders, items, sales = session.exec(
        select(func.count(sa.distinct(OrderLine.order_id)),
               func.coalesce(func.sum(OrderLine.quantity), 0),
               func.coalesce(func.sum(OrderLine.line_total_amount), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.live_session_id == live.id,
               Order.status != OrderStatus.CANCELLED)).one()
    waiting, asked = session.exec(
        select(func.count().filter(LiveMessage.answered_at.is_(None)), func.count())
        .where(LiveMessage.session_id == live.id, LiveMessage.is_question.is_(True),
               LiveMessage.hidden_at.is_(None))).one()
    at_live_price = session.exec(select(func.coalesce(func.sum(LivePrice.sold_quantity), 0))
                                 .where(LivePrice.session_id == live.id)).one()
    return {"orders": int(orders), "items": int(items), "sales_amount": int(sales),
            "questions_waiting": int(waiting), "questions_asked": int(asked),
            "viewers_now": viewers_now, "peak_viewers": max(live.peak_viewers, viewers_now),
            "live_price_units": int(at_live_price)}
