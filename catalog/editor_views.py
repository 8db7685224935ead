"""Makers, coordinators and operators list and edit goods under /my/products."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from accounts.access import roles_required
from accounts.models import Role, User, WorkshopMember
from catalog import media, queries, services
from catalog.forms import AudioForm, ImageForm, PositionForm, ProductForm
from catalog.models import DigitalFileKind, Product, ProductMaker, ProductVariant
from catalog.views import bp
from core.db import get_session
from core.errors import NotAllowed, NotFound
from core.forms import form_view

EDITORS = (Role.MAKER, Role.OPERATOR)


def _user(session) -> User:
    return session.get(User, current_user.id)


def _editable(product_id: int) -> tuple:
    """The request's session, the signed-in user and a product they may edit."""
    session = get_session()
    user = _user(session)
    return session, user, services.editable_product(session=session, user=user,
                                                    product_id=product_id)


def _members(session, workshop_id: int) -> list[User]:
    return list(session.exec(select(User).join(WorkshopMember, WorkshopMember.user_id == User.id)
                             .where(WorkshopMember.workshop_id == workshop_id)
                             .order_by(User.display_name)))


def _show_service_error(form, error: services.InvalidProduct) -> None:
    name = (error.field or "title").split("-")
    field = form
    try:
        for part in name:
            field = field[int(part)] if part.isdecimal() else (
                field.form[part] if hasattr(field, "form") else field[part])
    except (KeyError, IndexError, TypeError):
        field = form.title
    if hasattr(field, "entries"):  # a whole list (versions, makers)
        field.errors = [e for e in (field.errors or []) if isinstance(e, str)]
    field.errors = list(field.errors or []) + [str(error.message)]
    form._errors = None  # WTForms caches `errors` at validation; count this one too


def _save_then_edit_page(form, save, message, *, show_error=_show_service_error,
                         anchor=None):
    """A valid form is saved by `save` (which gives the product): then `message` and the
    product's edit page. None (show the form again) if the form is not valid, or the
    service refused it, its reason put on the form by `show_error`."""
    if not form.validate_on_submit():
        return None
    try:
        product = save()
    except services.InvalidProduct as error:
        show_error(form, error)
        return None
    flash(message, "success")
    return redirect(url_for("catalog.edit_product", product_id=product.id, _anchor=anchor))


@bp.route("/my/products")
@roles_required(*EDITORS)
def my_products():
    """The goods of every workshop the user may edit."""
    session = get_session()
    user = _user(session)
    workshops = services.editable_workshops(session=session, user=user)
    ids = [w.id for w in workshops]
    products = list(session.exec(select(Product).where(Product.workshop_id.in_(ids))
                                 .order_by(Product.updated_at.desc()).limit(200))) if ids else []
    return render_template("catalog/my_products.html", workshops=workshops, products=products)


def _product_form_page(form, *, product=None, workshop=None, status=200):
    return render_template("catalog/product_form.html", form=form, product=product,
                           workshop=workshop), (400 if form.errors else status)


@bp.route("/my/products/new/<int:workshop_id>", methods=["GET", "POST"])
@roles_required(*EDITORS)
@form_view
def new_product(workshop_id: int):
    """Draft a new product for one of the user's workshops."""
    session = get_session()
    user = _user(session)
    workshop = next((w for w in services.editable_workshops(session=session, user=user)
                     if w.id == workshop_id), None)
    if workshop is None:
        raise NotAllowed(_("You can only list goods for your own workshop."))
    form = ProductForm()
    form.set_choices(categories=queries.categories(session=session),
                     members=_members(session, workshop.id))
    saved = _save_then_edit_page(
        form, lambda: services.create_product(session=session, user=user,
                                              workshop_id=workshop.id, data=form.to_data()),
        _("Draft saved. Add photos, then send it for review."))
    return saved or _product_form_page(form, workshop=workshop)


@bp.route("/my/products/<int:product_id>", methods=["GET", "POST"])
@roles_required(*EDITORS)
@form_view
def edit_product(product_id: int):
    """Change a product's words, versions and makers' shares."""
    session, user, product = _editable(product_id)
    form = ProductForm()
    if request.method == "GET":
        _fill(form, session, product)
    form.set_choices(categories=queries.categories(session=session),
                     members=_members(session, product.workshop_id))
    saved = _save_then_edit_page(
        form, lambda: services.update_product(session=session, user=user, product=product,
                                              data=form.to_data()),
        _("Your changes are saved."))
    return saved or _edit_page(session, form, product, 400 if form.errors else 200)


def _edit_page(session, form, product, status, submit_problems=()):
    return render_template(
        "catalog/product_form.html", form=form, product=product, workshop=None,
        image_form=ImageForm(formdata=None), audio_form=AudioForm(formdata=None),
        images=queries.product_images(session=session, product_id=product.id),
        submit_problems=submit_problems, has_errors=bool(submit_problems)), status


