"""The maker ledger: credits for paid lines, reversals for refunds, adjustments.

Append-only. Every entry has a unique `entry_key` naming what caused it, so booking the
same thing twice is refused by the database. For every order the entries add up to
what was paid minus what was refunded; for every stall sale, to what was taken.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlmodel import Session, func, select

from accounts.models import Role, UserRole
from core.db import utcnow
from core.errors import DomainError, NotFound
from core.money import Money
from income.models import (
    Channel,
    CommissionRule,
    EntryKind,
    LedgerEntry,
    StudioCommission,
)
from shop.models import Order, OrderLine, OrderLineMaker, Refund

DEFAULT_COMMISSION_BASIS_POINTS = 500
DEFAULT_HOLD_DAYS = 7
MAX_ADJUSTMENT_FEN = 10_000_000
MAKER_KINDS = (EntryKind.SALE, EntryKind.REFUND)
EARNING_KINDS = (EntryKind.SALE, EntryKind.REFUND, EntryKind.ADJUSTMENT,
                 EntryKind.TASK_WORK)
STUDIO_KINDS = (EntryKind.STUDIO_COMMISSION, EntryKind.STUDIO_COMMISSION_REFUND)


def hold_days() -> int:
    """Days before a sale's money can be paid out (INCOME_HOLD_DAYS, default 7)."""
    if has_app_context():
        return int(current_app.config.get("INCOME_HOLD_DAYS", DEFAULT_HOLD_DAYS))
    return DEFAULT_HOLD_DAYS


def commission_rate(session: Session, *, product_id: int | None, workshop_id: int | None) -> int:
    """Basis points the platform keeps: product rule, else workshop, else default."""
    keys = ["default"]
    if workshop_id is not None:
        keys.append(f"workshop:{workshop_id}")
    if product_id is not None:
        keys.append(f"product:{product_id}")
    rules = dict(session.exec(select(CommissionRule.scope_key, CommissionRule.rate_basis_points)
                              .where(CommissionRule.scope_key.in_(keys))).all())
    for key in reversed(keys):
        if key in rules:
            return int(rules[key])
    if has_app_context():
        return int(current_app.config.get("INCOME_COMMISSION_BASIS_POINTS",
                                          DEFAULT_COMMISSION_BASIS_POINTS))
    return DEFAULT_COMMISSION_BASIS_POINTS


def set_commission(*, session: Session, rate_basis_points: int, workshop_id: int | None = None,
                   product_id: int | None = None, by_user_id: int | None = None) -> CommissionRule:
    """Set the default, a workshop's or a product's rate (0..10000 basis points)."""
    if not isinstance(rate_basis_points, int) or not 0 <= rate_basis_points <= 10000:
        raise DomainError(_("Platform fee must be between 0% and 100%"))
    key = (f"product:{product_id}" if product_id is not None
           else f"workshop:{workshop_id}" if workshop_id is not None else "default")
    rule = session.exec(select(CommissionRule).where(CommissionRule.scope_key == key)).first()
    if rule is None:
        rule = CommissionRule(scope_key=key, workshop_id=workshop_id, product_id=product_id,
                              rate_basis_points=rate_basis_points)
    rule.rate_basis_points = rate_basis_points
    rule.updated_by_id = by_user_id
    rule.updated_at = utcnow()
    session.add(rule)
    session.flush()
    return rule


@dataclass(frozen=True)
class SoldLine:
    """What a credit needs from an order line or a stall line."""

    key: str               # "line:<id>" or "stall-line:<id>"
    amount: Money
    quantity: int
    product_id: int | None
    workshop_id: int
    description: str
    makers: list[tuple[int, int]]  # (maker id, share), in a stable order
    studio_id: int | None = None   # the studio selling it for the makers' workshop


def studio_rate(session: Session, studio_id: int | None) -> int:
    """Basis points a studio keeps of what is left after the platform fee (0 unset)."""
    if studio_id is None:
        return 0
    rule = session.get(StudioCommission, studio_id)
    return int(rule.rate_basis_points) if rule is not None else 0


