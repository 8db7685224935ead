"""Order money state: paid (only from a verified event), failed, expired, cancelled.

Every change is a conditional update that moves forward only, so a replayed, late or
reordered event, or the hold-expiry job racing a payment, never counts money twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlmodel import Session, select

from catalog import made_to_order
from catalog.models import Product, ProductVariant
from core.db import utcnow
from income import ledger
from shop import mails
from shop.history import record_change
from shop.models import (
    DownloadGrant,
    FulfilmentStatus,
    HoldStatus,
    OfflineMethod,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentRecordStatus,
    PaymentStatus,
    ProviderName,
    StockHold,
)

DOWNLOAD_DAYS = 30
MAX_DOWNLOADS = 5


def _update(session: Session, statement) -> int:
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount


def stripe_payment(session: Session, intent_id: str) -> Payment | None:
    """The payment a Stripe PaymentIntent belongs to, if it is ours."""
    return session.exec(select(Payment).where(
        Payment.provider == ProviderName.STRIPE,
        Payment.provider_reference == intent_id)).first()


def mark_paid(*, session: Session, payment: Payment, amount: int, currency: str,
              by_user_id: int | None = None, by_system: str | None = None,
              method: OfflineMethod | None = None, reference: str | None = None) -> bool:
    """Record that `payment` succeeded for its full amount; False if it already had.

    `method` and `reference`: how an offline payment came, as the operator saw it."""
    if amount != payment.amount or currency.upper() != payment.currency.upper():
        raise ValueError("paid amount does not match the payment")
    now = utcnow()
    moved = _update(session, sa.update(Payment).where(
        Payment.id == payment.id,
        # A cancelled record can still succeed: the money came after the hold expired.
        Payment.status.in_([PaymentRecordStatus.PENDING, PaymentRecordStatus.FAILED,
                            PaymentRecordStatus.CANCELLED]),
    ).values(status=PaymentRecordStatus.SUCCEEDED, succeeded_at=now,
             confirmed_by_id=by_user_id, failure_message=None,
             **({"received_method": method, "received_reference": reference or None}
                if method else {})))
    if moved != 1:
        return False
    order = session.get(Order, payment.order_id)
    session.refresh(order)
    if order.total_amount != amount:
        raise ValueError("payment amount differs from the order total")
    was_open = _update(session, sa.update(Order).where(
        Order.id == order.id, Order.payment_status == PaymentStatus.PENDING,
        Order.status == OrderStatus.OPEN,
    ).values(payment_status=PaymentStatus.PAID, paid_amount=amount, paid_at=now)) == 1
    note = None
    if not was_open and order.payment_status != PaymentStatus.NOT_PAID:
        note = "Paid twice: refund this payment."
        _update(session, sa.update(Order).where(Order.id == order.id)
                .values(needs_attention=note))
        record_change(session, order, "payment", order.payment_status.value,
                      order.payment_status.value, by_user_id=by_user_id,
                      by_system=by_system, note=note)
        return True
    if not was_open:
        # Paid after the hold expired or the order was cancelled: take the stock again
        # if it is still there; otherwise keep the money on record for a refund.
        note = _take_back_released_stock(session, order)
        _update(session, sa.update(Order).where(Order.id == order.id).values(
            payment_status=PaymentStatus.PAID, paid_amount=amount, paid_at=now,
            status=OrderStatus.OPEN if note is None else order.status,
            needs_attention=note))
        if note is not None:
            # No sale: the goods went to another buyer. Nothing is credited, sold or
            # mailed; the money is the buyer's until it is given back (a card payment
            # at once, by shop.reconciliation; an offline one by an operator).
            session.refresh(order)
            record_change(session, order, "payment", PaymentStatus.NOT_PAID.value,
                          PaymentStatus.PAID.value, by_user_id=by_user_id,
                          by_system=by_system, note=note)
            session.flush()
            return True
    _update(session, sa.update(StockHold).where(
        StockHold.order_id == order.id, StockHold.status == HoldStatus.HELD,
    ).values(status=HoldStatus.SOLD, closed_at=now))
    session.refresh(order)
    record_change(session, order, "payment", PaymentStatus.PENDING.value,
                  PaymentStatus.PAID.value, by_user_id=by_user_id, by_system=by_system,
                  note=note)
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    for line in lines:
        if line.product_id is not None:
            _update(session, sa.update(Product).where(Product.id == line.product_id)
                    .values(units_sold=Product.units_sold + line.quantity))
        if line.is_digital:
            session.add(DownloadGrant(order_line_id=line.id, max_downloads=MAX_DOWNLOADS,
                                      expires_at=now + timedelta(days=DOWNLOAD_DAYS)))
    if lines and all(line.is_digital for line in lines):
        set_fulfilment(session=session, order=order, to=FulfilmentStatus.DELIVERED,
                       by_system=by_system or "payment", notify=False)
    session.flush()
    ledger.credit_paid_order(session=session, order=order)
    mails.order_paid(session=session, order=order, after_cancel=not was_open)
    return True


def _take_back_released_stock(session: Session, order: Order) -> str | None:
    """Take again the stock (and made-to-order capacity) of an order paid after its
    holds were released; a note for the operator when it has gone meanwhile."""
    released = sorted(session.exec(select(StockHold).where(
        StockHold.order_id == order.id, StockHold.status == HoldStatus.RELEASED)).all(),
        key=lambda h: h.variant_id)
    taken, made = [], []
    for hold in released:  # every variant row first, then the weeks, as a checkout does
        from_stock = hold.quantity - hold.made_to_order_quantity
        if _update(session, sa.update(ProductVariant).where(
                ProductVariant.id == hold.variant_id, ProductVariant.stock >= from_stock,
        ).values(stock=ProductVariant.stock - from_stock)) != 1:
            break
        taken.append(hold)
    if len(taken) == len(released):
        for hold in sorted((h for h in released if h.made_to_order_quantity),
                           key=lambda h: _product_of(session, h.variant_id)):
            if not made_to_order.retake_capacity(
                    session=session, product_id=_product_of(session, hold.variant_id),
                    week=hold.made_in_week, units=hold.made_to_order_quantity):
                break
            made.append(hold)
    if len(taken) < len(released) or len(made) < sum(
            1 for h in released if h.made_to_order_quantity):
        for back in taken:  # give back what was retaken: the order stays cancelled
            _update(session, sa.update(ProductVariant).where(
                ProductVariant.id == back.variant_id,
            ).values(stock=ProductVariant.stock + back.quantity - back.made_to_order_quantity))
        _give_back_capacity(session, made)
        return "Paid after the order was cancelled and the stock has gone: refund it."
    for hold in taken:
        hold.status = HoldStatus.HELD
        session.add(hold)
    session.flush()
    return None


def mark_failed(*, session: Session, payment: Payment, message: str | None) -> bool:
    """A declined card: the payment is failed, the order stays payable until it expires."""
    return _update(session, sa.update(Payment).where(
        Payment.id == payment.id, Payment.status == PaymentRecordStatus.PENDING,
    ).values(status=PaymentRecordStatus.FAILED, failure_message=(message or "")[:300])) == 1


def cancel_unpaid(*, session: Session, order: Order, by_user_id: int | None = None,
                  by_system: str | None = None, note: str | None = None) -> bool:
    """Cancel an order nobody has paid and give its held stock back; False if too late."""
    now = utcnow()
    moved = _update(session, sa.update(Order).where(
        Order.id == order.id, Order.status == OrderStatus.OPEN,
        Order.payment_status == PaymentStatus.PENDING,
    ).values(status=OrderStatus.CANCELLED, payment_status=PaymentStatus.NOT_PAID))
    if moved != 1:
        return False
    give_back_live_price_units(session=session, order=order, now=now)
    release_holds(session=session, order_id=order.id, now=now)
    _update(session, sa.update(Payment).where(
        Payment.order_id == order.id,
        Payment.status.in_([PaymentRecordStatus.PENDING, PaymentRecordStatus.FAILED]),
    ).values(status=PaymentRecordStatus.CANCELLED))
    session.refresh(order)
    record_change(session, order, "order", OrderStatus.OPEN.value, OrderStatus.CANCELLED.value,
                  by_user_id=by_user_id, by_system=by_system, note=note)
    session.flush()
    mails.order_cancelled(session=session, order=order)
    return True


def give_back_live_price_units(*, session: Session, order: Order, now: datetime,
                               quantities: dict[int, int] | None = None) -> None:
    """Units of the order's lines sold at a live price go back to its count while its
    countdown still runs (`quantities`: line id -> units; all of each line by default).
    Called before the stock is touched, the order every checkout locks them in."""
    from livestream import live_prices

    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id,
                                                 OrderLine.live_price_id.is_not(None))
                         .order_by(OrderLine.live_price_id)).all()
    if not lines:
        return
    keys = live_prices.buyer_keys(user_id=order.user_id, email=order.email, phone=order.phone)
    for line in lines:
        units = line.quantity if quantities is None else quantities.get(line.id, 0)
        if units > 0:
            live_prices.give_back_units(session=session, price_id=line.live_price_id,
                                        quantity=units, keys=keys, now=now)


def release_holds(*, session: Session, order_id: int, now: datetime) -> int:
    """Give back the stock of every hold still held, and the made-to-order units to
    their week's capacity; each hold only once."""
    given, made = 0, []
    holds = session.exec(select(StockHold).where(
        StockHold.order_id == order_id, StockHold.status == HoldStatus.HELD)
        .order_by(StockHold.variant_id)).all()
    for hold in holds:
        if _update(session, sa.update(StockHold).where(
                StockHold.id == hold.id, StockHold.status == HoldStatus.HELD,
        ).values(status=HoldStatus.RELEASED, closed_at=now)) == 1:
            from_stock = hold.quantity - hold.made_to_order_quantity
            if from_stock:
                _update(session, sa.update(ProductVariant).where(
                    ProductVariant.id == hold.variant_id,
                ).values(stock=ProductVariant.stock + from_stock))
            if hold.made_to_order_quantity:
                made.append(hold)
            given += hold.quantity
    _give_back_capacity(session, made)
    return given


