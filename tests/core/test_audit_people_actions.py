"""Each operator action on goods, people, live sessions and live rooms writes exactly one
audit entry with who and what; the same action refused writes none."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from accounts.models import HostRole, Role
from catalog.models import ProductStatus
from livestream.models import LiveSession, LiveSessionSlot, SessionStatus
from livestream.room_models import BlockedWord, LiveMessage
from tests.core.audit_helpers import actions, entries
from tests.factories import login, make_product, make_user, make_workshop
from tests.livestream.factories import make_host, plan_session
from tests.livestream.room_helpers import make_live_room


@pytest.fixture
def operator(client, db_session):
    with db_session() as session:
        user = make_user(session, email="audit-op@example.cn", roles=(Role.OPERATOR,))
    assert login(client, "audit-op@example.cn").status_code == 302
    return user.id


@pytest.mark.parametrize(("decision", "action"), [("publish", "product.publish"),
                                                  ("send_back", "product.send_back")])
def test_reviewing_a_product(client, db_session, operator, decision, action):
    with db_session() as session:
        workshop = make_workshop(session)
        product = make_product(session, workshop=workshop, status=ProductStatus.PENDING_REVIEW)
        ids = (product.id, workshop.id)
    refused = client.post(f"/operator/products/{ids[0]}",
                          data={"decision": "send_back", "reason": ""})
    assert refused.status_code == 400
    assert entries(db_session) == []
    response = client.post(f"/operator/products/{ids[0]}",
                           data={"decision": decision, "reason": "照片太暗"})
    assert response.status_code == 302
    assert entries(db_session) == [(operator, action, "product", str(ids[0]),
                                    {"workshop_id": ids[1]})]


def test_giving_and_taking_roles(client, db_session, operator):
    with db_session() as session:
        person = make_user(session)
    response = client.post(f"/operator/users/{person.id}",
                           data={"roles": ["shopper", "maker"], "is_active_account": "y"})
    assert response.status_code == 302
    assert entries(db_session) == [(operator, "role.grant", "user", str(person.id),
                                    {"role": "maker"})]
    client.post(f"/operator/users/{person.id}",
                data={"roles": ["shopper"], "is_active_account": "y"})
    assert entries(db_session)[1] == (operator, "role.revoke", "user", str(person.id),
                                      {"role": "maker"})
    client.post(f"/operator/users/{person.id}", data={"roles": ["shopper"]})
    assert actions(db_session) == ["role.grant", "role.revoke", "account.deactivate"]


def test_refused_role_changes_write_nothing(client, db_session, operator):
    with db_session() as session:
        person = make_user(session)
    assert client.post(f"/operator/users/{person.id}", data={
        "roles": ["emperor"], "is_active_account": "y"}).status_code == 400
    assert client.post(f"/operator/users/{operator}", data={"roles": ["shopper"]}
                       ).status_code == 400
    # Saving what is already there changes nothing, so records nothing.
    assert client.post(f"/operator/users/{person.id}", data={
        "roles": ["shopper"], "is_active_account": "y"}).status_code == 302
    assert entries(db_session) == []


def test_workshops_and_their_members(client, db_session, operator):
    with db_session() as session:
        maker = make_user(session, email="member@example.cn")
        workshop = make_workshop(session)
        ids = (maker.id, workshop.id)
    base = f"/operator/workshops/{ids[1]}"
    assert client.post(base, data={"login": "nobody@example.cn"}).status_code == 400
    assert entries(db_session) == []
    assert client.post(base, data={"login": "member@example.cn"}).status_code == 302
    assert client.post(f"{base}/members/{ids[0]}/remove").status_code == 302
    assert entries(db_session) == [
        (operator, "workshop.member_add", "workshop", str(ids[1]),
         {"user_id": ids[0], "coordinator": False}),
        (operator, "workshop.member_remove", "workshop", str(ids[1]), {"user_id": ids[0]})]


def test_host_qualifications(client, db_session, operator):
    with db_session() as session:
        host = make_user(session, roles=(Role.HOST,))
    base = f"/operator/users/{host.id}/host-capabilities"
    assert client.post(base, data={"qualification-role": "sign_interpreter",
                                   "qualification-level": "2"}).status_code == 400
    assert entries(db_session) == []
    assert client.post(base, data={
        "qualification-role": "sign_interpreter", "qualification-sign_language": "csl_national",
        "qualification-level": "2"}).status_code == 302
    assert entries(db_session) == [(operator, "host.qualify", "user", str(host.id), {
        "role": "sign_interpreter", "sign_language": "csl_national", "level": 2})]


def test_publishing_a_live_session_and_a_refused_one(client, db_session, operator):
    with db_session() as session:
        ready = plan_session(session, presenter=make_host(session))
        no_presenter = plan_session(session, title="没有主播")
        ids = (ready.id, no_presenter.id)
    assert client.post(f"/operator/live/{ids[1]}/publish").status_code == 303
    assert entries(db_session) == []
    assert client.post(f"/operator/live/{ids[0]}/publish").status_code == 303
    assert entries(db_session) == [(operator, "live_session.publish", "live_session",
                                    str(ids[0]), {})]
    assert client.post(f"/operator/live/{ids[0]}/cancel").status_code == 303
    assert actions(db_session) == ["live_session.publish", "live_session.cancel"]


def test_giving_a_slot_to_a_host_and_taking_it_back(client, db_session, operator):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session))
        interpreter = make_host(session, capabilities=((HostRole.CAPTIONER, None, 1),))
        slot = LiveSessionSlot(session_id=live.id, role=HostRole.CAPTIONER,
                               starts_at=live.planned_start, ends_at=live.planned_end)
        session.add(slot)
        session.flush()
        ids = (live.id, slot.id, interpreter.id)
    assert client.post(f"/operator/live/slots/{ids[1]}/assign", data={
        f"assign{ids[1]}-host_id": ""}).status_code == 303
    assert entries(db_session) == []
    assert client.post(f"/operator/live/slots/{ids[1]}/assign", data={
        f"assign{ids[1]}-host_id": str(ids[2])}).status_code == 303
    assert client.post(f"/operator/live/slots/{ids[1]}/unassign").status_code == 303
    details = {"live_session_id": ids[0], "host_id": ids[2]}
    assert entries(db_session) == [(operator, "slot.assign", "live_slot", str(ids[1]), details),
                                   (operator, "slot.unassign", "live_slot", str(ids[1]),
                                    details)]


@pytest.fixture
def room(db_session):
    with db_session() as session:
        made = make_live_room(session)
        message = LiveMessage(session_id=made["live"].id, user_id=made["viewer"].id,
                              author_name="观众", body="有红色的吗？")
        session.add(message)
        session.flush()
        return {**made, "message": message.id, "base": f"/live/{made['live'].slug}/control"}


@pytest.mark.parametrize("who", ["operator", "presenter"])
def test_moderating_a_live_room(client, db_session, room, who):
    login(client, room[who].email)
    actor = room[who].id
    live_id = room["live"].id
    assert client.post(f"{room['base']}/messages/999999/hide").status_code == 303
    assert client.post(f"{room['base']}/blocked-words", data={"word": ""}).status_code == 400
    assert entries(db_session) == []
    assert client.post(f"{room['base']}/messages/{room['message']}/hide").status_code == 303
    # Hidden already: nothing changes, nothing is recorded.
    assert client.post(f"{room['base']}/messages/{room['message']}/hide").status_code == 303
    assert client.post(f"{room['base']}/messages/{room['message']}/mute").status_code == 303
    assert client.post(f"{room['base']}/blocked-words", data={"word": "代购"}).status_code == 303
    with db_session(write=False) as session:
        word_id = session.exec(select(BlockedWord.id)).one()
    assert client.post(f"{room['base']}/blocked-words/{word_id}/remove").status_code == 303
    workshop = room["live"].workshop_id
    assert entries(db_session) == [
        (actor, "chat.hide", "live_message", str(room["message"]), {"live_session_id": live_id}),
        (actor, "chat.mute", "user", str(room["viewer"].id),
         {"live_session_id": live_id, "message_id": room["message"]}),
        (actor, "chat.block_word", "blocked_word", str(word_id), {"workshop_id": workshop}),
        (actor, "chat.unblock_word", "blocked_word", str(word_id), {"workshop_id": workshop})]


def test_ending_a_live_session_from_the_control_room(client, db_session, room):
    login(client, room["operator"].email)
    assert client.post(f"{room['base']}/go-live").status_code == 303  # live already
    assert entries(db_session) == []
    assert client.post(f"{room['base']}/end").status_code == 303
    assert entries(db_session) == [(room["operator"].id, "live_session.end", "live_session",
                                    str(room["live"].id), {})]


def test_going_live_from_the_operators_page(client, db_session, operator):
    with db_session() as session:
        live_id = make_live_room(session, status=SessionStatus.SCHEDULED)["live"].id
    assert client.post(f"/operator/live/{live_id}/go-live").status_code == 303
    assert entries(db_session) == [(operator, "live_session.go_live", "live_session",
                                    str(live_id), {})]
    # Live already: refused, and nothing more recorded.
    assert client.post(f"/operator/live/{live_id}/go-live").status_code == 303
    assert actions(db_session) == ["live_session.go_live"]


def test_renewing_a_stream_key(client, db_session, room):
    login(client, room["interpreter"].email)
    assert client.post(f"{room['base']}/stream-keys/presenter/renew").status_code == 403
    assert client.post(f"{room['base']}/stream-keys/nobody/renew").status_code == 404
    assert entries(db_session) == []
    assert client.post(f"{room['base']}/stream-keys/interpreter/renew").status_code == 303
    assert entries(db_session) == [(room["interpreter"].id, "stream_key.renew", "live_session",
                                    str(room["live"].id), {"role": "interpreter"})]


def test_planning_a_session_and_its_slots(client, db_session, operator):
    from tests.livestream.test_views import SHANGHAI, _form

    with db_session() as session:
        presenter = make_host(session)
    assert client.post("/operator/live/new", data=_form(presenter.id, title="")
                       ).status_code == 400
    assert entries(db_session) == []
    assert client.post("/operator/live/new", data=_form(
        presenter.id, repeat="weekly", repeat_count="2")).status_code == 303
    with db_session(write=False) as session:
        made = session.exec(select(LiveSession).order_by(LiveSession.id)).all()
    assert entries(db_session) == [(operator, "live_session.plan", "live_session", str(live.id),
                                    {}) for live in made]
    live = made[0]
    start = live.planned_start.astimezone(SHANGHAI)
    slot = {"slot-role": "captioner", "slot-min_level": "0",
            "slot-starts_at": start.strftime("%H:%M"),
            "slot-ends_at": (start + timedelta(minutes=30)).strftime("%H:%M")}
    assert client.post(f"/operator/live/{live.id}", data={
        **slot, "slot-starts_at": (start - timedelta(hours=2)).strftime("%H:%M")}
        ).status_code == 400
    assert len(entries(db_session)) == 2
    assert client.post(f"/operator/live/{live.id}", data=slot).status_code == 303
    with db_session(write=False) as session:
        slot_id = session.exec(select(LiveSessionSlot.id).where(
            LiveSessionSlot.session_id == live.id,
            LiveSessionSlot.role == HostRole.CAPTIONER)).one()
    assert client.post(f"/operator/live/slots/{slot_id}/remove").status_code == 303
    assert entries(db_session)[2:] == [
        (operator, "slot.add", "live_session", str(live.id), {"role": "captioner"}),
        (operator, "slot.remove", "live_slot", str(slot_id), {"live_session_id": live.id})]


def test_changing_a_planned_session(client, db_session, operator):
    from tests.livestream.test_views import _form

    with db_session() as session:
        presenter = make_host(session)
        live_id = plan_session(session, presenter=presenter).id
    assert client.post(f"/operator/live/{live_id}/edit", data=_form(presenter.id, title="")
                       ).status_code == 400
    assert entries(db_session) == []
    assert client.post(f"/operator/live/{live_id}/edit", data=_form(presenter.id)
                       ).status_code == 303
    # The new time is told to the presenter, whose slot moves with it.
    assert entries(db_session) == [(operator, "live_session.edit", "live_session",
                                    str(live_id), {"hosts_told": 1})]


def test_adding_a_workshop_and_taking_a_qualification_away(client, db_session, operator):
    from accounts.models import HostCapability, Workshop
    from tests.accounts.test_operator import WORKSHOP

    assert client.post("/operator/workshops/new", data={**WORKSHOP, "name": ""}
                       ).status_code == 400
    assert client.post("/operator/workshops/new", data=WORKSHOP).status_code == 302
    with db_session() as session:
        workshop_id = session.exec(select(Workshop.id)).one()
        host = make_host(session, capabilities=((HostRole.CAPTIONER, None, 1),))
        capability_id = session.exec(select(HostCapability.id).where(
            HostCapability.user_id == host.id)).one()
        host_id = host.id
    assert client.post(f"/operator/users/{host_id}/host-capabilities/999999/remove"
                       ).status_code == 404
    assert client.post(f"/operator/users/{host_id}/host-capabilities/{capability_id}/remove"
                       ).status_code == 302
    assert entries(db_session) == [
        (operator, "workshop.create", "workshop", str(workshop_id), {}),
        (operator, "host.unqualify", "user", str(host_id),
         {"role": "captioner", "sign_language": None})]


def test_letting_a_person_sign_in_again(client, db_session, operator):
    with db_session() as session:
        person = make_user(session)
        person.is_active_account = False
        session.add(person)
    assert client.post(f"/operator/users/{person.id}", data={
        "roles": ["shopper"], "is_active_account": "y"}).status_code == 302
    assert entries(db_session) == [(operator, "account.reactivate", "user", str(person.id), {})]