def _fill(form, session, product) -> None:
    """The form as the product is saved now."""
    form.title.data, form.title_en.data = product.title, product.title_en
    form.category_id.data = product.category_id or 0
    form.description.data = product.description
    form.description_en.data = product.description_en
    form.maker_story.data = product.maker_story
    form.fill_made_to_order(product)
    variants = session.exec(select(ProductVariant).where(
        ProductVariant.product_id == product.id, ProductVariant.is_active)
        .order_by(ProductVariant.position)).all()
    for entry, variant in zip(form.variants, variants, strict=False):
        entry.form.variant_id.data = str(variant.id)
        entry.form.sku.data, entry.form.name.data = variant.sku, variant.name
        entry.form.price.data = f"{variant.price_amount / 100:.2f}"
        entry.form.stock.data = variant.stock
    shares = session.exec(select(ProductMaker).where(
        ProductMaker.product_id == product.id)).all()
    for entry, share in zip(form.makers, shares, strict=False):
        entry.form.maker_id.data = share.maker_id
        entry.form.share.data = f"{share.share_basis_points / 100:g}"


@bp.route("/my/products/<int:product_id>/submit", methods=["POST"])
@roles_required(*EDITORS)
def submit_product(product_id: int):
    """Send a draft to the operators for review."""
    session, user, product = _editable(product_id)
    try:
        services.submit_for_review(session=session, user=user, product=product)
    except services.NotReadyForReview as error:
        form = ProductForm(formdata=None)
        _fill(form, session, product)
        form.set_choices(categories=queries.categories(session=session),
                         members=_members(session, product.workshop_id))
        return _edit_page(session, form, product, 400, submit_problems=error.missing)
    flash(_("Sent for review. We will tell you when it is on sale."), "success")
    return redirect(url_for("catalog.edit_product", product_id=product.id))


def _upload(product_id: int, form, store, message, *, field_for_error, anchor=None, **page):
    """A file sent with its form, for a product the user may edit: kept by
    `store(session=, user=, product=)`; a refusal is shown by the field
    `field_for_error(error)` names, on the upload page again."""
    session, user, product = _editable(product_id)

    def save():
        store(session=session, user=user, product=product)
        return product

    def show_error(form, error):
        field = field_for_error(error)
        field.errors = list(field.errors or []) + [str(error.message)]

    saved = _save_then_edit_page(form, save, message, show_error=show_error, anchor=anchor)
    return saved or (render_template("catalog/image_form.html", form=form, product=product,
                                     **page), 400)


@bp.route("/my/products/<int:product_id>/images", methods=["POST"])
@roles_required(*EDITORS)
@form_view
def add_product_image(product_id: int):
    """Upload a photo with its description."""
    form = ImageForm()

    def store(*, session, user, product):
        upload = form.photo.data
        media.add_image(session=session, user=user, product=product,
                        data=upload.stream.read(media.images.MAX_UPLOAD_BYTES + 1),
                        filename=upload.filename, alt=form.alt.data, alt_en=form.alt_en.data,
                        media_dir=current_app.config["MEDIA_DIR"])

    return _upload(product_id, form, store, _("Photo added."), anchor="photos",
                   field_for_error=lambda error: form.alt if error.field == "alt"
                   else form.photo)


@bp.route("/my/products/<int:product_id>/images/<int:image_id>/move", methods=["POST"])
@roles_required(*EDITORS)
def move_product_image(product_id: int, image_id: int):
    """Move a photo earlier or later."""
    session, user, product = _editable(product_id)
    form = PositionForm(meta={"csrf": False})
    if not form.validate():
        raise NotFound()
    media.move_image(session=session, user=user, product=product, image_id=image_id,
                     offset=form.offset.data)
    return redirect(url_for("catalog.edit_product", product_id=product.id, _anchor="photos"))


@bp.route("/my/products/<int:product_id>/images/<int:image_id>/delete", methods=["POST"])
@roles_required(*EDITORS)
def delete_product_image(product_id: int, image_id: int):
    """Remove a photo."""
    session, user, product = _editable(product_id)
    media.delete_image(session=session, user=user, product=product, image_id=image_id,
                       media_dir=current_app.config["MEDIA_DIR"])
    flash(_("Photo removed."), "success")
    return redirect(url_for("catalog.edit_product", product_id=product.id, _anchor="photos"))


@bp.route("/my/products/<int:product_id>/audio", methods=["POST"])
@roles_required(*EDITORS)
@form_view
def add_product_audio(product_id: int):
    """Upload an audiobook's sample or full file."""
    form = AudioForm()

    def store(*, session, user, product):
        upload = form.audio.data
        media.set_digital_file(session=session, user=user, product=product,
                               kind=DigitalFileKind(form.kind.data),
                               data=upload.stream.read(media.MAX_FULL_BYTES + 1),
                               filename=upload.filename,
                               media_dir=current_app.config["MEDIA_DIR"])

    return _upload(product_id, form, store, _("Audio file saved."), audio=True,
                   field_for_error=lambda error: form.audio)
