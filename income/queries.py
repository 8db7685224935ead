"""Reads for income pages: every figure is a SQL aggregate over ledger entries."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlmodel import Session, func, select

from accounts.models import User, Workshop, WorkshopMember
from catalog.models import Product
from core.money import Money
from income.ledger import EARNING_KINDS, MAKER_KINDS, STUDIO_KINDS, balance_columns
from income.models import (
    Channel,
    EntryKind,
    LedgerEntry,
    Payout,
    PayoutStatus,
    SalesPoint,
    StallSale,
    StallSaleLine,
)
from livestream.models import LiveSession, SessionStatus
from shop.models import Order, OrderLine, PaymentStatus

MAX_RANGE_DAYS = 366
# Entries that belong to a sold line: its makers', the platform's and the selling
# studio's, and their refunds.
LINE_KINDS = (EntryKind.SALE, EntryKind.COMMISSION, EntryKind.REFUND,
              EntryKind.COMMISSION_REFUND, *STUDIO_KINDS)
PLATFORM_KINDS = (EntryKind.COMMISSION, EntryKind.COMMISSION_REFUND)


def local_zone() -> ZoneInfo:
    name = "Asia/Shanghai"
    if has_app_context():
        name = current_app.config.get("DEFAULT_TIMEZONE", name) or name
    return ZoneInfo(name)


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, from local dates (first day .. last day, inclusive)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), local_zone())

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), local_zone())

    @property
    def month_key(self) -> str:
        return f"{self.first.year:04d}-{self.first.month:02d}"


def month_period(year: int, month: int) -> Period:
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return Period(first, nxt - timedelta(days=1))


def previous_month(period: Period) -> Period:
    before = period.first - timedelta(days=1)
    return month_period(before.year, before.month)


def next_month(period: Period) -> Period:
    after = period.last + timedelta(days=1)
    return month_period(after.year, after.month)


def this_month(now: datetime | None = None) -> Period:
    today = (now or datetime.now(local_zone())).astimezone(local_zone()).date()
    return month_period(today.year, today.month)


def first_month(session: Session, maker: User) -> Period:
    """The month the maker's history starts: their first ledger entry, or the month
    their account was made if that is earlier (or they have no entries yet)."""
    first_entry = session.exec(select(func.min(LedgerEntry.occurred_at))
                               .where(LedgerEntry.maker_id == maker.id)).one()
    start = min(t for t in (first_entry, maker.created_at) if t is not None)
    day = start.astimezone(local_zone()).date()
    return month_period(day.year, day.month)


def month_links(session: Session, maker: User, period: Period,
                now: datetime | None = None) -> tuple[Period | None, Period | None]:
    """(previous, next) months to link to from `period`: none before the maker's first
    month, none after the current month."""
    earliest, latest = first_month(session, maker), this_month(now)
    before, after = previous_month(period), next_month(period)
    return (before if earliest.first <= before.first <= latest.first else None,
            after if earliest.first <= after.first <= latest.first else None)


def _sum(session: Session, *where) -> int:
    return int(session.exec(select(func.coalesce(func.sum(LedgerEntry.amount), 0))
                            .where(*where)).one())


def earned(session: Session, maker_id: int, period: Period) -> int:
    """Income in the period: sales less refunds, plus corrections."""
    return _sum(session, LedgerEntry.maker_id == maker_id,
                LedgerEntry.occurred_at >= period.start, LedgerEntry.occurred_at < period.end,
                LedgerEntry.kind.in_(EARNING_KINDS))


@dataclass(frozen=True)
class MonthSplit:
    """How a month's income adds up, in fen: gross - fee = share; share + corrections =
    earned. `gross` is what buyers paid for the maker's part of the goods, less refunds;
    `fee` the platform's part of that (its commission entries, less fees returned)."""

    gross: int
    fee: int
    share: int
    corrections: int
    studio_fee: int = 0    # the selling studio's part of goods a studio sold for them

    @property
    def earned(self) -> int:
        return self.share + self.corrections


