"""Task orders (来料加工 / 订单活): a business asks a workshop for a batch of pieces.

requested -> accepted (split into member tasks, pieces recorded) -> delivered (booked in
the ledger, once); or requested -> declined (with a reason). Money is integer fen.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime, enum_type, utcnow
from core.money import DEFAULT_CURRENCY


class TaskOrderStatus(enum.StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    DELIVERED = "delivered"   # delivered and paid by the organisation: booked

    @property
    def label(self):
        return TASK_ORDER_STATUS_LABELS[self]


TASK_ORDER_STATUS_LABELS = {
    TaskOrderStatus.REQUESTED: _l("Waiting for an answer"),
    TaskOrderStatus.ACCEPTED: _l("Accepted, being made"),
    TaskOrderStatus.DECLINED: _l("Declined"),
    TaskOrderStatus.DELIVERED: _l("Delivered and paid"),
}


class TaskOrder(SQLModel, table=True):
    """What an organisation asked a workshop to make, at a price per piece."""

    __tablename__ = "task_order"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="ck_task_order_quantity"),
        sa.CheckConstraint("price_per_piece_amount > 0", name="ck_task_order_price"),
        sa.Index("ix_task_order_workshop_status", "workshop_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workshop_id: int = Field(foreign_key="workshop.id")
    organisation: str = Field(max_length=100)
    contact_name: str = Field(max_length=60)
    contact_email: str | None = Field(default=None, max_length=320)
    contact_phone: str | None = Field(default=None, max_length=20)
    product: str = Field(max_length=100)
    quantity: int
    deadline: date
    price_per_piece_amount: int
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    message: str = Field(default="", sa_type=sa.Text)
    locale: str = Field(default="zh_Hans_CN", max_length=12)  # the asker's, for mail
    status: TaskOrderStatus = Field(default=TaskOrderStatus.REQUESTED,
                                    sa_type=enum_type(TaskOrderStatus))
    decline_reason: str | None = Field(default=None, max_length=300)
    requested_by_id: int | None = Field(default=None, foreign_key="user_account.id",
                                        ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def total_amount(self) -> int:
        return self.quantity * self.price_per_piece_amount


class TaskOrderTask(SQLModel, table=True):
    """One member's part of an accepted task order and the pieces they have made.

    The database keeps `pieces_done` within the task: recording is a conditional update,
    so two people recording the last pieces at once never go past it."""

    __tablename__ = "task_order_task"
    __table_args__ = (
        sa.UniqueConstraint("task_order_id", "maker_id", name="uq_task_order_task"),
        sa.CheckConstraint("pieces_done >= 0 AND pieces_done <= quantity",
                           name="ck_task_order_task_pieces"),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_order_id: int = Field(foreign_key="task_order.id", index=True, ondelete="CASCADE")
    maker_id: int = Field(foreign_key="user_account.id", index=True)
    quantity: int
    pieces_done: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
