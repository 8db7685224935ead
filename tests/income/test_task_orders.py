"""Task orders through the pages: an organisation asks, the coordinator answers, splits,
records pieces and marks it delivered; each member's pay is booked once. Bad input
changes nothing."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlmodel import func, select

from accounts.models import Role
from core.audit import AuditEntry
from core.mail import OutboxMail
from income.models import EntryKind, LedgerEntry
from income.task_order_models import TaskOrder, TaskOrderStatus, TaskOrderTask
from income.task_orders import TaskOrderError, record_pieces, today_local
from tests.factories import login, make_user, make_workshop
from tests.income.helpers import quick_user


@pytest.fixture
def world(app, db_session):
    app.config["INCOME_COMMISSION_BASIS_POINTS"] = 500
    with db_session() as session:
        coordinator = make_user(session, roles=(Role.MAKER,))
        member = make_user(session, roles=(Role.MAKER,))
        others = [quick_user(session), quick_user(session)]
        outsider = make_user(session, roles=(Role.MAKER,))
        workshop = make_workshop(session, makers=[member, *others], coordinator=coordinator)
        other_coordinator = make_user(session, roles=(Role.MAKER,))
        other = make_workshop(session, makers=[outsider], coordinator=other_coordinator)
        theirs = TaskOrder(workshop_id=other.id, organisation="别家公司", contact_name="王",
                           contact_phone="057488886666", product="布包", quantity=10,
                           deadline=today_local() + timedelta(days=9),
                           price_per_piece_amount=100, status=TaskOrderStatus.ACCEPTED)
        session.add(theirs)
        session.flush()
        session.add(TaskOrderTask(task_order_id=theirs.id, maker_id=outsider.id, quantity=10))
        return {"coordinator": coordinator.email, "member": (member.id, member.email),
                "others": [o.id for o in others], "outsider": (outsider.id, outsider.email),
                "workshop": workshop.id, "slug": workshop.slug, "other": other.id,
                "theirs": theirs.id, "other_coordinator": other_coordinator.email}


def ask(client, world, **changes):
    data = {"organisation": "宁波甬城服饰有限公司", "contact_name": "陈经理",
            "email": "chen@yongcheng.example.cn", "phone": "", "product": "盘扣",
            "quantity": "2000", "price": "0.7",
            "deadline": (today_local() + timedelta(days=20)).isoformat(),
            "message": "红色，两厘米"} | changes
    return client.post(f"/workshops/{world['slug']}/task-order", data=data)


def snapshot(db_session):
    """Rows that any task-order action could write."""
    with db_session(write=False) as session:
        return tuple(session.exec(select(func.count()).select_from(model)).one()
                     for model in (TaskOrder, TaskOrderTask, LedgerEntry, OutboxMail))


def pieces_of(db_session, order_id):
    with db_session(write=False) as session:
        return {t.maker_id: (t.quantity, t.pieces_done) for t in session.exec(
            select(TaskOrderTask).where(TaskOrderTask.task_order_id == order_id))}


def latest_order(db_session):
    with db_session(write=False) as session:
        return session.exec(select(TaskOrder).order_by(TaskOrder.id.desc())).first()


def test_the_whole_flow_books_each_members_pieces_once(client, world, db_session):
    # A company asks, signed out.
    sent = ask(client, world)
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/task-order/sent")
    order = latest_order(db_session)
    assert (order.quantity, order.price_per_piece_amount, order.status) == (
        2000, 70, TaskOrderStatus.REQUESTED)
    with db_session(write=False) as session:
        assert session.exec(select(OutboxMail).where(
            OutboxMail.to_address == world["coordinator"])).first() is not None

    login(client, world["coordinator"])
    base = f"/income/workshops/{world['workshop']}/task-orders/{order.id}"
    page = client.get(f"/income/workshops/{world['workshop']}/task-orders")
    assert "宁波甬城服饰有限公司" in page.get_data(as_text=True)
    assert client.post(f"{base}/accept").status_code == 302
    with db_session(write=False) as session:
        told = session.exec(select(OutboxMail).where(
            OutboxMail.to_address == "chen@yongcheng.example.cn")).one()
        assert told.subject.endswith("接下了你的订单活")
    member_id, member_email = world["member"]
    first, second = world["others"]
    # A split that does not add up is refused; then one that does.
    bad = client.post(f"{base}/split", data={f"split-{member_id}": "700",
                                             f"split-{first}": "700"})
    assert bad.status_code == 400 and "2,000" in bad.get_data(as_text=True)
    assert pieces_of(db_session, order.id) == {}
    split = {f"split-{member_id}": "700", f"split-{first}": "800", f"split-{second}": "500"}
    assert client.post(f"{base}/split", data=split).status_code == 302
    # The coordinator records for two members, delivery is refused while pieces are
    # missing, then the member records their own.
    for maker_id, pieces in ((first, "800"), (second, "500")):
        done = client.post(f"/income/makers/{maker_id}/task-orders/{order.id}/pieces",
                           data={"pieces": pieces})
        assert done.status_code == 302
    early = client.post(f"{base}/deliver")
    assert early.status_code == 409 and "1,300" in early.get_data(as_text=True)
    client.get("/account/logout")
    login(client, member_email)
    client.post(f"/income/makers/{member_id}/task-orders/{order.id}/pieces",
                data={"pieces": "300"})
    board = client.get("/income").get_data(as_text=True)
    # Not booked yet: what the pieces so far will bring (300 × ¥0.70, less the 5% fee).
    assert ("你为“宁波甬城服饰有限公司”的 2,000 个盘扣做了 300 个（你的活是 700 个）。"
            "交货收款后，这批活你收入 ¥199.50。") in board
    client.post(f"/income/makers/{member_id}/task-orders/{order.id}/pieces",
                data={"pieces": "400"})
    client.get("/account/logout")
    login(client, world["coordinator"])
    assert client.post(f"{base}/deliver").status_code == 302
    again = client.post(f"{base}/deliver")
    assert again.status_code == 409
    with db_session(write=False) as session:
        entries = session.exec(select(LedgerEntry).where(
            LedgerEntry.task_order_id == order.id)).all()
        audit = session.exec(select(AuditEntry.action).where(
            AuditEntry.subject_type == "task_order")).all()
    pay = {e.maker_id: e.amount for e in entries}
    # ¥1,400.00 in all; the platform's 5% is ¥70.00; the members share ¥1,330.00 by pieces.
    assert pay == {None: 7000, member_id: 46550, first: 53200, second: 33250}
    assert sum(pay.values()) == 2000 * 70
    assert {e.kind for e in entries if e.maker_id} == {EntryKind.TASK_WORK}
    assert set(audit) == {"task_order.accept", "task_order.split", "task_order.deliver"}
    page = client.get(base).get_data(as_text=True)
    assert "¥532" in page and "¥70" in page
    client.get("/account/logout")
    login(client, member_email)
    board = client.get("/income").get_data(as_text=True)
    assert "你为“宁波甬城服饰有限公司”的 2,000 个盘扣做了 700 个，这批活收入 ¥465.50。" in board
    # How the month adds up: the pay is her share (¥490 less her ¥24.50 of the fee),
    # not a correction.
    assert 'data-figure="share">¥465.50<' in board and 'data-figure="fee">-¥24.50<' in board
    assert 'data-figure="corrections"' not in board
    client.get("/language/en")
    # Chinese names keep their own language on the English page (lang="zh-CN" spans).
    english = re.sub(r"<[^>]+>", "", client.get("/income").get_data(as_text=True))
    assert ("You made 700 of the 2,000 × 盘扣 for “宁波甬城服饰有限公司”. "
            "Your income for this batch: CN¥465.50.") in english


BAD_REQUESTS = [
    {"quantity": "0"}, {"quantity": "-5"}, {"quantity": "99999999999"},
    {"quantity": "两千"}, {"quantity": "2.5"}, {"price": "0"}, {"price": "abc"},
    {"deadline": "2020-01-01"}, {"deadline": "tomorrow"}, {"email": "", "phone": ""},
    {"organisation": ""}, {"price": "20000"},
]


def test_bad_requests_are_refused_with_a_message(client, world, db_session):
    before = snapshot(db_session)
    for changes in BAD_REQUESTS:
        page = ask(client, world, **changes)
        assert page.status_code == 400, changes
        text = page.get_data(as_text=True)
        assert "<title>错误：" in text and "data-error-summary" in text, changes
    assert snapshot(db_session) == before


def test_a_past_deadline_in_english(client, world, db_session):
    before = snapshot(db_session)
    client.get("/language/en")
    page = client.post(f"/workshops/{world['slug']}/task-order", data={
        "organisation": "Acme", "contact_name": "Chen", "phone": "0574 8888 6666",
        "product": "buttons", "quantity": "10", "price": "1",
        "deadline": today_local().isoformat()})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "<title>Error: " in text and "The deadline must be a date after today" in text
    assert snapshot(db_session) == before


@pytest.fixture
def accepted(client, world, db_session):
    ask(client, world, quantity="10")
    order = latest_order(db_session)
    login(client, world["coordinator"])
    base = f"/income/workshops/{world['workshop']}/task-orders/{order.id}"
    client.post(f"{base}/accept")
    member_id, _email = world["member"]
    first, second = world["others"]
    client.post(f"{base}/split", data={f"split-{member_id}": "4", f"split-{first}": "6"})
    return {"id": order.id, "base": base}


BAD_PIECES = [
    ("coordinator", "member", "5", 400),       # beyond the member's task of 4
    ("coordinator", "member", "0", 400),
    ("coordinator", "member", "-1", 400),
    ("coordinator", "member", "x", 400),
    ("coordinator", "second", "1", 404),       # a member without a task in this order
    ("outsider", "member", "1", 404),          # someone not in the workshop
    ("other_coordinator", "member", "1", 404),
]


def test_bad_pieces_change_nothing(client, world, db_session, accepted):
    before = snapshot(db_session), pieces_of(db_session, accepted["id"])
    for who, whose, pieces, status in BAD_PIECES:
        client.get("/account/logout")
        login(client, world[who][1] if who == "outsider" else world[who])
        maker = world["member"][0] if whose == "member" else world["others"][1]
        page = client.post(f"/income/makers/{maker}/task-orders/{accepted['id']}/pieces",
                           data={"pieces": pieces})
        assert page.status_code == status, (who, whose, pieces)
        if status == 400:
            assert "data-error-summary" in page.get_data(as_text=True)
    assert (snapshot(db_session), pieces_of(db_session, accepted["id"])) == before


def test_other_workshops_ids_are_not_found(client, world, db_session, accepted):
    before = snapshot(db_session), pieces_of(db_session, world["theirs"])
    mine, theirs = world["workshop"], world["theirs"]
    for url in (f"/income/workshops/{mine}/task-orders/{theirs}/accept",
                f"/income/workshops/{mine}/task-orders/{theirs}/split",
                f"/income/workshops/{mine}/task-orders/{theirs}/deliver",
                f"/income/workshops/{world['other']}/task-orders/{theirs}/deliver",
                f"/income/makers/{world['outsider'][0]}/task-orders/{theirs}/pieces"):
        assert client.post(url, data={"pieces": "1"}).status_code == 404, url
    assert client.get(f"/income/workshops/{mine}/task-orders/{theirs}").status_code == 404
    assert (snapshot(db_session), pieces_of(db_session, world["theirs"])) == before


def test_split_below_pieces_made_and_decline_without_reason(client, world, db_session,
                                                           accepted):
    member_id, _email = world["member"]
    first = world["others"][0]
    client.post(f"/income/makers/{member_id}/task-orders/{accepted['id']}/pieces",
                data={"pieces": "3"})
    before = pieces_of(db_session, accepted["id"])
    page = client.post(f"{accepted['base']}/split",
                       data={f"split-{member_id}": "2", f"split-{first}": "8"})
    assert page.status_code == 400
    assert pieces_of(db_session, accepted["id"]) == before
    client.get("/account/logout")
    ask(client, world)
    fresh = latest_order(db_session)
    login(client, world["coordinator"])
    base = f"/income/workshops/{world['workshop']}/task-orders/{fresh.id}"
    assert client.post(f"{base}/decline", data={"reason": " "}).status_code == 400
    assert latest_order(db_session).status == TaskOrderStatus.REQUESTED
    assert client.post(f"{base}/decline", data={"reason": "人手不够"}).status_code == 302
    assert latest_order(db_session).decline_reason == "人手不够"
    assert client.post(f"{base}/accept").status_code == 409


def test_forged_csrf_changes_nothing(app, client, world, db_session, accepted):
    app.config["WTF_CSRF_ENABLED"] = True
    before = snapshot(db_session), pieces_of(db_session, accepted["id"])
    member_id = world["member"][0]
    for url, data in ((f"/income/makers/{member_id}/task-orders/{accepted['id']}/pieces",
                       {"pieces": "1", "csrf_token": "forged"}),
                      (f"{accepted['base']}/split", {"csrf_token": "forged",
                                                     f"split-{member_id}": "10"}),
                      (f"{accepted['base']}/deliver", {"csrf_token": "forged"}),
                      (f"/workshops/{world['slug']}/task-order", {"csrf_token": "forged"})):
        assert client.post(url, data=data).status_code == 400, url
    app.config["WTF_CSRF_ENABLED"] = False
    assert (snapshot(db_session), pieces_of(db_session, accepted["id"])) == before


def test_two_people_recording_the_last_pieces_never_pass_the_task(app, world, db_session,
                                                                  client, accepted):
    from core.db import db

    member_id = world["member"][0]
    results, start = [], threading.Barrier(2)

    def record():
        with app.test_request_context():
            start.wait()
            try:
                with db.transaction() as session:
                    order = session.get(TaskOrder, accepted["id"])
                    results.append(record_pieces(session=session, order=order,
                                                 maker_id=member_id, pieces=3))
            except TaskOrderError:
                results.append("refused")

    threads = [threading.Thread(target=record) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(map(str, results)) == ["3", "refused"]
    assert pieces_of(db_session, accepted["id"])[member_id] == (4, 3)


def test_one_sender_asking_too_often_waits_and_nothing_is_saved(client, world, db_session):
    for _ in range(5):
        assert ask(client, world).status_code == 302
    before = snapshot(db_session)
    page = ask(client, world)
    assert page.status_code == 429 and page.headers["Retry-After"]
    assert "请" in page.get_data(as_text=True)
    assert snapshot(db_session) == before
