"""A stall's day (小黄车): today's sales at the till, closing the day with the cash
counted, a day sheet, the team's month and the city's days.

A day is the stall's Asia/Shanghai date, stored on each sale as it is recorded
(`StallSale.business_day`). Closing a day is final: the cash counted is compared with
the cash the till recorded (difference = counted - recorded; above 0 over, below 0
short). Once a day is closed the till refuses further sales for that day, rather than
moving them to the next day: a closed day's sheet must stay what was counted, and a
stall that opens again tomorrow records tomorrow's sales then. The close and every
sale at the stall take the stall's row lock first (PostgreSQL; SQLite's writes are
serialised), and a unique (stall, day) constraint backs it up, so of two people
closing at once exactly one succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlmodel import Session, func, select

from accounts.models import User
from core.db import utcnow
from core.errors import Conflict, NotFound
from income.models import (
    SalesPoint,
    SalesPointMember,
    StallDayClose,
    StallPayment,
    StallSale,
    StallSaleLine,
)
from income.queries import Period, local_zone

MAX_CASH_COUNTED = 10_000_000  # ¥100,000.00: more than any stall takes in a day


@dataclass(frozen=True)
class DayTotals:
    """What the till recorded in a day."""

    sales_count: int
    total_amount: int
    cash_amount: int

    @property
    def other_amount(self) -> int:
        return self.total_amount - self.cash_amount


@dataclass(frozen=True)
class MonthDay:
    """One day in a stall's month: the till's figures and the close, if any."""

    day: date
    totals: DayTotals
    close: StallDayClose | None


def business_day(now: datetime | None = None) -> date:
    """The stall's day (local date) at `now` (default: now)."""
    return (now or utcnow()).astimezone(local_zone()).date()


def lock_point(session: Session, point_id: int) -> None:
    """Wait for anyone else selling or closing at this stall (PostgreSQL row lock)."""
    session.exec(select(SalesPoint.id).where(SalesPoint.id == point_id).with_for_update())


def day_close(session: Session, point_id: int, day: date) -> StallDayClose | None:
    return session.exec(select(StallDayClose).where(
        StallDayClose.sales_point_id == point_id, StallDayClose.business_day == day)).first()


def day_totals(session: Session, point_id: int, day: date) -> DayTotals:
    """Count, total and cash part of the day's sales at the stall."""
    cash = sa.case((StallSale.payment_method == StallPayment.CASH, StallSale.total_amount),
                   else_=0)
    count, total, cash_total = session.exec(select(
        func.count(StallSale.id), func.coalesce(func.sum(StallSale.total_amount), 0),
        func.coalesce(func.sum(cash), 0)).where(
        StallSale.sales_point_id == point_id, StallSale.business_day == day)).one()
    return DayTotals(int(count), int(total), int(cash_total))


def day_sales(session: Session, point_id: int, day: date):
    """The day's sales, oldest first, with their lines: [(sale, [line, ...])]."""
    sales = session.exec(select(StallSale).where(
        StallSale.sales_point_id == point_id, StallSale.business_day == day)
        .order_by(StallSale.created_at, StallSale.id)).all()
    lines: dict[int, list[StallSaleLine]] = {}
    if sales:
        for line in session.exec(select(StallSaleLine).where(
                StallSaleLine.sale_id.in_([s.id for s in sales]))
                .order_by(StallSaleLine.id)).all():
            lines.setdefault(line.sale_id, []).append(line)
    return [(sale, lines.get(sale.id, [])) for sale in sales]


def is_team_member(session: Session, point_id: int, user_id: int) -> bool:
    return session.exec(select(SalesPointMember.id).where(
        SalesPointMember.sales_point_id == point_id,
        SalesPointMember.user_id == user_id)).first() is not None


def close_day(*, session: Session, sales_point: SalesPoint, day: date, cash_counted: int,
              note: str, by_user_id: int) -> StallDayClose:
    """Close the stall's day: the till's figures, the cash counted and the difference.

    Only a member of the stall's team may close it (NotFound otherwise, as for the till);
    a day closed already is refused (Conflict), and so is a count out of range."""
    if not is_team_member(session, sales_point.id, by_user_id):
        raise NotFound()
    if not 0 <= cash_counted <= MAX_CASH_COUNTED:
        raise Conflict(_("Cash counted must be between ¥0 and ¥100,000"))
    lock_point(session, sales_point.id)
    if day_close(session, sales_point.id, day) is not None:
        raise Conflict(_("This day is closed already. It cannot be closed twice."))
    totals = day_totals(session, sales_point.id, day)
    closed = StallDayClose(
        sales_point_id=sales_point.id, business_day=day, sales_count=totals.sales_count,
        total_amount=totals.total_amount, cash_recorded_amount=totals.cash_amount,
        other_recorded_amount=totals.other_amount, cash_counted_amount=cash_counted,
        difference_amount=cash_counted - totals.cash_amount, note=note.strip(),
        closed_by_id=by_user_id)
    try:
        with session.begin_nested():
            session.add(closed)
            session.flush()
    except sa.exc.IntegrityError as exc:  # closed by someone else at the same moment
        raise Conflict(_("This day is closed already. It cannot be closed twice.")) from exc
    return closed


def closer_name(session: Session, close: StallDayClose | None) -> str | None:
    if close is None:
        return None
    return session.exec(select(User.display_name).where(User.id == close.closed_by_id)).first()


def month_days(session: Session, point_id: int, period: Period) -> list[MonthDay]:
    """Each day of the period on which the stall sold or closed, oldest first."""
    cash = sa.case((StallSale.payment_method == StallPayment.CASH, StallSale.total_amount),
                   else_=0)
    rows = session.exec(select(
        StallSale.business_day, func.count(StallSale.id), func.sum(StallSale.total_amount),
        func.sum(cash)).where(
        StallSale.sales_point_id == point_id, StallSale.business_day >= period.first,
        StallSale.business_day <= period.last).group_by(StallSale.business_day)).all()
    totals = {day: DayTotals(int(n), int(t), int(c)) for day, n, t, c in rows}
    closes = {c.business_day: c for c in session.exec(select(StallDayClose).where(
        StallDayClose.sales_point_id == point_id, StallDayClose.business_day >= period.first,
        StallDayClose.business_day <= period.last)).all()}
    days = sorted(set(totals) | set(closes))
    return [MonthDay(d, totals.get(d, DayTotals(0, 0, 0)), closes.get(d)) for d in days]


def city_days(session: Session, period: Period) -> list[tuple[date, int, int]]:
    """Every stall's sales together per day of the period: (day, sales, total)."""
    rows = session.exec(select(
        StallSale.business_day, func.count(StallSale.id), func.sum(StallSale.total_amount))
        .where(StallSale.business_day >= period.first, StallSale.business_day <= period.last)
        .group_by(StallSale.business_day).order_by(StallSale.business_day)).all()
    return [(day, int(n), int(t)) for day, n, t in rows]


def best_day(days: list[tuple[date, int, int]]) -> tuple[date, int, int] | None:
    """The day with the most sold (the earliest of equal days)."""
    return max(days, key=lambda row: (row[2], -row[0].toordinal()), default=None)


def previous_day(day: date) -> date:
    return day - timedelta(days=1)
