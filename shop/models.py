"""Carts, orders and their lines, stock holds, payments, refunds and download grants."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime, enum_type, utcnow
from core.money import DEFAULT_CURRENCY, Money


class OrderStatus(enum.StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"
    COMPLETED = "completed"

    @property
    def label(self):
        return STATUS_LABELS[self]


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    PARTLY_REFUNDED = "partly_refunded"
    REFUNDED = "refunded"
    NOT_PAID = "not_paid"  # cancelled before any money came

    @property
    def label(self):
        return STATUS_LABELS[self]


class FulfilmentStatus(enum.StrEnum):
    UNFULFILLED = "unfulfilled"
    SHIPPED = "shipped"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"  # digital goods: the download is ready

    @property
    def label(self):
        return STATUS_LABELS[self]


class DeliveryMethod(enum.StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"
    DIGITAL = "digital"

    @property
    def label(self):
        return STATUS_LABELS[self]


class ProviderName(enum.StrEnum):
    OFFLINE = "offline"
    STRIPE = "stripe"

    @property
    def label(self):
        return STATUS_LABELS[self]


class PaymentRecordStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OfflineMethod(enum.StrEnum):
    """How an offline payment reached the shop, as the operator who saw it arrive records."""

    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    WALLET = "wallet"
    OTHER = "other"

    @property
    def label(self):
        return OFFLINE_METHOD_LABELS[self]


class HoldStatus(enum.StrEnum):
    HELD = "held"
    SOLD = "sold"
    RELEASED = "released"


STATUS_LABELS = {
    OrderStatus.OPEN: _l("In progress"),
    OrderStatus.CANCELLED: _l("Cancelled"),
    OrderStatus.COMPLETED: _l("Completed"),
    PaymentStatus.PENDING: _l("Waiting for payment"),
    PaymentStatus.PAID: _l("Paid"),
    PaymentStatus.PARTLY_REFUNDED: _l("Partly refunded"),
    PaymentStatus.REFUNDED: _l("Refunded"),
    PaymentStatus.NOT_PAID: _l("Not paid"),
    FulfilmentStatus.UNFULFILLED: _l("Not sent yet"),
    FulfilmentStatus.SHIPPED: _l("Shipped"),
    FulfilmentStatus.PICKED_UP: _l("Picked up"),
    FulfilmentStatus.DELIVERED: _l("Ready to download"),
    DeliveryMethod.DELIVERY: _l("Delivery to an address"),
    DeliveryMethod.PICKUP: _l("Pick up at a sales point"),
    DeliveryMethod.DIGITAL: _l("Download"),
    ProviderName.OFFLINE: _l("Pay at pick-up or by bank transfer"),
    ProviderName.STRIPE: _l("Pay by card"),
}
# Apart from STATUS_LABELS: a StrEnum member is equal to its value, so "cash" or "other"
# here could meet another status of the same name there.
OFFLINE_METHOD_LABELS = {
    OfflineMethod.BANK_TRANSFER: _l("Bank transfer"),
    OfflineMethod.CASH: _l("Cash at the sales point"),
    OfflineMethod.WALLET: _l("Mobile wallet (WeChat Pay, Alipay)"),
    OfflineMethod.OTHER: _l("Another way"),
}


class CartItem(SQLModel, table=True):
    """A line in a signed-in shopper's cart (guests keep theirs in the session)."""

    __tablename__ = "cart_item"
    __table_args__ = (sa.UniqueConstraint("user_id", "variant_id", name="uq_cart_item"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    variant_id: int = Field(foreign_key="product_variant.id", ondelete="CASCADE")
    quantity: int
    live_session_id: int | None = Field(default=None, foreign_key="live_session.id")
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Order(SQLModel, table=True):
    """An order: who, where to, how much; order, payment and fulfilment status apart."""

    __tablename__ = "shop_order"
    __table_args__ = (
        sa.CheckConstraint("refunded_amount >= 0 AND refunded_amount <= paid_amount",
                           name="ck_order_refund_not_over_paid"),
        sa.CheckConstraint("paid_amount >= 0 AND paid_amount <= total_amount",
                           name="ck_order_paid_not_over_total"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    public_token: str = Field(max_length=64, unique=True)
    user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    locale: str = Field(default="zh_Hans_CN", max_length=12)
    contact_name: str = Field(max_length=60)
    email: str = Field(max_length=320)
    phone: str | None = Field(default=None, max_length=20)
    delivery_method: DeliveryMethod = Field(sa_type=enum_type(DeliveryMethod))
    province: str | None = Field(default=None, max_length=30)
    city: str | None = Field(default=None, max_length=30)
    district: str | None = Field(default=None, max_length=30)
    street: str | None = Field(default=None, max_length=200)
    pickup_point: str | None = Field(default=None, max_length=60)
    pickup_point_name: str | None = Field(default=None, max_length=100)
    status: OrderStatus = Field(default=OrderStatus.OPEN, sa_type=enum_type(OrderStatus),
                                index=True)
    payment_status: PaymentStatus = Field(default=PaymentStatus.PENDING,
                                          sa_type=enum_type(PaymentStatus), index=True)
    fulfilment_status: FulfilmentStatus = Field(default=FulfilmentStatus.UNFULFILLED,
                                                sa_type=enum_type(FulfilmentStatus))
    payment_provider: ProviderName = Field(sa_type=enum_type(ProviderName))
    total_amount: int
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    paid_amount: int = 0
    refunded_amount: int = 0
    tracking_number: str | None = Field(default=None, max_length=60)
    hold_expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    needs_attention: str | None = Field(default=None, max_length=200)

    @property
    def total(self) -> Money:
        return Money(self.total_amount, self.currency)

    @property
    def refundable(self) -> Money:
        return Money(self.paid_amount - self.refunded_amount, self.currency)


class OrderIdempotencyKey(SQLModel, table=True):
    """The key a checkout sends with "place order": one key, one order."""

    __tablename__ = "order_idempotency_key"

    key: str = Field(primary_key=True, max_length=64)
    order_id: int | None = Field(default=None, foreign_key="shop_order.id", ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OrderLine(SQLModel, table=True):
    """What was bought, as it was at the time: name, SKU, unit price, makers, session."""

    __tablename__ = "order_line"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="ck_order_line_quantity"),
        sa.CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= quantity",
                           name="ck_order_line_refunded_quantity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True, ondelete="CASCADE")
    product_id: int | None = Field(default=None, foreign_key="product.id", index=True,
                                   ondelete="SET NULL")
    variant_id: int | None = Field(default=None, foreign_key="product_variant.id",
                                   ondelete="SET NULL")
    workshop_id: int = Field(foreign_key="workshop.id", index=True)
    live_session_id: int | None = Field(default=None, foreign_key="live_session.id",
                                        index=True)
    live_price_id: int | None = Field(default=None, foreign_key="live_price.id", index=True)
    product_name: str = Field(max_length=120)
    product_name_en: str | None = Field(default=None, max_length=120)
    variant_name: str = Field(default="", max_length=60)
    variant_name_en: str | None = Field(default=None, max_length=60)
    sku: str = Field(max_length=64)
    is_digital: bool = False
    unit_price_amount: int
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    quantity: int
    line_total_amount: int
    refunded_quantity: int = 0
    # Units of the line to be made (beyond stock), the lead time then and the day they
    # are expected to ship (the shop's zone); 0 and None for goods from stock.
    made_to_order_quantity: int = 0
    lead_time_days: int | None = None
    ships_on: date | None = None

    @property
    def unit_price(self) -> Money:
        return Money(self.unit_price_amount, self.currency)

    @property
    def line_total(self) -> Money:
        return Money(self.line_total_amount, self.currency)


class OrderLineMaker(SQLModel, table=True):
    """A maker's share of a line, copied from the product when the order was placed,
    so the ledger credits the people who made it even if the product changes later."""

    __tablename__ = "order_line_maker"
    __table_args__ = (
        sa.UniqueConstraint("order_line_id", "maker_id", name="uq_order_line_maker"),
        sa.CheckConstraint("share_basis_points > 0 AND share_basis_points <= 10000",
                           name="ck_order_line_maker_share"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_line_id: int = Field(foreign_key="order_line.id", index=True, ondelete="CASCADE")
    maker_id: int = Field(foreign_key="user_account.id", index=True)
    share_basis_points: int


class StockHold(SQLModel, table=True):
    """Stock (and made-to-order capacity) taken for an unpaid order; given back if the
    order is not paid in time."""

    __tablename__ = "stock_hold"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "variant_id", name="uq_stock_hold"),
        sa.CheckConstraint("quantity > 0", name="ck_stock_hold_quantity"),
        sa.CheckConstraint("made_to_order_quantity >= 0 AND made_to_order_quantity <= quantity",
                           name="ck_stock_hold_made_to_order"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True, ondelete="CASCADE")
    variant_id: int = Field(foreign_key="product_variant.id", index=True)
    quantity: int
    status: HoldStatus = Field(default=HoldStatus.HELD, sa_type=enum_type(HoldStatus),
                               index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Of `quantity`, the units to be made: taken from the product's capacity in the
    # week starting `made_in_week`, not from stock, and given back there on release.
    made_to_order_quantity: int = 0
    made_in_week: date | None = None


class Payment(SQLModel, table=True):
    """One attempt to be paid for an order, through one provider."""

    __tablename__ = "payment"
    __table_args__ = (
        sa.UniqueConstraint("provider", "provider_reference", name="uq_payment_reference"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True, ondelete="CASCADE")
    provider: ProviderName = Field(sa_type=enum_type(ProviderName))
    provider_reference: str | None = Field(default=None, max_length=100)
    amount: int
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    status: PaymentRecordStatus = Field(default=PaymentRecordStatus.PENDING,
                                        sa_type=enum_type(PaymentRecordStatus))
    failure_message: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    succeeded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    # An offline payment: how it came and its reference (a bank's transaction number),
    # as the operator who marked it paid recorded them.
    received_method: OfflineMethod | None = Field(default=None,
                                                  sa_type=enum_type(OfflineMethod))
    received_reference: str | None = Field(default=None, max_length=100)


class PaymentEvent(SQLModel, table=True):
    """An event from a provider, stored once (append-only), as it arrived."""

    __tablename__ = "payment_event"
    __table_args__ = (
        sa.UniqueConstraint("provider", "provider_event_id", name="uq_payment_event"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: ProviderName = Field(sa_type=enum_type(ProviderName))
    provider_event_id: str = Field(max_length=100)
    event_type: str = Field(max_length=80)
    object_reference: str | None = Field(default=None, max_length=100, index=True)
    payload: str = Field(sa_type=sa.Text)
    outcome: str = Field(default="", max_length=200)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OrderStatusChange(SQLModel, table=True):
    """Who changed which status of an order, from what to what, and when."""

    __tablename__ = "order_status_change"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=20)  # order, payment, fulfilment
    from_value: str | None = Field(default=None, max_length=30)
    to_value: str = Field(max_length=30)
    by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    by_system: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=300)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Refund(SQLModel, table=True):
    """Money given back, through the provider or recorded for an offline payment."""

    __tablename__ = "refund"
    __table_args__ = (sa.CheckConstraint("amount > 0", name="ck_refund_amount_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="shop_order.id", index=True, ondelete="CASCADE")
    payment_id: int = Field(foreign_key="payment.id", index=True)
    amount: int
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    reason: str = Field(default="", max_length=300)
    restocked: bool = False
    provider_refund_id: str | None = Field(default=None, max_length=100, unique=True)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set when the provider reports that the money did not go back after all (a card
    # refund can fail days later): the refund no longer counts and is booked back.
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DownloadGrant(SQLModel, table=True):
    """A paid digital line's download link: expires, and works a limited number of times."""

    __tablename__ = "download_grant"
    __table_args__ = (
        sa.CheckConstraint("download_count <= max_downloads", name="ck_download_grant_count"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_line_id: int = Field(foreign_key="order_line.id", unique=True, ondelete="CASCADE")
    expires_at: datetime = Field(sa_type=UTCDateTime)
    max_downloads: int = 5
    download_count: int = 0
    revoked: bool = False


class BankTransferAccount(SQLModel, table=True):
    """The shop's account that buyers paying by bank transfer send money to (one row).

    Operators keep it (shop.bank_transfer); order pages and mails show it.
    """

    __tablename__ = "bank_transfer_account"

    id: int | None = Field(default=None, primary_key=True)
    account_name: str = Field(max_length=100)
    bank_name: str = Field(max_length=100)
    account_number: str = Field(max_length=40)
    note: str = Field(default="", max_length=300)
    updated_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
