"""Reminder jobs. Each reminder is recorded in `live_sent_reminder` under a unique key
in the same transaction as its mail and notice, so running a job twice (or two
schedulers at once) sends nothing twice. The key holds the start time it was sent
for, so a session moved after its reminder went out is reminded again for the new
time."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlmodel import Session, select

from accounts.models import User
from core.db import db, utcnow
from core.i18n import local_datetime
from core.scheduler import register_job
from livestream.models import (
    LiveSession,
    LiveSessionSlot,
    ReminderRequest,
    SentReminder,
    SessionStatus,
)
from livestream.notices import insert_once, notify, operators
from livestream.rules import SlotRules


def _key(kind: str, item_id: int, starts_at) -> str:
    """What a reminder was about: the slot or session, and the start it was sent for."""
    return f"{kind}:{item_id}@{starts_at.strftime('%Y%m%dT%H%MZ')}"


def _first_time(session: Session, kind: str, subject_key: str, user_id: int) -> bool:
    """Record the reminder; False when it was sent before (the unique key decides)."""
    return insert_once(session=session, model=SentReminder, kind=kind,
                       subject_key=subject_key, user_id=user_id, sent_at=utcnow())


def remind_hosts(session: Session, rules: SlotRules) -> int:
    """Hosts hear about their slot 24 hours and 1 hour before it starts."""
    now, sent = utcnow(), 0
    windows = sorted(rules.host_reminder_hours)
    for index, hours in enumerate(windows):
        earliest = now + timedelta(hours=windows[index - 1]) if index else now
        rows = session.exec(
            select(LiveSessionSlot, LiveSession, User)
            .join(LiveSession, LiveSession.id == LiveSessionSlot.session_id)
            .join(User, User.id == LiveSessionSlot.host_id)
            .where(LiveSession.status == SessionStatus.SCHEDULED,
                   LiveSessionSlot.starts_at > earliest,
                   LiveSessionSlot.starts_at <= now + timedelta(hours=hours))).all()
        for slot, live, host in rows:
            key = _key("slot", slot.id, slot.starts_at)
            if not _first_time(session, f"host_{hours}h", key, host.id):
                continue
            notify(session=session, user=host, link="/host/schedule", compose=lambda slot=slot,
                   live=live, hours=hours: (
                _("Reminder: %(title)s in %(hours)s hours", title=live.title, hours=hours),
                _("You are the %(role)s for “%(title)s”, starting %(when)s. Please join 15 "
                  "minutes early.", role=slot.role.label, title=live.title,
                  when=local_datetime(slot.starts_at, "full"))))
            sent += 1
    return sent


def remind_shoppers(session: Session, rules: SlotRules) -> int:
    """Shoppers who pressed "remind me" hear 15 minutes before the start."""
    now, sent = utcnow(), 0
    rows = session.exec(
        select(ReminderRequest, LiveSession, User)
        .join(LiveSession, LiveSession.id == ReminderRequest.session_id)
        .join(User, User.id == ReminderRequest.user_id)
        .where(LiveSession.status == SessionStatus.SCHEDULED,
               LiveSession.planned_start > now,
               LiveSession.planned_start <= now + timedelta(
                   minutes=rules.shopper_reminder_minutes))).all()
    for _request, live, user in rows:
        key = _key("session", live.id, live.planned_start)
        if not _first_time(session, "shopper_start", key, user.id):
            continue
        notify(session=session, user=user, link=f"/live/{live.slug}", compose=lambda live=live: (
            _("Starting soon: %(title)s", title=live.title),
            _("“%(title)s” starts at %(when)s, with sign language.", title=live.title,
              when=local_datetime(live.planned_start, "short"))))
        sent += 1
    return sent


def warn_operators(session: Session, rules: SlotRules) -> int:
    """Operators hear 48 hours ahead about sessions with a required slot still open."""
    now, sent = utcnow(), 0
    sessions = session.exec(
        select(LiveSession).where(
            LiveSession.status.in_([SessionStatus.DRAFT.value, SessionStatus.SCHEDULED.value]),
            LiveSession.planned_start > now,
            LiveSession.planned_start <= now + timedelta(hours=rules.operator_warning_hours),
            LiveSession.id.in_(select(LiveSessionSlot.session_id).where(
                LiveSessionSlot.is_required.is_(True), LiveSessionSlot.host_id.is_(None))))
    ).all()
    staff = operators(session=session)
    for live in sessions:
        for operator in staff:
            key = _key("session", live.id, live.planned_start)
            if not _first_time(session, "operator_open_slot", key, operator.id):
                continue
            notify(session=session, user=operator, link=f"/operator/live/{live.id}",
                   compose=lambda live=live: (
                       _("Open slot: %(title)s", title=live.title),
                       _("“%(title)s” starts %(when)s and a required slot is still open. It "
                         "cannot go live until it is filled.", title=live.title,
                         when=local_datetime(live.planned_start, "full"))))
            sent += 1
    return sent


@register_job("livestream_reminders", "interval", minutes=1)
def send_live_reminders() -> int:
    """Every reminder that is due; returns how many went out."""
    rules = SlotRules.from_config()
    with db.transaction() as session:
        return (remind_hosts(session, rules) + remind_shoppers(session, rules)
                + warn_operators(session, rules))
