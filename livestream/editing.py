"""Changing a planned session. Its team follows the new times, and everyone holding a
slot is told what that means for them: a mail through the outbox and a notice, in
their own language and time zone, in the same transaction as the change.

What happens to each slot when the times change:
- a slot that covered the whole session covers the whole new session;
- any other slot keeps its place in the running order (it moves as far as the start
  did) and is cut to fit inside the new times; a slot left with no time is removed;
- a holder who is busy with another slot at the new time, or would then interpret
  more than the daily limit, loses the slot and it opens for others. It is not
  flagged as a late release: the host did nothing; the operator who made the change
  is told on the spot, and the 48-hour warning follows if nobody takes it;
- a seat the new length no longer needs (a team of two cut to one) stays with its
  holder, no longer required.
The presenter is the exception: a presenter busy at the new time refuses the whole
change (one presenter never has overlapping sessions), and nothing is written.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from accounts.models import HostRole, User
from core.errors import Conflict
from core.timezones import local_span
from livestream.models import LiveSession, LiveSessionSlot, SessionStatus
from livestream.notices import notify, reminded_shoppers
from livestream.rules import SlotRules
from livestream.services import (
    InvalidSchedule,
    SessionPlan,
    check_times,
    find_presenter,
    give_presenter_slot,
    set_products,
    sync_required_slots,
)
from livestream.slots import DailyLimitReached, SlotOverlap, check_calendar, lock_host

EDITABLE = (SessionStatus.DRAFT, SessionStatus.SCHEDULED)


class Outcome(enum.StrEnum):
    """What a change did to one holder's slot."""

    KEPT = "kept"
    RELEASED_BUSY = "released_busy"
    RELEASED_DAILY_LIMIT = "released_daily_limit"
    REMOVED = "removed"
    NOT_REQUIRED = "not_required"
    NO_LONGER_PRESENTING = "no_longer_presenting"


@dataclass
class HolderChange:
    """One holder's slot after the change, for their notice and the operator's page."""

    host_id: int
    host_name: str
    role: HostRole
    outcome: Outcome
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @property
    def lost_slot(self) -> bool:
        """True when the holder no longer has this slot."""
        return self.outcome in (Outcome.RELEASED_BUSY, Outcome.RELEASED_DAILY_LIMIT,
                                Outcome.REMOVED, Outcome.NO_LONGER_PRESENTING)


@dataclass
class SessionChange:
    """What an edit changed: the old and new times and each holder's slot."""

    old_start: datetime
    old_end: datetime
    new_start: datetime
    new_end: datetime
    holders: list[HolderChange] = field(default_factory=list)

    @property
    def times_changed(self) -> bool:
        """True when the session moved or changed length."""
        return (self.old_start, self.old_end) != (self.new_start, self.new_end)

    @property
    def people_told(self) -> int:
        """How many different hosts were sent a notice."""
        return len({h.host_id for h in self.holders})


def _locked_slots(session: Session, live: LiveSession) -> list[LiveSessionSlot]:
    # Row locks on PostgreSQL, so a claim in flight either lands before this reads the
    # team or waits and then finds the slot's times changed (claim_slot checks them).
    statement = select(LiveSessionSlot).where(LiveSessionSlot.session_id == live.id)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return list(session.exec(statement.order_by(LiveSessionSlot.id)).all())


def _fit(slot: LiveSessionSlot, live: LiveSession, old_start: datetime,
         old_end: datetime) -> bool:
    """Move the slot with its session; False when nothing of it is left."""
    if slot.starts_at == old_start and slot.ends_at == old_end:
        slot.starts_at, slot.ends_at = live.planned_start, live.planned_end
        return True
    shift = live.planned_start - old_start
    starts = max(slot.starts_at + shift, live.planned_start)
    ends = min(slot.ends_at + shift, live.planned_end)
    if ends <= starts:
        return False
    slot.starts_at, slot.ends_at = starts, ends
    return True


def _open_again(session: Session, slot: LiveSessionSlot) -> None:
    slot.host_id = slot.claimed_at = slot.assigned_by_id = None
    session.add(slot)
    session.flush()


