"""A stall's day: closing it with the cash counted, the day sheet and the team's month,
each printable and as CSV (English column codes, core/csv_export.py)."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from core.audit import record
from core.csv_export import columns, csv_download, shop_time, yuan
from core.db import get_session
from core.errors import DomainError
from core.forms import form_view
from core.money import Money
from income import queries as q
from income import sales_points, stall_days
from income.access import parse_month
from income.forms import CloseDayForm, TillForm
from income.stall_views import _till_page
from income.views import bp

DAY_COLUMNS = columns(
    "income.stall_day_csv",
    ("date", _l("Date")), ("stall", _l("Stall")), ("time", _l("Time")),
    ("sale", _l("Sale number")), ("item", _l("Item")), ("sku", _l("SKU")),
    ("quantity", _l("Quantity")), ("unit_price_yuan", _l("Price in yuan")),
    ("line_total_yuan", _l("Line total in yuan")), ("paid_by", _l("Paid by")))
MONTH_COLUMNS = columns(
    "income.stall_month_csv",
    ("date", _l("Date")), ("stall", _l("Stall")), ("sales_count", _l("Number of sales")),
    ("total_yuan", _l("Total in yuan")), ("cash_recorded_yuan", _l("Cash the till recorded")),
    ("other_yuan", _l("Paid by QR code, in yuan")),
    ("cash_counted_yuan", _l("Cash counted, in yuan")),
    ("difference_yuan", _l("Difference in yuan")), ("closed", _l("Closed")),
    ("closed_by", _l("Closed by")), ("note", _l("Note")))


def _day_arg() -> date:
    text = (request.args.get("day") or "").strip()
    if not text:
        return stall_days.business_day()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise DomainError(_("Enter dates as year-month-day, like 2026-11-01")) from exc


@bp.route("/stall/<int:point_id>/close", methods=["POST"])
@login_required
@form_view
def close_stall_day(point_id: int):
    """Close today at the stall: the cash counted against the cash the till recorded."""
    session = get_session()
    point = sales_points.sales_point_for(session, point_id, current_user.id)
    form = CloseDayForm(prefix="close")
    if form.validate_on_submit():
        if not stall_days.is_team_member(session, point.id, current_user.id):
            form.cash_counted.errors.append(
                _("Only the people who run this stall can close its day."))
        else:
            try:
                closed = stall_days.close_day(
                    session=session, sales_point=point, day=stall_days.business_day(),
                    cash_counted=form.cash_counted.fen, note=form.note.data or "",
                    by_user_id=current_user.id)
            except DomainError as exc:
                if exc.status_code == 404:
                    raise
                form.cash_counted.errors.append(exc.message)
            else:
                record(session, actor=current_user.id, action="stall_day.close",
                       subject_type="sales_point", subject_id=point.id,
                       details={"day": closed.business_day.isoformat(),
                                "cash_counted": closed.cash_counted_amount,
                                "difference": closed.difference_amount})
                flash(_("The day is closed."), "success")
                return redirect(url_for("income.stall_day", point_id=point.id,
                                        day=closed.business_day.isoformat()))
    return _till_page(point, TillForm(), 400, close_form=form)


def _day_context(point_id: int):
    session = get_session()
    point = sales_points.sales_point_for(session, point_id, current_user.id)
    day = _day_arg()
    close = stall_days.day_close(session, point.id, day)
    return session, point, day, close


@bp.route("/stall/<int:point_id>/day")
@login_required
def stall_day(point_id: int):
    """The day sheet: every sale, the totals, the cash counted and who closed the day."""
    session, point, day, close = _day_context(point_id)
    return render_template(
        "income/stall_day.html", point=point, day=day, close=close,
        sales=stall_days.day_sales(session, point.id, day),
        totals=stall_days.day_totals(session, point.id, day),
        closer=stall_days.closer_name(session, close))


@bp.route("/stall/<int:point_id>/day.csv")
@login_required
def stall_day_csv(point_id: int):
    """The day sheet's sales, one row per line sold."""
    session, point, day, _close = _day_context(point_id)
    name = point.name
    rows = [[day.isoformat(), name, shop_time(sale.created_at), sale.id, line.product_name,
             line.sku, line.quantity, yuan(line.unit_price_amount),
             yuan(line.line_total_amount), sale.payment_method.value]
            for sale, lines in stall_days.day_sales(session, point.id, day) for line in lines]
    return csv_download(DAY_COLUMNS, rows, f"stall-{point.slug}-{day.isoformat()}.csv")


def _month_context(point_id: int):
    session = get_session()
    point = sales_points.sales_point_for(session, point_id, current_user.id)
    period = parse_month(request.args.get("month"), q.this_month())
    days = stall_days.month_days(session, point.id, period)
    return session, point, period, days


@bp.route("/stall/<int:point_id>/month")
@login_required
def stall_month(point_id: int):
    """The team's month: each day's total, its cash difference, closed or not."""
    session, point, period, days = _month_context(point_id)
    closers = {d.day: stall_days.closer_name(session, d.close) for d in days if d.close}
    return render_template(
        "income/stall_month.html", point=point, period=period, days=days, closers=closers,
        previous=q.previous_month(period), following=q.next_month(period),
        total=sum(d.totals.total_amount for d in days),
        difference=sum(d.close.difference_amount for d in days if d.close))


@bp.route("/stall/<int:point_id>/month.csv")
@login_required
def stall_month_csv(point_id: int):
    """The month, one row per day the stall sold or closed."""
    session, point, period, days = _month_context(point_id)
    rows = []
    for d in days:
        close = d.close
        rows.append([d.day.isoformat(), point.name, d.totals.sales_count,
                     yuan(d.totals.total_amount), yuan(d.totals.cash_amount),
                     yuan(d.totals.other_amount),
                     yuan(close.cash_counted_amount) if close else "",
                     # A number, not text: a text "-2.00" would be written '-2.00.
                     Money(close.difference_amount).decimal if close else "",
                     "yes" if close else "no",
                     stall_days.closer_name(session, close) or "", close.note if close else ""])
    return csv_download(MONTH_COLUMNS, rows, f"stall-{point.slug}-{period.month_key}.csv")
