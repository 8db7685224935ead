"""Planning sessions and claiming slots through the real services, on both databases."""

from datetime import timedelta

import pytest
from sqlmodel import func, select

from accounts.models import HostRole, Role, SignLanguage
from core.db import utcnow
from core.errors import Conflict
from core.mail import OutboxMail
from livestream import editing, lifecycle, services, slots
from livestream.models import LiveSession, LiveSessionSlot, Notice, SessionStatus
from tests.factories import make_user
from tests.livestream.factories import (
    make_deaf_presenter,
    make_host,
    make_interpreter,
    plan_session,
)


def _count(session, model):
    return session.exec(select(func.count()).select_from(model)).one()


def _interpreter_slots(session, live_id):
    return session.exec(select(LiveSessionSlot).where(
        LiveSessionSlot.session_id == live_id, LiveSessionSlot.role != HostRole.PRESENTER)
        .order_by(LiveSessionSlot.team_position)).all()


def test_deaf_presenters_long_session_gets_a_voice_interpreter_team(db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_deaf_presenter(session), minutes=90)
        team = _interpreter_slots(session, live.id)
        assert [(s.role, s.team_position, s.team_size, s.swap_minutes, s.is_required)
                for s in team] == [(HostRole.VOICE_INTERPRETER, 1, 2, 30, True),
                                   (HostRole.VOICE_INTERPRETER, 2, 2, 30, True)]
        assert all(s.starts_at == live.planned_start and s.ends_at == live.planned_end
                   for s in team)
        presenter_slot = session.exec(select(LiveSessionSlot).where(
            LiveSessionSlot.session_id == live.id,
            LiveSessionSlot.role == HostRole.PRESENTER)).one()
        assert presenter_slot.host_id == live.presenter_id


def test_hearing_presenter_gets_one_sign_interpreter(db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session), minutes=45)
        assert [(s.role, s.team_size) for s in _interpreter_slots(session, live.id)] == [
            (HostRole.SIGN_INTERPRETER, 1)]


def test_configured_solo_limit_changes_the_team(app, db_session):
    app.config["LIVESTREAM_SOLO_MAX_MINUTES"] = 30
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session), minutes=45)
        assert len(_interpreter_slots(session, live.id)) == 2


def test_two_interpreters_fill_the_team_and_then_it_can_go_live(db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_deaf_presenter(session),
                            start=utcnow().replace(microsecond=0) + timedelta(minutes=20))
        first, second = _interpreter_slots(session, live.id)
        wang, li = make_interpreter(session), make_interpreter(session)
        lifecycle.publish(session=session, live=live)
        slots.claim_slot(session=session, slot_id=first.id, host=wang)
        with pytest.raises(Conflict) as refused:
            lifecycle.go_live(session=session, live=live)
        assert refused.value.code == "not_ready"
        with pytest.raises(slots.SlotOverlap):  # one person cannot hold both team seats
            slots.claim_slot(session=session, slot_id=second.id, host=wang)
        slots.claim_slot(session=session, slot_id=second.id, host=li)
        assert all(item.done for item in lifecycle.readiness(session=session, live=live))
        lifecycle.go_live(session=session, live=live)
        assert live.status == SessionStatus.LIVE
        # Claiming sent each interpreter the product list, by mail and in the app.
        assert _count(session, Notice) == 2 and _count(session, OutboxMail) == 2


def test_open_slots_leave_out_those_at_the_time_of_a_slot_the_host_holds(db_session):
    with db_session() as session:
        evening = plan_session(session, presenter=make_deaf_presenter(session))
        overlapping = plan_session(session, presenter=make_deaf_presenter(session),
                                   start=evening.planned_start + timedelta(minutes=30))
        later = plan_session(session, presenter=make_deaf_presenter(session), hours_ahead=72)
        first, second = _interpreter_slots(session, evening.id)
        overlapping_ids = [s.id for s in _interpreter_slots(session, overlapping.id)]
        later_ids = [s.id for s in _interpreter_slots(session, later.id)]
        wang, li = make_interpreter(session), make_interpreter(session)

        def offered(host):
            return [slot.id for slot, _live in
                    slots.qualified_open_slots(session=session, host_id=host.id)]

        assert offered(wang) == [first.id, second.id, *overlapping_ids, *later_ids]
        slots.claim_slot(session=session, slot_id=first.id, host=wang)
        # Claiming the team's other seat, or a seat at the same time, would be refused.
        assert offered(wang) == later_ids
        assert offered(li) == [second.id, *overlapping_ids, *later_ids]
        # A cancelled session keeps nobody busy.
        lifecycle.cancel_session(session=session, live=evening)
        assert offered(wang) == [*overlapping_ids, *later_ids]


