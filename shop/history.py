"""The status history of an order: every change, with who and when."""

from __future__ import annotations

from sqlmodel import Session

from core.db import utcnow
from shop.models import Order, OrderStatusChange


def record_change(session: Session, order: Order, kind: str, from_value: str | None,
                  to_value: str, *, by_user_id: int | None = None,
                  by_system: str | None = None, note: str | None = None) -> None:
    """Append one status change to the order's history."""
    session.add(OrderStatusChange(
        order_id=order.id, kind=kind, from_value=from_value, to_value=to_value,
        by_user_id=by_user_id, by_system=by_system, note=(note or None) and note[:300],
        at=utcnow()))
