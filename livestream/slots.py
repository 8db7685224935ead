"""Claiming, releasing and assigning slots: the rules a host's calendar must keep.

Who wins a slot is decided by the database: a conditional UPDATE that only takes a
slot whose `host_id` is still empty. A host's own calendar (no two overlapping slots,
no more than the daily interpreting limit) is checked after locking that host's row
(`SELECT ... FOR UPDATE` on PostgreSQL; on SQLite every write transaction already
began with BEGIN IMMEDIATE, which serialises writers), so two claims by one host at
the same moment are checked one after the other.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from accounts.models import HostCapability, HostRole, User
from catalog.models import Product
from core.db import utcnow
from core.errors import Conflict, NotAllowed, NotFound
from core.timezones import shop_zone
from livestream.models import LiveSession, LiveSessionProduct, LiveSessionSlot, SessionStatus
from livestream.notices import notify, operators
from livestream.rules import INTERPRETER_ROLES, SlotRules, interpreting_minutes

OPEN_FOR_SIGN_UP = (SessionStatus.DRAFT, SessionStatus.SCHEDULED)
# A slot in a session with one of these statuses keeps its host busy at that time.
HOLDS_THE_HOST = (SessionStatus.DRAFT, SessionStatus.SCHEDULED, SessionStatus.LIVE)


class SlotTaken(Conflict):
    """Someone else holds the slot already."""

    code = "slot_taken"

    def default_message(self):
        return _l("Someone else has just taken this slot.")


class SlotChanged(Conflict):
    """The slot's time changed (its session was edited) while the host was claiming it."""

    code = "slot_changed"

    def default_message(self):
        return _l("This slot's time has just changed. Look at it again and take it if it "
                  "still suits you.")


class NotQualified(NotAllowed):
    """The host lacks the role, sign language or level the slot needs."""

    code = "not_qualified"

    def default_message(self):
        return _l("You are not qualified for this slot: it needs a different role, "
                  "sign language or a higher level.")


class SlotOverlap(Conflict):
    """The host already holds a slot at that time."""

    code = "slot_overlap"

    def default_message(self):
        return _l("You already have a slot at that time.")


class DailyLimitReached(Conflict):
    """The host would interpret more than the daily limit."""

    code = "daily_limit"


def lock_host(*, session: Session, host_id: int) -> None:
    """Serialise calendar changes for one host (a row lock on PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(User.id).where(User.id == host_id).with_for_update())


def is_qualified(*, session: Session, host_id: int, slot: LiveSessionSlot) -> bool:
    """True when the host has the slot's role, sign language (if any) and level."""
    statement = select(HostCapability.id).where(
        HostCapability.user_id == host_id, HostCapability.role == slot.role,
        HostCapability.level >= slot.min_level)
    if slot.sign_language is not None:
        statement = statement.where(HostCapability.sign_language == slot.sign_language)
    return session.exec(statement.limit(1)).first() is not None


