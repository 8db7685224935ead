"""Which slots a session needs, and the team rota: pure rules, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import HostRole, SignLanguage
from livestream.rules import (
    SlotRules,
    interpreting_minutes,
    required_slots,
    swap_minutes_for,
    team_rota,
)

RULES = SlotRules()


def test_deaf_presenter_long_session_needs_a_team_of_voice_interpreters():
    slots = required_slots(presenter_is_deaf=True, sign_language=SignLanguage.ZHEJIANG,
                           minutes=90, rules=RULES)
    assert [(s.role, s.team_position, s.team_size, s.swap_minutes) for s in slots] == [
        (HostRole.VOICE_INTERPRETER, 1, 2, 30), (HostRole.VOICE_INTERPRETER, 2, 2, 30)]
    assert {s.sign_language for s in slots} == {SignLanguage.ZHEJIANG}


def test_hearing_presenter_short_session_needs_one_sign_interpreter():
    slots = required_slots(presenter_is_deaf=False, sign_language=None, minutes=60,
                           rules=RULES)
    assert [(s.role, s.team_size, s.swap_minutes) for s in slots] == [
        (HostRole.SIGN_INTERPRETER, 1, None)]
    assert slots[0].sign_language == SignLanguage.NATIONAL


def test_every_default_can_be_changed():
    rules = SlotRules(solo_max_minutes=30, team_size=3, interpreter_min_level=2)
    slots = required_slots(presenter_is_deaf=False, sign_language=None, minutes=45, rules=rules)
    assert len(slots) == 3 and {s.min_level for s in slots} == {2}


@pytest.mark.parametrize("minutes", [61, 70, 90, 120, 150, 240])
def test_swaps_stay_between_20_and_30_minutes(minutes):
    swap = swap_minutes_for(minutes, RULES)
    assert 20 <= swap <= 30


def test_rota_alternates_the_team_and_covers_the_session():
    start = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
    turns = team_rota(starts_at=start, ends_at=start + timedelta(minutes=90), team_size=2,
                      swap_minutes=30)
    assert [t.team_position for t in turns] == [1, 2, 1]
    assert turns[0].starts_at == start and turns[-1].ends_at == start + timedelta(minutes=90)


def test_a_team_member_interprets_half_the_time():
    assert interpreting_minutes(role=HostRole.SIGN_INTERPRETER, minutes=90, team_size=2) == 45
    assert interpreting_minutes(role=HostRole.CAPTIONER, minutes=90, team_size=1) == 0
