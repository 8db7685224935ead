"""The stall till: pick products and quantities, paid by cash or QR code; today's sales
and totals beside it, and closing the day (income/stall_day_views.py)."""

from __future__ import annotations

import secrets

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.db import get_session
from core.errors import DomainError
from core.forms import form_view
from core.i18n import format_money
from income import sales_points, stall_days
from income.forms import CloseDayForm, TillForm
from income.views import bp


@bp.route("/stall")
@login_required
def my_stalls():
    """The stalls this person runs."""
    points = sales_points.my_sales_points(get_session(), current_user.id)
    if len(points) == 1:
        return redirect(url_for("income.till", point_id=points[0].id))
    return render_template("income/my_stalls.html", points=points)


def till_day_context(point, close_form=None) -> dict:
    """Today at the stall: its sales, the totals by way of paying, and the close if any."""
    session = get_session()
    day = stall_days.business_day()
    return {"day": day, "today": stall_days.day_sales(session, point.id, day),
            "totals": stall_days.day_totals(session, point.id, day),
            "close": stall_days.day_close(session, point.id, day),
            "is_member": stall_days.is_team_member(session, point.id, current_user.id),
            "close_form": close_form or CloseDayForm(prefix="close")}


def _till_page(point, form, status=200, chosen=None, line_errors=None, close_form=None):
    session = get_session()
    products = sales_points.till_products(session)
    if not form.key.data:
        form.key.data = secrets.token_urlsafe(24)
    return render_template("income/till.html", point=point, form=form, products=products,
                           chosen=chosen or {}, line_errors=line_errors or [],
                           has_errors=bool(line_errors) or bool(close_form and close_form.errors),
                           **till_day_context(point, close_form)), status


@bp.route("/stall/<int:point_id>", methods=["GET", "POST"])
@login_required
@form_view
def till(point_id: int):
    """Record a sale at this stall (404 for anyone who does not run it)."""
    session = get_session()
    point = sales_points.sales_point_for(session, point_id, current_user.id)
    form = TillForm()
    if request.method == "GET":
        return _till_page(point, form)
    chosen, errors = {}, []
    for name, raw in request.form.items():
        if not name.startswith("qty-") or not str(raw).strip():
            continue
        variant, text = name[4:], str(raw).strip()
        if not variant.isdecimal() or not text.isdecimal() or len(text) > 3:
            errors.append(_("Quantity must be a whole number, like 2"))
            continue
        if int(text):
            chosen[int(variant)] = int(text)
    valid = form.validate_on_submit()
    if valid and not errors and not chosen:
        errors.append(_("Choose at least one item"))
    if valid and not errors:
        try:
            sale, _created = sales_points.record_sale(
                session=session, sales_point=point,
                lines=[sales_points.TillLine(v, n) for v, n in chosen.items()],
                payment_method=form.payment.data, by_user_id=current_user.id,
                idempotency_key=(form.key.data or secrets.token_urlsafe(24))[:64])
        except DomainError as exc:
            errors.append(exc.message)
        else:
            flash(_("Sale recorded: %(amount)s.", amount=format_money(sale.total_amount)),
                  "success")
            return redirect(url_for("income.till", point_id=point.id))
    return _till_page(point, form, 400, chosen, errors)
