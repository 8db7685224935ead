"""Operators: every order, confirm offline payments, ship, hand over, cancel, refund."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from accounts.access import roles_required
from accounts.models import Role
from core.audit import record
from core.db import get_session
from core.errors import Conflict, NotFound
from core.forms import form_view
from core.i18n import format_money
from shop import payments, queries, refunds
from shop.forms import ConfirmForm, MarkPaidForm, RefundForm, ShipForm
from shop.models import (
    FulfilmentStatus,
    OfflineMethod,
    Order,
    Payment,
    PaymentRecordStatus,
    PaymentStatus,
    ProviderName,
)
from shop.views import bp


def _order(number: str) -> Order:
    order = get_session().exec(select(Order).where(Order.number == number[:20])).first()
    if order is None:
        raise NotFound(_("There is no order with that number."))
    return order


@bp.route("/operator/orders")
@roles_required(Role.OPERATOR)
def operator_orders():
    """All orders, newest first, by payment status."""
    status = request.args.get("payment")
    orders = queries.operator_orders(get_session(), payment_status=status)
    return render_template("shop/operator_orders.html", orders=orders, status=status,
                           statuses=list(PaymentStatus))


def _detail_page(order: Order, status=200, **forms):
    forms.setdefault("refund_form", RefundForm(prefix="refund"))
    forms.setdefault("ship_form", ShipForm(prefix="ship"))
    forms.setdefault("confirm_form", ConfirmForm())
    forms.setdefault("paid_form", MarkPaidForm(prefix="paid"))
    has_errors = any(f.errors for f in forms.values())
    return render_template("shop/operator_order.html", order=order, has_errors=has_errors,
                           **forms, **queries.order_detail(get_session(), order)), status


@bp.route("/operator/orders/<number>")
@roles_required(Role.OPERATOR)
def operator_order(number: str):
    """One order with everything that happened to it."""
    return _detail_page(_order(number))


def _done(order: Order, message: str):
    flash(message, "success")
    return redirect(url_for("shop.operator_order", number=order.number))


@bp.route("/operator/orders/<number>/mark-paid", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_mark_paid(number: str):
    """Record that an offline payment arrived (who and when are kept)."""
    order = _order(number)
    form = MarkPaidForm(prefix="paid")
    if not form.validate_on_submit():
        return _detail_page(order, 400, paid_form=form)
    session = get_session()
    payment = session.exec(select(Payment).where(
        Payment.order_id == order.id, Payment.provider == ProviderName.OFFLINE,
        Payment.status == PaymentRecordStatus.PENDING)).first()
    if payment is None or order.payment_status != PaymentStatus.PENDING:
        raise Conflict(_("This order is not waiting for an offline payment."))
    if form.amount.fen != payment.amount:
        # Part of the money, or too much, is not "paid": the buyer is asked for the rest
        # or given the difference back first.
        form.amount.errors.append(_(
            "This order is waiting for %(due)s. Mark it paid when exactly that has arrived.",
            due=format_money(payment.amount, payment.currency)))
        return _detail_page(order, 400, paid_form=form)
    payments.mark_paid(session=session, payment=payment, amount=form.amount.fen,
                       currency=payment.currency, by_user_id=current_user.id,
                       method=OfflineMethod(form.method.data), reference=form.reference.data)
    _audit(order, "order.mark_paid", payment_id=payment.id, amount=payment.amount,
           currency=payment.currency, method=form.method.data)
    return _done(order, _("Order %(number)s is marked as paid.", number=order.number))


@bp.route("/operator/orders/<number>/ship", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_ship(number: str):
    """Mark as shipped with a tracking number."""
    order = _order(number)
    form = ShipForm(prefix="ship")
    if not form.validate_on_submit():
        return _detail_page(order, 400, ship_form=form)
    if not payments.set_fulfilment(session=get_session(), order=order,
                                   to=FulfilmentStatus.SHIPPED, by_user_id=current_user.id,
                                   tracking_number=form.tracking_number.data.strip()):
        raise Conflict(_("This order has already been sent or picked up."))
    _audit(order, "order.ship")
    return _done(order, _("Order %(number)s is marked as shipped.", number=order.number))


@bp.route("/operator/orders/<number>/picked-up", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_picked_up(number: str):
    """Mark as picked up at the sales point."""
    order = _order(number)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _detail_page(order, 400, confirm_form=form)
    if not payments.set_fulfilment(session=get_session(), order=order,
                                   to=FulfilmentStatus.PICKED_UP, by_user_id=current_user.id):
        raise Conflict(_("This order has already been sent or picked up."))
    _audit(order, "order.pick_up")
    return _done(order, _("Order %(number)s is marked as picked up.", number=order.number))


@bp.route("/operator/orders/<number>/cancel", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_cancel(number: str):
    """Cancel an unpaid order and give its stock back."""
    order = _order(number)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _detail_page(order, 400, confirm_form=form)
    if not payments.cancel_unpaid(session=get_session(), order=order,
                                  by_user_id=current_user.id):
        raise Conflict(_("Only an unpaid open order can be cancelled. Refund a paid one."))
    _audit(order, "order.cancel")
    return _done(order, _("Order %(number)s is cancelled.", number=order.number))


@bp.route("/operator/orders/<number>/refund", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_refund(number: str):
    """Refund all or part of what was paid; never more."""
    order = _order(number)
    form = RefundForm(prefix="refund")
    if not form.validate_on_submit():
        return _detail_page(order, 400, refund_form=form)
    refund = refunds.refund_order(
        session=get_session(), order=order, amount=form.amount.money.amount,
        reason=form.reason.data.strip(), restock=form.restock.data, by_user_id=current_user.id)
    get_session().refresh(order)
    _audit(order, "order.refund", refund_id=refund.id, amount=refund.amount,
           currency=order.currency, full=order.refunded_amount >= order.paid_amount,
           restock=bool(form.restock.data))
    return _done(order, _("The refund is recorded."))


def _audit(order: Order, action: str, **details) -> None:
    """The operator's action on the order, saved with it (core/audit.py)."""
    record(get_session(), actor=current_user.id, action=action, subject_type="order",
           subject_id=order.number, details={"order_id": order.id, **details})
