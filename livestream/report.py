"""A stream's report for its presenter, its workshops' coordinators and operators:
viewers, questions, orders, items and sales (销售额), per product and per maker, beside
the presenter's previous streams.

The money comes from the maker ledger alone (the entries of lines sold in the stream:
makers' shares and the platform's fee, less refunds), so the report always adds up
with the books and with the impact report, which reads the same entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, func, select

from accounts.models import Role, User, UserRole, WorkshopMember
from catalog.models import Product
from income.models import EntryKind, LedgerEntry
from livestream.models import LiveSession, LiveSessionProduct, SessionStatus
from livestream.room_models import LiveMessage, LiveViewer
from shop.models import Order, OrderLine

SALE_KINDS = (EntryKind.SALE, EntryKind.COMMISSION, EntryKind.REFUND,
              EntryKind.COMMISSION_REFUND)
PREVIOUS_STREAMS = 5


@dataclass
class Figures:
    """One stream's headline figures."""

    live: LiveSession
    orders: int = 0
    items: int = 0
    sales: int = 0
    peak_viewers: int = 0


@dataclass(frozen=True)
class SoldAs:
    """A product as the stream's order lines were sold under: their Chinese and English
    snapshots (`title`, `title_en`, as a product's), not its title today."""

    title: str
    title_en: str | None = None


@dataclass
class StreamReport:
    """Everything the report page and its download show."""

    figures: Figures
    total_viewers: int
    questions_asked: int
    questions_answered: int
    makers_share: int
    platform_fee: int
    refunded: int
    by_product: list[tuple[SoldAs | Product | None, int, int]] = field(default_factory=list)
    by_maker: list[tuple[User | None, int]] = field(default_factory=list)
    previous: list[Figures] = field(default_factory=list)


def may_read(*, session: Session, live: LiveSession, user) -> bool:
    """The presenter, operators, and coordinators of the workshops the stream presents."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if live.presenter_id == user.id:
        return True
    if session.exec(select(UserRole.id).where(UserRole.user_id == user.id,
                                              UserRole.role == Role.OPERATOR)).first():
        return True
    workshops = {live.workshop_id} | set(session.exec(
        select(Product.workshop_id).join(LiveSessionProduct,
                                         LiveSessionProduct.product_id == Product.id)
        .where(LiveSessionProduct.session_id == live.id)).all())
    return session.exec(select(WorkshopMember.id).where(
        WorkshopMember.user_id == user.id, WorkshopMember.is_coordinator.is_(True),
        WorkshopMember.workshop_id.in_([w for w in workshops if w]))).first() is not None


def _figures(session: Session, lives: list[LiveSession]) -> dict[int, Figures]:
    ids = [live.id for live in lives]
    result = {live.id: Figures(live, peak_viewers=live.peak_viewers) for live in lives}
    if not ids:
        return result
    for live_id, orders, items in session.exec(
            select(OrderLine.live_session_id, func.count(sa.distinct(OrderLine.order_id)),
                   func.coalesce(func.sum(OrderLine.quantity - OrderLine.refunded_quantity), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.live_session_id.in_(ids), Order.paid_at.is_not(None))
            .group_by(OrderLine.live_session_id)).all():
        result[live_id].orders, result[live_id].items = int(orders), int(items)
    for live_id, sales in session.exec(
            select(LedgerEntry.live_session_id, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.live_session_id.in_(ids), LedgerEntry.kind.in_(SALE_KINDS))
            .group_by(LedgerEntry.live_session_id)).all():
        result[live_id].sales = int(sales)
    return result


def stream_report(*, session: Session, live: LiveSession) -> StreamReport:
    """The report of one stream (while it runs, the figures so far)."""
    figures = _figures(session, [live])[live.id]
    viewers = session.exec(select(func.count()).select_from(LiveViewer)
                           .where(LiveViewer.session_id == live.id)).one()
    asked, answered = session.exec(
        select(func.count(), func.count(LiveMessage.answered_at))
        .where(LiveMessage.session_id == live.id, LiveMessage.is_question.is_(True),
               LiveMessage.hidden_at.is_(None))).one()
    by_kind = dict(session.exec(
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.live_session_id == live.id, LedgerEntry.kind.in_(SALE_KINDS))
        .group_by(LedgerEntry.kind)).all())
    sales_by_product = dict(session.exec(
        select(LedgerEntry.product_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.live_session_id == live.id, LedgerEntry.kind.in_(SALE_KINDS))
        .group_by(LedgerEntry.product_id)).all())
    items_by_product = dict(session.exec(
        select(OrderLine.product_id,
               func.coalesce(func.sum(OrderLine.quantity - OrderLine.refunded_quantity), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.live_session_id == live.id, Order.paid_at.is_not(None))
        .group_by(OrderLine.product_id)).all())
    product_ids = [p for p in set(sales_by_product) | set(items_by_product) if p]
    products: dict[int, SoldAs | Product] = {p.id: p for p in session.exec(select(Product).where(
        Product.id.in_(product_ids or [0]))).all()}
    # Named as sold in this stream (the lines' snapshots), not as the product is today.
    for pid, title, title_en in session.exec(
            select(OrderLine.product_id, func.max(OrderLine.product_name),
                   func.max(OrderLine.product_name_en))
            .where(OrderLine.live_session_id == live.id, OrderLine.product_id.in_(
                product_ids or [0])).group_by(OrderLine.product_id)).all():
        products[pid] = SoldAs(title, title_en)
    by_product = sorted(
        ((products.get(pid), int(items_by_product.get(pid, 0)),
          int(sales_by_product.get(pid, 0)))
         for pid in set(sales_by_product) | set(items_by_product)),
        key=lambda row: (-row[2], row[0].title if row[0] else ""))
    maker_rows = session.exec(
        select(LedgerEntry.maker_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.live_session_id == live.id, LedgerEntry.maker_id.is_not(None),
               LedgerEntry.kind.in_([EntryKind.SALE, EntryKind.REFUND]))
        .group_by(LedgerEntry.maker_id)).all()
    makers = {u.id: u for u in session.exec(select(User).where(
        User.id.in_([m for m, _a in maker_rows] or [0]))).all()}
    by_maker = sorted(((makers.get(m), int(a)) for m, a in maker_rows),
                      key=lambda row: (-row[1], row[0].display_name if row[0] else ""))
    earlier = session.exec(
        select(LiveSession).where(LiveSession.presenter_id == live.presenter_id,
                                  LiveSession.id != live.id,
                                  LiveSession.status == SessionStatus.ENDED,
                                  LiveSession.planned_start < live.planned_start)
        .order_by(LiveSession.planned_start.desc()).limit(PREVIOUS_STREAMS)).all() \
        if live.presenter_id else []
    previous = _figures(session, list(earlier))
    return StreamReport(
        figures=figures, total_viewers=int(viewers), questions_asked=int(asked),
        questions_answered=int(answered),
        makers_share=int(by_kind.get(EntryKind.SALE, 0) + by_kind.get(EntryKind.REFUND, 0)),
        platform_fee=int(by_kind.get(EntryKind.COMMISSION, 0)
                         + by_kind.get(EntryKind.COMMISSION_REFUND, 0)),
        refunded=-int(by_kind.get(EntryKind.REFUND, 0)
                      + by_kind.get(EntryKind.COMMISSION_REFUND, 0)),
        by_product=by_product, by_maker=by_maker,
        previous=[previous[s.id] for s in earlier])
