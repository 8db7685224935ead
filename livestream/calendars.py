"""Calendar files (RFC 5545, made with the `icalendar` library): a host's private feed
of their slots, and an "add to calendar" file per session. Times are written in UTC;
calendar apps show them in the reader's own zone."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from icalendar import Alarm, Calendar, Event
from sqlmodel import Session, select

from core.db import utcnow
from livestream.models import HostCalendarFeed, LiveSession, LiveSessionSlot, SessionStatus
from livestream.notices import insert_once

PRODID = "-//Gongfang Live//livestream//ZH"
UID_DOMAIN = "gongfang.live"
SHOWN = (SessionStatus.SCHEDULED, SessionStatus.LIVE, SessionStatus.DRAFT)


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", current_app.config["DEFAULT_TIMEZONE"])
    return calendar


def _event(*, uid: str, summary: str, start, end, description: str, url: str,
           cancelled: bool = False) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", utcnow())
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def session_calendar(live: LiveSession) -> bytes:
    """One session as an .ics file with a 15-minute alarm, for shoppers."""
    base = current_app.config["BASE_URL"]
    calendar = _calendar(live.title)
    event = _event(uid=f"live-{live.id}@{UID_DOMAIN}", summary=live.title,
                   start=live.planned_start, end=live.planned_end,
                   description=live.description, url=f"{base}/live/{live.slug}",
                   cancelled=live.status == SessionStatus.CANCELLED)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", live.title)
    alarm.add("trigger", -timedelta(minutes=15))
    event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical()


def host_calendar(*, session: Session, host_id: int, host_name: str) -> bytes:
    """Every slot the host holds in sessions not yet over, as one feed."""
    base = current_app.config["BASE_URL"]
    calendar = _calendar(_("%(name)s's live sessions", name=host_name))
    rows = session.exec(
        select(LiveSessionSlot, LiveSession)
        .join(LiveSession, LiveSession.id == LiveSessionSlot.session_id)
        .where(LiveSessionSlot.host_id == host_id,
               LiveSession.status.in_([s.value for s in SHOWN + (SessionStatus.CANCELLED,)]))
        .order_by(LiveSessionSlot.starts_at)).all()
    for slot, live in rows:
        description = _("You are the %(role)s. Please join 15 minutes early.",
                        role=slot.role.label)
        calendar.add_component(_event(
            uid=f"slot-{slot.id}@{UID_DOMAIN}", summary=f"{live.title} · {slot.role.label}",
            start=slot.starts_at, end=slot.ends_at, description=description,
            url=f"{base}/live/{live.slug}",
            cancelled=live.status == SessionStatus.CANCELLED))
    return calendar.to_ical()


def feed_token(*, session: Session, user_id: int, renew: bool = False) -> str:
    """The host's secret feed token, made on first use; `renew` replaces a leaked one."""
    feed = session.get(HostCalendarFeed, user_id)
    if feed is not None and not renew:
        return feed.token
    if feed is None:
        # A parallel first visit may make it at the same moment: the key decides.
        insert_once(session=session, model=HostCalendarFeed, user_id=user_id,
                    token=secrets.token_urlsafe(32), created_at=utcnow())
        return session.exec(select(HostCalendarFeed.token).where(
            HostCalendarFeed.user_id == user_id)).one()
    feed.token = secrets.token_urlsafe(32)
    feed.created_at = utcnow()
    session.add(feed)
    session.flush()
    return feed.token


def host_for_token(*, session: Session, token: str) -> int | None:
    """Whose feed this token opens, if anyone's."""
    if not token or len(token) > 64:
        return None
    feed = session.exec(select(HostCalendarFeed).where(HostCalendarFeed.token == token)).first()
    return feed.user_id if feed else None
