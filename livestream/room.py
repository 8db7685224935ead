"""The live room's controls: who may run it, pins, captions, the stream addresses, going
live and ending, and what a placed order tells the room (ticker and stock left).

Services flush, never commit; every change the room must see is published after the
commit (core.events.publish_after_commit), so no viewer ever sees what rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, func, select

from accounts.models import HostRole, Role, User, UserRole
from catalog.models import Product, ProductStatus, ProductVariant
from core.db import utcnow
from core.errors import Conflict, DomainError
from core.events import publish_after_commit
from livestream import lifecycle
from livestream.edge import stream_addresses
from livestream.live_prices import channel, lock_session
from livestream.models import LiveSession, LiveSessionProduct, LiveSessionSlot, SessionStatus
from livestream.room_models import CAPTION_MAX_LENGTH, LiveCaption, LivePin

RUNNERS = {"operator", HostRole.PRESENTER.value, HostRole.ASSISTANT.value}
INTERPRETERS = {HostRole.SIGN_INTERPRETER.value, HostRole.VOICE_INTERPRETER.value}


@dataclass(frozen=True)
class RoomAccess:
    """What one person may do in a session's control room."""

    roles: frozenset[str]

    @property
    def enter(self) -> bool:
        """The control room is the team's: presenter, interpreters, captioner, operators."""
        return bool(self.roles)

    @property
    def run(self) -> bool:
        """Go live and end, pin, live prices, block words: the presenter, an assistant,
        an operator."""
        return bool(self.roles & RUNNERS)

    @property
    def moderate(self) -> bool:
        """Answer, hide and mute: those who run it, and the interpreters beside them."""
        return self.run or bool(self.roles & INTERPRETERS)

    @property
    def caption(self) -> bool:
        """Type live captions: the captioner, or whoever runs the room."""
        return self.run or HostRole.CAPTIONER.value in self.roles


def room_access(*, session: Session, live: LiveSession, user) -> RoomAccess:
    """The roles `user` holds in this session (none for a viewer)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return RoomAccess(frozenset())
    roles = set()
    if session.exec(select(UserRole.id).where(UserRole.user_id == user.id,
                                              UserRole.role == Role.OPERATOR)).first():
        roles.add("operator")
    if live.presenter_id == user.id:
        roles.add(HostRole.PRESENTER.value)
    roles.update(role.value for role in session.exec(select(LiveSessionSlot.role).where(
        LiveSessionSlot.session_id == live.id, LiveSessionSlot.host_id == user.id)).all())
    return RoomAccess(frozenset(roles))


def lineup(*, session: Session, live_id: int) -> list[tuple[Product, list[ProductVariant]]]:
    """The session's products in order, each with its active versions."""
    products = session.exec(
        select(Product).join(LiveSessionProduct, LiveSessionProduct.product_id == Product.id)
        .where(LiveSessionProduct.session_id == live_id)
        .order_by(LiveSessionProduct.position, LiveSessionProduct.id)).all()
    variants: dict[int, list[ProductVariant]] = {p.id: [] for p in products}
    for variant in session.exec(select(ProductVariant).where(
            ProductVariant.product_id.in_(list(variants)), ProductVariant.is_active)
            .order_by(ProductVariant.id)).all():
        variants[variant.product_id].append(variant)
    return [(product, variants[product.id]) for product in products]


def current_pin(session: Session, live_id: int) -> LivePin | None:
    """The product shown now, if any."""
    return session.exec(select(LivePin).where(LivePin.session_id == live_id,
                                              LivePin.unpinned_at.is_(None))).first()


def _require_live(live: LiveSession) -> None:
    if live.status != SessionStatus.LIVE:
        raise Conflict(_l("The stream is not live."))


def pin_product(*, session: Session, live: LiveSession, product_id: int,
                by_user_id: int | None) -> LivePin:
    """Show one product of the line-up now ("讲解中"); the one shown before is unpinned."""
    live = lock_session(session, live.id)
    _require_live(live)
    product = session.exec(
        select(Product).join(LiveSessionProduct, LiveSessionProduct.product_id == Product.id)
        .where(LiveSessionProduct.session_id == live.id, Product.id == product_id)).first()
    if product is None:
        raise DomainError(_l("That product is not in this stream's line-up."))
    stock = session.exec(select(func.coalesce(func.sum(ProductVariant.stock), 0)).where(
        ProductVariant.product_id == product.id, ProductVariant.is_active)).one()
    if product.status != ProductStatus.PUBLISHED or stock <= 0:
        raise Conflict(_l("That product is sold out or not on sale. Pin another one."))
    now = utcnow()
    _unpin(session, live.id, now)
    pin = LivePin(session_id=live.id, product_id=product.id, pinned_at=now,
                  pinned_by_id=by_user_id)
    session.add(pin)
    session.flush()
    publish_after_commit(session, channel(live.id), "pin",
                         {"product_id": product.id, "at": now.isoformat()})
    return pin


