"""The issue's "done when": the demo's deaf presenter's 90-minute evening."""

from datetime import timedelta

import pytest
from sqlmodel import select

from accounts.models import HostRole, User
from core.db import utcnow
from core.errors import Conflict
from livestream import lifecycle, slots
from livestream.models import LiveSession, LiveSessionSlot, SessionStatus


def test_demo_evening_has_its_team_two_hosts_fill_it_and_only_then_it_goes_live(app,
                                                                                  db_session):
    from core.demo import load_demo

    with app.app_context():
        load_demo()
        load_demo()  # loading twice adds nothing
    with db_session() as session:
        live = session.exec(select(LiveSession).where(
            LiveSession.slug == "pankou-evening")).one()
        team = session.exec(select(LiveSessionSlot).where(
            LiveSessionSlot.session_id == live.id,
            LiveSessionSlot.role == HostRole.VOICE_INTERPRETER)
            .order_by(LiveSessionSlot.team_position)).all()
        assert [(s.team_size, s.swap_minutes, s.is_required) for s in team] == [
            (2, 30, True), (2, 30, True)]
        wang = session.exec(select(User).where(
            User.email == "interp.wang@demo.gongfang.cn")).one()
        li = session.exec(select(User).where(User.email == "interp.li@demo.gongfang.cn")).one()
        assert team[0].host_id == wang.id and team[1].host_id is None
        with pytest.raises(Conflict):
            lifecycle.go_live(session=session, live=live)
        slots.claim_slot(session=session, slot_id=team[1].id, host=li)
        # The evening is days ahead: bring it (and its slots) to ten minutes from now,
        # inside the half hour before a start when a session may go live.
        shift = utcnow() + timedelta(minutes=10) - live.planned_start
        live.planned_start, live.planned_end = live.planned_start + shift, live.planned_end + shift
        for slot in session.exec(select(LiveSessionSlot).where(
                LiveSessionSlot.session_id == live.id)).all():
            slot.starts_at, slot.ends_at = slot.starts_at + shift, slot.ends_at + shift
            session.add(slot)
        session.add(live)
        session.flush()
        lifecycle.go_live(session=session, live=live)
        assert live.status == SessionStatus.LIVE
