"""Refunds: full or partial, through the provider or recorded; never more than paid.

Goods put back: units from stock go back to stock. Units of a made-to-order line that
were not made yet (its made-to-order part, while the order has not gone out) are put
back first, as a workshop would simply not make them: they give their room back to the
week they were booked in, if that week has not passed, and never add stock.

The guard is the database's: `refunded_amount + :amount <= paid_amount` in the update
that books the refund (and a CHECK constraint behind it), so two operators pressing
"refund" at once cannot give back more than came in. localstripe would allow an
over-refund, so the app must not lean on the provider for this.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, select

from catalog import made_to_order
from catalog.models import ProductVariant
from core.db import utcnow
from core.errors import Conflict, DomainError
from core.money import Money
from income import ledger
from shop import mails
from shop.history import record_change
from shop.models import (
    DownloadGrant,
    FulfilmentStatus,
    Order,
    OrderLine,
    Payment,
    PaymentRecordStatus,
    PaymentStatus,
    Refund,
    StockHold,
)
from shop.payments import give_back_live_price_units, give_back_weeks
from shop.providers import get_provider


def _update(session: Session, statement) -> int:
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount


def refund_order(*, session: Session, order: Order, amount: int, reason: str,
                 restock: bool | Mapping[int, int], by_user_id: int) -> Refund:
    """Give back `amount` fen of what was paid, putting goods back in stock: `restock`
    is True (every unit not yet put back), False (none) or {line id: units}."""
    if not isinstance(amount, int) or amount <= 0:
        raise DomainError(_("Refund amount must be more than ¥0.00"))
    if not isinstance(restock, bool):
        restock = _checked_restock(session, order, restock)
    payment = paid_payment(session, order)
    if payment is None:
        raise Conflict(_("This order has not been paid, so there is nothing to refund."))
    refund = book_refund(session=session, order=order, payment=payment, amount=amount,
                         reason=reason, restock=restock, by_user_id=by_user_id)
    if refund is None:
        session.refresh(order)
        raise Conflict(_("You can refund at most %(amount)s on this order.",
                         amount=Money(order.paid_amount - order.refunded_amount,
                                      order.currency).format()))
    # The provider is asked last, once every guard above has passed; if it says no,
    # the whole transaction rolls back and nothing is booked. The order's row stays
    # locked by the booking until the commit, so the provider's own event about this
    # refund (which may arrive first) waits for it and then finds it booked.
    provider = get_provider(payment.provider)
    refund.provider_refund_id = provider.refund(
        payment=payment, amount=amount, refund_key=f"gf-refund-{order.public_token}-{refund.id}")
    session.add(refund)
    session.flush()
    return refund


def paid_payment(session: Session, order: Order) -> Payment | None:
    """The payment that brought the order's money in, if it succeeded."""
    return session.exec(select(Payment).where(
        Payment.order_id == order.id, Payment.status == PaymentRecordStatus.SUCCEEDED)
        .order_by(Payment.id)).first()


def book_refund(*, session: Session, order: Order, payment: Payment, amount: int, reason: str,
                restock: bool | Mapping[int, int], by_user_id: int | None = None,
                by_system: str | None = None,
                provider_refund_id: str | None = None) -> Refund | None:
    """Book a refund: the order's refunded amount, its status, the history, the ledger's
    reversing entries and the buyer's mail. None (nothing written) if it would give back
    more than is left of what was paid. `restock` as for `refund_order`; Conflict if a
    line has fewer units left to put back than asked (another refund put them back)."""
    booked = _update(session, sa.update(Order).where(
        Order.id == order.id, Order.refunded_amount + amount <= Order.paid_amount,
    ).values(refunded_amount=Order.refunded_amount + amount))
    if booked != 1:
        return None
    session.refresh(order)
    previous = order.payment_status
    full = order.refunded_amount == order.paid_amount
    order.payment_status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTLY_REFUNDED
    session.add(order)
    refund = Refund(order_id=order.id, payment_id=payment.id, amount=amount,
                    currency=order.currency, reason=reason[:300], restocked=bool(restock),
                    created_by_id=by_user_id, provider_refund_id=provider_refund_id)
    session.add(refund)
    session.flush()
    if restock is True:
        _restock_remaining(session, order)
    elif restock:
        _restock_lines(session, order, restock)
    if full:
        line_ids = select(OrderLine.id).where(OrderLine.order_id == order.id)
        _update(session, sa.update(DownloadGrant).where(
            DownloadGrant.order_line_id.in_(line_ids)).values(revoked=True))
    record_change(session, order, "payment", previous.value, order.payment_status.value,
                  by_user_id=by_user_id, by_system=by_system,
                  note=f"{Money(amount, order.currency).format('en')} {reason}"[:300])
    session.flush()
    ledger.reverse_refund(session=session, refund=refund)
    mails.order_refunded(session=session, order=order, amount=amount)
    return refund