def test_a_taken_slot_cannot_be_claimed_again(db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session), minutes=45)
        (slot,) = _interpreter_slots(session, live.id)
        a = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        b = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        slots.claim_slot(session=session, slot_id=slot.id, host=a)
        with pytest.raises(slots.SlotTaken):
            slots.claim_slot(session=session, slot_id=slot.id, host=b)
        session.refresh(slot)
        assert slot.host_id == a.id


@pytest.mark.parametrize("role, language, level", [
    (HostRole.SIGN_INTERPRETER, SignLanguage.NATIONAL, 3),   # wrong direction
    (HostRole.VOICE_INTERPRETER, SignLanguage.ZHEJIANG, 3),  # wrong sign language
    (HostRole.VOICE_INTERPRETER, SignLanguage.NATIONAL, 0),  # level too low
])
def test_unqualified_claims_are_refused_and_change_nothing(app, db_session, role, language,
                                                           level):
    app.config["LIVESTREAM_INTERPRETER_MIN_LEVEL"] = 1
    with db_session() as session:
        live = plan_session(session, presenter=make_deaf_presenter(session))
        slot = _interpreter_slots(session, live.id)[0]
        host = make_interpreter(session, role=role, language=language, level=level)
        with pytest.raises(slots.NotQualified):
            slots.claim_slot(session=session, slot_id=slot.id, host=host)
        session.refresh(slot)
        assert slot.host_id is None and _count(session, Notice) == 0


def test_nobody_interprets_more_than_two_hours_a_day_alone(db_session):
    with db_session() as session:
        interpreter = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        start = (utcnow() + timedelta(days=3)).replace(hour=2, minute=0, second=0,
                                                       microsecond=0)  # 10:00 Shanghai
        held = []
        for offset in (0, 2, 4):
            live = plan_session(session, presenter=make_host(session), minutes=45,
                                start=start + timedelta(hours=offset))
            held.append(_interpreter_slots(session, live.id)[0])
        slots.claim_slot(session=session, slot_id=held[0].id, host=interpreter)
        slots.claim_slot(session=session, slot_id=held[1].id, host=interpreter)
        with pytest.raises(slots.DailyLimitReached):
            slots.claim_slot(session=session, slot_id=held[2].id, host=interpreter)


def test_late_release_reopens_flags_and_alerts_operators(db_session):
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        live = plan_session(session, presenter=make_host(session), minutes=45, hours_ahead=5)
        (slot,) = _interpreter_slots(session, live.id)
        host = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        slots.claim_slot(session=session, slot_id=slot.id, host=host)
        slots.release_slot(session=session, slot_id=slot.id, host=host)
        assert slot.host_id is None and slot.late_release_at is not None
        alerts = session.exec(select(Notice).where(Notice.user_id == operator.id)).all()
        assert len(alerts) == 1 and host.display_name in alerts[0].body


def test_early_release_is_not_flagged(db_session):
    with db_session() as session:
        make_user(session, roles=(Role.OPERATOR,))
        live = plan_session(session, presenter=make_host(session), minutes=45, hours_ahead=72)
        (slot,) = _interpreter_slots(session, live.id)
        host = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        slots.claim_slot(session=session, slot_id=slot.id, host=host)
        slots.release_slot(session=session, slot_id=slot.id, host=host)
        assert slot.late_release_at is None
        assert _count(session, Notice) == 1  # only the product list sent on claiming