def check_calendar(*, session: Session, host_id: int, starts_at: datetime, ends_at: datetime,
                   role: HostRole, team_size: int, ignore_slot_id: int | None = None) -> None:
    """Raise unless the host is free then and stays within the daily interpreting limit.

    Call after `lock_host`: the reads below must see every committed claim.
    """
    active = [s.value for s in HOLDS_THE_HOST]
    base = (sa.select(LiveSessionSlot.id, LiveSessionSlot.role, LiveSessionSlot.starts_at,
                      LiveSessionSlot.ends_at, LiveSessionSlot.team_size)
            .join(LiveSession, LiveSession.id == LiveSessionSlot.session_id)
            .where(LiveSessionSlot.host_id == host_id, LiveSession.status.in_(active)))
    if ignore_slot_id is not None:
        base = base.where(LiveSessionSlot.id != ignore_slot_id)
    clash = session.execute(base.where(LiveSessionSlot.starts_at < ends_at,
                                       LiveSessionSlot.ends_at > starts_at).limit(1)).first()
    if clash is not None:
        raise SlotOverlap()
    if role not in INTERPRETER_ROLES:
        return
    rules = SlotRules.from_config()
    # "A day" is the session's local day in the shop's zone, whoever claims and wherever
    # they live: the limit protects the interpreter on the stream's own day.
    zone = shop_zone()
    day = starts_at.astimezone(zone).date()
    day_start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    day_end = day_start + timedelta(days=1)
    rows = session.execute(base.where(
        LiveSessionSlot.starts_at >= day_start, LiveSessionSlot.starts_at < day_end,
        LiveSessionSlot.role.in_([r.value for r in INTERPRETER_ROLES]))).all()
    minutes = interpreting_minutes(role=role, team_size=team_size,
                                   minutes=int((ends_at - starts_at).total_seconds() // 60))
    for row in rows:
        minutes += interpreting_minutes(role=HostRole(row.role), team_size=row.team_size,
                                        minutes=int((row.ends_at - row.starts_at)
                                                    .total_seconds() // 60))
    if minutes > rules.daily_solo_max_minutes:
        hours = format(rules.daily_solo_max_minutes / 60, "g")
        raise DailyLimitReached(_l(
            "That would make more than %(hours)s hours of interpreting in one day. "
            "Nobody interprets longer than that alone.", hours=hours))


def _slot_and_session(session: Session, slot_id: int) -> tuple[LiveSessionSlot, LiveSession]:
    slot = session.get(LiveSessionSlot, slot_id)
    if slot is None:
        raise NotFound(_l("We could not find that slot."))
    return slot, session.get(LiveSession, slot.session_id)


def claim_slot(*, session: Session, slot_id: int, host: User,
               assigned_by: User | None = None) -> LiveSessionSlot:
    """Give the slot to `host` (the host claiming, or an operator assigning)."""
    slot, live = _slot_and_session(session, slot_id)
    if live.status not in OPEN_FOR_SIGN_UP or live.planned_start <= utcnow():
        raise Conflict(_l("This session has started or is closed, so its slots cannot "
                          "change."), code="session_closed")
    if not is_qualified(session=session, host_id=host.id, slot=slot):
        if assigned_by is not None:
            raise NotQualified(_l("%(name)s is not qualified for this slot: it needs a "
                                  "different role, sign language or a higher level.",
                                  name=host.display_name))
        raise NotQualified()
    lock_host(session=session, host_id=host.id)
    check_calendar(session=session, host_id=host.id, starts_at=slot.starts_at,
                   ends_at=slot.ends_at, role=slot.role, team_size=slot.team_size,
                   ignore_slot_id=slot.id)
    now = utcnow()
    # Still open, and still at the times the calendar was checked for: an edit of the
    # session that commits meanwhile moves the slot, and this claim must not land on it.
    result = session.execute(
        sa.update(LiveSessionSlot)
        .where(LiveSessionSlot.id == slot.id, LiveSessionSlot.host_id.is_(None),
               LiveSessionSlot.starts_at == slot.starts_at,
               LiveSessionSlot.ends_at == slot.ends_at)
        .values(host_id=host.id, claimed_at=now,
                assigned_by_id=assigned_by.id if assigned_by else None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        session.refresh(slot)
        raise SlotTaken() if slot.host_id is not None else SlotChanged()
    session.refresh(slot)
    if slot.role == HostRole.PRESENTER:
        from livestream.services import sync_required_slots  # services builds on this module

        live.presenter_id = host.id
        session.add(live)
        session.flush()
        sync_required_slots(session=session, live=live)  # a new presenter may need others
    if slot.role in INTERPRETER_ROLES:
        _send_product_list(session=session, live=live, slot=slot, host=host)
    session.flush()
    return slot


def _send_product_list(*, session: Session, live: LiveSession, slot: LiveSessionSlot,
                       host: User) -> None:
    """Interpreters get the products to be shown as soon as they take the slot."""
    products = session.exec(
        select(Product).join(LiveSessionProduct, LiveSessionProduct.product_id == Product.id)
        .where(LiveSessionProduct.session_id == live.id)
        .order_by(LiveSessionProduct.position)).all()
    base = current_app.config["BASE_URL"]

    def compose():
        from core.i18n import local_datetime

        lines = [f"{i}. {p.title} {base}/products/{p.slug}" for i, p in enumerate(products, 1)]
        body = _("You are the %(role)s for “%(title)s” on %(when)s. Please join 15 minutes "
                 "early.", role=slot.role.label, title=live.title,
                 when=local_datetime(slot.starts_at, "full"))
        body += "\n\n" + _("Products to be shown:") + "\n" + (
            "\n".join(lines) if lines else _("No products chosen yet."))
        return _("Products for %(title)s", title=live.title), body

    notify(session=session, user=host, compose=compose, link=f"/live/{live.slug}")


def release_slot(*, session: Session, slot_id: int, host: User,
                 by_operator: User | None = None) -> LiveSessionSlot:
    """Give the slot up; under the late-release window it is flagged and operators told."""
    slot, live = _slot_and_session(session, slot_id)
    if live.status not in OPEN_FOR_SIGN_UP:
        raise Conflict(_l("This session has started or is closed, so its slots cannot "
                          "change."), code="session_closed")
    if slot.role == HostRole.PRESENTER and by_operator is None:
        raise NotAllowed(_l("Ask an operator to change the presenter."))
    now = utcnow()
    rules = SlotRules.from_config()
    late = slot.starts_at - now < timedelta(hours=rules.late_release_hours)
    values = {"host_id": None, "claimed_at": None, "assigned_by_id": None}
    if late:
        values.update(late_release_at=now, late_released_by_id=host.id)
    result = session.execute(
        sa.update(LiveSessionSlot)
        .where(LiveSessionSlot.id == slot.id, LiveSessionSlot.host_id == host.id)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(_l("This slot is not held by that host."), code="not_holder")
    session.refresh(slot)
    if slot.role == HostRole.PRESENTER:
        live.presenter_id = None
        session.add(live)
    if late:
        _alert_late_release(session=session, live=live, slot=slot, host=host)
    session.flush()
    return slot


def _alert_late_release(*, session: Session, live: LiveSession, slot: LiveSessionSlot,
                        host: User) -> None:
    def compose():
        from core.i18n import local_datetime

        return (_("Late release: %(title)s needs a %(role)s",
                  title=live.title, role=slot.role.label),
                _("%(name)s gave up the %(role)s slot less than 24 hours before it starts "
                  "(%(when)s). The slot is open again; please find someone.",
                  name=host.display_name, role=slot.role.label,
                  when=local_datetime(slot.starts_at, "full")))

    for operator in operators(session=session):
        notify(session=session, user=operator, compose=compose,
               link=f"/operator/live/{live.id}")


def qualified_open_slots(*, session: Session, host_id: int, limit: int = 100):
    """Open slots of upcoming sessions that this host is qualified for and free at,
    soonest first (a slot at the time of one they hold is not theirs to take)."""
    capabilities = session.exec(select(HostCapability).where(
        HostCapability.user_id == host_id)).all()
    if not capabilities:
        return []
    conditions = []
    for cap in capabilities:
        condition = sa.and_(LiveSessionSlot.role == cap.role,
                            LiveSessionSlot.min_level <= cap.level)
        if cap.sign_language is not None:
            condition = sa.and_(condition, sa.or_(
                LiveSessionSlot.sign_language.is_(None),
                LiveSessionSlot.sign_language == cap.sign_language))
        else:
            condition = sa.and_(condition, LiveSessionSlot.sign_language.is_(None))
        conditions.append(condition)
    held, held_session = aliased(LiveSessionSlot), aliased(LiveSession)
    clash = (sa.select(held.id).join(held_session, held_session.id == held.session_id)
             .where(held.host_id == host_id,
                    held_session.status.in_([s.value for s in HOLDS_THE_HOST]),
                    held.starts_at < LiveSessionSlot.ends_at,
                    held.ends_at > LiveSessionSlot.starts_at)
             .correlate(LiveSessionSlot))
    return session.exec(
        select(LiveSessionSlot, LiveSession)
        .join(LiveSession, LiveSession.id == LiveSessionSlot.session_id)
        .where(LiveSessionSlot.host_id.is_(None), sa.or_(*conditions),
               LiveSession.status.in_([s.value for s in OPEN_FOR_SIGN_UP]),
               LiveSession.planned_start > utcnow(), ~sa.exists(clash))
        .order_by(LiveSessionSlot.starts_at, LiveSessionSlot.id).limit(limit)).all()