def month_split(session: Session, maker_id: int, period: Period,
                earned_in_month: int | None = None) -> MonthSplit:
    """The month's gross, platform fee, share and corrections, from the ledger alone.

    The share is the sum of the maker's sale and refund entries; corrections are their
    adjustments (the month's income less the share, when the caller has the income
    already). The fee comes from the platform's commission entries for the same
    lines (and refunds of them): a line the maker shares with others has one commission
    entry, so it is split between the line's makers in proportion to their entries
    (largest remainder), and the makers' fees add up to the commission exactly.
    """
    in_month = (LedgerEntry.occurred_at >= period.start, LedgerEntry.occurred_at < period.end)
    whose = sa.case((LedgerEntry.kind.in_(STUDIO_KINDS), "studio"),
                    (LedgerEntry.maker_id.is_(None), "platform"),
                    (LedgerEntry.maker_id == maker_id, "mine"), else_="others")
    amount = func.sum(LedgerEntry.amount)
    # A group is a line's sale or one refund of it: an order line (its entries found
    # through the indexed order id) or a stall sale's product (through the stall sale's).
    # The maker's month is read once, into a CTE both halves join from.
    mine = (select(LedgerEntry.order_id, LedgerEntry.order_line_id, LedgerEntry.refund_id,
                   LedgerEntry.stall_sale_id, LedgerEntry.product_id)
            .where(LedgerEntry.maker_id == maker_id, *in_month,
                   LedgerEntry.kind.in_(MAKER_KINDS))
            .distinct().cte("mine"))
    rows = session.exec(sa.union_all(
        select(sa.literal("order"), mine.c.order_line_id, mine.c.refund_id, whose, amount)
        .join(LedgerEntry, sa.and_(
            LedgerEntry.order_id == mine.c.order_id,
            LedgerEntry.order_line_id == mine.c.order_line_id,
            LedgerEntry.refund_id.is_not_distinct_from(mine.c.refund_id)))
        .where(*in_month, LedgerEntry.kind.in_(LINE_KINDS))
        .group_by(mine.c.order_line_id, mine.c.refund_id, whose),
        select(sa.literal("stall"), mine.c.stall_sale_id, mine.c.product_id, whose, amount)
        .join(LedgerEntry, sa.and_(
            LedgerEntry.stall_sale_id == mine.c.stall_sale_id,
            LedgerEntry.product_id.is_not_distinct_from(mine.c.product_id)))
        .where(*in_month, LedgerEntry.kind.in_(LINE_KINDS))
        .group_by(mine.c.stall_sale_id, mine.c.product_id, whose))).all()
    groups: dict[tuple, dict[str, int]] = {}
    for source, first, second, who, part in rows:
        groups.setdefault((source, first, second), {})[who] = int(part)
    share = fee = studio_fee = 0
    for parts in groups.values():
        my_part, others = parts.get("mine", 0), parts.get("others", 0)
        share += my_part
        for who in ("platform", "studio"):
            taken = parts.get(who, 0)
            if taken and (my_part or others):
                mine_of_it = Money(taken).allocate([abs(my_part), abs(others)])[0].amount
                if who == "platform":
                    fee += mine_of_it
                else:
                    studio_fee += mine_of_it
    from income.task_orders import task_work_split

    task_share, task_fee = task_work_split(session, maker_id, period)
    share, fee = share + task_share, fee + task_fee
    if earned_in_month is None:
        earned_in_month = earned(session, maker_id, period)
    corrections = earned_in_month - share
    return MonthSplit(gross=share + fee + studio_fee, fee=fee, share=share,
                      corrections=corrections, studio_fee=studio_fee)


class SoldProduct(NamedTuple):
    """A product's month: its title (and English title, if any), units sold, income."""

    product_id: int | None
    title: str
    title_en: str | None
    quantity: int
    amount: int


class SoldPlace(NamedTuple):
    """Where it sold: the channel, the live stream's title (English too) or the stall's
    name ("" online), and the income there."""

    channel: Channel | None
    title: str
    title_en: str | None
    amount: int


