"""JSON API under /api/v1: products (list, search, detail), workshops and makers.

Validated with spectree, which reads pydantic 2 models, works on a plain Flask app
and blueprint (no app subclass, unlike flask-openapi3 and APIFlask), and gives its
part of the shop's one OpenAPI document (/api/openapi.json, core/openapi.py). A
request that does not validate raises our own error, so every API error is
`{"error": {"code", "message"}}`.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from flask import Blueprint, url_for
from pydantic import BaseModel, Field
from spectree import Response, SpecTree
from sqlmodel import select

from accounts.models import MakerProfile, Workshop, WorkshopMember
from catalog import made_to_order, queries
from catalog.search import search_products
from catalog.views import bp as catalog_bp
from core.db import get_session
from core.errors import DomainError, NotFound
from core.openapi import declare_part, error_answer

API_PREFIX = "/api/v1"


class InvalidRequest(DomainError):
    status_code = 422
    code = "invalid_request"


def _raise_validation_error(req, resp, req_validation_error, instance, *rest):
    if req_validation_error is not None:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg')}"
            for error in req_validation_error.errors())
        raise InvalidRequest(problems[:500])


# spectree leaves out of the document every route under its own `path`, so it keeps
# its pages under /api/v1/spec and we serve the document at /api/v1/openapi.json.
spec = SpecTree("flask", path=API_PREFIX.strip("/") + "/spec", title="Gongfang Live API",
                version="1.0.0", before=_raise_validation_error, annotations=True,
                page_templates={}, mode="strict")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class ProductQuery(BaseModel):
    q: str | None = Field(default=None, max_length=100, description="Words to search for")
    category: str | None = Field(default=None, max_length=60, description="Category slug")
    workshop: str | None = Field(default=None, max_length=80, description="Workshop slug")
    maker: int | None = Field(default=None, ge=1, le=2**31 - 1)
    min_price: int | None = Field(default=None, ge=0, le=100_000_000, description="fen")
    max_price: int | None = Field(default=None, ge=0, le=100_000_000, description="fen")
    in_stock: bool = False
    sort: Literal["newest", "price_low", "price_high", "best_selling"] = "newest"
    page: int = Field(default=1, ge=1, le=1000)
    per_page: int = Field(default=24, ge=1, le=100)


class Image(BaseModel):
    src: str
    webp_srcset: str
    jpeg_srcset: str
    alt: str
    alt_en: str | None
    width: int
    height: int


class MadeToOrder(BaseModel):
    """Beyond its stock the workshop makes the product, up to a weekly capacity."""

    lead_time_days: int = Field(description="Days from ordering (or from the week's "
                                "Monday, for next week) to shipping")
    weekly_capacity: int = Field(description="Units the workshop makes an ISO week "
                                 "(Asia/Shanghai)")
    capacity_left_this_week: int
    capacity_left_next_week: int
    ships_by: date | None = Field(description="When a unit made to order now is expected "
                                  "to ship (the first week with room); null when both "
                                  "weeks are full")


class ProductSummary(BaseModel):
    id: int
    slug: str
    title: str
    title_en: str | None
    price_fen: int | None
    currency: str = "CNY"
    stock_left: int | None = Field(description="Units on the shelf; null for a digital "
                                   "good, which has no stock")
    made_to_order: MadeToOrder | None = Field(description="Null unless the workshop makes "
                                              "it to order beyond its stock")
    workshop: str | None
    url: str
    image: Image | None


class ProductList(BaseModel):
    items: list[ProductSummary]
    total: int
    page: int
    pages: int


class Variant(BaseModel):
    id: int
    sku: str
    name: str
    name_en: str | None
    price_fen: int
    currency: str
    stock_left: int | None = Field(description="Null for a digital good")


class ProductDetail(ProductSummary):
    description: str
    description_en: str | None
    maker_story: str
    is_digital: bool
    variants: list[Variant]
    images: list[Image]
    makers: list[str]


class WorkshopOut(BaseModel):
    slug: str
    name: str
    name_en: str | None
    kind: str
    district: str | None
    story: str
    url: str


class WorkshopList(BaseModel):
    items: list[WorkshopOut]


class MakerOut(BaseModel):
    id: int
    name: str
    story: str | None
    workshops: list[str]
    url: str


api = Blueprint("api", __name__, url_prefix=API_PREFIX)


def _made_to_order(product) -> MadeToOrder | None:
    offers = made_to_order.offers(session=get_session(), product=product)
    if not offers:
        return None
    this_week, next_week = offers
    room = next((offer for offer in offers if offer.left), None)
    return MadeToOrder(lead_time_days=product.lead_time_days,
                       weekly_capacity=product.weekly_capacity,
                       capacity_left_this_week=this_week.left,
                       capacity_left_next_week=next_week.left,
                       ships_by=room.ships_on if room else None)


def _summary(card) -> ProductSummary:
    product = card.product
    return ProductSummary(
        id=product.id, slug=product.slug, title=product.title, title_en=product.title_en,
        price_fen=card.price, stock_left=None if product.is_digital else card.stock,
        made_to_order=_made_to_order(product),
        workshop=card.workshop.name if card.workshop else None,
        url=url_for("catalog.product", slug=product.slug),
        image=Image(**card.image) if card.image else None)


@api.get("/products")
@spec.validate(query=ProductQuery, resp=Response(HTTP_200=ProductList, HTTP_422=ErrorResponse),
               tags=["products"])
def products(query: ProductQuery):
    """List or search products on sale."""
    session = get_session()
    filters = {}
    if query.category:
        from catalog.models import Category

        category = session.exec(select(Category).where(Category.slug == query.category)).first()
        filters["category_id"] = category.id if category else -1
    if query.workshop:
        workshop = session.exec(select(Workshop).where(Workshop.slug == query.workshop)).first()
        filters["workshop_id"] = workshop.id if workshop else -1
    page = search_products(session=session, query=query.q, maker_id=query.maker,
                           min_price=query.min_price, max_price=query.max_price,
                           in_stock=query.in_stock, sort=query.sort, page=query.page,
                           per_page=query.per_page, **filters)
    return ProductList(items=[_summary(c) for c in page.cards], total=page.total,
                       page=page.page, pages=page.pages)


@api.get("/products/<slug>")
@spec.validate(resp=Response(HTTP_200=ProductDetail, HTTP_404=ErrorResponse), tags=["products"])
def product_detail(slug: str):
    """One product on sale, with its versions, photos and consenting makers."""
    session = get_session()
    product = queries.published_product(session=session, slug=slug[:120])
    if product is None:
        raise NotFound()
    card = queries.product_cards(session=session, products=[product])[0]
    variants = queries.active_variants(session=session, product_id=product.id)
    summary = _summary(card)
    return ProductDetail(
        **summary.model_dump(exclude={"image"}), image=summary.image,
        description=product.description, description_en=product.description_en,
        maker_story=product.maker_story, is_digital=product.is_digital,
        variants=[Variant(id=v.id, sku=v.sku, name=v.name, name_en=v.name_en,
                          price_fen=v.price_amount, currency=v.price_currency,
                          stock_left=None if product.is_digital else v.stock)
                  for v in variants],
        images=[Image(**i) for i in queries.product_images(session=session,
                                                             product_id=product.id)],
        makers=[m.public_name for m in queries.public_makers(session=session,
                                                             product_id=product.id)])


def _workshop_out(workshop: Workshop) -> WorkshopOut:
    return WorkshopOut(slug=workshop.slug, name=workshop.name, name_en=workshop.name_en,
                       kind=workshop.kind.value, district=workshop.district,
                       story=workshop.story, url=url_for("catalog.workshop", slug=workshop.slug))


@api.get("/workshops")
@spec.validate(resp=Response(HTTP_200=WorkshopList), tags=["workshops"])
def workshops():
    """Every workshop, featured first."""
    rows = queries.featured_workshops(session=get_session(), limit=500)
    return WorkshopList(items=[_workshop_out(w) for w in rows])


@api.get("/workshops/<slug>")
@spec.validate(resp=Response(HTTP_200=WorkshopOut, HTTP_404=ErrorResponse), tags=["workshops"])
def workshop_detail(slug: str):
    """One workshop."""
    found = get_session().exec(select(Workshop).where(Workshop.slug == slug[:80])).first()
    if found is None:
        raise NotFound()
    return _workshop_out(found)


@api.get("/makers/<int:user_id>")
@spec.validate(resp=Response(HTTP_200=MakerOut, HTTP_404=ErrorResponse), tags=["makers"])
def maker_detail(user_id: int):
    """A maker who chose to be shown by name (others are not found)."""
    session = get_session()
    profile = session.get(MakerProfile, user_id) if user_id < 2**31 else None
    if profile is None or not profile.show_name_publicly:
        raise NotFound()
    names = session.exec(select(Workshop.name).join(
        WorkshopMember, WorkshopMember.workshop_id == Workshop.id)
        .where(WorkshopMember.user_id == user_id).order_by(Workshop.name)).all()
    return MakerOut(id=user_id, name=profile.public_name,
                    story=profile.story if profile.show_story_publicly else None,
                    workshops=list(names), url=url_for("catalog.maker", user_id=user_id))


def openapi_part() -> dict:
    """This API's paths for the shop's one document (core/openapi.py), from spectree.

    spectree names its schemas `Model.<hash>`; the hash is dropped, and its own 422
    body is replaced by ours, as `_raise_validation_error` answers every invalid request.
    """
    import json
    import re

    text = re.sub(r"\.[0-9a-f]{7}(?=[.\"])", "", json.dumps(spec.spec))
    document = json.loads(text)
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"]["422"] = error_answer("422")
    schemas = document["components"]["schemas"]
    for name in [name for name in schemas if name.startswith("ValidationError")]:
        del schemas[name]
    return {"paths": document["paths"], "components": {"schemas": schemas},
            "tags": document.get("tags", [])}


# spectree's own routes (its document at /api/v1/spec/openapi.json) are not registered:
# the shop serves one document; spectree reads the routes from the current app.
catalog_bp.register_blueprint(api)
declare_part("catalog", openapi_part)
