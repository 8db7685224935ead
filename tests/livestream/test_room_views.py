"""The live room, its control room, replay and report through the test client, on both
databases: who may enter, what each form refuses, and buying at the live price."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import func, select

from core.db import utcnow
from livestream.models import LiveSession, SessionStatus
from livestream.room_models import LiveMessage, LivePin, LivePrice
from shop.models import Order, OrderLine
from tests.factories import login
from tests.livestream.room_helpers import make_live_room
from tests.shop.helpers import checkout_until_check


@pytest.fixture
def made(db_session):
    with db_session() as session:
        return make_live_room(session)


def _control(slug):
    return f"/live/{slug}/control"


def test_the_room_shows_the_line_up_questions_and_captions_escaped(client, db_session, made):
    live = made["live"]
    with db_session() as session:
        session.add(LiveMessage(session_id=live.id, user_id=made["viewer"].id,
                                author_name="<img src=x onerror=alert(1)>",
                                body="<script>alert('x')</script>"))
        session.add(LivePin(session_id=live.id, product_id=made["items"][0][0].id))
    page = client.get(f"/live/{live.slug}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>alert('x')</script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
    assert made["items"][0][0].title in html and 'id="room-data"' in html
    assert "gf_live=" in page.headers.get("Set-Cookie", "")
    state = client.get(f"/live/{live.slug}/state.json").get_json()["state"]
    assert state["pin"] == made["items"][0][0].id and state["status"] == "live"


@pytest.mark.parametrize("who, expected", [
    (None, 302), ("viewer", 403), ("presenter", 200), ("interpreter", 200),
    ("captioner", 200), ("operator", 200)])
def test_only_the_team_and_operators_reach_the_control_room(client, made, who, expected):
    if who:
        login(client, made[who].email)
    response = client.get(_control(made["live"].slug))
    assert response.status_code == expected
    if expected == 302:
        assert "/account/login" in response.headers["Location"]


def test_the_control_room_of_a_session_that_does_not_exist_or_is_a_draft(client, db_session,
                                                                          made):
    login(client, made["presenter"].email)
    assert client.get("/live/no-such-stream/control").status_code == 404
    with db_session() as session:
        live = session.get(LiveSession, made["live"].id)
        live.status = SessionStatus.DRAFT
        session.add(live)
    assert client.get(_control(made["live"].slug)).status_code == 404
    assert client.get(f"/live/{made['live'].slug}/events").status_code == 404


def test_each_part_of_the_team_does_only_its_own(client, db_session, made):
    slug = made["live"].slug
    product_id = made["items"][0][0].id
    login(client, made["captioner"].email)
    assert client.post(f"{_control(slug)}/pin", data={"product_id": product_id}).status_code == 403
    assert client.post(f"{_control(slug)}/caption", data={"text": "大家好"}).status_code == 303
    login(client, made["interpreter"].email)
    assert client.post(f"{_control(slug)}/caption", data={"text": "我来"}).status_code == 403
    login(client, made["presenter"].email)
    assert client.post(f"{_control(slug)}/pin", data={"product_id": product_id}).status_code == 303
    with db_session() as session:
        assert session.exec(select(LivePin.product_id)).all() == [product_id]


@pytest.mark.parametrize("data, message", [
    ({"price": "58.00"}, "less than the normal price"),
    ({"price": "abc"}, "for example 39.00"),
    ({"price": "-1"}, "for example 39.00"),
    ({"quantity_limit": "0"}, "from 1 to"),
    ({"quantity_limit": "lots"}, "whole number"),
    ({"per_buyer_limit": "0"}, "from 1 to"),
    ({"seconds": "5"}, "10 seconds to 20 minutes"),
    ({"seconds": "99999999999999999999"}, "10 seconds to 20 minutes"),
    ({"variant_id": "99999"}, "line-up"),
    ({"variant_id": "<b>"}, "Choose a product"),
])
def test_a_bad_live_price_shows_the_form_again_with_its_error_and_keeps_nothing(
        client, db_session, made, data, message):
    login(client, made["presenter"].email)
    client.get("/language/en")
    form = {"variant_id": str(made["items"][0][1].id), "price": "39.00",
            "quantity_limit": "5", "per_buyer_limit": "2", "seconds": "300", **data}
    response = client.post(f"{_control(made['live'].slug)}/price", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<title>Error: " in html and "data-error-summary" in html
    assert message in html
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(LivePrice)).one() == 0


def test_json_answers_for_the_control_rooms_script(client, made):
    login(client, made["presenter"].email)
    client.get("/language/en")
    headers = {"Accept": "application/json"}
    ok = client.post(f"{_control(made['live'].slug)}/pin", headers=headers,
                     data={"product_id": made["items"][1][0].id})
    assert ok.status_code == 200 and "Showing now" in ok.get_json()["message"]
    bad = client.post(f"{_control(made['live'].slug)}/pin", headers=headers,
                      data={"product_id": "123456"})
    assert bad.status_code == 400 and "line-up" in bad.get_json()["error"]["message"]
    figures = client.get(f"{_control(made['live'].slug)}/figures.json").get_json()
    assert set(figures) >= {"orders", "items", "sales_amount", "questions_waiting",
                            "viewers_now"}


def test_posting_a_question_needs_an_account_and_refuses_floods_and_huge_text(
        client, db_session, made):
    slug = made["live"].slug
    anonymous = client.post(f"/live/{slug}/messages", data={"body": "你好"},
                            headers={"Accept": "application/json"})
    assert anonymous.status_code == 401
    login(client, made["viewer"].email)
    client.get("/language/en")
    huge = client.post(f"/live/{slug}/messages", data={"body": "x" * 100_000})
    assert huge.status_code == 400
    assert "at most 200 characters" in huge.get_data(as_text=True)
    for n in range(5):
        assert client.post(f"/live/{slug}/messages", data={
            "body": f"问题{n}", "is_question": "y"}).status_code == 303
    flood = client.post(f"/live/{slug}/messages", data={"body": "再来"},
                        headers={"Accept": "application/json"})
    assert flood.status_code == 429 and int(flood.headers["Retry-After"]) >= 1
    assert "Try again in" in flood.get_json()["error"]["message"]
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(LiveMessage)).one() == 5


def test_moderating_by_forged_ids_is_refused_and_changes_nothing(client, db_session, made):
    other = None
    with db_session() as session:
        other = make_live_room(session)
        theirs = LiveMessage(session_id=other["live"].id, user_id=other["viewer"].id,
                             author_name="x", body="别的直播间")
        session.add(theirs)
        session.flush()
        theirs_id = theirs.id
    login(client, made["presenter"].email)
    slug = made["live"].slug
    for action in ("hide", "mute", "answer"):
        assert client.post(f"{_control(slug)}/messages/{theirs_id}/{action}",
                           data={"answer": "x"}).status_code in (303, 404)
    # Someone else's control room, with this presenter's account.
    assert client.post(f"{_control(other['live'].slug)}/messages/{theirs_id}/hide"
                       ).status_code == 403
    with db_session() as session:
        assert session.get(LiveMessage, theirs_id).hidden_at is None
        assert session.get(LiveMessage, theirs_id).answer is None


def test_buying_from_the_room_at_the_live_price(client, db_session, made):
    live = made["live"]
    variant = made["items"][0][1]
    with db_session() as session:
        now = utcnow()
        session.add(LivePrice(session_id=live.id, product_id=made["items"][0][0].id,
                              variant_id=variant.id, price_amount=3900, normal_amount=5000,
                              quantity_limit=5, per_buyer_limit=2, starts_at=now,
                              ends_at=now + timedelta(minutes=5)))
    response = client.post("/cart/add", data={"variant_id": variant.id, "quantity": 2,
                                              "live_session_id": live.id, "then": "checkout"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/checkout")
    assert "¥39.00" in client.get("/cart").get_data(as_text=True)
    over = client.post("/cart/add", data={"variant_id": variant.id, "quantity": 1,
                                          "live_session_id": live.id})
    assert over.status_code == 409  # three would pass the limit of two per buyer
    assert client.post("/checkout/contact", data={"name": "王小明", "email": "b@example.cn"}
                       ).status_code == 302
    assert client.post("/checkout/pickup", data={"point": "metro-gulou"}).status_code == 302
    assert client.post("/checkout/payment", data={"method": "offline"}).status_code == 302
    check = client.get("/checkout/check").get_data(as_text=True)
    fields = dict(re.findall(r'name="(idempotency_key|total_amount)"[^>]*value="([^"]*)"',
                             check))
    assert fields["total_amount"] == "7800"
    assert client.post("/checkout/place", data=fields).status_code == 302
    with db_session() as session:
        line = session.exec(select(OrderLine)).one()
        assert (line.unit_price_amount, line.live_session_id) == (3900, live.id)
        assert session.exec(select(LivePrice.sold_quantity)).one() == 2


def test_a_product_bought_within_30_minutes_of_watching_is_credited_to_the_stream(
        client, db_session, made):
    live = made["live"]
    product, variant = made["items"][1]
    client.get(f"/live/{live.slug}")  # sets the room's cookie
    fields = checkout_until_check(client, variant.id, quantity=1)
    assert client.post("/checkout/place", data=fields).status_code == 302
    with db_session() as session:
        line = session.exec(select(OrderLine)).one()
        assert line.live_session_id == live.id


@pytest.mark.parametrize("cookie", ["old", "other stream", "garbage"])
def test_an_old_or_forged_room_cookie_credits_nothing(client, db_session, made, cookie):
    now = int(utcnow().timestamp())
    with db_session() as session:
        other = make_live_room(session)["live"].id
    client.set_cookie("gf_live", {"old": f"{made['live'].id}.{now - 31 * 60}",
                                  "other stream": f"{other}.{now}",
                                  "garbage": "1.2.3<script>"}[cookie])
    fields = checkout_until_check(client, made["items"][1][1].id, quantity=1)
    assert client.post("/checkout/place", data=fields).status_code == 302
    with db_session() as session:
        assert session.exec(select(OrderLine.live_session_id)).one() is None


def test_the_replay_and_report_after_the_end(client, db_session, made):
    login(client, made["presenter"].email)
    assert client.post(f"{_control(made['live'].slug)}/pin", data={
        "product_id": made["items"][0][0].id}).status_code == 303
    assert client.post(f"{_control(made['live'].slug)}/end").status_code == 303
    replay = client.get(f"/live/{made['live'].slug}").get_data(as_text=True)
    assert "data-seek=" in replay and made["items"][0][0].title in replay
    report = client.get(f"/live/{made['live'].slug}/report")
    assert report.status_code == 200
    csv = client.get(f"/live/{made['live'].slug}/report.csv")
    assert csv.status_code == 200 and csv.data.startswith("\ufeff".encode())
    login(client, made["viewer"].email)
    assert client.get(f"/live/{made['live'].slug}/report").status_code == 403
    with db_session() as session:
        assert session.get(LiveSession, made["live"].id).status == SessionStatus.ENDED
        assert session.exec(select(func.count()).select_from(Order)).one() == 0


def test_going_live_from_the_control_room_follows_the_sessions_rules(client, db_session):
    with db_session() as session:
        made = make_live_room(session, status=SessionStatus.SCHEDULED)
    login(client, made["presenter"].email)
    response = client.post(f"{_control(made['live'].slug)}/go-live")
    assert response.status_code == 303
    with db_session() as session:
        assert session.get(LiveSession, made["live"].id).status == SessionStatus.LIVE
    again = client.post(f"{_control(made['live'].slug)}/go-live",
                        headers={"Accept": "application/json"})
    assert again.status_code == 409 and again.get_json()["error"]["message"]