@dataclass
class Dashboard:
    maker: User
    period: Period
    earned: int
    earned_before: int
    available: int
    total: int
    split: MonthSplit | None = None
    products: list = field(default_factory=list)     # SoldProduct, most income first
    images: dict = field(default_factory=dict)       # product_id -> main photo
    places: list = field(default_factory=list)       # SoldPlace, most income first
    on_the_way: list = field(default_factory=list)   # (local date, fen)
    payouts: list = field(default_factory=list)      # Payout rows
    months: list = field(default_factory=list)       # (Period, fen), oldest first


def dashboard(session: Session, maker: User, period: Period, now: datetime) -> Dashboard:
    """Everything the maker's page shows, in six queries whatever the history's length.

    1. the balance, money on hold and six months of income: one statement of scalar
       sums, each an index range (see `_month_sums` and `ledger.balance_columns`);
    2. the month's sales grouped by product and place at once, with the places' names;
    3. money on its way, summed by local day in SQL; 4. payouts; 5. product photos;
    6. how the month adds up (`month_split`): gross, platform fee, share, corrections.
    """
    from catalog.queries import main_images

    months = [period]
    for _ in range(5):
        months.insert(0, previous_month(months[0]))
    latest_held = select(func.max(LedgerEntry.available_at)).where(
        LedgerEntry.maker_id == maker.id, LedgerEntry.available_at > now).scalar_subquery()
    total, held, latest, *earned = session.exec(select(
        *balance_columns(maker.id, now), latest_held,
        *_month_sums(maker.id, months))).one()
    board = Dashboard(maker=maker, period=period, earned=int(earned[-1]),
                      earned_before=int(earned[-2]), available=int(total) - int(held),
                      total=int(total))
    board.months = [(m, int(e)) for m, e in zip(months, earned, strict=True)]
    board.split = month_split(session, maker.id, period, board.earned)
    board.products, board.places = _sold(session, maker.id, period)
    board.on_the_way = _on_the_way(session, maker.id, now, latest)
    board.payouts = list(session.exec(
        select(Payout).where(Payout.maker_id == maker.id, Payout.status == PayoutStatus.PAID)
        .order_by(Payout.paid_at.desc()).limit(12)).all())
    board.images = main_images(session=session, product_ids=[p[0] for p in board.products])
    return board


def _month_sums(maker_id: int, months: list[Period]) -> list:
    # One scalar subquery per month: each walks only its own range of
    # ix_ledger_maker_month. A single pass with SUM(CASE ...) per month compared
    # every row against every month and took five times as long.
    return [select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.maker_id == maker_id, LedgerEntry.occurred_at >= m.start,
        LedgerEntry.occurred_at < m.end, LedgerEntry.kind.in_(EARNING_KINDS)).scalar_subquery()
        for m in months]


def _sold(session: Session, maker_id: int, period: Period) -> tuple[list, list]:
    """(products, places) for the month, from one grouped pass over its entries.

    The grouping reads `ix_ledger_maker_month` alone; names come from the products,
    live streams and stalls joined to the (few) groups. Only a product that has since
    been deleted is named from its entries' own description.
    """
    in_month = (LedgerEntry.maker_id == maker_id, LedgerEntry.occurred_at >= period.start,
                LedgerEntry.occurred_at < period.end,
                LedgerEntry.kind.in_([EntryKind.SALE, EntryKind.REFUND]))
    sold = func.sum(sa.case((LedgerEntry.kind == EntryKind.SALE, LedgerEntry.quantity),
                            else_=0))
    groups = (select(LedgerEntry.product_id, LedgerEntry.channel,
                     LedgerEntry.live_session_id, LedgerEntry.sales_point_id,
                     sold.label("quantity"), func.sum(LedgerEntry.amount).label("amount"))
              .where(*in_month)
              .group_by(LedgerEntry.product_id, LedgerEntry.channel,
                        LedgerEntry.live_session_id, LedgerEntry.sales_point_id).subquery())
    rows = session.exec(
        select(groups, Product.title, Product.title_en, LiveSession.title,
               LiveSession.title_en, SalesPoint.name)
        .outerjoin(Product, Product.id == groups.c.product_id)
        .outerjoin(LiveSession, LiveSession.id == groups.c.live_session_id)
        .outerjoin(SalesPoint, SalesPoint.id == groups.c.sales_point_id)).all()
    products: dict = {}
    places: dict = {}
    for (product_id, channel, live_id, point_id, quantity, amount, title, title_en,
         live_title, live_title_en, point_name) in rows:
        item = products.setdefault(product_id, [product_id, title or "", title_en, 0, 0])
        item[3] += int(quantity)
        item[4] += int(amount)
        place = places.setdefault((channel, live_id, point_id), [
            Channel(channel) if channel else None, live_title or point_name or "",
            live_title_en if live_id else None, 0])
        place[3] += int(amount)
    gone = products.get(None)
    if gone is not None:
        # Named as the order lines were sold (their English too), else as the entries.
        gone[1], gone[2] = session.exec(
            select(func.max(LedgerEntry.description), func.max(OrderLine.product_name_en))
            .outerjoin(OrderLine, OrderLine.id == LedgerEntry.order_line_id)
            .where(*in_month, LedgerEntry.product_id.is_(None))).one()
        gone[1] = gone[1] or ""
    top = sorted(products.values(), key=lambda p: (-p[4], p[1]))[:50]
    return ([SoldProduct(*p) for p in top],
            [SoldPlace(*p) for p in sorted(places.values(), key=lambda p: (-p[3], p[1]))])


