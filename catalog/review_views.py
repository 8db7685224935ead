"""Operators review goods before they go on sale, under /operator/products."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from accounts.access import roles_required
from accounts.models import Role, User, Workshop
from catalog import queries, services
from catalog.forms import ReviewForm
from catalog.models import Category, Product, ProductMaker, ProductStatus
from catalog.views import bp
from core.audit import record
from core.db import get_session
from core.errors import NotFound
from core.forms import form_view


@bp.route("/operator/products")
@roles_required(Role.OPERATOR)
def review_queue():
    """Goods waiting for review, oldest first."""
    session = get_session()
    rows = session.exec(select(Product, Workshop).join(Workshop, Workshop.id == Product.workshop_id)
                        .where(Product.status == ProductStatus.PENDING_REVIEW)
                        .order_by(Product.updated_at, Product.id)).all()
    return render_template("catalog/review_queue.html", rows=rows)


@bp.route("/operator/products/<int:product_id>", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def review_product(product_id: int):
    """Publish a product or send it back with a reason."""
    session = get_session()
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound()
    form = ReviewForm()
    if form.validate_on_submit():
        publish = form.decision.data == "publish"
        services.review_product(session=session, operator=session.get(User, current_user.id),
                                product=product, publish=publish, reason=form.reason.data)
        record(session, actor=current_user.id,
               action="product.publish" if publish else "product.send_back",
               subject_type="product", subject_id=product.id,
               details={"workshop_id": product.workshop_id})
        flash(_("Published.") if publish else _("Sent back to the maker."), "success")
        return redirect(url_for("catalog.review_queue"))
    makers = session.exec(
        select(User.display_name, ProductMaker.share_basis_points)
        .join(ProductMaker, ProductMaker.maker_id == User.id)
        .where(ProductMaker.product_id == product.id).order_by(ProductMaker.id)).all()
    return render_template(
        "catalog/review.html", form=form, product=product,
        variants=queries.active_variants(session=session, product_id=product.id),
        images=queries.product_images(session=session, product_id=product.id),
        workshop=session.get(Workshop, product.workshop_id),
        category=session.get(Category, product.category_id) if product.category_id else None,
        makers=makers, missing=services.missing_for_review(session=session, product=product),
    ), (400 if form.errors else 200)
