"""Writes for the catalog: products, variants, makers' shares, review. They flush,
never commit. Who may edit what is decided here, not in the views:

- an operator edits anything and reviews;
- a workshop's coordinator edits every product of that workshop;
- a maker working alone (an `individual` workshop) edits that workshop's products.
Nobody else edits a product, whoever made it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from accounts.models import Role, User, UserRole, Workshop, WorkshopKind, WorkshopMember
from catalog import page_cache
from catalog.made_to_order import MAX_LEAD_TIME_DAYS, MAX_WEEKLY_CAPACITY
from catalog.models import Category, Product, ProductMaker, ProductStatus, ProductVariant
from catalog.search import reindex_product
from core.db import after_commit, utcnow
from core.errors import Conflict, DomainError, NotAllowed, NotFound

MAX_PRICE_FEN = 100_000_000  # ¥1,000,000
MAX_STOCK = 1_000_000
TITLE_MAX = 120
TEXT_MAX = 5000
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class InvalidProduct(DomainError):
    """Something typed is not acceptable; `field` names the form field it belongs to."""

    code = "invalid_product"

    def __init__(self, message, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class VariantData:
    sku: str
    price_amount: int
    stock: int
    name: str = ""
    name_en: str | None = None
    id: int | None = None


@dataclass
class ProductData:
    """What a maker or operator types for a product (prices in fen)."""

    title: str
    category_id: int | None
    variants: list[VariantData]
    makers: list[tuple[int, int]] = field(default_factory=list)  # (user id, basis points)
    title_en: str | None = None
    description: str = ""
    description_en: str | None = None
    maker_story: str = ""
    # Made to order: days to make and send, and units the workshop makes a week.
    made_to_order: bool = False
    lead_time_days: int = 0
    weekly_capacity: int = 0


def is_operator(*, session: Session, user: User) -> bool:
    """True when `user` holds the operator role."""
    return session.exec(select(UserRole.id).where(
        UserRole.user_id == user.id, UserRole.role == Role.OPERATOR)).first() is not None


def editable_workshops(*, session: Session, user: User) -> list[Workshop]:
    """The workshops whose goods `user` may list and edit."""
    statement = select(Workshop).order_by(Workshop.name)
    if not is_operator(session=session, user=user):
        statement = statement.join(WorkshopMember, WorkshopMember.workshop_id == Workshop.id) \
            .where(WorkshopMember.user_id == user.id,
                   WorkshopMember.is_coordinator | (Workshop.kind == WorkshopKind.INDIVIDUAL))
    return list(session.exec(statement))


def can_edit(*, session: Session, user: User, product: Product) -> bool:
    """True when `user` may change `product`."""
    if is_operator(session=session, user=user):
        return True
    return any(w.id == product.workshop_id for w in editable_workshops(session=session,
                                                                         user=user))


def editable_product(*, session: Session, user: User, product_id: int) -> Product:
    """The product, if `user` may edit it; NotFound or NotAllowed otherwise."""
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound()
    if not can_edit(session=session, user=user, product=product):
        raise NotAllowed(_l("You can only change your own workshop's goods."))
    return product


def _clean(text: str | None) -> str:
    return (text or "").strip()


def _validate(*, session: Session, data: ProductData, workshop_id: int) -> None:
    title = _clean(data.title)
    if not title:
        raise InvalidProduct(_l("Enter the product's name"), field="title")
    if len(title) > TITLE_MAX or len(_clean(data.title_en)) > TITLE_MAX:
        raise InvalidProduct(_l("The name must be %(count)d characters or fewer",
                                count=TITLE_MAX), field="title")
    for name in ("description", "description_en", "maker_story"):
        if len(_clean(getattr(data, name))) > TEXT_MAX:
            raise InvalidProduct(_l("This text must be %(count)d characters or fewer",
                                    count=TEXT_MAX), field=name)
    category = session.get(Category, data.category_id) if data.category_id is not None else None
    if data.category_id is not None and category is None:
        raise InvalidProduct(_l("Choose a category from the list"), field="category_id")
    if data.made_to_order:
        _validate_made_to_order(data, digital=bool(category and category.is_digital))
    if not data.variants:
        raise InvalidProduct(_l("Add at least one version with a price"), field="variants")
    skus = set()
    for index, variant in enumerate(data.variants):
        prefix = f"variants-{index}-"
        if not SKU_PATTERN.match(variant.sku or ""):
            raise InvalidProduct(_l("The SKU must be letters, numbers, dots or dashes, up to "
                                    "64 characters"), field=prefix + "sku")
        if variant.sku.upper() in skus:
            raise InvalidProduct(_l("Each version needs its own SKU"), field=prefix + "sku")
        skus.add(variant.sku.upper())
        if not isinstance(variant.price_amount, int) or variant.price_amount <= 0:
            raise InvalidProduct(_l("The price must be more than ¥0"), field=prefix + "price")
        if variant.price_amount > MAX_PRICE_FEN:
            raise InvalidProduct(_l("The price must be ¥1,000,000 or less"),
                                 field=prefix + "price")
        if not isinstance(variant.stock, int) or not 0 <= variant.stock <= MAX_STOCK:
            raise InvalidProduct(_l("Stock must be a whole number from 0 to 1,000,000"),
                                 field=prefix + "stock")
        if len(_clean(variant.name)) > 60:
            raise InvalidProduct(_l("The version name must be 60 characters or fewer"),
                                 field=prefix + "name")
        taken = session.exec(select(ProductVariant.id).where(
            func.upper(ProductVariant.sku) == variant.sku.upper())).first()
        if taken is not None and taken != variant.id:
            raise InvalidProduct(_l("Another product already uses this SKU"),
                                 field=prefix + "sku")
    if data.makers:
        members = set(session.exec(select(WorkshopMember.user_id).where(
            WorkshopMember.workshop_id == workshop_id)).all())
        maker_ids = [maker_id for maker_id, _ in data.makers]
        if len(set(maker_ids)) != len(maker_ids):
            raise InvalidProduct(_l("Each maker can be listed once"), field="makers")
        if not set(maker_ids) <= members:
            raise InvalidProduct(_l("Makers must be members of the product's workshop"),
                                 field="makers")
        shares = [share for _, share in data.makers]
        if any(share <= 0 for share in shares) or sum(shares) != 10000:
            raise InvalidProduct(_l("The makers' shares must add up to 100%"), field="makers")


def _validate_made_to_order(data: ProductData, *, digital: bool) -> None:
    if digital:
        raise InvalidProduct(_l("Digital goods cannot be made to order"),
                             field="made_to_order")
    if not (isinstance(data.lead_time_days, int)
            and 1 <= data.lead_time_days <= MAX_LEAD_TIME_DAYS):
        raise InvalidProduct(_l("Enter the days to make and send it as a whole number from 1 "
                                "to %(max)d", max=MAX_LEAD_TIME_DAYS), field="lead_time_days")
    if not (isinstance(data.weekly_capacity, int)
            and 1 <= data.weekly_capacity <= MAX_WEEKLY_CAPACITY):
        raise InvalidProduct(_l("Enter how many can be made in a week as a whole number from "
                                "1 to 100,000"), field="weekly_capacity")


def _apply(*, session: Session, product: Product, data: ProductData) -> None:
    product.title = _clean(data.title)
    product.title_en = _clean(data.title_en) or None
    product.description = _clean(data.description)
    product.description_en = _clean(data.description_en) or None
    product.maker_story = _clean(data.maker_story)
    product.category_id = data.category_id
    product.made_to_order = data.made_to_order
    product.lead_time_days = data.lead_time_days if data.made_to_order else 0
    product.weekly_capacity = data.weekly_capacity if data.made_to_order else 0
    if product.category_id:
        product.is_digital = session.get(Category, product.category_id).is_digital
    product.updated_at = utcnow()
    session.add(product)
    session.flush()

    existing = {v.id: v for v in session.exec(select(ProductVariant).where(
        ProductVariant.product_id == product.id))}
    kept = set()
    for position, item in enumerate(data.variants):
        variant = existing.get(item.id) if item.id else None
        if variant is None:
            variant = ProductVariant(product_id=product.id, sku=item.sku, price_amount=0)
        variant.sku = item.sku
        variant.name = _clean(item.name)
        variant.name_en = _clean(item.name_en) or None
        variant.price_amount = item.price_amount
        variant.stock = item.stock
        variant.position = position
        variant.is_active = True
        session.add(variant)
        session.flush()
        kept.add(variant.id)
    for variant_id, variant in existing.items():
        if variant_id not in kept:  # order lines may point at it: hide, never delete
            variant.is_active = False
            session.add(variant)

    if data.makers:
        current = {m.maker_id: m for m in session.exec(select(ProductMaker).where(
            ProductMaker.product_id == product.id))}
        wanted = dict(data.makers)
        for maker_id, row in current.items():
            if maker_id not in wanted:
                session.delete(row)
        session.flush()
        for maker_id, share in wanted.items():
            row = current.get(maker_id) or ProductMaker(product_id=product.id,
                                                        maker_id=maker_id,
                                                        share_basis_points=share)
            row.share_basis_points = share
            session.add(row)
    session.flush()
    refresh_listing(session=session, product=product)


def refresh_listing(*, session: Session, product: Product) -> None:
    """Recompute the stored lowest price and the search document of `product`."""
    product.min_price_amount = session.exec(
        select(func.min(ProductVariant.price_amount)).where(
            ProductVariant.product_id == product.id, ProductVariant.is_active)).one()
    session.add(product)
    session.flush()
    reindex_product(session=session, product=product)
    after_commit(session, page_cache.clear)


def _unique_slug(session: Session, title_en: str | None) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", (title_en or "").lower()).strip("-")[:60] or "product"
    number = (session.exec(select(func.max(Product.id))).one() or 0) + 1
    slug = f"{base}-{number}"
    while session.exec(select(Product.id).where(Product.slug == slug)).first():
        number += 1
        slug = f"{base}-{number}"
    return slug


def create_product(*, session: Session, user: User, workshop_id: int,
                   data: ProductData) -> Product:
    """A new draft product of `workshop_id`, if `user` may list goods for it."""
    if not any(w.id == workshop_id for w in editable_workshops(session=session, user=user)):
        raise NotAllowed(_l("You can only list goods for your own workshop."))
    _validate(session=session, data=data, workshop_id=workshop_id)
    product = Product(slug=_unique_slug(session, data.title_en), workshop_id=workshop_id,
                      title=_clean(data.title), created_by_id=user.id,
                      status=ProductStatus.DRAFT)
    session.add(product)
    session.flush()
    _apply(session=session, product=product, data=data)
    return product


def update_product(*, session: Session, user: User, product: Product,
                   data: ProductData) -> Product:
    """Change a product. A maker's change to goods on sale goes back to review."""
    if not can_edit(session=session, user=user, product=product):
        raise NotAllowed(_l("You can only change your own workshop's goods."))
    _validate(session=session, data=data, workshop_id=product.workshop_id)
    _apply(session=session, product=product, data=data)
    if product.status == ProductStatus.PUBLISHED and not is_operator(session=session,
                                                                      user=user):
        product.status = ProductStatus.PENDING_REVIEW
        session.add(product)
        session.flush()
    return product


