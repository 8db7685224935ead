"""Reads for the order pages, loading what the templates show."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from accounts.models import WorkshopMember
from shop.models import (
    DownloadGrant,
    Order,
    OrderLine,
    OrderLineMaker,
    OrderStatusChange,
    Payment,
    PaymentStatus,
    Refund,
)


def order_by_token(session: Session, token: str) -> Order | None:
    """The order a secret link points at."""
    if not token or len(token) > 64:
        return None
    return session.exec(select(Order).where(Order.public_token == token)).first()


def order_detail(session: Session, order: Order) -> dict:
    """Lines, history, payments, refunds and download grants of one order."""
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)
                         .order_by(OrderLine.id)).all()
    grants = {g.order_line_id: g for g in session.exec(select(DownloadGrant).where(
        DownloadGrant.order_line_id.in_([line.id for line in lines]))).all()} if lines else {}
    return {
        "lines": lines,
        "grants": grants,
        "history": session.exec(select(OrderStatusChange).where(
            OrderStatusChange.order_id == order.id).order_by(OrderStatusChange.id)).all(),
        "payments": session.exec(select(Payment).where(Payment.order_id == order.id)
                                 .order_by(Payment.id)).all(),
        "refunds": session.exec(select(Refund).where(Refund.order_id == order.id)
                                .order_by(Refund.id)).all(),
    }


def orders_of_user(session: Session, user_id: int) -> list[Order]:
    """A shopper's orders, newest first."""
    return list(session.exec(select(Order).where(Order.user_id == user_id)
                             .order_by(Order.created_at.desc(), Order.id.desc())).all())


def lines_for_maker(session: Session, user_id: int) -> list[tuple[OrderLine, Order]]:
    """Paid lines a maker made or their workshop must make or ship."""
    workshops = select(WorkshopMember.workshop_id).where(WorkshopMember.user_id == user_id)
    made = select(OrderLineMaker.order_line_id).where(OrderLineMaker.maker_id == user_id)
    return list(session.exec(
        select(OrderLine, Order).join(Order, Order.id == OrderLine.order_id)
        .where(sa.or_(OrderLine.workshop_id.in_(workshops), OrderLine.id.in_(made)),
               Order.payment_status.in_([PaymentStatus.PAID, PaymentStatus.PARTLY_REFUNDED]))
        .order_by(Order.paid_at.desc(), OrderLine.id)).all())


def operator_orders(session: Session, *, payment_status: str | None = None,
                    limit: int = 200) -> list[Order]:
    """Orders for operators, newest first, optionally by payment status."""
    query = select(Order).order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)
    if payment_status in {s.value for s in PaymentStatus}:
        query = query.where(Order.payment_status == payment_status)
    return list(session.exec(query).all())
