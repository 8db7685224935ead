"""Storefront pages: home, catalogue with search, product, workshop and maker pages,
and the photo and sample files they show."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, render_template, request, send_from_directory
from flask_babel import format_date
from sqlmodel import select

from accounts.models import MakerProfile, Workshop, WorkshopMember
from catalog import images, made_to_order, queries
from catalog.forms import parse_price
from catalog.media import digital_file, file_path
from catalog.models import Category, DigitalFileKind
from catalog.page_cache import cached_page
from catalog.search import SORTS, search_products
from catalog.suggestions import for_no_results as suggestions_for_no_results
from core.db import get_session
from core.errors import NotFound

bp = Blueprint("catalog", __name__)
_MEDIA_NAME = re.compile(r"^[0-9a-f]{32}-\d{2,4}\.(webp|jpg)$")
_SAMPLE_NAME = re.compile(r"^[0-9a-f]{32}\.(mp3|m4a|ogg|wav)$")


@bp.route("/")
@cached_page
def home():
    """The storefront: streams live and coming up, workshops, new goods."""
    session = get_session()
    newest = search_products(session=session, per_page=8)
    return render_template(
        "catalog/home.html",
        sessions=queries.upcoming_sessions(session=session),
        workshops=queries.featured_workshops(session=session),
        cards=newest.cards,
    )


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdecimal() and len(value) < 10 else None


def catalogue_filters(session) -> tuple[dict, dict]:
    """Read the catalogue's query string into search arguments (bad values are ignored
    and reported, never an error page) and what the form should show."""
    args = request.args
    problems = {}
    category = None
    if args.get("category"):
        category = session.exec(select(Category).where(
            Category.slug == args["category"][:60])).first()
    workshop = None
    if args.get("workshop"):
        workshop = session.exec(select(Workshop).where(
            Workshop.slug == args["workshop"][:80])).first()
    prices = {}
    for name in ("min_price", "max_price"):
        raw = args.get(name, "").strip()
        if raw:
            fen = parse_price(raw[:20])
            if fen is None:
                problems[name] = True
            else:
                prices[name] = fen
    sort = args.get("sort", "newest")
    filters = dict(
        query=args.get("q", "")[:100] or None,
        category_id=category.id if category else None,
        workshop_id=workshop.id if workshop else None,
        maker_id=_int_arg("maker"),
        in_stock=args.get("in_stock") == "1",
        sort=sort if sort in SORTS else "newest",
        page=_int_arg("page") or 1,
        **prices,
    )
    return filters, problems


@bp.route("/products")
@cached_page
def catalogue():
    """Every product on sale, with search, filters, sorting and pages."""
    session = get_session()
    filters, problems = catalogue_filters(session)
    results = search_products(session=session, **filters)
    suggestions = suggestions_for_no_results(session, filters) if not results.total else {}
    return render_template("catalog/catalogue.html", results=results, filters=filters,
                           problems=problems, suggestions=suggestions,
                           categories=queries.categories(session=session),
                           workshops=queries.featured_workshops(session=session, limit=100),
                           sorts=SORTS)


@bp.route("/products/<slug>")
@cached_page
def product(slug: str):
    """One product: photos, price, stock left, versions, the makers' and workshop's story."""
    session = get_session()
    item = queries.published_product(session=session, slug=slug[:120])
    if item is None:
        raise NotFound()
    variants = queries.active_variants(session=session, product_id=item.id)
    sample = digital_file(session=session, product_id=item.id, kind=DigitalFileKind.SAMPLE) \
        if item.is_digital else None
    return render_template(
        "catalog/product.html", product=item, variants=variants,
        stock_left=sum(v.stock for v in variants),
        price=min((v.price_amount for v in variants), default=None),
        images=queries.product_images(session=session, product_id=item.id),
        workshop=session.get(Workshop, item.workshop_id),
        category=session.get(Category, item.category_id) if item.category_id else None,
        makers=queries.public_makers(session=session, product_id=item.id), sample=sample,
        sample_url=sample_url,
        made_weeks=made_to_order.offers(session=session, product=item))


@bp.app_template_filter("ship_date")
def ship_date(value) -> str:
    """A ship date (a day in the shop's zone) in the reader's language: 2026年12月14日."""
    return format_date(value, "long") if value else ""


@bp.route("/workshops/<slug>")
@cached_page
def workshop(slug: str):
    """A workshop's story and its goods."""
    session = get_session()
    found = session.exec(select(Workshop).where(Workshop.slug == slug[:80])).first()
    if found is None:
        raise NotFound()
    results = search_products(session=session, workshop_id=found.id, page=_int_arg("page") or 1)
    makers = list(session.exec(
        select(MakerProfile).join(WorkshopMember, WorkshopMember.user_id == MakerProfile.user_id)
        .where(WorkshopMember.workshop_id == found.id, MakerProfile.show_name_publicly)
        .order_by(MakerProfile.public_name)))
    return render_template("catalog/workshop.html", workshop=found, results=results,
                           makers=makers)


@bp.route("/makers/<int:user_id>")
@cached_page
def maker(user_id: int):
    """A maker's page, only if they chose to be shown by name."""
    session = get_session()
    profile = session.get(MakerProfile, user_id) if user_id < 2**31 else None
    if profile is None or not profile.show_name_publicly:
        raise NotFound()
    results = search_products(session=session, maker_id=user_id, page=_int_arg("page") or 1)
    workshops = list(session.exec(
        select(Workshop).join(WorkshopMember, WorkshopMember.workshop_id == Workshop.id)
        .where(WorkshopMember.user_id == user_id).order_by(Workshop.name)))
    return render_template("catalog/maker.html", profile=profile, results=results,
                           workshops=workshops)


@bp.route("/media/products/<name>")
def product_image_file(name: str):
    """A photo rendition; its name changes with its content, so it is cached for a year."""
    if not _MEDIA_NAME.match(name):
        abort(404)
    response = send_from_directory(images.image_dir(current_app.config["MEDIA_DIR"]), name,
                                   max_age=images.CACHE_SECONDS)
    response.headers["Cache-Control"] = f"public, max-age={images.CACHE_SECONDS}, immutable"
    return response


@bp.route("/media/samples/<name>")
def sample_file(name: str):
    """A digital good's public sample (the full file is never served from here)."""
    if not _SAMPLE_NAME.match(name):
        abort(404)
    from pathlib import Path

    folder = Path(current_app.config["MEDIA_DIR"]) / "samples"
    response = send_from_directory(folder, name, max_age=images.CACHE_SECONDS)
    response.headers["Cache-Control"] = f"public, max-age={images.CACHE_SECONDS}, immutable"
    return response


def sample_url(stored) -> str:
    """The public address of a sample file."""
    from flask import url_for

    return url_for("catalog.sample_file", name=file_path("", stored).name)


def register_navigation() -> None:
    """Storefront links in the main navigation."""
    from flask_babel import lazy_gettext as _l

    from core.navigation import add_nav, add_operator_link

    add_nav("catalog.home", _l("Home"), order=10)
    add_nav("catalog.catalogue", _l("All goods"), order=20)
    add_nav("catalog.my_products", _l("My goods"), audience="maker", order=60)
    add_operator_link("catalog.review_queue", _l("Goods waiting for review"), order=20)


from catalog import api, editor_views, review_views  # noqa: E402,F401  (routes on bp)
