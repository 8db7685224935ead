"""Refunds: full or partial, through the provider or recorded; never more than paid.

The guard is the database's: `refunded_amount + :amount <= paid_amount` in the update
that books the refund (and a CHECK constraint behind it), so two operators pressing
"refund" at once cannot give back more than came in. localstripe would allow an
over-refund, so the app must not lean on the provider for this.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, select

from catalog.models import ProductVariant
from core.errors import Conflict, DomainError
from core.money import Money
from shop import ledger, mails
from shop.history import record_change
from shop.models import (
    DownloadGrant,
    Order,
    OrderLine,
    Payment,
    PaymentRecordStatus,
    PaymentStatus,
    Refund,
)
from shop.providers import get_provider


def _update(session: Session, statement) -> int:
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount


def refund_order(*, session: Session, order: Order, amount: int, reason: str,
                 restock: bool, by_user_id: int) -> Refund:
    """Give back `amount` fen of what was paid, optionally putting the goods back."""
    if not isinstance(amount, int) or amount <= 0:
        raise DomainError(_("Refund amount must be more than ¥0.00"))
    payment = session.exec(select(Payment).where(
        Payment.order_id == order.id, Payment.status == PaymentRecordStatus.SUCCEEDED)
        .order_by(Payment.id)).first()
    if payment is None:
        raise Conflict(_("This order has not been paid, so there is nothing to refund."))
    booked = _update(session, sa.update(Order).where(
        Order.id == order.id, Order.refunded_amount + amount <= Order.paid_amount,
    ).values(refunded_amount=Order.refunded_amount + amount))
    if booked != 1:
        session.refresh(order)
        raise Conflict(_("You can refund at most %(amount)s on this order.",
                         amount=Money(order.paid_amount - order.refunded_amount,
                                      order.currency).format()))
    session.refresh(order)
    previous = order.payment_status
    full = order.refunded_amount == order.paid_amount
    order.payment_status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTLY_REFUNDED
    session.add(order)
    refund = Refund(order_id=order.id, payment_id=payment.id, amount=amount,
                    currency=order.currency, reason=reason[:300], restocked=restock,
                    created_by_id=by_user_id)
    session.add(refund)
    session.flush()
    if restock:
        _restock_remaining(session, order)
    if full:
        line_ids = select(OrderLine.id).where(OrderLine.order_id == order.id)
        _update(session, sa.update(DownloadGrant).where(
            DownloadGrant.order_line_id.in_(line_ids)).values(revoked=True))
    # The provider is asked last, once every guard above has passed; if it says no,
    # the whole transaction rolls back and nothing is booked.
    provider = get_provider(payment.provider)
    refund.provider_refund_id = provider.refund(
        payment=payment, amount=amount, refund_key=f"gf-refund-{order.public_token}-{refund.id}")
    session.add(refund)
    record_change(session, order, "payment", previous.value, order.payment_status.value,
                  by_user_id=by_user_id, note=f"{Money(amount, order.currency).format('en')} "
                  f"{reason}"[:300])
    session.flush()
    ledger.reverse_refund(session=session, refund=refund)
    mails.order_refunded(session=session, order=order, amount=amount)
    return refund


def _restock_remaining(session: Session, order: Order) -> None:
    """Put back every unit not yet put back, each line at most once per unit."""
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)
                         .order_by(OrderLine.variant_id)).all()
    for line in lines:
        remaining = line.quantity - line.refunded_quantity
        if remaining <= 0 or line.variant_id is None or line.is_digital:
            continue
        if _update(session, sa.update(OrderLine).where(
                OrderLine.id == line.id, OrderLine.refunded_quantity == line.refunded_quantity,
        ).values(refunded_quantity=line.quantity)) == 1:
            _update(session, sa.update(ProductVariant).where(
                ProductVariant.id == line.variant_id,
            ).values(stock=ProductVariant.stock + remaining))