def update_session(*, session: Session, live: LiveSession, plan: SessionPlan) -> SessionChange:
    """Change a planned session (see the module doc) and tell every holder concerned."""
    if live.status not in EDITABLE:
        raise Conflict(_l("Only sessions that have not started can be changed."))
    check_times(plan.planned_start, plan.planned_end)
    team = _locked_slots(session, live)
    holders = {s.host_id: session.get(User, s.host_id) for s in team if s.host_id}
    change = SessionChange(live.planned_start, live.planned_end, plan.planned_start,
                           plan.planned_end)
    outcomes: dict[int, HolderChange] = {}

    def record(slot, outcome):
        holder = holders[slot.host_id]
        outcomes[slot.id] = HolderChange(holder.id, holder.display_name, slot.role, outcome,
                                         slot.starts_at, slot.ends_at)

    for name in ("title", "title_en", "description", "workshop_id", "stream_url",
                 "captions_url", "planned_start", "planned_end"):
        setattr(live, name, getattr(plan, name))
    session.add(live)
    kept = []
    for slot in team:
        if _fit(slot, live, change.old_start, change.old_end):
            session.add(slot)
            kept.append(slot)
            continue
        if slot.host_id:
            record(slot, Outcome.REMOVED)
        session.delete(slot)
    session.flush()

    presenter_slot = next((s for s in kept if s.role == HostRole.PRESENTER), None)
    if plan.presenter_id != live.presenter_id:
        if presenter_slot is not None:
            if presenter_slot.host_id:
                record(presenter_slot, Outcome.NO_LONGER_PRESENTING)
            session.delete(presenter_slot)
            kept.remove(presenter_slot)
            session.flush()
        live.presenter_id = None
        presenter, _profile, _capability = find_presenter(session, plan.presenter_id)
        if presenter is not None:
            give_presenter_slot(session=session, live=live, presenter=presenter)

    rules = SlotRules.from_config()
    for slot in [s for s in kept if s.host_id]:
        lock_host(session=session, host_id=slot.host_id)
        try:
            check_calendar(session=session, host_id=slot.host_id, starts_at=slot.starts_at,
                           ends_at=slot.ends_at, role=slot.role, team_size=slot.team_size,
                           ignore_slot_id=slot.id)
        except (SlotOverlap, DailyLimitReached) as exc:
            if slot.role == HostRole.PRESENTER:
                raise InvalidSchedule(
                    _l("%(name)s is already presenting or working at that time",
                       name=holders[slot.host_id].display_name),
                    field="presenter_id") from exc
            record(slot, Outcome.RELEASED_BUSY if isinstance(exc, SlotOverlap)
                   else Outcome.RELEASED_DAILY_LIMIT)
            _open_again(session, slot)
            continue
        if change.times_changed:
            record(slot, Outcome.KEPT)

    required_before = {s.id for s in kept if s.host_id and s.is_required}
    set_products(session=session, live=live, product_ids=plan.product_ids)
    sync_required_slots(session=session, live=live)
    for slot in kept:
        if slot.id in required_before and slot.host_id and not slot.is_required:
            record(slot, Outcome.NOT_REQUIRED)

    change.holders = sorted(outcomes.values(), key=lambda h: (h.host_id, h.role.value))
    _tell_holders(session=session, live=live, change=change, rules=rules,
                  people={h.id: h for h in holders.values()})
    if change.times_changed and live.status == SessionStatus.SCHEDULED:
        _tell_reminded_shoppers(session=session, live=live, change=change)
    return change


def _tell_reminded_shoppers(*, session: Session, live: LiveSession,
                            change: SessionChange) -> None:
    """Shoppers who asked for a reminder learn the new time now (their reminder follows
    the new start: reminder keys include it)."""
    for shopper in reminded_shoppers(session=session, live_id=live.id):
        notify(session=session, user=shopper, link=f"/live/{live.slug}", compose=lambda: (
            _("New time: %(title)s", title=live.title),
            _("The live stream “%(title)s” has a new time: %(new)s. It was %(old)s. We will "
              "remind you 15 minutes before the new start.", title=live.title,
              new=local_span(change.new_start, change.new_end),
              old=local_span(change.old_start, change.old_end))))


def _line(item: HolderChange, rules: SlotRules) -> str:
    role = item.role.label
    if item.outcome == Outcome.KEPT:
        return _("You are still the %(role)s: %(when)s.", role=role,
                 when=local_span(item.starts_at, item.ends_at))
    if item.outcome == Outcome.RELEASED_BUSY:
        return _("You are no longer the %(role)s: you already have another slot at the new "
                 "time. The slot is open for someone else.", role=role)
    if item.outcome == Outcome.RELEASED_DAILY_LIMIT:
        return _("You are no longer the %(role)s: at the new time you would interpret more "
                 "than %(hours)s hours that day. The slot is open for someone else.",
                 role=role, hours=format(rules.daily_solo_max_minutes / 60, "g"))
    if item.outcome == Outcome.REMOVED:
        return _("Your %(role)s slot no longer fits in the new times, so it has been "
                 "removed.", role=role)
    if item.outcome == Outcome.NOT_REQUIRED:
        return _("You are still the %(role)s (%(when)s), but the new length no longer needs "
                 "this seat. An operator may ask you to give it up.", role=role,
                 when=local_span(item.starts_at, item.ends_at))
    return _("You are no longer the presenter: the operators have chosen someone else.")


def _tell_holders(*, session: Session, live: LiveSession, change: SessionChange,
                  rules: SlotRules, people: dict[int, User]) -> None:
    """One notice and mail per holder, listing what happened to each of their slots."""
    by_host: dict[int, list[HolderChange]] = {}
    for item in change.holders:
        by_host.setdefault(item.host_id, []).append(item)
    for host_id, items in by_host.items():
        def compose(items=items):
            lines = []
            if change.times_changed:
                lines.append(_("“%(title)s” has a new time: %(new)s. It was %(old)s.",
                               title=live.title,
                               new=local_span(change.new_start, change.new_end),
                               old=local_span(change.old_start, change.old_end)))
                subject = _("New time: %(title)s", title=live.title)
            else:
                subject = _("Change to your slot: %(title)s", title=live.title)
            lines += [_line(item, rules) for item in items]
            return subject, "\n\n".join(lines)

        notify(session=session, user=people[host_id], compose=compose, link="/host/schedule")

