"""Operators: payouts one by one and in monthly batches, corrections, platform fees and
the impact report (stalls: income/stall_operator_views.py)."""

from __future__ import annotations

import secrets
from dataclasses import replace

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select
from wtforms.fields.choices import SelectChoice

from accounts.access import roles_required
from accounts.models import Role, User, UserRole, Workshop
from catalog.models import Product
from core.audit import record
from core.db import get_session
from core.errors import DomainError, NotFound
from core.forms import form_view, written_choices
from core.i18n import format_money
from core.written import as_written, written_message
from income import ledger, payouts, stall_days
from income import queries as q
from income.access import parse_range, period_field
from income.exports import csv_download, csv_response, shop_time, yuan
from income.forms import (
    AdjustmentForm,
    BatchForm,
    BatchPaidForm,
    CommissionForm,
    PayoutForm,
)
from income.models import CommissionRule, PayoutBatch
from income.views import bp


def _maker_choices(session, due: dict[int, int]) -> list:
    """Every maker, those owed money first (with what they are owed), then by name."""
    makers = session.exec(select(User.id, User.display_name).join(
        UserRole, UserRole.user_id == User.id).where(UserRole.role == Role.MAKER)
        .order_by(User.display_name, User.id)).all()
    makers = sorted(makers, key=lambda row: row[0] not in due)
    labelled = [(str(user_id), written_message(
        _("%(name)s (owed %(amount)s)"), name=name, amount=format_money(due[user_id]))
        if user_id in due else name) for user_id, name in makers]
    return [SelectChoice("", _("Choose a maker"))] + written_choices(labelled)


def _with_makers(form, session, due=None):
    due = dict(payouts.makers_due(session)) if due is None else due
    form.maker_id.choices = _maker_choices(session, due)
    return form


def _payouts_page(status=200, **forms):
    session = get_session()
    due = payouts.makers_due(session)
    names = dict(session.exec(select(User.id, User.display_name).where(
        User.id.in_([m for m, _a in due] or [0]))).all())
    batches = session.exec(select(PayoutBatch).order_by(PayoutBatch.id.desc()).limit(24)).all()
    forms.setdefault("payout_form", PayoutForm(prefix="pay"))
    forms.setdefault("adjust_form", AdjustmentForm(prefix="adjust"))
    for name in ("payout_form", "adjust_form"):
        _with_makers(forms[name], session, dict(due))
    forms.setdefault("batch_form", BatchForm(prefix="batch"))
    if not forms["batch_form"].month.data:
        forms["batch_form"].month.data = q.this_month().month_key
    return render_template("income/operator_payouts.html", due=due, names=names,
                           batches=batches, month=q.this_month().month_key,
                           **forms), status


@bp.route("/operator/payouts")
@roles_required(Role.OPERATOR)
def operator_payouts():
    """Makers due money now, the payout batches, and forms to pay or correct."""
    return _payouts_page()