def split_amount(amount: Money, *, platform_rate: int, studio_rate: int,
                 shares: list[int]) -> tuple[Money, Money, list[Money]]:
    """(platform, studio, makers' parts) of an amount; each >= 0, they add up exactly.

    The platform takes its rate of the sale; the studio its rate of what is left; the
    makers share the rest by their shares. Each step splits by largest remainder, so no
    fen is made or lost and no two rates can together take more than the sale."""
    platform, rest = amount.allocate([platform_rate, 10000 - platform_rate])
    studio, makers_part = rest.allocate([studio_rate, 10000 - studio_rate])
    return platform, studio, makers_part.allocate(shares)


def split_line(session: Session, line: SoldLine) -> tuple[Money, list[tuple[int, Money]]]:
    """The platform's part and each maker's part of a line; they add up exactly."""
    platform, studio, parts = split_sold_line(session, line)
    return platform + studio, parts


def split_sold_line(session: Session,
                    line: SoldLine) -> tuple[Money, Money, list[tuple[int, Money]]]:
    """The platform's, the selling studio's and each maker's part of a line."""
    rate = commission_rate(session, product_id=line.product_id, workshop_id=line.workshop_id)
    if not line.makers:
        return line.amount, Money(0, line.amount.currency), []
    platform, studio, parts = split_amount(
        line.amount, platform_rate=rate, studio_rate=studio_rate(session, line.studio_id),
        shares=[share for _, share in line.makers])
    return platform, studio, [(maker_id, part) for (maker_id, _), part
                              in zip(line.makers, parts, strict=True)]


def _credit(session: Session, lines: list[SoldLine], *, at: datetime, prefix: str,
            where) -> int:
    available = at + timedelta(days=hold_days())
    written = 0
    for line in lines:
        commission, studio, parts = split_sold_line(session, line)
        common = dict(currency=line.amount.currency, product_id=line.product_id,
                      workshop_id=line.workshop_id, studio_id=line.studio_id,
                      description=line.description[:200],
                      occurred_at=at, available_at=available, **where(line))
        for maker_id, part in parts:
            if part.amount:
                session.add(LedgerEntry(entry_key=f"{prefix}:{line.key}:maker:{maker_id}",
                                        maker_id=maker_id, kind=EntryKind.SALE,
                                        amount=part.amount, quantity=line.quantity, **common))
                written += 1
        if commission.amount:
            session.add(LedgerEntry(entry_key=f"{prefix}:{line.key}:platform",
                                    kind=EntryKind.COMMISSION, amount=commission.amount,
                                    quantity=line.quantity, **common))
            written += 1
        if studio.amount:
            session.add(LedgerEntry(entry_key=f"{prefix}:{line.key}:studio",
                                    kind=EntryKind.STUDIO_COMMISSION, amount=studio.amount,
                                    quantity=line.quantity, **common))
            written += 1
    session.flush()
    return written


def credit_paid_order(*, session: Session, order: Order) -> int:
    """Credit every line of a paid order to its makers and the platform; once only.

    Returns the number of entries written (0 when the order was already credited).
    """
    already = session.exec(select(LedgerEntry.id).where(
        LedgerEntry.order_id == order.id,
        LedgerEntry.kind.in_([EntryKind.SALE, EntryKind.COMMISSION,
                              EntryKind.STUDIO_COMMISSION]))).first()
    if already is not None:
        return 0
    rows = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)
                        .order_by(OrderLine.id)).all()
    makers = defaultdict(list)
    for share in session.exec(select(OrderLineMaker).where(
            OrderLineMaker.order_line_id.in_([r.id for r in rows]))
            .order_by(OrderLineMaker.id)).all():
        makers[share.order_line_id].append((share.maker_id, share.share_basis_points))
    studios = selling_studios(session, [r.product_id for r in rows])
    lines = [SoldLine(key=f"line:{r.id}", amount=Money(r.line_total_amount, r.currency),
                      quantity=r.quantity, product_id=r.product_id, workshop_id=r.workshop_id,
                      description=r.product_name, makers=makers[r.id],
                      studio_id=studios.get(r.product_id)) for r in rows]
    by_id = {f"line:{r.id}": r for r in rows}

    def where(line: SoldLine) -> dict:
        row = by_id[line.key]
        return dict(order_id=order.id, order_line_id=row.id,
                    live_session_id=row.live_session_id,
                    channel=Channel.LIVE if row.live_session_id else Channel.ONLINE)

    return _credit(session, lines, at=order.paid_at or utcnow(), prefix="sale", where=where)


