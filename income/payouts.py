"""Payouts: an operator sends a maker their available money by bank or wallet.

A payout is a ledger debit, booked when it is paid. It never exceeds the available
balance less what already waits in an unpaid batch. The maker's account row is locked
(FOR UPDATE on PostgreSQL; SQLite writes are already serialised by BEGIN IMMEDIATE),
so two operators paying the same maker at once cannot both pass the check.
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, func, select

from accounts.models import Role, User, UserRole
from core.csv_export import columns, yuan
from core.db import utcnow
from core.errors import Conflict, DomainError, NotFound
from core.money import Money
from income.ledger import _check_maker, available_balance
from income.models import (
    EntryKind,
    LedgerEntry,
    Payout,
    PayoutBatch,
    PayoutMethod,
    PayoutStatus,
)

MAX_PAYOUT_FEN = 100_000_000
MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def _lock_maker(session: Session, maker_id: int) -> None:
    session.exec(select(User.id).where(User.id == maker_id).with_for_update()).first()


def reserved(session: Session, maker_id: int) -> int:
    """Fen waiting in unpaid batches for this maker."""
    return int(session.exec(select(func.coalesce(func.sum(Payout.amount), 0)).where(
        Payout.maker_id == maker_id, Payout.status == PayoutStatus.PENDING)).one())


def payable(session: Session, maker_id: int, now: datetime | None = None) -> int:
    """What can still be paid to the maker now."""
    return available_balance(session, maker_id, now) - reserved(session, maker_id)


def _check_amount(session: Session, maker_id: int, amount, *, exclude: int = 0) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise DomainError(_("Payout must be more than ¥0.00"))
    if amount > MAX_PAYOUT_FEN:
        raise DomainError(_("Payout must be ¥1,000,000.00 or less"))
    can = payable(session, maker_id) + exclude
    if amount > can:
        raise Conflict(_("Payout must be %(amount)s or less: that is the money available now.",
                         amount=Money(max(can, 0)).format()))


def _book(session: Session, payout: Payout, *, by_user_id: int, now: datetime) -> None:
    payout.status = PayoutStatus.PAID
    payout.paid_by_id = by_user_id
    payout.paid_at = now
    session.add(payout)
    session.add(LedgerEntry(entry_key=f"payout:{payout.id}", maker_id=payout.maker_id,
                            kind=EntryKind.PAYOUT, amount=-payout.amount,
                            currency=payout.currency, payout_id=payout.id,
                            description=payout.reference or "", created_by_id=by_user_id,
                            occurred_at=now, available_at=now))


def pay_maker(*, session: Session, maker_id: int, amount: int, method: PayoutMethod,
              reference: str, by_user_id: int) -> Payout:
    """Record a transfer made now; booked as a debit at once."""
    _check_maker(session, maker_id)
    reference = (reference or "").strip()
    if not reference:
        raise DomainError(_("Enter the transfer reference"))
    _lock_maker(session, maker_id)
    _check_amount(session, maker_id, amount)
    now = utcnow()
    payout = Payout(maker_id=maker_id, amount=amount, method=PayoutMethod(method),
                    reference=reference[:100], created_by_id=by_user_id)
    session.add(payout)
    session.flush()
    _book(session, payout, by_user_id=by_user_id, now=now)
    session.flush()
    return payout


def makers_due(session: Session, now: datetime | None = None) -> list[tuple[int, int]]:
    """(maker id, fen payable) for every maker owed money now, by maker id."""
    now = now or utcnow()
    available = dict(session.exec(
        select(LedgerEntry.maker_id, func.sum(LedgerEntry.amount))
        .join(UserRole, (UserRole.user_id == LedgerEntry.maker_id)
              & (UserRole.role == Role.MAKER))
        .where(LedgerEntry.maker_id.is_not(None), LedgerEntry.available_at <= now)
        .group_by(LedgerEntry.maker_id)).all())
    waiting = dict(session.exec(
        select(Payout.maker_id, func.sum(Payout.amount))
        .where(Payout.status == PayoutStatus.PENDING).group_by(Payout.maker_id)).all())
    due = [(m, int(a) - int(waiting.get(m, 0))) for m, a in available.items()]
    return sorted([(m, a) for m, a in due if a > 0])


def create_batch(*, session: Session, month: str, by_user_id: int,
                 method: PayoutMethod = PayoutMethod.BANK) -> PayoutBatch:
    """A batch with one pending payout for every maker due money now."""
    if not isinstance(month, str) or not MONTH.fullmatch(month.strip()):
        raise DomainError(_("Enter the month as year and month, like 2026-11"))
    due = makers_due(session)
    if not due:
        raise Conflict(_("No maker is due any money right now."))
    batch = PayoutBatch(month=month.strip(), created_by_id=by_user_id)
    session.add(batch)
    session.flush()
    for maker_id, amount in due:
        session.add(Payout(maker_id=maker_id, batch_id=batch.id, amount=amount, method=method,
                           created_by_id=by_user_id))
    session.flush()
    return batch


def batch_payouts(session: Session, batch_id: int) -> list[tuple[Payout, User]]:
    return list(session.exec(select(Payout, User).join(User, User.id == Payout.maker_id)
                             .where(Payout.batch_id == batch_id).order_by(Payout.id)).all())


def mark_batch_paid(*, session: Session, batch_id: int, reference: str,
                    by_user_id: int) -> PayoutBatch:
    """Book every payout in the batch at once; refuse all if any is now above balance."""
    reference = (reference or "").strip()
    if not reference:
        raise DomainError(_("Enter the transfer reference"))
    batch = session.get(PayoutBatch, batch_id)
    if batch is None:
        raise NotFound()
    moved = session.execute(sa.update(PayoutBatch).where(
        PayoutBatch.id == batch_id, PayoutBatch.status == PayoutStatus.PENDING,
    ).values(status=PayoutStatus.PAID, paid_by_id=by_user_id, paid_at=utcnow(),
             reference=reference[:100]).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This batch has already been paid."))
    now = utcnow()
    for payout, user in batch_payouts(session, batch_id):
        _lock_maker(session, payout.maker_id)
        if payout.amount > payable(session, payout.maker_id, now) + payout.amount:
            raise Conflict(_("%(name)s now has less money available than this batch pays. "
                             "Make a new batch.", name=user.display_name))
        payout.reference = reference[:100]
        _book(session, payout, by_user_id=by_user_id, now=now)
    session.flush()
    session.refresh(batch)
    return batch


BATCH_COLUMNS = columns(
    "income.operator_batch_csv",
    ("payout_id", _l("Payout number")), ("maker_id", _l("Maker number")),
    ("maker_name", _l("Maker")), ("amount_yuan", _l("Amount in yuan")),
    ("currency", _l("Currency")), ("method", _l("How it is paid")),
    ("reference", _l("Reference")))


def batch_csv_rows(session: Session, batch_id: int) -> list[list[str]]:
    """Rows for the bank (BATCH_COLUMNS): maker, amount in yuan, currency, our reference."""
    return [[str(payout.id), str(user.id), user.display_name,
             yuan(payout.amount, payout.currency), payout.currency, payout.method.value,
             f"GF-PAYOUT-{payout.id}"] for payout, user in batch_payouts(session, batch_id)]