def unpin(*, session: Session, live: LiveSession) -> bool:
    """Show no product for now; False if none was shown."""
    lock_session(session, live.id)
    now = utcnow()
    if not _unpin(session, live.id, now):
        return False
    publish_after_commit(session, channel(live.id), "pin",
                         {"product_id": None, "at": now.isoformat()})
    return True


def _unpin(session: Session, live_id: int, now: datetime) -> bool:
    return session.execute(
        sa.update(LivePin).where(LivePin.session_id == live_id, LivePin.unpinned_at.is_(None))
        .values(unpinned_at=now).execution_options(synchronize_session=False)).rowcount > 0


def add_caption(*, session: Session, live: LiveSession, text: str,
                by_user_id: int | None) -> LiveCaption:
    """One line of live captions, shown over every viewer's player and kept for the
    replay's track."""
    _require_live(live)
    text = " ".join(_printable(text).split())
    if not text:
        raise DomainError(_l("Type the caption"))
    if len(text) > CAPTION_MAX_LENGTH:
        raise DomainError(_l("A caption can be at most %(n)d characters", n=CAPTION_MAX_LENGTH))
    caption = LiveCaption(session_id=live.id, text=text, created_at=utcnow(),
                          by_user_id=by_user_id)
    session.add(caption)
    session.flush()
    publish_after_commit(session, channel(live.id), "caption", caption_event(caption))
    return caption


def caption_event(caption: LiveCaption) -> dict:
    """A caption as the room shows it."""
    return {"id": caption.id, "text": caption.text, "at": caption.created_at.isoformat()}


def _printable(text: str) -> str:
    """Text without control characters (a pasted one could break a line or a track)."""
    return "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text or "")


def set_stream_addresses(*, session: Session, live: LiveSession, interpreter_stream_url: str
                         | None, recording_url: str | None) -> None:
    """The interpreter's own stream (picture-in-picture) and the recording (replay)."""
    live.interpreter_stream_url = interpreter_stream_url or None
    live.recording_url = recording_url or None
    session.add(live)
    session.flush()
    publish_after_commit(session, channel(live.id), "streams",
                         stream_addresses(session=session, live=live))


def go_live(*, session: Session, live: LiveSession) -> None:
    """Start the stream (the session's own rules decide whether it may) and tell the room."""
    lifecycle.go_live(session=session, live=live)
    publish_after_commit(session, channel(live.id), "status", {"status": "live"})


def end(*, session: Session, live: LiveSession) -> None:
    """End the stream: nothing stays pinned, live prices stop, the room becomes a replay."""
    from livestream.live_prices import running_prices, stop_live_price

    lock_session(session, live.id)
    lifecycle.end_session(session=session, live=live)
    now = utcnow()
    _unpin(session, live.id, now)
    for price in running_prices(session, live.id, now):
        stop_live_price(session=session, live=live, price_id=price.id)
    publish_after_commit(session, channel(live.id), "status", {"status": "ended"})


def announce_order(*, session: Session, order_id: int) -> None:
    """Tell each live room an order touches: the ticker ("有人买了 … ×2", no names) for
    lines bought from that room, and the stock left of its line-up's products."""
    from shop.models import OrderLine

    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order_id)).all()
    product_ids = {line.product_id for line in lines if line.product_id}
    if not product_ids:
        return
    rooms = session.exec(
        select(LiveSessionProduct.session_id, LiveSessionProduct.product_id)
        .join(LiveSession, LiveSession.id == LiveSessionProduct.session_id)
        .where(LiveSession.status == SessionStatus.LIVE,
               LiveSessionProduct.product_id.in_(list(product_ids)))).all()
    if not rooms:
        return
    stock = dict(session.exec(select(ProductVariant.id, ProductVariant.stock).where(
        ProductVariant.id.in_([line.variant_id for line in lines if line.variant_id]))).all())
    for live_id, product_id in rooms:
        for line in lines:
            if line.product_id != product_id:
                continue
            if line.variant_id in stock:
                publish_after_commit(session, channel(live_id), "stock", {
                    "product_id": product_id, "variant_id": line.variant_id,
                    "stock": stock[line.variant_id]})
            if line.live_session_id == live_id:
                publish_after_commit(session, channel(live_id), "ticker", {
                    "line_id": line.id, "product_id": product_id,
                    "quantity": line.quantity, "at": utcnow().isoformat()})


def display_name(user: User) -> str:
    """The name a viewer's message shows: their own, as they typed it."""
    return (user.display_name or "")[:60]