def selling_studios(session: Session, product_ids: list[int | None]) -> dict[int, int]:
    """product id -> the studio selling it for its workshop, as the product is now.

    Read when the order is paid, as the platform's fee is: a product handed to a studio
    after the order was paid changes nothing already booked."""
    from catalog.models import Product

    ids = [p for p in product_ids if p is not None]
    if not ids:
        return {}
    return dict(session.exec(select(Product.id, Product.selling_studio_id).where(
        Product.id.in_(ids), Product.selling_studio_id.is_not(None))).all())


def _account(entry: LedgerEntry) -> str:
    """Whose money an entry is: "maker:<id>", "platform" or "studio"."""
    if entry.maker_id is not None:
        return f"maker:{entry.maker_id}"
    return "studio" if entry.kind in STUDIO_KINDS else "platform"


REVERSING_KIND = {"platform": EntryKind.COMMISSION_REFUND,
                  "studio": EntryKind.STUDIO_COMMISSION_REFUND}


def credit_stall_sale(*, session: Session, sale, lines: list[SoldLine]) -> int:
    """Credit a stall sale's lines, attributed to its sales point."""

    def where(line: SoldLine) -> dict:
        return dict(stall_sale_id=sale.id, sales_point_id=sale.sales_point_id,
                    channel=Channel.STALL)

    return _credit(session, lines, at=sale.created_at, prefix="stall", where=where)


def reverse_refund(*, session: Session, refund: Refund) -> int:
    """Take a refund back from the order's credits in proportion to what is left of each
    (largest remainder), so no credit goes below zero and the order still adds up."""
    if session.exec(select(LedgerEntry.id).where(LedgerEntry.refund_id == refund.id)).first():
        return 0
    entries = session.exec(select(LedgerEntry).where(
        LedgerEntry.order_id == refund.order_id,
        LedgerEntry.kind.in_([EntryKind.SALE, EntryKind.COMMISSION, EntryKind.REFUND,
                              EntryKind.COMMISSION_REFUND, *STUDIO_KINDS]))
        .order_by(LedgerEntry.id)).all()
    left: dict[tuple, int] = {}
    first: dict[tuple, LedgerEntry] = {}
    for entry in entries:
        slot = (entry.order_line_id, _account(entry))
        left[slot] = left.get(slot, 0) + entry.amount
        first.setdefault(slot, entry)
    slots = [s for s in left if left[s] > 0]
    if not slots:
        return 0  # paid before the ledger existed: nothing to take back
    amount = min(refund.amount, sum(left[s] for s in slots))
    parts = Money(amount, refund.currency).allocate([left[s] for s in slots])
    written = 0
    for slot, part in zip(slots, parts, strict=True):
        if not part.amount:
            continue
        source = first[slot]
        session.add(LedgerEntry(
            entry_key=f"refund:{refund.id}:line:{slot[0]}:{slot[1]}",
            maker_id=source.maker_id,
            kind=REVERSING_KIND.get(slot[1], EntryKind.REFUND),
            amount=-part.amount, currency=refund.currency, channel=source.channel,
            order_id=refund.order_id, order_line_id=source.order_line_id, refund_id=refund.id,
            live_session_id=source.live_session_id, product_id=source.product_id,
            workshop_id=source.workshop_id, studio_id=source.studio_id,
            description=source.description,
            reason=(refund.reason or None) and refund.reason[:300],
            created_by_id=refund.created_by_id, occurred_at=refund.created_at,
            # Taken back from money still on hold, it stays with that money: the maker's
            # available balance neither dips below zero now nor jumps when the hold ends.
            available_at=max(refund.created_at, source.available_at)))
        written += 1
    session.flush()
    return written


