"""Operators: the stalls (sales points) and their teams. A stall marked as a pick-up
point is offered at checkout (shop/pickup.py). Every change is in the audit trail."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import func, select

from accounts.access import roles_required
from accounts.models import Role, User
from core.audit import record
from core.db import get_session
from core.errors import NotFound
from core.forms import form_view
from income import sales_points
from income.forms import StallForm, StallMemberForm
from income.models import SalesPoint, SalesPointMember
from income.views import bp


def _point(point_id: int) -> SalesPoint:
    point = get_session().get(SalesPoint, point_id)
    if point is None:
        raise NotFound()
    return point


@bp.route("/operator/sales-points", methods=["GET"])
@roles_required(Role.OPERATOR)
def operator_sales_points():
    """Every stall: where, when, whether shoppers pick up there, and its team."""
    session = get_session()
    points = session.exec(select(SalesPoint).order_by(
        SalesPoint.is_active.desc(), SalesPoint.name)).all()
    teams = dict(session.exec(select(SalesPointMember.sales_point_id,
                                     func.count(SalesPointMember.id))
                              .group_by(SalesPointMember.sales_point_id)).all())
    return render_template("income/operator_sales_points.html", points=points, teams=teams,
                           opening_hours=sales_points.opening_hours)


def _values(form: StallForm) -> dict:
    text = {name: (getattr(form, name).data or "").strip() or None
            for name in ("name", "name_en", "place", "district", "opens_at", "closes_at")}
    return {**text, "opening_days": "".join(sorted(set(form.opening_days.data or []))),
            "is_pickup_point": bool(form.is_pickup_point.data),
            "is_active": bool(form.is_active.data)}


def _stall_page(point, form, member_form=None, status=200):
    team = sales_points.team(get_session(), point.id) if point is not None else []
    return render_template("income/operator_stall.html", point=point, form=form,
                           member_form=member_form or StallMemberForm(), team=team), status


@bp.route("/operator/sales-points/new", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_new_sales_point():
    """Add a stall: name, place, district, opening days and hours, pick-up or not."""
    form = StallForm()
    if request.method == "GET":
        form.opening_days.data = list("1234567")
        form.is_active.data = True
    elif form.validate_on_submit():
        point, _changed = sales_points.save_sales_point(
            session=get_session(), point=None, values=_values(form))
        record(get_session(), actor=current_user.id, action="sales_point.create",
               subject_type="sales_point", subject_id=point.id,
               details={"slug": point.slug, "is_pickup_point": point.is_pickup_point})
        flash(_("The stall is added. Now add the people who run it."), "success")
        return redirect(url_for("income.operator_edit_sales_point", point_id=point.id))
    return _stall_page(None, form, status=400 if request.method == "POST" else 200)


@bp.route("/operator/sales-points/<int:point_id>", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_edit_sales_point(point_id: int):
    """Change a stall's details; its team is on the same page."""
    point = _point(point_id)
    if request.method == "GET":
        form = StallForm(obj=point)
        form.opening_days.data = list(point.opening_days or "")
        return _stall_page(point, form)
    form = StallForm()
    if form.validate_on_submit():
        _saved, changed = sales_points.save_sales_point(
            session=get_session(), point=point, values=_values(form))
        if changed:
            record(get_session(), actor=current_user.id, action="sales_point.update",
                   subject_type="sales_point", subject_id=point.id,
                   details={"changed": sorted(changed)})
        flash(_("The stall is saved."), "success")
        return redirect(url_for("income.operator_edit_sales_point", point_id=point.id))
    return _stall_page(point, form, status=400)


@bp.route("/operator/sales-points/<int:point_id>/members", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_add_stall_member(point_id: int):
    """Add someone to the stall's team by their account's email address."""
    session = get_session()
    point = _point(point_id)
    form = StallMemberForm()
    if form.validate_on_submit():
        user = session.exec(select(User).where(
            User.email == form.email.data.strip().lower())).first()
        if user is None:
            form.email.errors.append(_("There is no account with that email address"))
        else:
            sales_points.add_member(session=session, sales_point=point, user_id=user.id)
            record(session, actor=current_user.id, action="sales_point.member_add",
                   subject_type="sales_point", subject_id=point.id,
                   details={"user_id": user.id})
            flash(_("They can now use this stall's till."), "success")
            return redirect(url_for("income.operator_edit_sales_point", point_id=point.id))
    stall_form = StallForm(formdata=None, obj=point)
    stall_form.opening_days.data = list(point.opening_days or "")
    return _stall_page(point, stall_form, form, 400)


@bp.route("/operator/sales-points/<int:point_id>/members/<int:user_id>/remove",
          methods=["POST"])
@roles_required(Role.OPERATOR)
def operator_remove_stall_member(point_id: int, user_id: int):
    """Take someone off the stall's team (their past sales stay theirs)."""
    point = _point(point_id)
    if not sales_points.remove_member(session=get_session(), sales_point=point,
                                      user_id=user_id):
        raise NotFound()
    record(get_session(), actor=current_user.id, action="sales_point.member_remove",
           subject_type="sales_point", subject_id=point.id, details={"user_id": user_id})
    flash(_("They no longer use this stall's till."), "success")
    return redirect(url_for("income.operator_edit_sales_point", point_id=point.id))
