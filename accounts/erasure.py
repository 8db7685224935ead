"""Erasure on request: a person's details are replaced by a stable pseudonym, never deleted.

The shop must keep its books exact (orders, the ledger, payouts, statements, reports)
and a workshop must still read what its members earned, so every row stays and only
what points at the person goes: name, e-mail, phone, addresses, story, photo, the
disability category, the password and every way to sign in. The rows that only the
person used (cart, reminders, notices, calendar feed, host qualifications, a stall's
till) go, as nobody else reads them.

Refused while the shop still owes the person money (income not paid out, a payout
waiting) or while their order, live session or slot is still under way: a real shop
pays out and delivers first, because both need the name, account and address that
erasure removes. Anything the person owes the shop stays in the books under the
pseudonym.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, func, select

from accounts.models import (
    DataConsent,
    HostCapability,
    HostProfile,
    MakerProfile,
    Role,
    User,
    UserRole,
    WorkshopMember,
)
from core.audit import record
from core.db import utcnow
from core.mail import MAX_ATTEMPTS, OutboxMail
from income.models import LedgerEntry, Payout, PayoutStatus, SalesPointMember
from livestream.models import (
    HostCalendarFeed,
    LiveSession,
    LiveSessionSlot,
    Notice,
    ReminderRequest,
    SessionStatus,
)
from livestream.room_models import LiveMessage, LivePriceClaim
from shop.models import CartItem, Order, OrderStatus

FORMER_MEMBER = "前成员"  # stored as written, like any name; pages translate the label
ERASED_MAIL_DOMAIN = "erased.invalid"  # RFC 2606: can never receive mail
# No hash matches it: Werkzeug reads no method in it and answers "no" to every password.
UNUSABLE_PASSWORD = "!erased"  # noqa: S105
UNDER_WAY = (SessionStatus.DRAFT, SessionStatus.SCHEDULED, SessionStatus.LIVE)


@dataclass(frozen=True)
class Blocker:
    """Why erasure must wait: `kind` is "owed", "order" or "live"; `detail` names it."""

    kind: str
    detail: str | int


def owed_to(session: Session, user_id: int) -> int:
    """Fen the shop still owes the person: their income balance and payouts not sent."""
    balance = session.exec(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.maker_id == user_id)).one()
    waiting = session.exec(select(func.coalesce(func.sum(Payout.amount), 0)).where(
        Payout.maker_id == user_id, Payout.status == PayoutStatus.PENDING)).one()
    # A waiting payout is not yet a ledger debit, so it is part of the balance already.
    return max(int(balance), int(waiting))


def erasure_blockers(session: Session, user: User) -> list[Blocker]:
    """What must be settled before the person's details can be erased (empty: nothing)."""
    blockers = []
    owed = owed_to(session, user.id)
    if owed > 0:
        blockers.append(Blocker("owed", owed))
    for number in session.exec(select(Order.number).where(
            _orders_of(user), Order.status == OrderStatus.OPEN).order_by(Order.id)).all():
        blockers.append(Blocker("order", number))
    presenting = select(LiveSession.title).where(
        LiveSession.presenter_id == user.id, LiveSession.status.in_(UNDER_WAY))
    holding = select(LiveSession.title).join(
        LiveSessionSlot, LiveSessionSlot.session_id == LiveSession.id).where(
        LiveSessionSlot.host_id == user.id, LiveSession.status.in_(UNDER_WAY))
    for title in sorted(set(session.exec(presenting).all()) | set(session.exec(holding).all())):
        blockers.append(Blocker("live", title))
    return blockers


class ErasureRefused(Exception):
    """Something must be settled first; `blockers` says what."""

    def __init__(self, blockers: list[Blocker]) -> None:
        super().__init__(", ".join(b.kind for b in blockers))
        self.blockers = blockers


def _orders_of(user: User):
    # Orders placed while signed in, and those placed as a guest with the same address.
    return sa.or_(Order.user_id == user.id, sa.func.lower(Order.email) == user.email)


