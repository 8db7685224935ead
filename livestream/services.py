"""Writes for live sessions: planning (one or a repeating series), required slots and
extra slots. They flush, never commit. Changing a planned session is in editing.py."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from dateutil.rrule import DAILY, WEEKLY, rrule
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from accounts.models import HostCapability, HostProfile, HostRole, SignLanguage, User
from core.db import utcnow
from core.errors import Conflict, DomainError
from core.timezones import shop_zone
from livestream.models import (
    LiveSeries,
    LiveSession,
    LiveSessionProduct,
    LiveSessionSlot,
    RepeatFrequency,
    SessionStatus,
)
from livestream.rules import MAX_SESSION_HOURS, SlotRules, required_slots
from livestream.slots import check_calendar, lock_host


class InvalidSchedule(DomainError):
    """Bad planning input; `field` names the form field the message belongs to."""

    code = "invalid_schedule"

    def __init__(self, message, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Repeat:
    """A repeating rule: it must end, by a number of sessions or a last date."""

    frequency: RepeatFrequency
    interval: int = 1
    count: int | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class SessionPlan:
    """What an operator fills in to plan a session."""

    title: str
    planned_start: datetime
    planned_end: datetime
    presenter_id: int | None = None
    title_en: str | None = None
    description: str = ""
    workshop_id: int | None = None
    stream_url: str | None = None
    captions_url: str | None = None
    product_ids: tuple[int, ...] = ()


def check_times(start: datetime, end: datetime) -> None:
    """Refuse a start or end without a zone, an end not after the start, a start that
    has passed, or a session longer than the longest allowed."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidSchedule(_l("Enter the time with its time zone"), field="planned_start")
    if end <= start:
        raise InvalidSchedule(_l("End time must be after the start time"), field="planned_end")
    if start <= utcnow():
        raise InvalidSchedule(_l("Start time must be in the future"), field="planned_start")
    if end - start > timedelta(hours=MAX_SESSION_HOURS):
        raise InvalidSchedule(_l("A session can last at most %(hours)s hours",
                                 hours=MAX_SESSION_HOURS), field="planned_end")


def occurrences(*, start: datetime, repeat: Repeat | None) -> list[datetime]:
    """Every start of a series (just `start` without a rule), bounded and in UTC."""
    if repeat is None:
        return [start]
    rules = SlotRules.from_config()
    if repeat.count is None and repeat.until is None:
        raise InvalidSchedule(_l("Choose how many times it repeats, or the last date"),
                              field="repeat_count")
    if repeat.count is not None and not 1 <= repeat.count <= rules.max_occurrences:
        raise InvalidSchedule(_l("A series can have at most %(n)s sessions",
                                 n=rules.max_occurrences), field="repeat_count")
    if repeat.until is not None and repeat.until <= start:
        raise InvalidSchedule(_l("The last date must be after the first session"),
                              field="repeat_until")
    if not 1 <= repeat.interval <= 52:
        raise InvalidSchedule(_l("Repeat every 1 to 52 weeks or days"), field="repeat_interval")
    # Expand on the shop's wall clock, whoever typed the first one: "every Friday 19:00"
    # is about the stream's audience, so it stays 19:00 there (core.timezones).
    zone = shop_zone()
    local = start.astimezone(zone).replace(tzinfo=None)
    until = repeat.until.astimezone(zone).replace(tzinfo=None) if repeat.until else None
    frequency = WEEKLY if repeat.frequency == RepeatFrequency.WEEKLY else DAILY
    starts = list(rrule(frequency, dtstart=local, interval=repeat.interval, count=repeat.count,
                        until=until).xafter(local - timedelta(seconds=1),
                                            count=rules.max_occurrences + 1, inc=True))
    if len(starts) > rules.max_occurrences:
        raise InvalidSchedule(_l("A series can have at most %(n)s sessions",
                                 n=rules.max_occurrences), field="repeat_until")
    return [s.replace(tzinfo=zone).astimezone(start.tzinfo) for s in starts]


def find_presenter(session: Session, presenter_id: int | None) -> tuple[
        User | None, HostProfile | None, HostCapability | None]:
    """The chosen presenter with their profile and presenting capability (or refuse)."""
    if presenter_id is None:
        return None, None, None
    user = session.get(User, presenter_id)
    capability = session.exec(select(HostCapability).where(
        HostCapability.user_id == presenter_id,
        HostCapability.role == HostRole.PRESENTER)).first() if user else None
    if user is None or capability is None:
        raise InvalidSchedule(_l("Choose a host who can present"), field="presenter_id")
    return user, session.get(HostProfile, presenter_id), capability


def _new_slug(start: datetime) -> str:
    return f"{start.strftime('%Y%m%d-%H%M')}-{secrets.token_hex(3)}"


def plan_sessions(*, session: Session, plan: SessionPlan, repeat: Repeat | None = None,
                  slug: str | None = None) -> list[LiveSession]:
    """Plan one session, or every session of a series, with its required slots.

    Everything is checked before anything is kept: any bad occurrence (a presenter
    already busy then) raises and the caller's transaction rolls back.
    """
    check_times(plan.planned_start, plan.planned_end)
    starts = occurrences(start=plan.planned_start, repeat=repeat)
    length = plan.planned_end - plan.planned_start
    presenter, _profile, _capability = find_presenter(session, plan.presenter_id)
    series = None
    if repeat is not None:
        series = LiveSeries(frequency=repeat.frequency, interval=repeat.interval,
                            count=repeat.count, until=repeat.until,
                            rrule=_rrule_text(repeat))
        session.add(series)
        session.flush()
    made = []
    for index, start in enumerate(starts):
        live = LiveSession(
            slug=(slug if index == 0 and slug else _new_slug(start)), title=plan.title,
            title_en=plan.title_en, description=plan.description,
            workshop_id=plan.workshop_id, stream_url=plan.stream_url,
            captions_url=plan.captions_url, planned_start=start, planned_end=start + length,
            series_id=series.id if series else None, status=SessionStatus.DRAFT)
        session.add(live)
        session.flush()
        set_products(session=session, live=live, product_ids=plan.product_ids)
        if presenter is not None:
            give_presenter_slot(session=session, live=live, presenter=presenter)
        sync_required_slots(session=session, live=live)
        made.append(live)
    return made


