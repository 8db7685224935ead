"""A session's life: the readiness checklist, publish, go live, end, cancel, and
shoppers' "remind me"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from accounts.models import HostRole, User
from core.db import utcnow
from core.errors import Conflict
from core.timezones import local_datetime, local_span
from livestream.models import LiveSession, LiveSessionSlot, ReminderRequest, SessionStatus
from livestream.notices import insert_once, notify, reminded_shoppers


@dataclass(frozen=True)
class CheckItem:
    """One line of the readiness checklist."""

    label: str
    done: bool
    slot_id: int | None = None


def readiness(*, session: Session, live: LiveSession) -> list[CheckItem]:
    """What the session has and lacks, in the order an operator fixes it."""
    items = [
        CheckItem(_("A presenter is chosen"), live.presenter_id is not None),
        CheckItem(_("A start and end time is set"),
                  live.planned_end > live.planned_start),
    ]
    slots = session.exec(select(LiveSessionSlot).where(
        LiveSessionSlot.session_id == live.id, LiveSessionSlot.is_required.is_(True),
        LiveSessionSlot.role != HostRole.PRESENTER)
        .order_by(LiveSessionSlot.starts_at, LiveSessionSlot.id)).all()
    for slot in slots:
        label = _("%(role)s is filled", role=slot.role.label)
        if slot.team_size > 1:
            label = _("%(role)s %(n)s of %(size)s is filled", role=slot.role.label,
                      n=slot.team_position, size=slot.team_size)
        items.append(CheckItem(label, slot.host_id is not None, slot.id))
    return items


def publish(*, session: Session, live: LiveSession) -> None:
    """Draft to scheduled: needs a presenter and a time in the future."""
    if live.status != SessionStatus.DRAFT:
        raise Conflict(_l("Only a draft can be published."))
    if live.presenter_id is None:
        raise Conflict(_l("Choose a presenter before publishing."), code="no_presenter")
    if live.planned_start <= utcnow():
        raise Conflict(_l("The start time has passed; choose a new time."), code="past")
    live.status = SessionStatus.SCHEDULED
    session.add(live)
    session.flush()


# A host may open the stream a little early to check picture and sound with viewers
# arriving; days early would put a session's room live long before anyone was told.
GO_LIVE_EARLY = timedelta(minutes=30)


def go_live(*, session: Session, live: LiveSession) -> None:
    """Scheduled to live: only from GO_LIVE_EARLY before its start until its planned end,
    and only when every required slot is filled."""
    if live.status != SessionStatus.SCHEDULED:
        raise Conflict(_l("Only a scheduled session can go live."))
    now = utcnow()
    if now < live.planned_start - GO_LIVE_EARLY:
        raise Conflict(_l(
            "This session starts at %(start)s. It can go live from %(opens)s, "
            "%(minutes)d minutes before.", start=local_datetime(live.planned_start, "short"),
            opens=local_datetime(live.planned_start - GO_LIVE_EARLY, "short"),
            minutes=GO_LIVE_EARLY.seconds // 60), code="too_early")
    if now >= live.planned_end:
        raise Conflict(_l(
            "This session was planned to end at %(end)s, so it cannot go live now. "
            "Change its time to stream it later.",
            end=local_datetime(live.planned_end, "short")), code="too_late")
    missing = [item.label for item in readiness(session=session, live=live) if not item.done]
    if missing:
        raise Conflict(_l("This session cannot go live yet. Missing: %(missing)s",
                          missing="; ".join(missing)), code="not_ready")
    # A conditional update, so two operators pressing at once start it once.
    result = session.execute(
        sa.update(LiveSession)
        .where(LiveSession.id == live.id, LiveSession.status == SessionStatus.SCHEDULED)
        .values(status=SessionStatus.LIVE, started_at=utcnow())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(_l("Only a scheduled session can go live."))
    session.refresh(live)


def end_session(*, session: Session, live: LiveSession) -> None:
    """Live to ended."""
    if live.status != SessionStatus.LIVE:
        raise Conflict(_l("Only a live session can be ended."))
    live.status = SessionStatus.ENDED
    live.ended_at = utcnow()
    session.add(live)
    session.flush()


def cancel_session(*, session: Session, live: LiveSession) -> None:
    """Call off a session that has not started; everyone holding a slot is told."""
    if live.status not in (SessionStatus.DRAFT, SessionStatus.SCHEDULED):
        raise Conflict(_l("Only sessions that have not started can be cancelled."))
    live.status = SessionStatus.CANCELLED
    session.add(live)
    holders = session.exec(select(User).join(LiveSessionSlot, LiveSessionSlot.host_id == User.id)
                           .where(LiveSessionSlot.session_id == live.id).distinct()).all()
    for holder in holders:
        notify(session=session, user=holder, link=f"/live/{live.slug}", compose=lambda: (
            _("Cancelled: %(title)s", title=live.title),
            _("The session “%(title)s” on %(when)s is cancelled. You do not need to come, "
              "and your slot in it is free.", title=live.title,
              when=local_span(live.planned_start, live.planned_end))))
    for shopper in reminded_shoppers(session=session, live_id=live.id):
        notify(session=session, user=shopper, link=f"/live/{live.slug}", compose=lambda: (
            _("Cancelled: %(title)s", title=live.title),
            _("The live stream “%(title)s” on %(when)s is cancelled. We will not send you "
              "its reminder.", title=live.title,
              when=local_span(live.planned_start, live.planned_end))))
    session.flush()


def remind_me(*, session: Session, live: LiveSession, user: User) -> bool:
    """Ask to be reminded before it starts; False when already asked."""
    if live.status not in (SessionStatus.DRAFT, SessionStatus.SCHEDULED) or \
            live.planned_start <= utcnow():
        raise Conflict(_l("This session has already started or is over."))
    return insert_once(session=session, model=ReminderRequest, session_id=live.id,
                       user_id=user.id, created_at=utcnow())
