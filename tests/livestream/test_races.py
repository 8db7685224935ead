"""Races decided by the database: real threads, each with its own connection and
transaction, released together by a barrier, on SQLite and PostgreSQL."""

import threading
from datetime import timedelta

from sqlmodel import select

from accounts.models import HostRole
from core.db import db
from core.errors import DomainError
from livestream import slots
from livestream.models import LiveSessionSlot
from tests.livestream.factories import make_host, make_interpreter, plan_session

THREADS = 8


def _race(app, attempts):
    """Run each attempt(session) in its own thread and transaction; return outcomes."""
    barrier = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def run(index, attempt):
        with app.app_context():
            barrier.wait()
            try:
                with db.transaction() as session:
                    attempt(session)
                outcomes[index] = "won"
            except DomainError as exc:
                outcomes[index] = exc.code

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_many_hosts_claiming_one_slot_at_once_one_wins(app, db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session), minutes=45)
        slot_id = session.exec(select(LiveSessionSlot.id).where(
            LiveSessionSlot.session_id == live.id,
            LiveSessionSlot.role == HostRole.SIGN_INTERPRETER)).one()
        host_ids = [make_interpreter(session, role=HostRole.SIGN_INTERPRETER).id
                    for _ in range(THREADS)]

    def claim(host_id):
        def attempt(session):
            from accounts.models import User

            slots.claim_slot(session=session, slot_id=slot_id, host=session.get(User, host_id))
        return attempt

    outcomes = _race(app, [claim(h) for h in host_ids])
    assert outcomes.count("won") == 1
    assert set(outcomes) == {"won", "slot_taken"}
    with db_session(write=False) as session:
        winner = session.get(LiveSessionSlot, slot_id).host_id
        assert winner == host_ids[outcomes.index("won")]


def test_one_host_claiming_overlapping_slots_at_once_gets_one(app, db_session):
    with db_session() as session:
        host_id = make_interpreter(session, role=HostRole.SIGN_INTERPRETER).id
        first = plan_session(session, presenter=make_host(session), minutes=45)
        slot_ids = []
        for offset in range(THREADS):  # sessions that all overlap the first one
            live = first if offset == 0 else plan_session(
                session, presenter=make_host(session), minutes=45,
                start=first.planned_start + timedelta(minutes=offset))
            slot_ids.append(session.exec(select(LiveSessionSlot.id).where(
                LiveSessionSlot.session_id == live.id,
                LiveSessionSlot.role == HostRole.SIGN_INTERPRETER)).one())

    def claim(slot_id):
        def attempt(session):
            from accounts.models import User

            slots.claim_slot(session=session, slot_id=slot_id, host=session.get(User, host_id))
        return attempt

    outcomes = _race(app, [claim(s) for s in slot_ids])
    assert outcomes.count("won") == 1
    assert set(outcomes) == {"won", "slot_overlap"}
    with db_session(write=False) as session:
        held = session.exec(select(LiveSessionSlot.id).where(
            LiveSessionSlot.host_id == host_id)).all()
        assert len(held) == 1


