"""Reminder jobs (idempotent, through the outbox and notices) and calendar files."""

from datetime import timedelta

from icalendar import Calendar
from sqlmodel import func, select

from accounts.models import HostRole, Role
from core.db import utcnow
from core.mail import OutboxMail
from core.scheduler import registered_jobs, run_job
from livestream import calendars, lifecycle, slots
from livestream.models import LiveSessionSlot, Notice
from tests.factories import make_user
from tests.livestream.factories import (
    make_deaf_presenter,
    make_host,
    make_interpreter,
    plan_session,
)


def _mails_to(session, address):
    return session.exec(select(OutboxMail).where(OutboxMail.to_address == address)).all()


def _open_slot(session, live):
    return session.exec(select(LiveSessionSlot).where(
        LiveSessionSlot.session_id == live.id, LiveSessionSlot.role != HostRole.PRESENTER,
        LiveSessionSlot.host_id.is_(None)).order_by(LiveSessionSlot.id)).first()


def test_the_reminder_job_is_registered():
    assert "livestream_reminders" in registered_jobs()


def test_hosts_are_reminded_once_a_day_ahead_and_once_an_hour_ahead(app, db_session):
    with db_session() as session:
        presenter = make_host(session)
        live = plan_session(session, presenter=presenter, minutes=45, hours_ahead=20)
        interpreter = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        slots.claim_slot(session=session, slot_id=_open_slot(session, live).id,
                         host=interpreter)
        lifecycle.publish(session=session, live=live)
        live_id, email, presenter_email = live.id, interpreter.email, presenter.email
    assert run_job(app, "livestream_reminders") == 2  # the interpreter and the presenter
    assert run_job(app, "livestream_reminders") == 0  # a second run sends nothing again
    with db_session() as session:
        mails = _mails_to(session, email)
        assert len(mails) == 2  # product list on claiming + the 24-hour reminder
        assert any("24" in m.subject for m in mails)
        assert len(_mails_to(session, presenter_email)) == 1
        from livestream.models import LiveSession

        live = session.get(LiveSession, live_id)
        live.planned_start = utcnow() + timedelta(minutes=50)
        live.planned_end = live.planned_start + timedelta(minutes=45)
        for slot in session.exec(select(LiveSessionSlot).where(
                LiveSessionSlot.session_id == live_id)):
            slot.starts_at, slot.ends_at = live.planned_start, live.planned_end
            session.add(slot)
        session.add(live)
    assert run_job(app, "livestream_reminders") == 2  # now the one-hour reminders
    assert run_job(app, "livestream_reminders") == 0


def test_shoppers_who_asked_are_reminded_15_minutes_before(app, db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session), minutes=45, hours_ahead=5)
        lifecycle.publish(session=session, live=live)
        shopper = make_user(session, locale="en")
        lifecycle.remind_me(session=session, live=live, user=shopper)
        live.planned_start = utcnow() + timedelta(minutes=10)
        live.planned_end = live.planned_start + timedelta(minutes=45)
        session.add(live)
    run_job(app, "livestream_reminders")
    run_job(app, "livestream_reminders")
    with db_session() as session:
        mails = _mails_to(session, shopper.email)
        assert len(mails) == 1 and mails[0].subject.startswith("Starting soon")
        assert session.exec(select(func.count()).select_from(Notice).where(
            Notice.user_id == shopper.id)).one() == 1


def test_operators_are_warned_48_hours_ahead_about_open_required_slots(app, db_session):
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        plan_session(session, presenter=make_deaf_presenter(session), hours_ahead=40)
        plan_session(session, presenter=make_host(session), hours_ahead=100)  # too far ahead
    run_job(app, "livestream_reminders")
    run_job(app, "livestream_reminders")
    with db_session() as session:
        mails = _mails_to(session, operator.email)
        assert len(mails) == 1


def test_session_calendar_file_has_the_event_and_an_alarm(app, db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session), minutes=90)
    with app.test_request_context():
        calendar = Calendar.from_ical(calendars.session_calendar(live))
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == live.planned_start
    assert event.decoded("dtend") == live.planned_end
    assert str(event["summary"]) == live.title
    assert calendar.walk("VALARM")


def test_host_feed_lists_their_slots_and_the_token_is_private(app, db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_deaf_presenter(session))
        interpreter = make_interpreter(session)
        slot = _open_slot(session, live)
        slots.claim_slot(session=session, slot_id=slot.id, host=interpreter)
        token = calendars.feed_token(session=session, user_id=interpreter.id)
        assert calendars.feed_token(session=session, user_id=interpreter.id) == token
        assert calendars.host_for_token(session=session, token=token) == interpreter.id
        assert calendars.host_for_token(session=session, token="guess") is None
        with app.test_request_context():
            feed = Calendar.from_ical(calendars.host_calendar(
                session=session, host_id=interpreter.id, host_name="x"))
        (event,) = feed.walk("VEVENT")
        assert event.decoded("dtstart") == slot.starts_at
        renewed = calendars.feed_token(session=session, user_id=interpreter.id, renew=True)
        assert renewed != token and calendars.host_for_token(session=session, token=token) is None


def test_interpreters_get_the_product_list_in_order_when_they_claim(db_session):
    from livestream import services
    from tests.factories import make_product, make_workshop

    with db_session() as session:
        workshop = make_workshop(session)
        brooch = make_product(session, workshop=workshop, title="盘扣胸针")
        scarf = make_product(session, workshop=workshop, title="扎染围巾")
        live = plan_session(session, presenter=make_deaf_presenter(session))
        services.set_products(session=session, live=live, product_ids=(scarf.id, brooch.id))
        interpreter = make_interpreter(session)
        interpreter.locale = "en"
        slots.claim_slot(session=session, slot_id=_open_slot(session, live).id,
                         host=interpreter)
        captioner = make_host(session, capabilities=((HostRole.CAPTIONER, None, 0),))
        extra = services.add_slot(session=session, live=live, role=HostRole.CAPTIONER,
                                  sign_language=None, min_level=0,
                                  starts_at=live.planned_start, ends_at=live.planned_end,
                                  is_required=False)
        slots.claim_slot(session=session, slot_id=extra.id, host=captioner)
        (mail,) = _mails_to(session, interpreter.email)
        assert mail.subject == f"Products for {live.title}"
        assert mail.body_text.index("1. 扎染围巾") < mail.body_text.index("2. 盘扣胸针")
        assert "15 minutes early" in mail.body_text
        assert _mails_to(session, captioner.email) == []  # only interpreters get the list
        notice = session.exec(select(Notice).where(Notice.user_id == interpreter.id)).one()
        assert "扎染围巾" in notice.body


def test_operators_are_not_warned_when_every_required_slot_is_filled(app, db_session):
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        live = plan_session(session, presenter=make_host(session), minutes=45, hours_ahead=30)
        slots.claim_slot(session=session, slot_id=_open_slot(session, live).id,
                         host=make_interpreter(session, role=HostRole.SIGN_INTERPRETER))
    run_job(app, "livestream_reminders")
    with db_session() as session:
        assert _mails_to(session, operator.email) == []
