"""Changing or cancelling a session tells every slot holder, in their language and time
zone, and slots that no longer fit are handled and said so; on both databases."""

import dataclasses
from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from sqlmodel import func, select

from accounts.models import HostRole, Role
from core.mail import OutboxMail
from core.scheduler import run_job
from livestream import editing, lifecycle, services, slots
from livestream.editing import Outcome
from livestream.models import LiveSession, LiveSessionSlot, Notice, SessionStatus
from tests.factories import login, make_user
from tests.livestream.factories import (
    make_deaf_presenter,
    make_host,
    make_interpreter,
    plan_session,
)
from tests.livestream.test_time_zones import SHANGHAI, WINTER, next_date, shanghai


def _seats(session, live_id, role=HostRole.VOICE_INTERPRETER):
    return session.exec(select(LiveSessionSlot).where(
        LiveSessionSlot.session_id == live_id, LiveSessionSlot.role == role)
        .order_by(LiveSessionSlot.team_position, LiveSessionSlot.id)).all()


def _moved(live, *, by=timedelta(0), minutes=None, presenter_id="same"):
    start = live.planned_start + by
    length = timedelta(minutes=minutes) if minutes else live.planned_end - live.planned_start
    return services.SessionPlan(
        title=live.title, planned_start=start, planned_end=start + length,
        presenter_id=live.presenter_id if presenter_id == "same" else presenter_id)


def _subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def _body(message) -> str:
    return message.get_payload(decode=True).decode("utf-8").replace("\u202f", " ")


def _count(session, model, *where):
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


@pytest.fixture
def mail_config(app_config, smtp_server):
    """Mail goes to a real SMTP server (set before the app is built)."""
    app_config.update(SMTP_HOST=smtp_server.host, SMTP_PORT=smtp_server.port)
    return smtp_server


def test_moving_a_session_mails_every_holder_in_their_language_and_zone(
        mail_config, client, db_session):
    inbox = mail_config
    day = next_date(WINTER)
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        presenter = make_deaf_presenter(session)
        live = plan_session(session, presenter=presenter, start=shanghai(day, 19))
        lifecycle.publish(session=session, live=live)
        first, second = _seats(session, live.id)
        wang = make_interpreter(session)
        kate = make_interpreter(session)
        kate.locale, kate.timezone = "en", "Europe/London"
        session.add(kate)
        slots.claim_slot(session=session, slot_id=first.id, host=wang)
        slots.claim_slot(session=session, slot_id=second.id, host=kate)
    already = len(inbox.messages)  # the product lists sent on claiming
    login(client, operator.email)
    later = day + timedelta(days=1)
    response = client.post(f"/operator/live/{live.id}/edit", data={
        "title": live.title, "start_date": later.isoformat(), "start_time": "20:00",
        "end_time": "21:30", "presenter_id": str(presenter.id)}, follow_redirects=True)
    assert response.status_code == 200
    assert "告诉了 3 位主播" in response.get_data(as_text=True)
    new = {m["To"]: m for m in inbox.messages[already:]}
    assert set(new) == {presenter.email, wang.email, kate.email}
    english = new[kate.email]
    assert _subject(english) == f"New time: {live.title}"
    body = _body(english)
    assert "12:00 PM" in body and "Greenwich Mean Time" in body  # 20:00 Shanghai, in London
    assert "You are still the Voice interpreter" in body
    chinese = new[wang.email]
    assert _subject(chinese).startswith("时间变更")
    assert "20:00" in _body(chinese) and "GMT+08:00" in _body(chinese)
    with db_session(write=False) as session:
        told = session.exec(select(Notice.user_id).where(
            Notice.link == "/host/schedule")).all()  # the claims' notices link the session
        assert sorted(told) == sorted([presenter.id, wang.id, kate.id])
        assert all(s.host_id for s in _seats(session, live.id))
        moved = session.get(LiveSession, live.id)
        assert moved.planned_start.astimezone(SHANGHAI).hour == 20