def unbook_failed_refund(*, session: Session, refund: Refund, by_system: str) -> bool:
    """The provider says a booked refund failed: the money stayed with us. Count it no
    more, put its ledger entries back, and ask an operator to look; False if done already."""
    now = utcnow()
    if _update(session, sa.update(Refund).where(
            Refund.id == refund.id, Refund.failed_at.is_(None)).values(failed_at=now)) != 1:
        return False
    order = session.get(Order, refund.order_id)
    _update(session, sa.update(Order).where(Order.id == order.id).values(
        refunded_amount=Order.refunded_amount - refund.amount,
        needs_attention="A card refund failed at Stripe: the money was not given back."))
    session.refresh(order)
    previous = order.payment_status
    order.payment_status = (PaymentStatus.PAID if order.refunded_amount == 0
                            else PaymentStatus.PARTLY_REFUNDED)
    session.add(order)
    if previous == PaymentStatus.REFUNDED:
        line_ids = select(OrderLine.id).where(OrderLine.order_id == order.id)
        _update(session, sa.update(DownloadGrant).where(
            DownloadGrant.order_line_id.in_(line_ids)).values(revoked=False))
    amount = Money(refund.amount, refund.currency).format("en")
    record_change(session, order, "payment", previous.value, order.payment_status.value,
                  by_system=by_system, note=f"refund of {amount} failed at the provider")
    session.flush()
    ledger.restore_failed_refund(session=session, refund=refund)
    return True


def _restock_remaining(session: Session, order: Order) -> None:
    """Put back every unit not yet put back, each line at most once per unit (and to a
    live price's count while it runs)."""
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)
                         .order_by(OrderLine.variant_id)
                         .execution_options(populate_existing=True)).all()
    give_back_live_price_units(session=session, order=order, now=utcnow(), quantities={
        line.id: line.quantity - line.refunded_quantity for line in lines if restockable(line)})
    weeks: dict[tuple[int, object], int] = {}
    for line in lines:
        remaining = line.quantity - line.refunded_quantity
        if remaining <= 0 or not restockable(line):
            continue
        if _update(session, sa.update(OrderLine).where(
                OrderLine.id == line.id, OrderLine.refunded_quantity == line.refunded_quantity,
        ).values(refunded_quantity=line.quantity)) == 1:
            _put_back(session, order, line, before=line.refunded_quantity, units=remaining,
                      weeks=weeks)
    give_back_weeks(session, weeks)


def _put_back(session: Session, order: Order, line: OrderLine, *, before: int, units: int,
              weeks: dict[tuple[int, object], int]) -> None:
    """Put back `units` of a line whose first `before` units were put back already: the
    unmade ones (its made-to-order part, counted first) to their week in `weeks`, given
    back once every variant row is done; the rest to the variant's stock."""
    unmade = 0
    if line.made_to_order_quantity and order.fulfilment_status == FulfilmentStatus.UNFULFILLED:
        unmade = max(0, min(before + units, line.made_to_order_quantity) - before)
    if units - unmade:
        _update(session, sa.update(ProductVariant).where(
            ProductVariant.id == line.variant_id,
        ).values(stock=ProductVariant.stock + units - unmade))
    if not unmade or line.product_id is None:
        return
    week = session.exec(select(StockHold.made_in_week).where(
        StockHold.order_id == order.id, StockHold.variant_id == line.variant_id)).first()
    if week is not None and week >= made_to_order.week_start(made_to_order.shop_today()):
        weeks[(line.product_id, week)] = weeks.get((line.product_id, week), 0) + unmade


def _already_put_back() -> str:
    """Why a refund is refused when another one put the same units back first."""
    return _("Some of these goods have already been put back in stock. "
             "Look at the order again.")


def restockable(line: OrderLine) -> bool:
    """Whether a line's units can go back on a shelf (not a download, variant still there)."""
    return line.variant_id is not None and not line.is_digital


def units_left_to_restock(line: OrderLine) -> int:
    """Units of a line not yet put back in stock (none for a download)."""
    return line.quantity - line.refunded_quantity if restockable(line) else 0


def _checked_restock(session: Session, order: Order,
                     quantities: Mapping[int, int]) -> dict[int, int]:
    """The units asked for, each a line of this order with that many left to put back."""
    lines = {line.id: line for line in session.exec(
        select(OrderLine).where(OrderLine.order_id == order.id)
        .execution_options(populate_existing=True)).all()}
    checked = {}
    for line_id, units in quantities.items():
        line = lines.get(line_id)
        if line is None or not isinstance(units, int) or isinstance(units, bool):
            raise DomainError(_("Choose only lines of this order to put back in stock"))
        if units < 0 or units > line.quantity or (units and not restockable(line)):
            raise DomainError(_("Enter a whole number from 0 to %(most)d",
                                most=units_left_to_restock(line)))
        if units > units_left_to_restock(line):  # another refund put them back meanwhile
            raise Conflict(_already_put_back())
        if units:
            checked[line_id] = units
    return checked


def _restock_lines(session: Session, order: Order, quantities: Mapping[int, int]) -> None:
    """Put back the units asked for of each line. The database decides: a line's count of
    units put back only grows while it stays within what was sold, so two refunds at once
    cannot put back one unit twice; the one that would is refused and rolled back."""
    lines = session.exec(select(OrderLine).where(OrderLine.id.in_(list(quantities)))
                         .order_by(OrderLine.variant_id, OrderLine.id)).all()
    give_back_live_price_units(session=session, order=order, now=utcnow(),
                               quantities=dict(quantities))
    weeks: dict[tuple[int, object], int] = {}
    for line in lines:
        units = quantities[line.id]
        if _update(session, sa.update(OrderLine).where(
                OrderLine.id == line.id,
                OrderLine.refunded_quantity + units <= OrderLine.quantity,
        ).values(refunded_quantity=OrderLine.refunded_quantity + units)) != 1:
            raise Conflict(_already_put_back())
        # Read after the update, which holds the line's row: the units put back before.
        after = session.execute(sa.select(OrderLine.refunded_quantity).where(
            OrderLine.id == line.id)).scalar_one()
        _put_back(session, order, line, before=after - units, units=units, weeks=weeks)
    give_back_weeks(session, weeks)
