"""The maker ledger and what feeds it: entries, commission rules, payouts, sales points,
stall sales and monthly statements. Balances are sums of entries, never counters."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime, enum_type, utcnow
from core.money import DEFAULT_CURRENCY


class EntryKind(enum.StrEnum):
    SALE = "sale"                          # a maker's share of a paid line
    COMMISSION = "commission"              # the platform's part of a paid line
    REFUND = "refund"                      # takes back part of a maker's sale credit
    COMMISSION_REFUND = "commission_refund"
    PAYOUT = "payout"                      # money sent to the maker (a debit)
    ADJUSTMENT = "adjustment"              # an operator's correction, with a reason
    TASK_WORK = "task_work"                # a maker's pay for pieces of a task order
    # The selling studio's part of a paid line, and refunds of it. Values kept within
    # the column's length (the longest value + 8): a longer one would need the column
    # altered, and PostgreSQL refuses that under the append-only trigger.
    STUDIO_COMMISSION = "studio_fee"
    STUDIO_COMMISSION_REFUND = "studio_fee_refund"

    @property
    def label(self):
        return ENTRY_LABELS[self]


class Channel(enum.StrEnum):
    ONLINE = "online"
    LIVE = "live"
    STALL = "stall"

    @property
    def label(self):
        return ENTRY_LABELS[self]


class PayoutMethod(enum.StrEnum):
    BANK = "bank"
    WALLET = "wallet"

    @property
    def label(self):
        return ENTRY_LABELS[self]


class PayoutStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"


class StallPayment(enum.StrEnum):
    CASH = "cash"
    QR = "qr"

    @property
    def label(self):
        return ENTRY_LABELS[self]


ENTRY_LABELS = {
    EntryKind.SALE: _l("Sale"),
    EntryKind.COMMISSION: _l("Platform fee"),
    EntryKind.REFUND: _l("Refund"),
    EntryKind.COMMISSION_REFUND: _l("Platform fee returned"),
    EntryKind.PAYOUT: _l("Paid to you"),
    EntryKind.ADJUSTMENT: _l("Correction"),
    EntryKind.TASK_WORK: _l("Task order work"),
    EntryKind.STUDIO_COMMISSION: _l("Studio's part"),
    EntryKind.STUDIO_COMMISSION_REFUND: _l("Studio's part returned"),
    Channel.ONLINE: _l("Online shop"),
    Channel.LIVE: _l("Live stream"),
    Channel.STALL: _l("Stall"),
    PayoutMethod.BANK: _l("Bank transfer"),
    PayoutMethod.WALLET: _l("Mobile wallet"),
    StallPayment.CASH: _l("Cash"),
    StallPayment.QR: _l("QR code"),
}


class LedgerEntry(SQLModel, table=True):
    """One line in the books, never changed once written. `maker_id` is None for the
    platform's own entries (commission). `entry_key` is unique, so writing the same
    credit twice (a replayed payment event) fails instead of counting money twice."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        # Balances are sums of every entry: the total reads this narrow index alone
        # (PostgreSQL also deduplicates its repeated keys).
        sa.Index("ix_ledger_maker_amount", "maker_id", "amount"),
        # A maker's month: income sums and the grouping by product and place read the
        # index alone, never the table.
        sa.Index("ix_ledger_maker_month", "maker_id", "occurred_at", "kind", "amount",
                 "product_id", "channel", "live_session_id", "sales_point_id", "quantity"),
        sa.Index("ix_ledger_maker_available", "maker_id", "available_at", "amount"),
        sa.Index("ix_ledger_workshop_occurred", "workshop_id", "occurred_at"),
        sa.Index("ix_ledger_occurred", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entry_key: str = Field(max_length=120, unique=True)
    maker_id: int | None = Field(default=None, foreign_key="user_account.id")
    kind: EntryKind = Field(sa_type=enum_type(EntryKind))
    amount: int
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    channel: Channel | None = Field(default=None, sa_type=enum_type(Channel))
    order_id: int | None = Field(default=None, foreign_key="shop_order.id", index=True)
    order_line_id: int | None = Field(default=None, foreign_key="order_line.id")
    refund_id: int | None = Field(default=None, foreign_key="refund.id")
    stall_sale_id: int | None = Field(default=None, foreign_key="stall_sale.id", index=True)
    sales_point_id: int | None = Field(default=None, foreign_key="sales_point.id")
    live_session_id: int | None = Field(default=None, foreign_key="live_session.id")
    payout_id: int | None = Field(default=None, foreign_key="payout.id")
    task_order_id: int | None = Field(default=None, foreign_key="task_order.id", index=True)
    product_id: int | None = Field(default=None, foreign_key="product.id", ondelete="SET NULL")
    workshop_id: int | None = Field(default=None, foreign_key="workshop.id")
    # The studio that sold the line for its makers' workshop: on every entry of such a
    # line (makers', platform's, studio's), so each party's part is a sum by it.
    studio_id: int | None = Field(default=None, foreign_key="workshop.id", index=True)
    quantity: int = 0
    description: str = Field(default="", max_length=200)
    reason: str | None = Field(default=None, max_length=300)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    available_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CommissionRule(SQLModel, table=True):
    """The platform's part in basis points (0 allowed): default, per workshop, per
    product; the most specific rule wins. `scope_key` is "default", "workshop:<id>" or
    "product:<id>"."""

    __tablename__ = "commission_rule"
    __table_args__ = (
        sa.CheckConstraint("rate_basis_points >= 0 AND rate_basis_points <= 10000",
                           name="ck_commission_rate"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope_key: str = Field(max_length=40, unique=True)
    workshop_id: int | None = Field(default=None, foreign_key="workshop.id")
    product_id: int | None = Field(default=None, foreign_key="product.id", ondelete="CASCADE")
    rate_basis_points: int
    updated_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StudioCommission(SQLModel, table=True):
    """The part a creative studio keeps of what it sells for other workshops, in basis
    points of what is left after the platform's fee; set by operators only."""

    __tablename__ = "studio_commission"
    __table_args__ = (
        sa.CheckConstraint("rate_basis_points >= 0 AND rate_basis_points <= 10000",
                           name="ck_studio_commission_rate"),
    )

    studio_id: int = Field(foreign_key="workshop.id", primary_key=True, ondelete="CASCADE")
    rate_basis_points: int
    updated_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PayoutBatch(SQLModel, table=True):
    """A month's payouts, exported for the bank and marked paid all at once."""

    __tablename__ = "payout_batch"

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7, index=True)
    status: PayoutStatus = Field(default=PayoutStatus.PENDING, sa_type=enum_type(PayoutStatus))
    created_by_id: int = Field(foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    paid_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reference: str | None = Field(default=None, max_length=100)


class Payout(SQLModel, table=True):
    """Money sent to a maker; booked as a ledger debit when paid."""

    __tablename__ = "payout"
    __table_args__ = (sa.CheckConstraint("amount > 0", name="ck_payout_amount_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    maker_id: int = Field(foreign_key="user_account.id", index=True)
    batch_id: int | None = Field(default=None, foreign_key="payout_batch.id", index=True)
    amount: int
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    method: PayoutMethod = Field(sa_type=enum_type(PayoutMethod))
    reference: str | None = Field(default=None, max_length=100)
    status: PayoutStatus = Field(default=PayoutStatus.PENDING, sa_type=enum_type(PayoutStatus))
    created_by_id: int = Field(foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    paid_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


WEEKDAYS = "1234567"  # ISO weekdays, Monday first


class SalesPoint(SQLModel, table=True):
    """A stall: a metro-cart station, a museum counter, the studio. A stall marked as a
    pick-up point is offered at checkout; an order keeps its `slug` and name as they were.
    """

    __tablename__ = "sales_point"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True)
    name: str = Field(max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    place: str | None = Field(default=None, max_length=200)
    district: str | None = Field(default=None, max_length=40)
    # ISO weekdays it opens on ("1234567" every day, "23456" Tuesday to Saturday).
    opening_days: str = Field(default=WEEKDAYS, max_length=7)
    opens_at: str | None = Field(default=None, max_length=5)    # "10:00", local time
    closes_at: str | None = Field(default=None, max_length=5)
    is_pickup_point: bool = False
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SalesPointMember(SQLModel, table=True):
    """Someone who runs a stall's till; they see only their own stall."""

    __tablename__ = "sales_point_member"
    __table_args__ = (sa.UniqueConstraint("sales_point_id", "user_id",
                                          name="uq_sales_point_member"),)

    id: int | None = Field(default=None, primary_key=True)
    sales_point_id: int = Field(foreign_key="sales_point.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")


class StallSale(SQLModel, table=True):
    """An in-person sale at a stall, paid there by cash or QR code."""

    __tablename__ = "stall_sale"
    __table_args__ = (sa.Index("ix_stall_sale_point_day", "sales_point_id", "business_day"),)

    id: int | None = Field(default=None, primary_key=True)
    sales_point_id: int = Field(foreign_key="sales_point.id", index=True)
    idempotency_key: str = Field(max_length=64, unique=True)
    payment_method: StallPayment = Field(sa_type=enum_type(StallPayment))
    total_amount: int
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    created_by_id: int = Field(foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # The stall's day (Asia/Shanghai) the sale belongs to, as the till recorded it.
    business_day: date | None = Field(default=None)


class StallDayClose(SQLModel, table=True):
    """A stall's closed day: what the till recorded, the cash counted, the difference.

    One per stall and day (unique), so two people closing at once cannot both succeed;
    once a day is closed the till takes no more sales that day."""

    __tablename__ = "stall_day_close"
    __table_args__ = (
        sa.UniqueConstraint("sales_point_id", "business_day", name="uq_stall_day_close"),
        sa.CheckConstraint("cash_counted_amount >= 0", name="ck_stall_day_cash_counted"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sales_point_id: int = Field(foreign_key="sales_point.id", index=True)
    business_day: date
    sales_count: int
    total_amount: int
    cash_recorded_amount: int
    other_recorded_amount: int
    cash_counted_amount: int
    difference_amount: int  # counted - recorded: above 0 over, below 0 short
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    note: str = Field(default="", max_length=300)
    closed_by_id: int = Field(foreign_key="user_account.id")
    closed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StallSaleLine(SQLModel, table=True):
    """What was sold at the stall, as it was then."""

    __tablename__ = "stall_sale_line"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="ck_stall_line_quantity"),)

    id: int | None = Field(default=None, primary_key=True)
    sale_id: int = Field(foreign_key="stall_sale.id", index=True, ondelete="CASCADE")
    product_id: int | None = Field(default=None, foreign_key="product.id", ondelete="SET NULL")
    variant_id: int | None = Field(default=None, foreign_key="product_variant.id",
                                   ondelete="SET NULL")
    workshop_id: int = Field(foreign_key="workshop.id")
    product_name: str = Field(max_length=120)
    sku: str = Field(max_length=64)
    unit_price_amount: int
    quantity: int
    line_total_amount: int


class MonthlyStatement(SQLModel, table=True):
    """A maker's month as the scheduled job saw it: opening, earned, paid out, closing.

    A record of what the maker was told, never a starting point for a balance: balances
    are always summed from the entries themselves."""

    __tablename__ = "monthly_statement"
    __table_args__ = (sa.UniqueConstraint("maker_id", "month", name="uq_monthly_statement"),)

    id: int | None = Field(default=None, primary_key=True)
    maker_id: int = Field(foreign_key="user_account.id", index=True)
    month: str = Field(max_length=7)
    opening_amount: int
    earned_amount: int
    paid_out_amount: int
    closing_amount: int
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
