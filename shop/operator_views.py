"""Operators: every order, confirm offline payments, ship, hand over, cancel, refund."""

from __future__ import annotations

from functools import wraps

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
from core.money import Money
from shop import payments, queries, refunds
from shop.forms import ConfirmForm, MarkPaidForm, ShipForm
from shop.models import (
    FulfilmentStatus,
    OfflineMethod,
    Order,
    OrderLine,
    Payment,
    PaymentRecordStatus,
    PaymentStatus,
    ProviderName,
)
from shop.refund_forms import RefundForm, refund_form
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
    detail = queries.order_detail(get_session(), order)
    forms.setdefault("refund_form", refund_form(detail["lines"]))
    forms.setdefault("ship_form", ShipForm(prefix="ship"))
    forms.setdefault("confirm_form", ConfirmForm())
    forms.setdefault("paid_form", MarkPaidForm(prefix="paid"))
    has_errors = any(f.error_list() for f in forms.values())
    return render_template("shop/operator_order.html", order=order, has_errors=has_errors,
                           **forms, **detail), status


@bp.route("/operator/orders/<number>")
@roles_required(Role.OPERATOR)
def operator_order(number: str):
    """One order with everything that happened to it."""
    return _detail_page(_order(number))


def _order_action(form_name: str, make_form):
    """An operator's form on an order, as a view of the order's number: the form is
    checked first (the order's page again, with its errors, if it fails); then the
    action runs and gives the message to flash on the order's page, or a page itself
    (the order's page with errors the action found)."""
    def decorate(action):
        @wraps(action)
        def view(number: str):
            order = _order(number)
            form = make_form(order)
            if not form.validate_on_submit():
                return _detail_page(order, 400, **{form_name: form})
            outcome = action(order, form)
            if not isinstance(outcome, str):
                return outcome
            flash(outcome, "success")
            return redirect(url_for("shop.operator_order", number=order.number))
        return view
    return decorate


@bp.route("/operator/orders/<number>/mark-paid", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
@_order_action("paid_form", lambda order: MarkPaidForm(prefix="paid"))
def operator_mark_paid(order: Order, form: MarkPaidForm):
    """Record that an offline payment arrived (who and when are kept)."""
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
    return _("Order %(number)s is marked as paid.", number=order.number)


@bp.route("/operator/orders/<number>/ship", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
@_order_action("ship_form", lambda order: ShipForm(prefix="ship"))
def operator_ship(order: Order, form: ShipForm):
    """Mark as shipped with a tracking number."""
    _fulfil(order, FulfilmentStatus.SHIPPED, "order.ship",
            tracking_number=form.tracking_number.data.strip())
    return _("Order %(number)s is marked as shipped.", number=order.number)


@bp.route("/operator/orders/<number>/picked-up", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
@_order_action("confirm_form", lambda order: ConfirmForm())
def operator_picked_up(order: Order, form: ConfirmForm):
    """Mark as picked up at the sales point."""
    _fulfil(order, FulfilmentStatus.PICKED_UP, "order.pick_up")
    return _("Order %(number)s is marked as picked up.", number=order.number)


def _fulfil(order: Order, to: FulfilmentStatus, action: str, **changes) -> None:
    if not payments.set_fulfilment(session=get_session(), order=order, to=to,
                                   by_user_id=current_user.id, **changes):
        raise Conflict(_("This order has already been sent or picked up."))
    _audit(order, action)


@bp.route("/operator/orders/<number>/cancel", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
@_order_action("confirm_form", lambda order: ConfirmForm())
def operator_cancel(order: Order, form: ConfirmForm):
    """Cancel an unpaid order and give its stock back."""
    if not payments.cancel_unpaid(session=get_session(), order=order,
                                  by_user_id=current_user.id):
        raise Conflict(_("Only an unpaid open order can be cancelled. Refund a paid one."))
    _audit(order, "order.cancel")
    return _("Order %(number)s is cancelled.", number=order.number)


def _order_refund_form(order: Order) -> RefundForm:
    return refund_form(get_session().exec(select(OrderLine).where(
        OrderLine.order_id == order.id).order_by(OrderLine.id)).all())


@bp.route("/operator/orders/<number>/refund", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
@_order_action("refund_form", _order_refund_form)
def operator_refund(order: Order, form: RefundForm):
    """Refund all or part of what was paid, never more; put back in stock the units of
    each line the operator chose, never more than were sold."""
    left = order.paid_amount - order.refunded_amount
    if form.amount.money.amount > left:
        form.amount.errors.append(_("You can refund at most %(amount)s on this order.",
                                    amount=Money(left, order.currency).format()))
        return _detail_page(order, 409, refund_form=form)
    units = form.restock_units()
    refund = refunds.refund_order(
        session=get_session(), order=order, amount=form.amount.money.amount,
        reason=form.reason.data.strip(), restock=units, by_user_id=current_user.id)
    get_session().refresh(order)
    _audit(order, "order.refund", refund_id=refund.id, amount=refund.amount,
           currency=order.currency, full=order.refunded_amount >= order.paid_amount,
           restock=bool(units), lines=[{"order_line_id": line_id, "restocked": count}
                                       for line_id, count in sorted(units.items())])
    return _("The refund is recorded.")


def _audit(order: Order, action: str, **details) -> None:
    """The operator's action on the order, saved with it (core/audit.py)."""
    record(get_session(), actor=current_user.id, action=action, subject_type="order",
           subject_id=order.number, details={"order_id": order.id, **details})
