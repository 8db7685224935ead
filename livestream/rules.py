"""The interpreter rules (defaults from ACCESSIBILITY.md, each configurable) and the
slots a session needs because of who presents it. Pure functions: no database here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context

from accounts.models import HostRole, SignLanguage

INTERPRETER_ROLES = (HostRole.SIGN_INTERPRETER, HostRole.VOICE_INTERPRETER)
MAX_SESSION_HOURS = 8  # the longest session that can be planned


@dataclass(frozen=True)
class SlotRules:
    """How long one interpreter may work alone, how a team swaps, and the daily limit.

    Every value can be changed in the app config (`LIVESTREAM_<NAME>` in upper case).
    """

    solo_max_minutes: int = 60
    team_size: int = 2
    swap_min_minutes: int = 20
    swap_max_minutes: int = 30
    daily_solo_max_minutes: int = 120
    interpreter_min_level: int = 1
    late_release_hours: int = 24
    host_reminder_hours: tuple[int, ...] = (24, 1)
    shopper_reminder_minutes: int = 15
    operator_warning_hours: int = 48
    max_occurrences: int = 52

    @classmethod
    def from_config(cls) -> SlotRules:
        """The rules in force: the defaults, overridden by `LIVESTREAM_*` settings."""
        if not has_app_context():
            return cls()
        values = {}
        for name in cls.__dataclass_fields__:
            key = "LIVESTREAM_" + name.upper()
            if key in current_app.config:
                values[name] = current_app.config[key]
        return cls(**values)


@dataclass(frozen=True)
class RequiredSlot:
    """A slot the session must have filled before it can go live."""

    role: HostRole
    sign_language: SignLanguage | None
    min_level: int
    team_size: int
    team_position: int
    swap_minutes: int | None


def interpreter_role_for(presenter_is_deaf: bool) -> HostRole:
    """A deaf presenter needs a voice interpreter, a hearing one a sign-language one."""
    return HostRole.VOICE_INTERPRETER if presenter_is_deaf else HostRole.SIGN_INTERPRETER


def swap_minutes_for(minutes: int, rules: SlotRules) -> int:
    """Even turns between the shortest and longest swap: 90 min -> 30, 70 min -> 24."""
    turns = max(2, math.ceil(minutes / rules.swap_max_minutes))
    return max(rules.swap_min_minutes, math.ceil(minutes / turns))


def required_slots(*, presenter_is_deaf: bool, sign_language: SignLanguage | None,
                   minutes: int, rules: SlotRules) -> list[RequiredSlot]:
    """The interpreter slots a session of `minutes` needs for its presenter."""
    role = interpreter_role_for(presenter_is_deaf)
    language = sign_language or SignLanguage.NATIONAL
    if minutes <= rules.solo_max_minutes:
        return [RequiredSlot(role, language, rules.interpreter_min_level, 1, 1, None)]
    swap = swap_minutes_for(minutes, rules)
    return [RequiredSlot(role, language, rules.interpreter_min_level, rules.team_size,
                         position, swap)
            for position in range(1, rules.team_size + 1)]


def interpreting_minutes(*, role: HostRole, minutes: int, team_size: int) -> int:
    """The minutes one person really interprets in a slot: a team shares the time."""
    if role not in INTERPRETER_ROLES:
        return 0
    return math.ceil(minutes / max(1, team_size))


@dataclass(frozen=True)
class Turn:
    """One turn of a team's rota: who (by team position) interprets when."""

    team_position: int
    starts_at: datetime
    ends_at: datetime


def team_rota(*, starts_at: datetime, ends_at: datetime, team_size: int,
              swap_minutes: int | None) -> list[Turn]:
    """The turns of a team, in order; one turn for a single interpreter."""
    if team_size <= 1 or not swap_minutes:
        return [Turn(1, starts_at, ends_at)]
    turns = []
    current, position = starts_at, 1
    while current < ends_at:
        end = min(ends_at, current + timedelta(minutes=swap_minutes))
        turns.append(Turn(position, current, end))
        current, position = end, position % team_size + 1
    return turns
