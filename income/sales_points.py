"""Sales points (stalls): a simple till that takes stock and credits the makers.

Stock is taken by a conditional update (`stock >= :quantity`) in the same transaction
that records the sale and its ledger credits; if any line is short, nothing is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, select

from accounts.access import has_role
from accounts.models import Role
from catalog.models import Product, ProductMaker, ProductVariant
from core.db import utcnow
from core.errors import Conflict, DomainError, NotFound
from core.money import Money
from income import ledger
from income.models import (
    SalesPoint,
    SalesPointMember,
    StallPayment,
    StallSale,
    StallSaleLine,
)

MAX_TILL_QUANTITY = 99


@dataclass(frozen=True)
class TillLine:
    variant_id: int
    quantity: int


def my_sales_points(session: Session, user_id: int) -> list[SalesPoint]:
    """The stalls this person runs."""
    return list(session.exec(select(SalesPoint).join(
        SalesPointMember, SalesPointMember.sales_point_id == SalesPoint.id)
        .where(SalesPointMember.user_id == user_id).order_by(SalesPoint.name)).all())


def sales_point_for(session: Session, sales_point_id: int, user_id: int) -> SalesPoint:
    """The stall if this person runs it (or is an operator); 404 otherwise."""
    point = session.get(SalesPoint, sales_point_id)
    if point is None:
        raise NotFound()
    if has_role(Role.OPERATOR):
        return point
    member = session.exec(select(SalesPointMember.id).where(
        SalesPointMember.sales_point_id == sales_point_id,
        SalesPointMember.user_id == user_id)).first()
    if member is None:
        raise NotFound()
    return point


def create_sales_point(*, session: Session, slug: str, name: str,
                       district: str | None = None) -> SalesPoint:
    point = session.exec(select(SalesPoint).where(SalesPoint.slug == slug)).first()
    if point is None:
        point = SalesPoint(slug=slug, name=name, district=district)
        session.add(point)
        session.flush()
    return point


def add_member(*, session: Session, sales_point: SalesPoint, user_id: int) -> None:
    if not session.exec(select(SalesPointMember.id).where(
            SalesPointMember.sales_point_id == sales_point.id,
            SalesPointMember.user_id == user_id)).first():
        session.add(SalesPointMember(sales_point_id=sales_point.id, user_id=user_id))
        session.flush()


def till_products(session: Session) -> list[tuple[Product, ProductVariant]]:
    """What a till can sell: published, physical goods with an active variant."""
    from catalog.models import ProductStatus

    return list(session.exec(
        select(Product, ProductVariant).join(ProductVariant,
                                             ProductVariant.product_id == Product.id)
        .where(Product.status == ProductStatus.PUBLISHED, ProductVariant.is_active,
               Product.is_digital.is_(False))
        .order_by(Product.title, ProductVariant.id)).all())


def record_sale(*, session: Session, sales_point: SalesPoint, lines: list[TillLine],
                payment_method: StallPayment, by_user_id: int,
                idempotency_key: str, now: datetime | None = None) -> tuple[StallSale, bool]:
    """Record a paid stall sale; (sale, created). A repeated key returns the first sale.

    The sale belongs to the stall's day at `now`; a day that is closed takes no more."""
    from income import stall_days

    existing = session.exec(select(StallSale).where(
        StallSale.idempotency_key == idempotency_key)).first()
    if existing is not None:
        return existing, False
    now = now or utcnow()
    day = stall_days.business_day(now)
    stall_days.lock_point(session, sales_point.id)
    if stall_days.day_close(session, sales_point.id, day) is not None:
        raise Conflict(_("Today's till is closed, so the sale was not recorded. "
                         "Sales can be recorded again tomorrow."))
    merged: dict[int, int] = {}
    for line in lines:
        if not 1 <= line.quantity <= MAX_TILL_QUANTITY:
            raise DomainError(_("Quantity must be between 1 and %(max)s", max=MAX_TILL_QUANTITY))
        merged[line.variant_id] = merged.get(line.variant_id, 0) + line.quantity
    if not merged:
        raise DomainError(_("Choose at least one item"))
    rows = {v.id: (p, v) for p, v in till_products(session) if v.id in merged}
    if set(rows) != set(merged):
        raise DomainError(_("One of the items cannot be sold here. Choose again."))
    for variant_id in sorted(merged):  # a fixed order, so two tills never deadlock
        taken = session.execute(sa.update(ProductVariant).where(
            ProductVariant.id == variant_id, ProductVariant.stock >= merged[variant_id],
        ).values(stock=ProductVariant.stock - merged[variant_id])
            .execution_options(synchronize_session=False)).rowcount
        if taken != 1:
            product, variant = rows[variant_id]
            raise Conflict(_("Not enough %(name)s left.", name=product.title))
    total = sum(rows[v][1].price_amount * q for v, q in merged.items())
    sale = StallSale(sales_point_id=sales_point.id, idempotency_key=idempotency_key,
                     payment_method=StallPayment(payment_method), total_amount=total,
                     created_by_id=by_user_id, created_at=now, business_day=day)
    session.add(sale)
    session.flush()
    sold = []
    for variant_id, quantity in merged.items():
        product, variant = rows[variant_id]
        row = StallSaleLine(sale_id=sale.id, product_id=product.id, variant_id=variant.id,
                            workshop_id=product.workshop_id, product_name=product.title,
                            sku=variant.sku, unit_price_amount=variant.price_amount,
                            quantity=quantity, line_total_amount=variant.price_amount * quantity)
        session.add(row)
        session.flush()
        makers = session.exec(select(ProductMaker.maker_id, ProductMaker.share_basis_points)
                              .where(ProductMaker.product_id == product.id)
                              .order_by(ProductMaker.id)).all()
        sold.append(ledger.SoldLine(
            key=f"stall-line:{row.id}", amount=Money(row.line_total_amount),
            quantity=quantity, product_id=product.id, workshop_id=product.workshop_id,
            description=product.title, makers=[(m, s) for m, s in makers]))
        session.execute(sa.update(Product).where(Product.id == product.id)
                        .values(units_sold=Product.units_sold + quantity)
                        .execution_options(synchronize_session=False))
    ledger.credit_stall_sale(session=session, sale=sale, lines=sold)
    return sale, True


