"""Reads for the pages: each loads what its template shows in a few queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from accounts.models import HostCapability, HostProfile, HostRole, User, Workshop
from catalog.models import Product, ProductStatus
from core.db import utcnow
from core.timezones import viewer_zone
from core.written import WrittenText, as_written
from livestream.models import LiveSession, LiveSessionProduct, LiveSessionSlot, SessionStatus


def public_schedule(*, session: Session, limit: int = 100) -> list[LiveSession]:
    """Live now first, then sessions coming up, soonest first."""
    return list(session.exec(
        select(LiveSession)
        # A stream that runs over its planned end is still live until its host ends it.
        .where(sa.or_(LiveSession.status == SessionStatus.LIVE.value,
                      sa.and_(LiveSession.status == SessionStatus.SCHEDULED.value,
                              LiveSession.planned_end > utcnow())))
        .order_by((LiveSession.status == SessionStatus.LIVE.value).desc(),
                  LiveSession.planned_start).limit(limit)).all())


def session_products(*, session: Session, live_id: int) -> list[Product]:
    """The products to be presented, in order."""
    return list(session.exec(
        select(Product).join(LiveSessionProduct, LiveSessionProduct.product_id == Product.id)
        .where(LiveSessionProduct.session_id == live_id)
        .order_by(LiveSessionProduct.position)).all())


def session_workshops(*, session: Session, live: LiveSession,
                      products: list[Product]) -> list[Workshop]:
    """The workshops a session presents, in order: its own (if set), then those whose
    goods it shows, each once. Derived from the products, so it never disagrees."""
    order = ([live.workshop_id] if live.workshop_id else []) + [p.workshop_id for p in products]
    wanted = list(dict.fromkeys(order))
    if not wanted:
        return []
    found = {w.id: w for w in session.exec(select(Workshop).where(Workshop.id.in_(wanted)))}
    return [found[i] for i in wanted if i in found]


def session_slots(*, session: Session, live_ids: list[int]):
    """Each session's slots with their holder's public name, by session id."""
    result: dict[int, list[tuple[LiveSessionSlot, str | None]]] = defaultdict(list)
    if not live_ids:
        return result
    rows = session.exec(
        select(LiveSessionSlot, HostProfile.public_name, User.display_name)
        .join(User, User.id == LiveSessionSlot.host_id, isouter=True)
        .join(HostProfile, HostProfile.user_id == LiveSessionSlot.host_id, isouter=True)
        .where(LiveSessionSlot.session_id.in_(live_ids))
        .order_by(LiveSessionSlot.session_id, LiveSessionSlot.starts_at,
                  LiveSessionSlot.role, LiveSessionSlot.team_position)).all()
    for slot, public_name, display_name in rows:
        result[slot.session_id].append((slot, public_name or display_name))
    return result


def host_schedule(*, session: Session, host_id: int):
    """The host's own slots in sessions not yet over, soonest first."""
    return session.exec(
        select(LiveSessionSlot, LiveSession)
        .join(LiveSession, LiveSession.id == LiveSessionSlot.session_id)
        .where(LiveSessionSlot.host_id == host_id, LiveSessionSlot.ends_at > utcnow(),
               LiveSession.status.in_([SessionStatus.DRAFT.value, SessionStatus.SCHEDULED.value,
                                       SessionStatus.LIVE.value]))
        .order_by(LiveSessionSlot.starts_at)).all()


def week_start(value: date | None) -> date:
    """The Monday of the week holding `value` (today in the viewer's zone by default)."""
    zone = viewer_zone()
    value = value or datetime.now(zone).date()
    return value - timedelta(days=value.weekday())


PLAN_WEEKS_AHEAD = 52  # a year of planning ahead, past the last session planned


def week_bounds(*, session: Session) -> tuple[date, date]:
    """The first and last Monday the week plan goes to: from the week of the first
    session (or this week) to a year past this week or the last session, whichever is
    later. Planning needs the weeks ahead even while they are empty."""
    zone = viewer_zone()
    first, last = session.exec(select(sa.func.min(LiveSession.planned_start),
                                      sa.func.max(LiveSession.planned_start))).one()
    this_week = week_start(None)
    earliest = min(this_week, week_start(first.astimezone(zone).date())) if first else this_week
    latest = this_week + timedelta(weeks=PLAN_WEEKS_AHEAD)
    if last:
        latest = max(latest, week_start(last.astimezone(zone).date()))
    return earliest, latest


def week_plan(*, session: Session, monday: date):
    """Seven days from `monday`, each day's sessions with their slots.

    Days are the viewer's, like the times on the page: a session is under the day its
    start shows."""
    zone = viewer_zone()
    start = datetime.combine(monday, datetime.min.time(), tzinfo=zone)
    sessions = session.exec(
        select(LiveSession).where(LiveSession.planned_start >= start,
                                  LiveSession.planned_start < start + timedelta(days=7))
        .order_by(LiveSession.planned_start)).all()
    slots = session_slots(session=session, live_ids=[s.id for s in sessions])
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        days.append((day, [(s, slots[s.id]) for s in sessions
                           if s.planned_start.astimezone(zone).date() == day]))
    return days


def presenter_choices(*, session: Session) -> list[tuple[str, str]]:
    """Hosts who can present, for a select."""
    rows = session.exec(
        select(User.id, User.display_name, HostProfile.is_deaf)
        .join(HostCapability, HostCapability.user_id == User.id)
        .join(HostProfile, HostProfile.user_id == User.id, isouter=True)
        .where(HostCapability.role == HostRole.PRESENTER).distinct()
        .order_by(User.display_name)).all()
    return [(str(user_id), name) for user_id, name, _deaf in rows]


def hosts_for_role(*, session: Session, role: HostRole) -> list[tuple[str, str]]:
    """Hosts with a capability for `role`, for the operator's assign select."""
    rows = session.exec(
        select(User.id, User.display_name).join(HostCapability, HostCapability.user_id == User.id)
        .where(HostCapability.role == role).distinct().order_by(User.display_name)).all()
    return [(str(user_id), name) for user_id, name in rows]


def workshop_choices(*, session: Session) -> list[tuple[str, WrittenText]]:
    """Workshops, for a select, named in the reader's language where they can be."""
    return [(str(w.id), as_written(w, "name"))
            for w in session.exec(select(Workshop).order_by(Workshop.name))]


def product_choices(*, session: Session) -> list[tuple[int, WrittenText]]:
    """Products on sale, for the products to present, in the reader's language."""
    return [(p.id, as_written(p, "title")) for p in session.exec(
        select(Product).where(Product.status == ProductStatus.PUBLISHED)
        .order_by(Product.title).limit(200))]