class NotReadyForReview(Conflict):
    """A draft lacks what a reviewer (and a shopper) needs; `missing` is (part of the
    product form, message) for each thing, in the order the form shows them."""

    code = "not_ready_for_review"

    def __init__(self, missing: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(str(message) for _part, message in missing))
        self.missing = missing


def missing_for_review(*, session: Session, product: Product) -> list[tuple[str, str]]:
    """What a product needs before review: a price, a photo, and who made it."""
    from catalog.models import ProductImage

    missing = []
    if product.min_price_amount is None:
        missing.append(("variants", _l("Add at least one version with a price")))
    if session.exec(select(ProductMaker.id).where(
            ProductMaker.product_id == product.id).limit(1)).first() is None:
        missing.append(("makers", _l("Say who made it: choose at least one maker")))
    if session.exec(select(ProductImage.id).where(
            ProductImage.product_id == product.id).limit(1)).first() is None:
        missing.append(("photos", _l("Add at least one photo of the product")))
    return missing


def submit_for_review(*, session: Session, user: User, product: Product) -> None:
    """Draft (or sent back) -> waiting for review."""
    if not can_edit(session=session, user=user, product=product):
        raise NotAllowed(_l("You can only change your own workshop's goods."))
    if product.status != ProductStatus.DRAFT:
        raise Conflict(_l("Only a draft can be sent for review."))
    missing = missing_for_review(session=session, product=product)
    if missing:
        raise NotReadyForReview(missing)
    product.status = ProductStatus.PENDING_REVIEW
    product.review_note = None
    product.updated_at = utcnow()
    session.add(product)
    session.flush()


def review_product(*, session: Session, operator: User, product: Product, publish: bool,
                   reason: str | None = None) -> None:
    """An operator publishes a product or sends it back with a reason."""
    if not is_operator(session=session, user=operator):
        raise NotAllowed()
    if product.status != ProductStatus.PENDING_REVIEW:
        raise Conflict(_l("This product is not waiting for review."))
    if publish:
        product.status = ProductStatus.PUBLISHED
        product.published_at = product.published_at or utcnow()
        product.review_note = None
    else:
        reason = _clean(reason)
        if not reason:
            raise InvalidProduct(_l("Enter the reason for sending it back"), field="reason")
        product.status = ProductStatus.DRAFT
        product.review_note = reason[:500]
    product.updated_at = utcnow()
    session.add(product)
    session.flush()
    reindex_product(session=session, product=product)
    after_commit(session, page_cache.clear)


def archive_product(*, session: Session, user: User, product: Product) -> None:
    """Take a product off sale for good (its orders and history stay)."""
    if not can_edit(session=session, user=user, product=product):
        raise NotAllowed(_l("You can only change your own workshop's goods."))
    product.status = ProductStatus.ARCHIVED
    product.updated_at = utcnow()
    session.add(product)
    session.flush()