def _on_the_way(session: Session, maker_id: int, now: datetime,
                latest: datetime | None) -> list[tuple[date, int]]:
    """Money still on hold, by the local day it becomes available, summed in SQL."""
    if latest is None:
        return []
    zone = local_zone()
    first = now.astimezone(zone).date()
    last = latest.astimezone(zone).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    ends = [datetime.combine(d + timedelta(days=1), time(), zone) for d in days]
    day = sa.case(*((LedgerEntry.available_at < end, n) for n, end in enumerate(ends)),
                  else_=len(ends) - 1).label("day")
    held = select(day, LedgerEntry.amount.label("amount")).where(
        LedgerEntry.maker_id == maker_id, LedgerEntry.available_at > now).subquery()
    rows = session.exec(select(held.c.day, func.sum(held.c.amount))
                        .group_by(held.c.day).order_by(held.c.day)).all()
    return [(days[n], int(amount)) for n, amount in rows if amount]


def entries(session: Session, maker_ids: list[int], period: Period) -> list[LedgerEntry]:
    """Entries for an export, oldest first (the period is at most a year)."""
    return list(session.exec(select(LedgerEntry).where(
        LedgerEntry.maker_id.in_(maker_ids), LedgerEntry.occurred_at >= period.start,
        LedgerEntry.occurred_at < period.end).order_by(LedgerEntry.occurred_at,
                                                       LedgerEntry.id)).all())


def statement(session: Session, maker_id: int, period: Period) -> dict:
    """Opening balance, what came in, what was paid out, closing balance."""
    opening = _sum(session, LedgerEntry.maker_id == maker_id,
                   LedgerEntry.occurred_at < period.start)
    came_in = earned(session, maker_id, period)
    paid_out = -_sum(session, LedgerEntry.maker_id == maker_id,
                     LedgerEntry.occurred_at >= period.start,
                     LedgerEntry.occurred_at < period.end,
                     LedgerEntry.kind == EntryKind.PAYOUT)
    return {"opening": opening, "earned": came_in, "paid_out": paid_out,
            "closing": opening + came_in - paid_out}


def maker_workshops(session: Session, maker_id: int) -> list[Workshop]:
    """The workshops the maker belongs to, by name (none for a maker on their own)."""
    return list(session.exec(select(Workshop).join(
        WorkshopMember, WorkshopMember.workshop_id == Workshop.id)
        .where(WorkshopMember.user_id == maker_id).order_by(Workshop.name, Workshop.id)).all())


def workshop_members(session: Session, workshop_id: int, period: Period) -> list[tuple]:
    """(user, earned in period, total balance) for every member of the workshop."""
    members = session.exec(select(User).join(WorkshopMember, WorkshopMember.user_id == User.id)
                           .where(WorkshopMember.workshop_id == workshop_id)
                           .order_by(User.display_name, User.id)).all()
    ids = [m.id for m in members]
    month = dict(session.exec(
        select(LedgerEntry.maker_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.maker_id.in_(ids), LedgerEntry.workshop_id == workshop_id,
               LedgerEntry.occurred_at >= period.start, LedgerEntry.occurred_at < period.end,
               LedgerEntry.kind.in_(EARNING_KINDS))
        .group_by(LedgerEntry.maker_id)).all()) if ids else {}
    balance = dict(session.exec(
        select(LedgerEntry.maker_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.maker_id.in_(ids)).group_by(LedgerEntry.maker_id)).all()) if ids else {}
    return [(m, int(month.get(m.id, 0)), int(balance.get(m.id, 0))) for m in members]


