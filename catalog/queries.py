"""Reads for the storefront, loading what the templates show in few queries."""

from __future__ import annotations

from sqlmodel import Session, func, select

from accounts.models import Workshop
from catalog.models import Product, ProductStatus, ProductVariant
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
