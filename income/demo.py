"""Demo income: a readable month for the knot-button makers, a metro-cart stall sale, and
the creative studio selling the fabric workshop's tote.

Found by natural keys (order idempotency keys, the stall sale's key), so loading twice
adds nothing.
"""

from __future__ import annotations

from datetime import time, timedelta

from sqlmodel import Session, select

from catalog.models import ProductVariant
from core.db import utcnow
from core.timezones import local_to_utc
from income import sales_points, stall_days
from income.models import StallPayment
from income.queries import local_zone
from livestream.models import LiveSession
from shop.models import DeliveryMethod, Payment, ProviderName
from shop.orders import Contact, Delivery, WantedLine, place_order
from shop.payments import mark_paid
from shop.providers import get_provider

DEMO_ORDERS = [
    # key, [(sku, quantity)], from the first live stream?
    ("demo-income-order-0001", [("PK-PLUM-RED", 2)], False),
    ("demo-income-order-0002", [("PK-PLUM-BLU", 1), ("PK-BOOK", 2)], True),
    ("demo-income-order-0003", [("PK-PLUM-RED", 3)], True),
    ("demo-income-order-0004", [("PK-BFLY", 2), ("FB-TOTE", 1)], False),
]


def _variant(session: Session, sku: str) -> ProductVariant | None:
    return session.exec(select(ProductVariant).where(ProductVariant.sku == sku)).first()


def _studio_sells_the_tote(*, session: Session, operator) -> None:
    """The creative studio sells the fabric workshop's tote (10% commission), so a paid
    tote shows each party's part: the fabric maker's, the studio's, the platform's."""
    from accounts.models import Workshop
    from catalog.models import Product
    from income import studios

    studio = session.exec(select(Workshop).where(Workshop.slug == "canyi-studio")).first()
    tote = session.exec(select(Product).where(Product.slug == "fabric-tote")).first()
    if studio is None or tote is None:
        return
    if studios.studio_rates(session).get(studio.id) is None:
        studios.set_studio_rate(session=session, studio_id=studio.id, rate_basis_points=1000,
                                by_user_id=operator.id)
    if tote.selling_studio_id is None:
        studios.set_selling_studio(session=session, product_id=tote.id, studio_id=studio.id,
                                   by_user_id=operator.id)


def load_income(*, session: Session, people: dict) -> None:
    """Paid orders this month, one from a live stream, and a stall sale at a metro cart."""
    # Bought in last week's stream (livestream.demo), so its replay's report has figures.
    stream = session.exec(select(LiveSession).where(
        LiveSession.slug == "pankou-last-week")).first() or session.exec(
        select(LiveSession).order_by(LiveSession.planned_start)).first()
    operator = people["operator"]
    _studio_sells_the_tote(session=session, operator=operator)
    for key, wanted, live in DEMO_ORDERS:
        lines = []
        for sku, quantity in wanted:
            variant = _variant(session, sku)
            if variant is None:
                break
            lines.append(WantedLine(variant.id, quantity,
                                    stream.id if (live and stream) else None))
        else:
            order, created = place_order(
                session=session, lines=lines,
                contact=Contact(name="顾客小李", email="shopper@demo.gongfang.cn"),
                delivery=Delivery(method=DeliveryMethod.PICKUP, pickup_point="metro-gulou",
                                  pickup_point_name="鼓楼地铁站"),
                provider=ProviderName.OFFLINE, idempotency_key=key, hold_minutes=15)
            if created:
                get_provider(ProviderName.OFFLINE).record_payment(session=session, order=order)
            payment = session.exec(select(Payment).where(Payment.order_id == order.id)).first()
            if payment is not None:
                mark_paid(session=session, payment=payment, amount=order.total_amount,
                          currency=order.currency, by_user_id=operator.id, by_system="demo")
    # The metro cart at Gulou is also a pick-up point (seeded by the stall-days migration).
    point = sales_points.create_sales_point(session=session, slug="metro-gulou",
                                            name="鼓楼地铁站小黄车", district="海曙区")
    if point.place is None:
        point.place, point.name_en = "鼓楼地铁站站厅", "Little yellow cart, Gulou metro station"
        point.opens_at, point.closes_at, point.is_pickup_point = "10:00", "16:00", True
    seller = people["makers"].get("cart1@demo.gongfang.cn")
    if seller is None:
        return
    sales_points.add_member(session=session, sales_point=point, user_id=seller.id)
    _stall_sale(session, point, seller, "demo-income-stall-0001", StallPayment.QR,
                (("PK-PLUM-RED", 1), ("YC-COOKIE-S", 3)), utcnow())
    # Yesterday: two cash sales, and the day closed ¥2 short, with a note.
    yesterday = local_to_utc(stall_days.business_day() - timedelta(days=1), time(11, 0), local_zone())
    sale = _stall_sale(session, point, seller, "demo-income-stall-0002", StallPayment.CASH,
                       (("YC-COOKIE-S", 2),), yesterday)
    _stall_sale(session, point, seller, "demo-income-stall-0003", StallPayment.CASH,
                (("PK-BFLY", 1),), yesterday + timedelta(minutes=40))
    if sale is not None and stall_days.day_close(session, point.id, sale.business_day) is None:
        recorded = stall_days.day_totals(session, point.id, sale.business_day).cash_amount
        stall_days.close_day(session=session, sales_point=point, day=sale.business_day,
                             cash_counted=max(recorded - 200, 0),
                             note="找零时多找了 2 元", by_user_id=seller.id)


def _stall_sale(session, point, seller, key, payment, wanted, at):
    """A stall sale of the demo goods that exist, at `at`; None when none of them do."""
    lines = [sales_points.TillLine(_variant(session, sku).id, n) for sku, n in wanted
             if _variant(session, sku) is not None]
    if not lines:
        return None
    sale, _created = sales_points.record_sale(
        session=session, sales_point=point, lines=lines, payment_method=payment,
        by_user_id=seller.id, idempotency_key=key, now=at)
    return sale
