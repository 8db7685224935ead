"""Reads for the storefront, loading what the templates show in few queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, func, select

from accounts.models import MakerProfile, Workshop
from catalog.images import rendition_name, srcset
from catalog.models import (
    Category,
    Product,
    ProductImage,
    ProductMaker,
    ProductStatus,
    ProductVariant,
)
from core.db import utcnow
from livestream.models import LiveSession, SessionStatus


def featured_workshops(*, session: Session, limit: int = 6) -> list[Workshop]:
    """Workshops the operators feature, then the rest by name."""
    return list(session.exec(
        select(Workshop).order_by(Workshop.is_featured.desc(), Workshop.name).limit(limit)))


def new_products(*, session: Session, limit: int = 8) -> list[tuple[Product, int, int]]:
    """Newest published products with their lowest price and stock left."""
    price = func.min(ProductVariant.price_amount).label("price")
    stock = func.coalesce(func.sum(ProductVariant.stock), 0).label("stock")
    return list(session.exec(
        select(Product, price, stock)
        .join(ProductVariant, ProductVariant.product_id == Product.id)
        .where(Product.status == ProductStatus.PUBLISHED, ProductVariant.is_active)
        .group_by(Product.id)
        .order_by(Product.published_at.desc(), Product.id.desc())
        .limit(limit)))


def upcoming_sessions(*, session: Session, limit: int = 6) -> list[LiveSession]:
    """Live now first, then the next scheduled streams."""
    return list(session.exec(
        select(LiveSession)
        .where((LiveSession.status == SessionStatus.LIVE) |
               ((LiveSession.status == SessionStatus.SCHEDULED) &
                (LiveSession.planned_end > utcnow())))
        .order_by((LiveSession.status == SessionStatus.LIVE).desc(), LiveSession.planned_start)
        .limit(limit)))


@dataclass(frozen=True)
class ProductCard:
    """What a product tile shows: the product, its lowest price, stock left, workshop
    name and main photo."""

    product: Product
    price: int | None
    stock: int
    workshop: Workshop | None
    image: dict | None


def _image_dict(image: ProductImage, url=None) -> dict:
    url = url or _media_url
    largest = image.widths[-1]
    return {
        "id": image.id,
        "alt": image.alt,
        "alt_en": image.alt_en,
        "width": image.width,
        "height": image.height,
        "src": url(rendition_name(image.content_hash, image.widths[0], "jpg")),
        "large": url(rendition_name(image.content_hash, largest, "jpg")),
        "webp_srcset": srcset(url, image.content_hash, image.widths, "webp"),
        "jpeg_srcset": srcset(url, image.content_hash, image.widths, "jpg"),
        "widths": image.widths,
    }


def _media_url(name: str) -> str:
    from flask import url_for

    return url_for("catalog.product_image_file", name=name)


def product_images(*, session: Session, product_id: int) -> list[dict]:
    """Every photo of a product, in order, as dicts for `<picture>` (see product_image)."""
    images = session.exec(select(ProductImage).where(ProductImage.product_id == product_id)
                          .order_by(ProductImage.position, ProductImage.id)).all()
    return [_image_dict(image) for image in images]


def product_image(*, session: Session, product_id: int) -> dict | None:
    """The main photo of a product for other pages (cart, income dashboard), or None.

    Keys: `src` (smallest JPEG), `large`, `webp_srcset` and `jpeg_srcset` (for
    `<source srcset>` / `<img srcset>`), `alt` and `alt_en`, `width`, `height`.
    Needs an app context (it builds URLs).
    """
    image = session.exec(select(ProductImage).where(ProductImage.product_id == product_id)
                         .order_by(ProductImage.position, ProductImage.id).limit(1)).first()
    return _image_dict(image) if image else None


def main_images(*, session: Session, product_ids) -> dict[int, dict]:
    """The main photo of each product that has one, in one query (see product_image)."""
    ids = {i for i in product_ids if i is not None}
    first: dict[int, ProductImage] = {}
    if ids:
        for image in session.exec(select(ProductImage).where(ProductImage.product_id.in_(ids))
                                  .order_by(ProductImage.position, ProductImage.id)):
            first.setdefault(image.product_id, image)
    if not first:
        return {}
    # Every rendition lives under one route; build its address once rather than asking
    # url_for for each of the seven names of each photo (rendition names are URL-safe).
    prefix = _media_url("-")[:-1]
    return {product_id: _image_dict(image, url=lambda name: prefix + name)
            for product_id, image in first.items()}


def product_cards(*, session: Session, products: list[Product]) -> list[ProductCard]:
    """Cards for `products` in three queries, whatever their number."""
    if not products:
        return []
    ids = [p.id for p in products]
    stock = dict(session.exec(
        select(ProductVariant.product_id, func.coalesce(func.sum(ProductVariant.stock), 0))
        .where(ProductVariant.product_id.in_(ids), ProductVariant.is_active)
        .group_by(ProductVariant.product_id)).all())
    images = main_images(session=session, product_ids=ids)
    workshop_ids = {p.workshop_id for p in products}
    workshops = {w.id: w for w in session.exec(select(Workshop).where(
        Workshop.id.in_(workshop_ids)))}
    return [ProductCard(p, p.min_price_amount, int(stock.get(p.id, 0)),
                        workshops.get(p.workshop_id),
                        images.get(p.id))
            for p in products]


def public_makers(*, session: Session, product_id: int) -> list[MakerProfile]:
    """The makers of a product who agreed to be named publicly."""
    return list(session.exec(
        select(MakerProfile).join(ProductMaker, ProductMaker.maker_id == MakerProfile.user_id)
        .where(ProductMaker.product_id == product_id, MakerProfile.show_name_publicly)
        .order_by(ProductMaker.share_basis_points.desc(), MakerProfile.user_id)))


def published_product(*, session: Session, slug: str) -> Product | None:
    """A product on sale, by its slug."""
    return session.exec(select(Product).where(
        Product.slug == slug, Product.status == ProductStatus.PUBLISHED)).first()


def active_variants(*, session: Session, product_id: int) -> list[ProductVariant]:
    """The variants a shopper may choose, in order."""
    return list(session.exec(
        select(ProductVariant).where(ProductVariant.product_id == product_id,
                                     ProductVariant.is_active)
        .order_by(ProductVariant.position, ProductVariant.id)))


def categories(*, session: Session) -> list[Category]:
    """Every category in shelf order."""
    return list(session.exec(select(Category).order_by(Category.position, Category.id)))