# Impact report ---------------------------------------------------------------------------

class StreamSales(NamedTuple):
    """A live stream in the impact report: what it sold in the period (from the ledger),
    whether anything was, and whether it went on air in the period."""

    title: str
    title_en: str | None
    start: datetime
    amount: int
    sold: bool
    held: bool


def impact(session: Session, period: Period) -> dict:
    """The figures a city publishes, for a period."""
    paid = (Order.paid_at >= period.start, Order.paid_at < period.end,
            Order.payment_status.in_([PaymentStatus.PAID, PaymentStatus.PARTLY_REFUNDED,
                                      PaymentStatus.REFUNDED]))
    online_sales = int(session.exec(select(func.coalesce(
        func.sum(Order.paid_amount - Order.refunded_amount), 0)).where(*paid)).one())
    online_items = int(session.exec(select(func.coalesce(
        func.sum(OrderLine.quantity - OrderLine.refunded_quantity), 0))
        .join(Order, Order.id == OrderLine.order_id).where(*paid)).one())
    in_stall = (StallSale.created_at >= period.start, StallSale.created_at < period.end)
    stall_sales = int(session.exec(select(func.coalesce(func.sum(StallSale.total_amount), 0))
                                   .where(*in_stall)).one())
    stall_items = int(session.exec(select(func.coalesce(func.sum(StallSaleLine.quantity), 0))
                                   .join(StallSale, StallSale.id == StallSaleLine.sale_id)
                                   .where(*in_stall)).one())
    # Streams and their sales from the books, as the makers' income pages read them: the
    # entries of lines sold in a live stream within the period (makers' credits +
    # commission = paid - refunded, so they add up to what buyers paid for them).
    stream_sales = dict(session.exec(
        select(LedgerEntry.live_session_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.channel == Channel.LIVE, LedgerEntry.live_session_id.is_not(None),
               LedgerEntry.occurred_at >= period.start, LedgerEntry.occurred_at < period.end,
               LedgerEntry.kind.in_(LINE_KINDS))
        .group_by(LedgerEntry.live_session_id)).all())
    # Streams that went on air in the period and sold nothing (yet) are listed too.
    began = func.coalesce(LiveSession.started_at, LiveSession.planned_start)
    held = (began >= period.start) & (began < period.end) & LiveSession.status.in_(
        [SessionStatus.LIVE, SessionStatus.ENDED])
    streams = [StreamSales(title, title_en, start, int(stream_sales.get(sid, 0)),
                           sid in stream_sales, bool(was_held))
               for sid, title, title_en, start, was_held in session.exec(
                   select(LiveSession.id, LiveSession.title, LiveSession.title_en, began,
                          held)
                   .where(held | LiveSession.id.in_(list(stream_sales) or [0]))
                   .order_by(began, LiveSession.id)).all()]
    makers = dict(session.exec(
        select(LedgerEntry.maker_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.maker_id.is_not(None), LedgerEntry.kind.in_(EARNING_KINDS),
               LedgerEntry.occurred_at >= period.start, LedgerEntry.occurred_at < period.end)
        .group_by(LedgerEntry.maker_id)).all())
    earners = {m: int(a) for m, a in makers.items() if a > 0}
    months = max(1, round((period.last - period.first).days / 30.4))
    monthly = [a // months for a in earners.values()]
    by_workshop = session.exec(
        select(Workshop.name, Workshop.district, func.sum(LedgerEntry.amount),
               func.count(func.distinct(LedgerEntry.maker_id)))
        .join(Workshop, Workshop.id == LedgerEntry.workshop_id)
        .where(LedgerEntry.kind.in_([EntryKind.SALE, EntryKind.REFUND]),
               LedgerEntry.occurred_at >= period.start, LedgerEntry.occurred_at < period.end)
        .group_by(Workshop.id, Workshop.name, Workshop.district).order_by(Workshop.name)).all()
    districts: dict[str, list[int]] = {}
    for _name, district, amount, count in by_workshop:
        row = districts.setdefault(district or "", [0, 0])
        row[0] += int(amount)
        row[1] += int(count)
    return {
        "period": period,
        "sales": online_sales + stall_sales, "online_sales": online_sales,
        "stall_sales": stall_sales, "items": online_items + stall_items,
        "streams": streams,
        "streams_selling": sum(1 for s in streams if s.sold),
        "streams_held": sum(1 for s in streams if s.held),
        "makers_earning": len(earners),
        "average": (sum(monthly) // len(monthly)) if monthly else 0,
        "median": int(statistics.median(monthly)) if monthly else 0,
        "by_workshop": [(n, d, int(a), int(c)) for n, d, a, c in by_workshop],
        "by_district": sorted((d, a, c) for d, (a, c) in districts.items()),
        # Goods studios sold for other workshops, and each party's part of them.
        "studio_sales": (studio_rows := studio_parts(session, period)),
        "studio_totals": studio_totals(studio_rows),
    }


# Goods a studio sells for other workshops -------------------------------------------------

@dataclass(frozen=True)
class StudioPart:
    """A product a studio sold for its makers' workshop in a period, and how what buyers
    paid for it (less refunds) was shared: platform + studio + makers = paid."""

    studio: Workshop
    workshop: Workshop | None
    product: Product | None
    title: str              # the product's name as sold (it may since have been deleted)
    paid: int
    platform: int
    studio_part: int
    makers: int


def studio_parts(session: Session, period: Period, *, studio_id: int | None = None,
                 workshop_id: int | None = None) -> list[StudioPart]:
    """Lines sold by studios in the period, by studio, making workshop and product: for
    one studio (what it sold, its part), or one making workshop (what studios sold for
    it), or all (the impact report). One grouped pass over the entries."""
    part = lambda kinds: func.coalesce(func.sum(sa.case(  # noqa: E731
        (LedgerEntry.kind.in_(kinds), LedgerEntry.amount), else_=0)), 0)
    query = (select(LedgerEntry.studio_id, LedgerEntry.workshop_id, LedgerEntry.product_id,
                    func.max(LedgerEntry.description), func.sum(LedgerEntry.amount),
                    part(PLATFORM_KINDS), part(STUDIO_KINDS), part(MAKER_KINDS))
             .where(LedgerEntry.studio_id.is_not(None), LedgerEntry.kind.in_(LINE_KINDS),
                    LedgerEntry.occurred_at >= period.start,
                    LedgerEntry.occurred_at < period.end)
             .group_by(LedgerEntry.studio_id, LedgerEntry.workshop_id, LedgerEntry.product_id))
    if studio_id is not None:
        query = query.where(LedgerEntry.studio_id == studio_id)
    if workshop_id is not None:
        query = query.where(LedgerEntry.workshop_id == workshop_id)
    rows = session.exec(query).all()
    workshops = {w.id: w for w in session.exec(select(Workshop).where(Workshop.id.in_(
        {r[0] for r in rows} | {r[1] for r in rows if r[1] is not None} or {0}))).all()}
    products = {p.id: p for p in session.exec(select(Product).where(Product.id.in_(
        {r[2] for r in rows if r[2] is not None} or {0}))).all()}
    parts = [StudioPart(workshops[s], workshops.get(w), products.get(p), title or "",
                        int(paid), int(platform), int(studio), int(makers))
             for s, w, p, title, paid, platform, studio, makers in rows]
    return sorted(parts, key=lambda r: (r.studio.name, r.workshop.name if r.workshop else "",
                                        -r.paid, r.title))


def studio_totals(parts: list[StudioPart]) -> dict[str, int]:
    """The sums of `studio_parts` rows: paid = platform + studio + makers."""
    return {name: sum(getattr(p, name) for p in parts)
            for name in ("paid", "platform", "studio_part", "makers")}
