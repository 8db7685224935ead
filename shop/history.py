"""The status history of an order: every change, with who and when."""

from __future__ import annotations

from sqlmodel import Session

from core.db import utcnow
from core.writes import write_with_commit
from shop.models import Order, OrderStatusChange

_INSERT = OrderStatusChange.__table__.insert()


def record_change(session: Session, order: Order, kind: str, from_value: str | None,
                  to_value: str, *, by_user_id: int | None = None,
                  by_system: str | None = None, note: str | None = None,
                  with_commit: bool = False) -> None:
    """Append one status change to the order's history (`with_commit`: sent with the
    transaction's commit, see core.writes.write_with_commit)."""
    # A prepared plain insert: no object to build and track, no statement to build
    # (this runs in every checkout).
    row = dict(order_id=order.id, kind=kind, from_value=from_value, to_value=to_value,
               by_user_id=by_user_id, by_system=by_system, note=(note or None) and note[:300],
               at=utcnow())
    if with_commit:
        write_with_commit(session, _INSERT, row)
    else:
        session.connection().execute(_INSERT, row)