def _product_of(session: Session, variant_id: int) -> int:
    return session.execute(sa.select(ProductVariant.product_id).where(
        ProductVariant.id == variant_id)).scalar_one()


def _give_back_capacity(session: Session, holds: list[StockHold]) -> None:
    """The made-to-order units of `holds` back to their weeks, after every variant row
    and in product-id order (the order a checkout locks them in)."""
    by_week: dict[tuple[int, object], int] = {}
    for hold in holds:
        key = (_product_of(session, hold.variant_id), hold.made_in_week)
        by_week[key] = by_week.get(key, 0) + hold.made_to_order_quantity
    give_back_weeks(session, by_week)


def give_back_weeks(session: Session, by_week: dict[tuple[int, object], int]) -> None:
    """Made-to-order units back to their weeks' capacity ({(product id, week): units}),
    in product-id order (the order a checkout locks them in), after every variant row."""
    for (product_id, week), units in sorted(by_week.items()):
        made_to_order.give_back_capacity(session=session, product_id=product_id, week=week,
                                         units=units)


def expired_order_ids(session: Session, now: datetime, limit: int = 200) -> list[int]:
    """Orders whose hold ran out unpaid."""
    return list(session.exec(select(Order.id).where(
        Order.status == OrderStatus.OPEN, Order.payment_status == PaymentStatus.PENDING,
        Order.hold_expires_at < now).order_by(Order.id).limit(limit)).all())