def test_someone_elses_slot_cannot_be_released(db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session), minutes=45)
        (slot,) = _interpreter_slots(session, live.id)
        holder = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        other = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        slots.claim_slot(session=session, slot_id=slot.id, host=holder)
        with pytest.raises(Conflict):
            slots.release_slot(session=session, slot_id=slot.id, host=other)
        session.refresh(slot)
        assert slot.host_id == holder.id


def test_publish_needs_a_presenter(db_session):
    with db_session() as session:
        live = plan_session(session, presenter=None)
        with pytest.raises(Conflict) as refused:
            lifecycle.publish(session=session, live=live)
        assert refused.value.code == "no_presenter" and live.status == SessionStatus.DRAFT


def _plan(presenter_id=None, start_hours=48, minutes=60):
    start = (utcnow() + timedelta(hours=start_hours)).replace(microsecond=0)
    return services.SessionPlan(title="t", planned_start=start,
                                planned_end=start + timedelta(minutes=minutes),
                                presenter_id=presenter_id)


@pytest.mark.parametrize("plan_args, field", [
    ({"minutes": -30}, "planned_end"),
    ({"minutes": 0}, "planned_end"),
    ({"start_hours": -2}, "planned_start"),
    ({"minutes": 60 * 24}, "planned_end"),
])
def test_bad_times_write_nothing(db_session, plan_args, field):
    with db_session() as session:
        with pytest.raises(services.InvalidSchedule) as refused:
            services.plan_sessions(session=session, plan=_plan(**plan_args))
        assert refused.value.field == field
        assert _count(session, LiveSession) == 0


def test_a_presenter_cannot_have_overlapping_sessions(db_session):
    with db_session() as session:
        presenter = make_host(session)
        first = plan_session(session, presenter=presenter, minutes=60)
        with pytest.raises(services.InvalidSchedule) as refused:
            plan_session(session, presenter=presenter, minutes=60,
                         start=first.planned_start + timedelta(minutes=30))
        assert refused.value.field == "presenter_id"


def test_a_presenter_must_be_able_to_present(db_session):
    with db_session() as session:
        interpreter = make_interpreter(session)
        with pytest.raises(services.InvalidSchedule):
            services.plan_sessions(session=session, plan=_plan(interpreter.id))


def test_a_weekly_series_keeps_the_wall_clock_time(db_session):
    with db_session() as session:
        repeat = services.Repeat(frequency=services.RepeatFrequency.WEEKLY, count=4)
        made = plan_session(session, presenter=make_host(session), minutes=60, repeat=repeat)
        assert len(made) == 4
        gaps = {b.planned_start - a.planned_start for a, b in zip(made, made[1:], strict=False)}
        assert gaps == {timedelta(days=7)}
        assert len({m.series_id for m in made}) == 1 and made[0].series_id is not None
        assert all(len(_interpreter_slots(session, m.id)) == 1 for m in made)


@pytest.mark.parametrize("repeat_args", [
    {},                 # never ends
    {"count": 53},      # too many
    {"count": 0},
])
def test_a_series_must_end_and_stay_bounded(db_session, repeat_args):
    with db_session() as session:
        repeat = services.Repeat(frequency=services.RepeatFrequency.WEEKLY, **repeat_args)
        with pytest.raises(services.InvalidSchedule):
            services.plan_sessions(session=session, plan=_plan(), repeat=repeat)
        assert _count(session, LiveSession) == 0


def test_a_series_until_a_date_far_away_is_refused(db_session):
    with db_session() as session:
        repeat = services.Repeat(frequency=services.RepeatFrequency.DAILY,
                                 until=utcnow() + timedelta(days=400))
        with pytest.raises(services.InvalidSchedule):
            services.plan_sessions(session=session, plan=_plan(), repeat=repeat)


def test_a_slot_must_be_inside_its_session(db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session), minutes=60)
        with pytest.raises(services.InvalidSchedule):
            services.add_slot(session=session, live=live, role=HostRole.CAPTIONER,
                              sign_language=None, min_level=0,
                              starts_at=live.planned_start - timedelta(minutes=10),
                              ends_at=live.planned_end, is_required=False)
        extra = services.add_slot(session=session, live=live, role=HostRole.CAPTIONER,
                                  sign_language=None, min_level=0,
                                  starts_at=live.planned_start, ends_at=live.planned_end,
                                  is_required=False)
        assert extra.id is not None