def test_a_holder_busy_at_the_new_time_loses_the_slot_and_is_told(db_session):
    with db_session() as session:
        interpreter = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        elsewhere = plan_session(session, presenter=make_host(session), minutes=45,
                                 hours_ahead=72)
        (taken,) = _seats(session, elsewhere.id, HostRole.SIGN_INTERPRETER)
        slots.claim_slot(session=session, slot_id=taken.id, host=interpreter)
        live = plan_session(session, presenter=make_host(session), minutes=45, hours_ahead=48)
        (seat,) = _seats(session, live.id, HostRole.SIGN_INTERPRETER)
        slots.claim_slot(session=session, slot_id=seat.id, host=interpreter)
        before = _count(session, OutboxMail)
        change = editing.update_session(session=session, live=live,
                                        plan=_moved(live, by=timedelta(hours=24)))
        lost = [h for h in change.holders if h.host_id == interpreter.id]
        assert [h.outcome for h in lost] == [Outcome.RELEASED_BUSY]
        session.refresh(seat)
        assert seat.host_id is None and seat.late_release_at is None  # open, not "late"
        assert taken.host_id == interpreter.id  # the other slot is untouched
        notice = session.exec(select(Notice).where(Notice.user_id == interpreter.id)
                              .order_by(Notice.id.desc())).first()
        assert "另一个" in notice.body or "another slot" in notice.body
        assert _count(session, OutboxMail) == before + 2  # the interpreter and the presenter


def test_shortening_a_team_session_keeps_the_second_seat_no_longer_required(db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_deaf_presenter(session), minutes=90)
        first, second = _seats(session, live.id)
        a, b = make_interpreter(session), make_interpreter(session)
        slots.claim_slot(session=session, slot_id=first.id, host=a)
        slots.claim_slot(session=session, slot_id=second.id, host=b)
        change = editing.update_session(session=session, live=live,
                                        plan=_moved(live, minutes=45))
        outcomes = {h.host_id: h.outcome for h in change.holders}
        assert outcomes[a.id] == Outcome.KEPT and outcomes[b.id] == Outcome.NOT_REQUIRED
        session.refresh(second)
        assert second.host_id == b.id and not second.is_required
        assert all(item.done for item in lifecycle.readiness(session=session, live=live))


def test_an_extra_slot_moves_with_its_session_and_is_removed_once_it_no_longer_fits(
        db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session), minutes=60)
        captioner = make_host(session, capabilities=((HostRole.CAPTIONER, None, 0),))
        extra = services.add_slot(
            session=session, live=live, role=HostRole.CAPTIONER, sign_language=None,
            min_level=0, starts_at=live.planned_start + timedelta(minutes=30),
            ends_at=live.planned_end, is_required=False)
        slots.claim_slot(session=session, slot_id=extra.id, host=captioner)
        editing.update_session(session=session, live=live, plan=_moved(live, by=timedelta(days=1)))
        session.refresh(extra)
        assert extra.starts_at == live.planned_start + timedelta(minutes=30)
        change = editing.update_session(session=session, live=live,
                                        plan=_moved(live, minutes=20))
        assert [(h.host_id, h.outcome) for h in change.holders if h.role == HostRole.CAPTIONER] \
            == [(captioner.id, Outcome.REMOVED)]
        assert _seats(session, live.id, HostRole.CAPTIONER) == []
        notice = session.exec(select(Notice).where(Notice.user_id == captioner.id)
                              .order_by(Notice.id.desc())).first()
        assert "已被删除" in notice.body or "removed" in notice.body


def test_moving_a_presenter_onto_their_other_session_is_refused_and_nothing_changes(
        client, db_session):
    client.set_cookie("lang", "en")
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        presenter = make_host(session)
        first = plan_session(session, presenter=presenter, minutes=60, hours_ahead=48)
        second = plan_session(session, presenter=presenter, minutes=60, hours_ahead=96)
        interpreter = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        (seat,) = _seats(session, second.id, HostRole.SIGN_INTERPRETER)
        slots.claim_slot(session=session, slot_id=seat.id, host=interpreter)
        notices, mails = _count(session, Notice), _count(session, OutboxMail)
    login(client, operator.email)
    local = first.planned_start.astimezone(SHANGHAI)
    response = client.post(f"/operator/live/{second.id}/edit", data={
        "title": second.title, "start_date": local.date().isoformat(),
        "start_time": local.strftime("%H:%M"),
        "end_time": (local + timedelta(minutes=60)).strftime("%H:%M"),
        "presenter_id": str(presenter.id)})
    assert response.status_code == 400
    assert "is already presenting or working at that time" in response.get_data(as_text=True)
    with db_session(write=False) as session:
        kept = session.get(LiveSession, second.id)
        assert kept.planned_start == second.planned_start
        assert session.get(LiveSessionSlot, seat.id).host_id == interpreter.id
        assert (_count(session, Notice), _count(session, OutboxMail)) == (notices, mails)