def _new_pseudonym(session: Session) -> str:
    while True:
        pseudonym = "FM-" + secrets.token_hex(3).upper()
        if session.exec(select(User.id).where(User.pseudonym == pseudonym)).first() is None:
            return pseudonym


def erase_person(*, session: Session, user: User, by: User) -> str:
    """Pseudonymise `user` (asked by themselves or done by an operator, `by`); returns
    the pseudonym. Raises ErasureRefused when something is still owed or under way."""
    if user.erased_at is not None:
        return user.pseudonym
    blockers = erasure_blockers(session, user)
    if blockers:
        raise ErasureRefused(blockers)
    pseudonym = _new_pseudonym(session)
    label = f"{FORMER_MEMBER} {pseudonym}"
    placeholder = f"{pseudonym.lower()}@{ERASED_MAIL_DOMAIN}"
    old_email = user.email
    now = utcnow()

    orders = session.execute(sa.update(Order).where(_orders_of(user)).values(
        contact_name=label, email=placeholder, phone=None, province=None, city=None,
        district=None, street=None).execution_options(synchronize_session=False)).rowcount
    claims = session.exec(select(LivePriceClaim).where(
        LivePriceClaim.buyer_key.in_(_claim_keys(user)))).all()
    for claim in claims:
        # Same counts under keys that name nobody, so live-price limits still add up.
        claim.buyer_key = f"erased:{pseudonym}:{claim.buyer_key.split(':', 1)[0]}"
        session.add(claim)
    # A mail's text holds names and addresses: the row stays as the record that it was
    # sent, without them.
    session.execute(sa.update(OutboxMail).where(OutboxMail.to_address == old_email).values(
        to_address=placeholder, body_text=""))
    # Mail not sent yet would go nowhere now: the outbox gives it up.
    session.execute(sa.update(OutboxMail).where(
        OutboxMail.to_address == placeholder, OutboxMail.sent_at.is_(None)).values(
        attempts=MAX_ATTEMPTS, last_error="recipient erased"))
    session.execute(sa.update(LiveMessage).where(LiveMessage.user_id == user.id).values(
        author_name=label))

    maker = session.get(MakerProfile, user.id)
    if maker is not None:
        maker.public_name, maker.story, maker.story_en, maker.photo_path = label, "", None, None
        maker.show_name_publicly = maker.show_story_publicly = False
        maker.disability_category, maker.disability_consent = None, False
        maker.district, maker.updated_at = None, now
        session.add(maker)
    host = session.get(HostProfile, user.id)
    if host is not None:
        host.public_name, host.bio, host.is_deaf, host.updated_at = label, "", False, now
        session.add(host)
    session.execute(sa.update(DataConsent).where(
        DataConsent.user_id == user.id, DataConsent.withdrawn_at.is_(None)).values(
        withdrawn_at=now))
    session.execute(sa.update(WorkshopMember).where(WorkshopMember.user_id == user.id)
                    .values(is_coordinator=False))
    # The maker role stays so their coordinator and operators can still open the income
    # history; every role that lets a person act goes.
    session.execute(sa.delete(UserRole).where(UserRole.user_id == user.id,
                                              UserRole.role != Role.MAKER))
    for model in (CartItem, ReminderRequest, Notice, HostCalendarFeed, HostCapability,
                  SalesPointMember):
        session.execute(sa.delete(model).where(model.user_id == user.id))

    user.display_name, user.email, user.phone = label, placeholder, None
    user.password_hash = UNUSABLE_PASSWORD
    user.timezone, user.last_login_at = None, None
    user.is_active_account, user.pseudonym, user.erased_at = False, pseudonym, now
    session.add(user)
    session.flush()
    record(session, actor=by, action="person.erase", subject_type="user",
           subject_id=str(user.id),
           details={"pseudonym": pseudonym, "orders": orders, "by_self": by.id == user.id})
    session.flush()
    return pseudonym


def _claim_keys(user: User) -> list[str]:
    from livestream.live_prices import buyer_keys

    return buyer_keys(user_id=None, email=user.email, phone=user.phone)