def test_moving_a_session_moves_its_team_and_checks_holders(db_session):
    with db_session() as session:
        presenter = make_host(session)
        live = plan_session(session, presenter=presenter, minutes=45)
        (slot,) = _interpreter_slots(session, live.id)
        interpreter = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        slots.claim_slot(session=session, slot_id=slot.id, host=interpreter)
        later = live.planned_start + timedelta(days=1)
        plan = services.SessionPlan(title="新标题", planned_start=later,
                                    planned_end=later + timedelta(minutes=90),
                                    presenter_id=presenter.id)
        editing.update_session(session=session, live=live, plan=plan)
        team = _interpreter_slots(session, live.id)
        assert len(team) == 2 and team[0].host_id == interpreter.id
        assert all(s.starts_at == later for s in team)


def test_remind_me_is_kept_once(db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session))
        shopper = make_user(session)
        assert lifecycle.remind_me(session=session, live=live, user=shopper) is True
        assert lifecycle.remind_me(session=session, live=live, user=shopper) is False


def test_a_new_presenter_brings_the_interpreters_they_need(db_session):
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        hearing = make_host(session)
        live = plan_session(session, presenter=hearing, minutes=45)
        presenter_slot = session.exec(select(LiveSessionSlot).where(
            LiveSessionSlot.session_id == live.id,
            LiveSessionSlot.role == HostRole.PRESENTER)).one()
        slots.release_slot(session=session, slot_id=presenter_slot.id, host=hearing,
                           by_operator=operator)
        assert live.presenter_id is None
        deaf = make_deaf_presenter(session)
        slots.claim_slot(session=session, slot_id=presenter_slot.id, host=deaf,
                         assigned_by=operator)
        assert live.presenter_id == deaf.id
        assert [s.role for s in _interpreter_slots(session, live.id)] == [
            HostRole.VOICE_INTERPRETER]


def _ready_session(session, *, start, minutes=60):
    live = plan_session(session, presenter=make_deaf_presenter(session), minutes=minutes,
                        start=start.replace(microsecond=0))
    lifecycle.publish(session=session, live=live)
    for slot in _interpreter_slots(session, live.id):
        slots.claim_slot(session=session, slot_id=slot.id, host=make_interpreter(session))
    assert all(item.done for item in lifecycle.readiness(session=session, live=live))
    return live


def test_a_session_cannot_go_live_days_before_its_time(db_session):
    with db_session() as session:
        live = _ready_session(session, start=utcnow() + timedelta(days=3))
        with pytest.raises(Conflict) as refused:
            lifecycle.go_live(session=session, live=live)
        assert refused.value.code == "too_early"
        assert "（开始前 30 分钟）才能开播" in str(refused.value.message)
        assert live.status == SessionStatus.SCHEDULED
        # Thirty-one minutes before is still too early; twenty-nine is not.
        live.planned_start = utcnow() + timedelta(minutes=31)
        live.planned_end = live.planned_start + timedelta(hours=1)
        with pytest.raises(Conflict):
            lifecycle.go_live(session=session, live=live)
        live.planned_start = utcnow() + timedelta(minutes=29)
        live.planned_end = live.planned_start + timedelta(hours=1)
        lifecycle.go_live(session=session, live=live)
        assert live.status == SessionStatus.LIVE


def test_a_session_whose_time_has_passed_cannot_go_live(db_session):
    with db_session() as session:
        live = _ready_session(session, start=utcnow() + timedelta(minutes=10))
        live.planned_start = utcnow() - timedelta(hours=2)
        live.planned_end = utcnow() - timedelta(minutes=1)
        with pytest.raises(Conflict) as refused:
            lifecycle.go_live(session=session, live=live)
        assert refused.value.code == "too_late"
        assert live.status == SessionStatus.SCHEDULED