def test_a_second_claim_by_the_same_host_waits_for_the_first_and_then_sees_it(app, db_session):
    """Interleaved on purpose: A has claimed but not committed when B checks the
    calendar. B must wait for A (host row lock / SQLite write lock) and then refuse."""
    import time

    from accounts.models import User

    with db_session() as session:
        host_id = make_interpreter(session, role=HostRole.SIGN_INTERPRETER).id
        lives = [plan_session(session, presenter=make_host(session), minutes=45)]
        lives.append(plan_session(session, presenter=make_host(session), minutes=45,
                                  start=lives[0].planned_start + timedelta(minutes=15)))
        slot_a, slot_b = (session.exec(select(LiveSessionSlot.id).where(
            LiveSessionSlot.session_id == live.id,
            LiveSessionSlot.role == HostRole.SIGN_INTERPRETER)).one() for live in lives)

    outcome = {}

    def claim_b():
        with app.app_context():
            try:
                with db.transaction() as session:
                    slots.claim_slot(session=session, slot_id=slot_b,
                                     host=session.get(User, host_id))
                outcome["b"] = "won"
            except DomainError as exc:
                outcome["b"] = exc.code

    postgres = app.config["DATABASE_URL"].startswith("postgresql")
    with app.app_context(), db.transaction() as session_a:
        slots.claim_slot(session=session_a, slot_id=slot_a, host=session_a.get(User, host_id))
        other = threading.Thread(target=claim_b)
        other.start()
        with db.engine.connect() as observer:
            # Wait until B is blocked on A's lock (PostgreSQL shows it in pg_locks) or
            # has finished; SQLite shows no waiters, B cannot even begin while A writes.
            for step in range(500):
                if "b" in outcome or (not postgres and step >= 20):
                    break
                if postgres and observer.exec_driver_sql(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted").scalar():
                    break
                time.sleep(0.01)
        assert "b" not in outcome, "B finished while A held the host: nothing serialised them"
    other.join(timeout=60)
    assert outcome["b"] == "slot_overlap"


def test_a_claim_racing_an_edit_never_lands_on_the_moved_slot(app, db_session):
    """The operator moves session A onto a time the host already works while the host
    claims A's slot. The claim checked the host's calendar at A's old time, so it must
    not land after the move: it sees the new time (SQLite: it waits for the edit) or
    finds the slot's times changed (PostgreSQL: its UPDATE waits on the edit's row lock,
    then matches nothing). Either way the host never holds two slots at once."""
    import time

    from accounts.models import User
    from livestream import editing, services
    from livestream.models import LiveSession

    with db_session() as session:
        host_id = make_interpreter(session, role=HostRole.SIGN_INTERPRETER).id
        busy = plan_session(session, presenter=make_host(session), minutes=45, hours_ahead=96)
        busy_slot = session.exec(select(LiveSessionSlot.id).where(
            LiveSessionSlot.session_id == busy.id,
            LiveSessionSlot.role == HostRole.SIGN_INTERPRETER)).one()
        slots.claim_slot(session=session, slot_id=busy_slot, host=session.get(User, host_id))
        moving = plan_session(session, presenter=make_host(session), minutes=45,
                              hours_ahead=48)
        open_slot = session.exec(select(LiveSessionSlot.id).where(
            LiveSessionSlot.session_id == moving.id,
            LiveSessionSlot.role == HostRole.SIGN_INTERPRETER)).one()

    outcome = {}

    def claim():
        with app.app_context():
            try:
                with db.transaction() as session:
                    slots.claim_slot(session=session, slot_id=open_slot,
                                     host=session.get(User, host_id))
                outcome["claim"] = "won"
            except DomainError as exc:
                outcome["claim"] = exc.code

    postgres = app.config["DATABASE_URL"].startswith("postgresql")
    with app.app_context(), db.transaction() as session:
        live = session.get(LiveSession, moving.id)
        editing.update_session(session=session, live=live, plan=services.SessionPlan(
            title=live.title, planned_start=busy.planned_start,
            planned_end=busy.planned_end, presenter_id=live.presenter_id))
        other = threading.Thread(target=claim)
        other.start()
        with db.engine.connect() as observer:
            for step in range(500):
                if "claim" in outcome or (not postgres and step >= 20):
                    break
                if postgres and observer.exec_driver_sql(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted").scalar():
                    break
                time.sleep(0.01)
        assert "claim" not in outcome, "the claim finished while the edit was not committed"
    other.join(timeout=60)
    assert outcome["claim"] == ("slot_changed" if postgres else "slot_overlap")
    with db_session(write=False) as session:
        held = session.exec(select(LiveSessionSlot.id).where(
            LiveSessionSlot.host_id == host_id)).all()
        assert held == [busy_slot]
