"""Made to order: a product the workshop makes beyond its stock, up to a weekly capacity.

Capacity is per ISO week in the shop's zone (Asia/Shanghai): the units ordered beyond
stock that week are counted in `made_to_order_week`, raised by a conditional update
(`... WHERE units_ordered + :q <= :capacity`) in the checkout's transaction, so many
shoppers ordering the last units at once never exceed it; a released hold lowers it.
This week is offered first; when it is full, next week with its later ship date; when
both are full the product says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from catalog.models import MadeToOrderWeek, Product
from core.db import utcnow
from core.timezones import shop_zone

MAX_LEAD_TIME_DAYS = 365
MAX_WEEKLY_CAPACITY = 100_000
WEEKS_OFFERED = 2  # this week and next


def shop_today() -> date:
    """Today in the shop's zone."""
    return utcnow().astimezone(shop_zone()).date()


def week_start(day: date) -> date:
    """The Monday of the ISO week `day` is in."""
    return day - timedelta(days=day.weekday())


def ships_on(*, lead_time_days: int, week: date, today: date) -> date:
    """When units made in `week` are expected to ship: the lead time counted from today,
    or from the week's Monday for a later week."""
    return max(today, week) + timedelta(days=lead_time_days)


@dataclass(frozen=True)
class WeekOffer:
    """Room left in one week of a product's capacity, and when those units would ship."""

    week_start: date
    left: int
    ships_on: date


def offers(*, session: Session, product: Product, today: date | None = None) -> list[WeekOffer]:
    """This week's and next week's room (either may be 0), read without a lock."""
    if not product.made_to_order:
        return []
    today = today or shop_today()
    weeks = [week_start(today) + timedelta(weeks=n) for n in range(WEEKS_OFFERED)]
    ordered = dict(session.execute(select(MadeToOrderWeek.week_start,
                                          MadeToOrderWeek.units_ordered).where(
        MadeToOrderWeek.product_id == product.id,
        MadeToOrderWeek.week_start.in_(weeks))).all())
    return [WeekOffer(week, max(0, product.weekly_capacity - ordered.get(week, 0)),
                      ships_on(lead_time_days=product.lead_time_days, week=week, today=today))
            for week in weeks]


def offer_for(*, session: Session, product: Product, units: int,
              today: date | None = None) -> WeekOffer | None:
    """The first offered week with room for all `units`, or None."""
    return next((offer for offer in offers(session=session, product=product, today=today)
                 if offer.left >= units), None)


def most_orderable(*, session: Session, product: Product, today: date | None = None) -> int:
    """The most units one order can have made (they go into a single week)."""
    return max((offer.left for offer in offers(session=session, product=product,
                                               today=today)), default=0)


def take_capacity(*, session: Session, product: Product, units: int,
                  today: date | None = None) -> WeekOffer | None:
    """Count `units` against the first offered week with room, decided by the database;
    the week taken, or None when no week has room (nothing is changed then)."""
    today = today or shop_today()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for n in range(WEEKS_OFFERED):
        week = week_start(today) + timedelta(weeks=n)
        session.execute(insert(MadeToOrderWeek).values(
            product_id=product.id, week_start=week, units_ordered=0)
            .on_conflict_do_nothing(index_elements=["product_id", "week_start"]))
        taken = session.execute(
            sa.update(MadeToOrderWeek)
            .where(MadeToOrderWeek.product_id == product.id, MadeToOrderWeek.week_start == week,
                   MadeToOrderWeek.units_ordered + units <= product.weekly_capacity)
            .values(units_ordered=MadeToOrderWeek.units_ordered + units)
            .execution_options(synchronize_session=False)).rowcount
        if taken == 1:
            return WeekOffer(week, 0, ships_on(lead_time_days=product.lead_time_days,
                                               week=week, today=today))
    return None


def retake_capacity(*, session: Session, product_id: int, week: date, units: int) -> bool:
    """Count units again in the week they were made in (a hold paid after it was
    released), if the product's capacity still has room for them."""
    capacity = select(Product.weekly_capacity).where(Product.id == product_id).scalar_subquery()
    return session.execute(
        sa.update(MadeToOrderWeek)
        .where(MadeToOrderWeek.product_id == product_id, MadeToOrderWeek.week_start == week,
               MadeToOrderWeek.units_ordered + units <= capacity)
        .values(units_ordered=MadeToOrderWeek.units_ordered + units)
        .execution_options(synchronize_session=False)).rowcount == 1


def give_back_capacity(*, session: Session, product_id: int, week: date, units: int) -> None:
    """Uncount units of a released hold from the week they were to be made in (the
    CHECK (units_ordered >= 0) stops a hold given back twice)."""
    session.execute(
        sa.update(MadeToOrderWeek)
        .where(MadeToOrderWeek.product_id == product_id, MadeToOrderWeek.week_start == week)
        .values(units_ordered=MadeToOrderWeek.units_ordered - units)
        .execution_options(synchronize_session=False))