def test_replacing_the_presenter_tells_the_one_replaced(db_session):
    with db_session() as session:
        old, new = make_host(session), make_host(session)
        live = plan_session(session, presenter=old, minutes=45)
        change = editing.update_session(session=session, live=live,
                                        plan=_moved(live, presenter_id=new.id))
        assert [(h.host_id, h.outcome) for h in change.holders] == [
            (old.id, Outcome.NO_LONGER_PRESENTING)]
        assert live.presenter_id == new.id
        assert _count(session, Notice, Notice.user_id == old.id) == 1


def test_an_edit_that_changes_no_time_tells_nobody(db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session), minutes=45)
        plan = dataclasses.replace(_moved(live), title="新名字")
        change = editing.update_session(session=session, live=live, plan=plan)
        assert change.holders == [] and _count(session, Notice) == 0


def test_cancelling_mails_every_holder_in_their_language(client, db_session):
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        presenter = make_deaf_presenter(session)
        live = plan_session(session, presenter=presenter)
        first, _second = _seats(session, live.id)
        english = make_interpreter(session)
        english.locale = "en"
        session.add(english)
        slots.claim_slot(session=session, slot_id=first.id, host=english)
    login(client, operator.email)
    assert client.post(f"/operator/live/{live.id}/cancel").status_code == 303
    with db_session(write=False) as session:
        assert session.get(LiveSession, live.id).status == SessionStatus.CANCELLED
        mails = {m.to_address: m for m in session.exec(select(OutboxMail)).all()
                 if "Cancel" in m.subject or "取消" in m.subject}
    assert mails[english.email].subject == f"Cancelled: {live.title}"
    assert mails[presenter.email].subject.startswith("已取消")
    assert "GMT+08:00" in mails[english.email].body_text


def test_a_moved_session_is_reminded_again_for_its_new_time(app, db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session), minutes=45, hours_ahead=20)
        lifecycle.publish(session=session, live=live)
    assert run_job(app, "livestream_reminders") == 1  # the presenter, 24 hours ahead
    with db_session() as session:
        live = session.get(LiveSession, live.id)
        editing.update_session(session=session, live=live,
                               plan=_moved(live, by=timedelta(hours=2)))
    assert run_job(app, "livestream_reminders") == 1  # again, for the new time
    assert run_job(app, "livestream_reminders") == 0
    with db_session(write=False) as session:
        subjects = [m.subject for m in session.exec(select(OutboxMail)).all()]
    # Two 24-hour reminders, and the "new time" notice of the edit in between.
    assert len([s for s in subjects if "24" in s]) == 2 and len(subjects) == 3


def test_shoppers_waiting_for_a_reminder_hear_of_a_move_and_of_a_cancellation(db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session), minutes=45)
        lifecycle.publish(session=session, live=live)
        waiting = make_user(session, email="waiting.shopper@example.cn")
        english = make_user(session, email="english.shopper@example.cn", locale="en")
        make_user(session, email="not.waiting@example.cn")
        for shopper in (waiting, english):
            lifecycle.remind_me(session=session, live=live, user=shopper)
    with db_session() as session:
        live = session.get(LiveSession, live.id)
        editing.update_session(session=session, live=live,
                               plan=_moved(live, by=timedelta(hours=3)))
    with db_session() as session:
        told = {m.to_address: m for m in session.exec(select(OutboxMail)).all()}
        assert "not.waiting@example.cn" not in told
        assert told["waiting.shopper@example.cn"].subject == f"时间变更：{live.title}"
        assert "15 分钟" in told["waiting.shopper@example.cn"].body_text
        assert told["english.shopper@example.cn"].subject == f"New time: {live.title}"
        assert _count(session, Notice, Notice.user_id == english.id) == 1
        lifecycle.cancel_session(session=session, live=session.get(LiveSession, live.id))
    with db_session(write=False) as session:
        cancelled = [m for m in session.exec(select(OutboxMail)).all()
                     if m.to_address == "english.shopper@example.cn"
                     and m.subject.startswith("Cancelled")]
        assert len(cancelled) == 1
        assert "will not send you its reminder" in cancelled[0].body_text