def _rrule_text(repeat: Repeat) -> str:
    parts = [f"FREQ={repeat.frequency.value.upper()}", f"INTERVAL={repeat.interval}"]
    if repeat.count:
        parts.append(f"COUNT={repeat.count}")
    if repeat.until:
        parts.append("UNTIL=" + repeat.until.strftime("%Y%m%dT%H%M%SZ"))
    return ";".join(parts)


def set_products(*, session: Session, live: LiveSession, product_ids: tuple[int, ...]) -> None:
    """The products to present, in the order given (duplicates dropped)."""
    for row in session.exec(select(LiveSessionProduct).where(
            LiveSessionProduct.session_id == live.id)).all():
        session.delete(row)
    session.flush()
    for position, product_id in enumerate(dict.fromkeys(product_ids)):
        session.add(LiveSessionProduct(session_id=live.id, product_id=product_id,
                                       position=position))
    session.flush()


def give_presenter_slot(*, session: Session, live: LiveSession, presenter: User) -> None:
    """The presenter holds a slot like anyone, so their calendar is checked the same way."""
    lock_host(session=session, host_id=presenter.id)
    try:
        check_calendar(session=session, host_id=presenter.id, starts_at=live.planned_start,
                       ends_at=live.planned_end, role=HostRole.PRESENTER, team_size=1)
    except Conflict as exc:
        raise InvalidSchedule(_l("%(name)s is already presenting or working at that time",
                                 name=presenter.display_name), field="presenter_id") from exc
    session.add(LiveSessionSlot(
        session_id=live.id, role=HostRole.PRESENTER, starts_at=live.planned_start,
        ends_at=live.planned_end, is_required=True, host_id=presenter.id, claimed_at=utcnow()))
    live.presenter_id = presenter.id
    session.add(live)
    session.flush()


def sync_required_slots(*, session: Session, live: LiveSession) -> None:
    """Make the session's required interpreter slots match its presenter and length.

    Open slots that are no longer needed are removed; held ones are kept (an operator
    decides), and missing ones are added.
    """
    if live.presenter_id is None:
        return
    profile = session.get(HostProfile, live.presenter_id)
    capability = session.exec(select(HostCapability).where(
        HostCapability.user_id == live.presenter_id,
        HostCapability.role == HostRole.PRESENTER)).first()
    language = capability.sign_language if capability else None
    needed = required_slots(presenter_is_deaf=bool(profile and profile.is_deaf),
                            sign_language=language or SignLanguage.NATIONAL,
                            minutes=live.minutes, rules=SlotRules.from_config())
    existing = session.exec(select(LiveSessionSlot).where(
        LiveSessionSlot.session_id == live.id, LiveSessionSlot.is_required.is_(True),
        LiveSessionSlot.role != HostRole.PRESENTER)).all()
    wanted = {(n.role, n.team_position): n for n in needed}
    for slot in existing:
        match = wanted.pop((slot.role, slot.team_position), None)
        if match is None:
            if slot.host_id is None:
                session.delete(slot)
            else:
                slot.is_required = False  # kept as an extra seat; no longer blocks going live
            continue
        slot.team_size, slot.swap_minutes = match.team_size, match.swap_minutes
        slot.starts_at, slot.ends_at = live.planned_start, live.planned_end
        session.add(slot)
    for need in wanted.values():
        session.add(LiveSessionSlot(
            session_id=live.id, role=need.role, sign_language=need.sign_language,
            min_level=need.min_level, starts_at=live.planned_start, ends_at=live.planned_end,
            is_required=True, team_size=need.team_size, team_position=need.team_position,
            swap_minutes=need.swap_minutes))
    session.flush()


def add_slot(*, session: Session, live: LiveSession, role: HostRole,
             sign_language: SignLanguage | None, min_level: int, starts_at: datetime,
             ends_at: datetime, is_required: bool) -> LiveSessionSlot:
    """An extra slot (captioner, assistant, another interpreter) inside the session."""
    if live.status not in (SessionStatus.DRAFT, SessionStatus.SCHEDULED):
        raise Conflict(_l("Only sessions that have not started can be changed."))
    if role == HostRole.PRESENTER:
        raise InvalidSchedule(_l("Choose the presenter on the session itself"), field="role")
    if ends_at <= starts_at:
        raise InvalidSchedule(_l("End time must be after the start time"), field="ends_at")
    if starts_at < live.planned_start or ends_at > live.planned_end:
        raise InvalidSchedule(_l("A slot must be within the session's times"),
                              field="starts_at")
    if not 0 <= min_level <= 3:
        raise InvalidSchedule(_l("Level must be between 0 and 3"), field="min_level")
    slot = LiveSessionSlot(session_id=live.id, role=role, sign_language=sign_language,
                           min_level=min_level, starts_at=starts_at, ends_at=ends_at,
                           is_required=is_required)
    session.add(slot)
    session.flush()
    return slot


def remove_slot(*, session: Session, slot: LiveSessionSlot) -> None:
    """Remove an open extra slot (required ones follow from the presenter)."""
    if slot.is_required or slot.host_id is not None:
        raise Conflict(_l("Only open, optional slots can be removed."))
    session.delete(slot)
    session.flush()
