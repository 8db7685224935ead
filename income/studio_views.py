"""A studio selling for other workshops: operators set each studio's commission and may
hand a product to a studio; a workshop's coordinator hands its own products to a studio
(the workshop's consent). The rule is in income.studios."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlmodel import select
from wtforms.fields.choices import SelectChoice

from accounts.access import roles_required
from accounts.models import Role, Workshop
from catalog.models import Product
from core.audit import record
from core.db import get_session
from core.errors import DomainError
from core.forms import form_view, written_choices
from core.written import as_written
from income import studios as studio_service
from income.access import workshop_for
from income.forms import HandOverForm, StudioRateForm
from income.views import bp

NOT_SOLD_BY_A_STUDIO = ""


def _studio_choices(session) -> list:
    return [SelectChoice("", _("Choose a studio"))] + written_choices(
        [(str(s.id), as_written(s, "name")) for s in studio_service.studios(session)])


def _hand_over_form(session, products: list[Product]) -> HandOverForm:
    form = HandOverForm(prefix="hand")
    form.product_id.choices = [SelectChoice("", _("Choose a product"))] + written_choices(
        [(str(p.id), as_written(p, "title")) for p in products])
    form.studio_id.choices = [SelectChoice(NOT_SOLD_BY_A_STUDIO,
                                           _("Nobody: the workshop sells it itself"))] + \
        written_choices([(str(s.id), as_written(s, "name"))
                         for s in studio_service.studios(session)])
    return form


def _hand_over(form: HandOverForm) -> bool:
    """Save a valid hand-over form (audited); False with the form's errors otherwise."""
    if not form.validate_on_submit():
        return False
    session = get_session()
    studio_id = int(form.studio_id.data) if form.studio_id.data else None
    try:
        product = studio_service.set_selling_studio(
            session=session, product_id=int(form.product_id.data), studio_id=studio_id,
            by_user_id=current_user.id)
    except DomainError as exc:
        form.product_id.errors.append(exc.message)
        return False
    record(session, actor=current_user.id, action="product.selling_studio",
           subject_type="product", subject_id=product.id,
           details={"studio_id": product.selling_studio_id})
    flash(_("Saved. Sales from now on are shared with the studio that sells it.")
          if product.selling_studio_id else
          _("Saved. The workshop sells this product itself from now on."), "success")
    return True


def _sold_by_studios(session) -> list[tuple[Product, Workshop]]:
    return list(session.exec(select(Product, Workshop).join(
        Workshop, Workshop.id == Product.selling_studio_id)
        .order_by(Workshop.name, Product.title, Product.id)).all())


def _operator_page(status=200, rate_form=None, hand_form=None):
    session = get_session()
    if rate_form is None:
        rate_form = StudioRateForm(prefix="rate")
    rate_form.studio_id.choices = _studio_choices(session)
    if hand_form is None:
        hand_form = _hand_over_form(session, [])
    all_products = list(session.exec(select(Product).order_by(Product.title, Product.id)).all())
    hand_form.product_id.choices = _hand_over_form(session, all_products).product_id.choices
    return render_template("income/operator_studios.html", rate_form=rate_form,
                           hand_form=hand_form, studios=studio_service.studios(session),
                           rates=studio_service.studio_rates(session),
                           sold=_sold_by_studios(session)), status


@bp.route("/operator/studios", methods=["GET"])
@roles_required(Role.OPERATOR)
def operator_studios():
    """Each studio's commission, and the goods studios sell for other workshops."""
    return _operator_page()


@bp.route("/operator/studios/rate", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_studio_rate():
    session = get_session()
    form = StudioRateForm(prefix="rate")
    form.studio_id.choices = _studio_choices(session)
    if form.validate_on_submit():
        try:
            rule = studio_service.set_studio_rate(
                session=session, studio_id=int(form.studio_id.data),
                rate_basis_points=form.rate.basis_points, by_user_id=current_user.id)
        except DomainError as exc:
            form.rate.errors.append(exc.message)
        else:
            record(session, actor=current_user.id, action="studio_commission.set",
                   subject_type="workshop", subject_id=rule.studio_id,
                   details={"rate_basis_points": rule.rate_basis_points})
            flash(_("The studio commission is saved. It applies to sales from now on."),
                  "success")
            return redirect(url_for("income.operator_studios"))
    return _operator_page(400, rate_form=form)


@bp.route("/operator/studios/hand-over", methods=["POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_hand_over():
    session = get_session()
    products = list(session.exec(select(Product).order_by(Product.title, Product.id)).all())
    form = _hand_over_form(session, products)
    if _hand_over(form):
        return redirect(url_for("income.operator_studios"))
    return _operator_page(400, hand_form=form)


@bp.route("/income/workshops/<int:workshop_id>/studio-sales", methods=["GET", "POST"])
@login_required
@form_view
def workshop_studio_sales(workshop_id: int):
    """A workshop's coordinator chooses a studio to sell each of its products (or none)."""
    session = get_session()
    workshop = workshop_for(session, workshop_id)
    products = list(session.exec(select(Product).where(Product.workshop_id == workshop.id)
                                 .order_by(Product.title, Product.id)).all())
    form = _hand_over_form(session, products)
    status = 200
    if request.method == "POST":
        if _hand_over(form):
            return redirect(url_for("income.workshop_studio_sales", workshop_id=workshop.id))
        status = 400
    studio_names = {s.id: s for s in studio_service.studios(session)}
    return render_template("income/workshop_studio_sales.html", workshop=workshop,
                           products=products, studios=studio_names, form=form), status


def selling_studio(studio_id: int | None) -> Workshop | None:
    """The studio a product is sold by, for templates (studios read once a request)."""
    if studio_id is None:
        return None
    from flask import g

    if "selling_studios" not in g:
        g.selling_studios = {s.id: s for s in studio_service.studios(get_session())}
    return g.selling_studios.get(studio_id)


bp.add_app_template_global(selling_studio)