def set_fulfilment(*, session: Session, order: Order, to: FulfilmentStatus,
                   by_user_id: int | None = None, by_system: str | None = None,
                   tracking_number: str | None = None, notify: bool = True) -> bool:
    """Move fulfilment forward (shipped, picked up, delivered) once the order is paid."""
    from flask_babel import gettext as _

    from core.errors import Conflict

    session.refresh(order)
    if order.payment_status not in (PaymentStatus.PAID, PaymentStatus.PARTLY_REFUNDED):
        raise Conflict(_("This order is not paid yet."))
    if order.status != OrderStatus.OPEN:
        raise Conflict(_("This order is closed."))
    values = {"fulfilment_status": to}
    if to != FulfilmentStatus.DELIVERED:
        values["status"] = OrderStatus.COMPLETED
    if tracking_number:
        values["tracking_number"] = tracking_number
    moved = _update(session, sa.update(Order).where(
        Order.id == order.id, Order.fulfilment_status == FulfilmentStatus.UNFULFILLED,
    ).values(**values))
    if moved != 1:
        return False
    session.refresh(order)
    record_change(session, order, "fulfilment", FulfilmentStatus.UNFULFILLED.value, to.value,
                  by_user_id=by_user_id, by_system=by_system, note=tracking_number)
    session.flush()
    if notify:
        mails.order_fulfilled(session=session, order=order)
    return True


def hold_minutes(provider: ProviderName = ProviderName.STRIPE) -> int:
    """Minutes an unpaid order keeps its stock: a card is paid on the spot (HOLD_MINUTES);
    money at pick-up or by bank transfer takes days to arrive (OFFLINE_HOLD_HOURS)."""
    if provider == ProviderName.OFFLINE:
        return int(current_app.config["OFFLINE_HOLD_HOURS"]) * 60
    return int(current_app.config["HOLD_MINUTES"])