@bp.route("/operator/payouts/pay", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_pay():
    form = _with_makers(PayoutForm(prefix="pay"), get_session())
    if form.validate_on_submit():
        try:
            payout = payouts.pay_maker(
                session=get_session(), maker_id=int(form.maker_id.data), amount=form.amount.fen,
                method=form.method.data, reference=form.reference.data,
                by_user_id=current_user.id)
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            form.amount.errors.append(exc.message)
        else:
            record(get_session(), actor=current_user.id, action="payout.create",
                   subject_type="payout", subject_id=payout.id,
                   details={"maker_id": payout.maker_id, "amount": payout.amount,
                            "currency": payout.currency, "method": str(payout.method)})
            flash(_("The payout is recorded."), "success")
            return redirect(url_for("income.operator_payouts"))
    return _payouts_page(400, payout_form=form)


@bp.route("/operator/payouts/adjust", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_adjust():
    form = _with_makers(AdjustmentForm(prefix="adjust"), get_session())
    if form.validate_on_submit():
        try:
            entry = ledger.adjust(session=get_session(), maker_id=int(form.maker_id.data),
                                  amount=form.amount.fen, reason=form.reason.data,
                                  by_user_id=current_user.id, key=secrets.token_hex(12))
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            form.amount.errors.append(exc.message)
        else:
            record(get_session(), actor=current_user.id, action="ledger.adjust",
                   subject_type="maker", subject_id=int(form.maker_id.data),
                   details={"ledger_entry_id": entry.id, "amount": form.amount.fen})
            flash(_("The correction is recorded."), "success")
            return redirect(url_for("income.operator_payouts"))
    return _payouts_page(400, adjust_form=form)


@bp.route("/operator/payout-batches", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_create_batch():
    form = BatchForm(prefix="batch")
    if form.validate_on_submit():
        try:
            batch = payouts.create_batch(session=get_session(), month=form.month.data,
                                         by_user_id=current_user.id)
        except DomainError as exc:
            form.month.errors.append(exc.message)
        else:
            record(get_session(), actor=current_user.id, action="payout_batch.create",
                   subject_type="payout_batch", subject_id=batch.id,
                   details={"month": batch.month})
            return redirect(url_for("income.operator_batch", batch_id=batch.id))
    return _payouts_page(400, batch_form=form)


def _batch(batch_id: int) -> PayoutBatch:
    batch = get_session().get(PayoutBatch, batch_id)
    if batch is None:
        raise NotFound()
    return batch


@bp.route("/operator/payout-batches/<int:batch_id>", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_batch(batch_id: int):
    """One batch: every maker and amount; export for the bank; mark it paid."""
    batch = _batch(batch_id)
    form = BatchPaidForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                payouts.mark_batch_paid(session=get_session(), batch_id=batch.id,
                                        reference=form.reference.data,
                                        by_user_id=current_user.id)
            except DomainError as exc:
                form.reference.errors.append(exc.message)
            else:
                rows = payouts.batch_payouts(get_session(), batch.id)
                record(get_session(), actor=current_user.id, action="payout_batch.mark_paid",
                       subject_type="payout_batch", subject_id=batch.id,
                       details={"payouts": len(rows),
                                "amount": sum(p.amount for p, _u in rows)})
                flash(_("Every payout in the batch is booked as paid."), "success")
                return redirect(url_for("income.operator_batch", batch_id=batch.id))
        status = 400
    rows = payouts.batch_payouts(get_session(), batch.id)
    return render_template("income/operator_batch.html", batch=batch, rows=rows,
                           form=form, total=sum(p.amount for p, _u in rows)), status


@bp.route("/operator/payout-batches/<int:batch_id>.csv")
@roles_required(Role.OPERATOR)
def operator_batch_csv(batch_id: int):
    batch = _batch(batch_id)
    return csv_download(payouts.BATCH_COLUMNS, payouts.batch_csv_rows(get_session(), batch.id),
                        f"payouts-{batch.month}-{batch.id}.csv")


@bp.route("/operator/impact")
@roles_required(Role.OPERATOR)
def impact_report():
    """Sales, items, streams and makers' income for a period."""
    typed = {"from": request.args.get("from", ""), "to": request.args.get("to", "")}
    try:
        period = parse_range(typed["from"], typed["to"], q.this_month())
    except DomainError as exc:
        # A wrong period is a form error on this page (GOV.UK pattern), not an error page.
        return render_template("income/impact.html", report=None, typed=typed,
                               errors={period_field(typed["from"]): exc.message},
                               has_errors=True), 400
    typed = {"from": period.first.isoformat(), "to": period.last.isoformat()}
    city_days = stall_days.city_days(get_session(), period)
    return render_template("income/impact.html", report=q.impact(get_session(), period),
                           typed=typed, errors={}, city_days=city_days,
                           best_day=stall_days.best_day(city_days))


@bp.route("/operator/impact.csv")
@roles_required(Role.OPERATOR)
def impact_csv():
    period = parse_range(request.args.get("from"), request.args.get("to"), q.this_month())
    report = q.impact(get_session(), period)
    rows = [["figure", "value"], ["from", period.first.isoformat()],
            ["to", period.last.isoformat()], ["sales_yuan", yuan(report["sales"])],
            ["online_sales_yuan", yuan(report["online_sales"])],
            ["stall_sales_yuan", yuan(report["stall_sales"])], ["items_sold", report["items"]],
            # Streams with sales in the period, from the ledger as makers' income reads it.
            ["live_streams", report["streams_selling"]],
            ["live_streams_held", report["streams_held"]],
            ["makers_earning", report["makers_earning"]],
            ["average_monthly_income_yuan", yuan(report["average"])],
            ["median_monthly_income_yuan", yuan(report["median"])], [],
            ["workshop", "district", "income_yuan", "makers"]]
    rows += [[n, d or "", yuan(a), c] for n, d, a, c in report["by_workshop"]]
    rows += [[], ["district", "income_yuan", "makers"]]
    rows += [[d, yuan(a), c] for d, a, c in report["by_district"]]
    rows += [[], ["live_stream", "start", "sales_yuan"]]
    rows += [[as_written(s, "title").text, shop_time(s.start), yuan(s.amount)]
             for s in report["streams"]]
    # The city's stalls together, per day of the period.
    rows += [[], ["date", "stall_sales_count", "stall_sales_yuan"]]
    rows += [[d.isoformat(), n, yuan(t)] for d, n, t in stall_days.city_days(get_session(),
                                                                             period)]
    rows += [[], ["studio", "made_by", "product", "paid_yuan", "platform_yuan", "studio_yuan",
                  "makers_yuan"]]
    rows += [[p.studio.name, p.workshop.name if p.workshop else "", p.title, yuan(p.paid),
              yuan(p.platform), yuan(p.studio_part), yuan(p.makers)]
             for p in report["studio_sales"]]
    return csv_response(rows, f"impact-{period.first.isoformat()}-{period.last.isoformat()}.csv")


def _scope_choices():
    """The fee's scopes as options (names alone, grouped by kind) and as table labels."""
    session = get_session()
    workshops = [(f"workshop:{w.id}", as_written(w, "name"))
                 for w in session.exec(select(Workshop).order_by(Workshop.name)).all()]
    products = [(f"product:{p.id}", as_written(p, "title"))
                for p in session.exec(select(Product).order_by(Product.title)).all()]
    choices = [SelectChoice("default", _("Everything (default)"))]
    choices += [replace(c, optgroup=_("Workshops")) for c in written_choices(workshops)]
    choices += [replace(c, optgroup=_("Products")) for c in written_choices(products)]
    labels = {"default": _("Everything (default)")}
    labels.update((value, written_message(_("Workshop: %(name)s"), name=name))
                  for value, name in workshops)
    labels.update((value, written_message(_("Product: %(name)s"), name=name))
                  for value, name in products)
    return choices, labels


@bp.route("/operator/platform-fee", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_commission():
    """The platform's fee: a default, per workshop or per product (0% allowed)."""
    form = CommissionForm()
    form.scope.choices, labels = _scope_choices()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            kind, _sep, raw = form.scope.data.partition(":")
            ledger.set_commission(
                session=get_session(), rate_basis_points=form.rate.basis_points,
                workshop_id=int(raw) if kind == "workshop" else None,
                product_id=int(raw) if kind == "product" else None,
                by_user_id=current_user.id)
            record(get_session(), actor=current_user.id, action="commission.set",
                   subject_type="platform_fee", subject_id=form.scope.data,
                   details={"rate_basis_points": form.rate.basis_points})
            flash(_("The platform fee is saved. It applies to sales from now on."), "success")
            return redirect(url_for("income.operator_commission"))
        status = 400
    rules = get_session().exec(select(CommissionRule).order_by(CommissionRule.scope_key)).all()
    return render_template("income/operator_commission.html", form=form, rules=rules,
                           labels=labels, default=ledger.commission_rate(
                               get_session(), product_id=None, workshop_id=None)), status