def sale_gap(session: Session, sale_id: int) -> int:
    """Entries for the stall sale minus its total: 0 when the books are right."""
    from sqlmodel import func

    from income.models import LedgerEntry

    sale = session.get(StallSale, sale_id)
    booked = session.exec(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.stall_sale_id == sale_id)).one()
    return int(booked) - sale.total_amount


STALL_FIELDS = ("name", "name_en", "place", "district", "opening_days", "opens_at",
                "closes_at", "is_pickup_point", "is_active")


def save_sales_point(*, session: Session, point: SalesPoint | None,
                     values: dict) -> tuple[SalesPoint, dict]:
    """Create a stall (point None) or change one; (stall, {field: (before, after)}).

    A new stall gets a code of its own that never changes: orders picked up there keep it.
    """
    import secrets

    if point is None:
        point = SalesPoint(slug=f"stall-{secrets.token_hex(4)}", name=values["name"])
        session.add(point)
    changed = {}
    for name in STALL_FIELDS:
        if name in values and getattr(point, name) != values[name]:
            changed[name] = (getattr(point, name), values[name])
            setattr(point, name, values[name])
    session.flush()
    return point, changed


def remove_member(*, session: Session, sales_point: SalesPoint, user_id: int) -> bool:
    """Take someone off the stall's team; False if they were not on it."""
    member = session.exec(select(SalesPointMember).where(
        SalesPointMember.sales_point_id == sales_point.id,
        SalesPointMember.user_id == user_id)).first()
    if member is None:
        return False
    session.delete(member)
    session.flush()
    return True


def team(session: Session, point_id: int):
    """The people who run the stall's till, by name."""
    from accounts.models import User

    return list(session.exec(select(User).join(
        SalesPointMember, SalesPointMember.user_id == User.id)
        .where(SalesPointMember.sales_point_id == point_id)
        .order_by(User.display_name, User.id)).all())


def pickup_points(session: Session) -> list[SalesPoint]:
    """The stalls offered at checkout: open ones marked as pick-up points."""
    return list(session.exec(select(SalesPoint).where(
        SalesPoint.is_pickup_point, SalesPoint.is_active)
        .order_by(SalesPoint.name, SalesPoint.id)).all())


def opening_hours(point: SalesPoint) -> str:
    """When the stall opens, in the reader's language: "Tuesday to Sunday 09:00-17:00"."""
    from income.forms import WEEKDAY_LABELS

    names = dict(WEEKDAY_LABELS)
    days = sorted(set(point.opening_days or ""))
    if len(days) == 7:
        text = _("Every day")
    elif days and "".join(days) in "1234567" and len(days) > 2:
        text = _("%(first)s to %(last)s", first=names[days[0]], last=names[days[-1]])
    else:
        text = _(", ").join(str(names[d]) for d in days if d in names)
    if point.opens_at and point.closes_at:
        text = _("%(days)s %(opens)s-%(closes)s", days=text, opens=point.opens_at,
                 closes=point.closes_at)
    return text