def restore_failed_refund(*, session: Session, refund: Refund) -> int:
    """Undo a refund's reversing entries (the provider says it failed): each gets an
    opposite entry, once, so the order's entries again add up to paid - refunded."""
    key = f"refund-failed:{refund.id}:"
    if session.exec(select(LedgerEntry.id).where(
            LedgerEntry.entry_key.startswith(key))).first() is not None:
        return 0
    entries = session.exec(select(LedgerEntry).where(LedgerEntry.refund_id == refund.id)
                           .order_by(LedgerEntry.id)).all()
    now = utcnow()
    for entry in entries:
        session.add(LedgerEntry(
            entry_key=f"{key}{entry.id}", maker_id=entry.maker_id, kind=entry.kind,
            amount=-entry.amount, currency=entry.currency, channel=entry.channel,
            order_id=entry.order_id, order_line_id=entry.order_line_id, refund_id=refund.id,
            live_session_id=entry.live_session_id, product_id=entry.product_id,
            workshop_id=entry.workshop_id, studio_id=entry.studio_id,
            description=entry.description,
            reason="refund failed at the provider", occurred_at=now, available_at=now))
    session.flush()
    return len(entries)


def order_gap(session: Session, order_id: int) -> int:
    """Entries for the order minus (paid - refunded): 0 when the books are right."""
    order = session.get(Order, order_id)
    booked = session.exec(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.order_id == order_id)).one()
    return int(booked) - (order.paid_amount - order.refunded_amount)


def _check_maker(session: Session, maker_id) -> int:
    if not isinstance(maker_id, int) or not session.exec(select(UserRole.id).where(
            UserRole.user_id == maker_id, UserRole.role == Role.MAKER)).first():
        raise NotFound(_("We could not find that maker."))
    return maker_id


def adjust(*, session: Session, maker_id: int, amount: int, reason: str, by_user_id: int,
           key: str) -> LedgerEntry:
    """An operator's correction (plus or minus) with a reason; `key` makes it once-only."""
    _check_maker(session, maker_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Enter the reason for the correction"))
    if len(reason) > 300:
        raise DomainError(_("Reason must be 300 characters or fewer"))
    if not isinstance(amount, int) or amount == 0 or abs(amount) > MAX_ADJUSTMENT_FEN:
        raise DomainError(_("Correction must be between ¥0.01 and ¥100,000.00, "
                            "plus or minus"))
    existing = session.exec(select(LedgerEntry).where(
        LedgerEntry.entry_key == f"adjust:{key}")).first()
    if existing is not None:
        return existing
    if amount < 0 and amount + available_balance(session, maker_id) < 0:
        raise DomainError(_("This correction would take the balance below ¥0.00"))
    now = utcnow()
    entry = LedgerEntry(entry_key=f"adjust:{key}", maker_id=maker_id,
                        kind=EntryKind.ADJUSTMENT, amount=amount, reason=reason,
                        created_by_id=by_user_id, occurred_at=now, available_at=now)
    session.add(entry)
    session.flush()
    return entry


def balance_columns(maker_id: int, now: datetime) -> tuple:
    """Scalar subqueries (everything owed, still on hold), to select with other figures.

    Both are plain sums of the maker's entries. The total reads the narrow index
    `ix_ledger_maker_amount (maker_id, amount)` only; the hold is a short range of
    `ix_ledger_maker_available`, since only the last few days' sales are still held.
    """
    total = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.maker_id == maker_id).scalar_subquery()
    held = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.maker_id == maker_id, LedgerEntry.available_at > now).scalar_subquery()
    return total, held


def balances(session: Session, maker_id: int, now: datetime | None = None) -> tuple[int, int]:
    """(available now, everything owed): sums of the maker's entries, in one statement."""
    total, held = session.exec(select(*balance_columns(maker_id, now or utcnow()))).one()
    return int(total) - int(held), int(total)


def available_balance(session: Session, maker_id: int, now: datetime | None = None) -> int:
    """Fen the maker can be paid now: every entry whose hold has passed, payouts included."""
    return balances(session, maker_id, now)[0]


def total_balance(session: Session, maker_id: int) -> int:
    """Everything owed to the maker, including money still on hold."""
    return balances(session, maker_id)[1]
