"""Pages, forms and the JSON API through the test client, on both databases."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from accounts.models import HostRole, Role, User
from core.db import utcnow
from livestream import lifecycle, slots
from livestream.models import LiveSession, LiveSessionSlot
from tests.factories import login, make_user
from tests.livestream.factories import (
    make_deaf_presenter,
    make_host,
    make_interpreter,
    plan_session,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _open_slot_id(session, live_id):
    return session.exec(select(LiveSessionSlot.id).where(
        LiveSessionSlot.session_id == live_id, LiveSessionSlot.host_id.is_(None))
        .order_by(LiveSessionSlot.id)).first()


@pytest.fixture
def published(db_session):
    """A deaf presenter's published 90-minute session with its open interpreter team."""
    with db_session() as session:
        live = plan_session(session, presenter=make_deaf_presenter(session),
                            title="盘扣<b>之夜</b>")
        lifecycle.publish(session=session, live=live)
        return live


def test_schedule_and_session_page_show_the_session_escaped(client, published):
    html = client.get("/live").get_data(as_text=True)
    assert "盘扣&lt;b&gt;之夜&lt;/b&gt;" in html and "<b>之夜" not in html
    page = client.get(f"/live/{published.slug}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "语音翻译" in text or "Voice interpreter" in text
    assert text.count("<h1>") == 1


def test_drafts_are_not_public(client, db_session):
    with db_session() as session:
        live = plan_session(session, presenter=make_host(session))
    assert client.get(f"/live/{live.slug}").status_code == 404
    assert client.get(f"/api/v1/sessions/{live.id}").status_code == 404


def test_add_to_calendar_file(client, published):
    response = client.get(f"/live/{published.slug}/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert b"BEGIN:VEVENT" in response.data


def test_host_claims_from_their_schedule_page(client, db_session, published):
    with db_session() as session:
        host = make_interpreter(session)
        slot_id = _open_slot_id(session, published.id)
    login(client, host.email)
    page = client.get("/host/schedule").get_data(as_text=True)
    assert f"/host/slots/{slot_id}/claim" in page
    response = client.post(f"/host/slots/{slot_id}/claim")
    assert response.status_code == 303
    with db_session(write=False) as session:
        assert session.get(LiveSessionSlot, slot_id).host_id == host.id
    feed = client.get("/host/schedule").get_data(as_text=True)
    token = feed.split("/calendar/host/")[1].split(".ics")[0]
    # The same feed as a file to download, for a calendar app that cannot subscribe.
    assert f'/calendar/host/{token}.ics" download="gongfang-slots.ics"' in feed
    assert b"BEGIN:VEVENT" in client.get(f"/calendar/host/{token}.ics").data
    assert client.get("/calendar/host/not-a-token.ics").status_code == 404


def test_unqualified_claim_is_refused_with_a_message_and_nothing_written(client, db_session,
                                                                         published):
    with db_session() as session:
        host = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        slot_id = _open_slot_id(session, published.id)
    login(client, host.email)
    response = client.post(f"/host/slots/{slot_id}/claim", follow_redirects=True)
    assert "不符合" in response.get_data(as_text=True) or "not qualified" in \
        response.get_data(as_text=True)
    with db_session(write=False) as session:
        assert session.get(LiveSessionSlot, slot_id).host_id is None


def test_shoppers_cannot_claim_and_others_slots_cannot_be_released(client, db_session,
                                                                   published):
    with db_session() as session:
        shopper = make_user(session)
        holder, other = make_interpreter(session), make_interpreter(session)
        slot_id = _open_slot_id(session, published.id)
        slots.claim_slot(session=session, slot_id=slot_id, host=holder)
    login(client, shopper.email)
    assert client.post(f"/host/slots/{slot_id}/release").status_code == 403
    client.post("/account/logout")
    login(client, other.email)
    client.post(f"/host/slots/{slot_id}/release")
    with db_session(write=False) as session:
        assert session.get(LiveSessionSlot, slot_id).host_id == holder.id


def test_remind_me_needs_sign_in_and_is_remembered(client, db_session, published):
    assert client.post(f"/live/{published.slug}/remind").status_code in (302, 401)
    with db_session() as session:
        shopper = make_user(session)
    login(client, shopper.email)
    client.post(f"/live/{published.slug}/remind")
    html = client.get(f"/live/{published.slug}").get_data(as_text=True)
    assert "15" in html and f"/live/{published.slug}/remind" not in html


def _operator(client, db_session):
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        presenter = make_deaf_presenter(session)
    login(client, operator.email)
    return presenter


def _form(presenter, **overrides):
    day = (utcnow() + timedelta(days=3)).astimezone(SHANGHAI).date()
    data = {"title": "周五盘扣", "start_date": day.isoformat(), "start_time": "19:00",
            "end_time": "20:30", "presenter_id": str(presenter)}
    data.update(overrides)
    return data


def test_operator_plans_a_weekly_series(client, db_session):
    presenter = _operator(client, db_session)
    response = client.post("/operator/live/new", data=_form(
        presenter.id, repeat="weekly", repeat_count="3"))
    assert response.status_code == 303
    with db_session(write=False) as session:
        assert session.exec(select(func.count()).select_from(LiveSession)).one() == 3
        assert session.exec(select(func.count()).select_from(LiveSessionSlot).where(
            LiveSessionSlot.role == HostRole.VOICE_INTERPRETER)).one() == 6
    plan = client.get("/operator/live/", query_string={
        "week": _form(presenter.id)["start_date"]}).get_data(as_text=True)
    assert "周五盘扣" in plan and "plan-card-gap" in plan  # the open team stands out


@pytest.mark.parametrize("overrides, message", [
    ({"end_time": "18:00"}, "End time must be after the start time"),
    ({"start_date": "2020-01-01"}, "Start time must be in the future"),
    ({"repeat": "weekly"}, "Choose how many times it repeats"),
    ({"repeat": "weekly", "repeat_count": "500"}, "between 1 and 52"),
    ({"title": ""}, "Enter a title"),
    ({"start_date": "not a date"}, "Enter the date"),
    ({"title": "x" * 500}, "120 characters"),
    ({"presenter_id": "999999"}, "Not a valid choice"),
    ({"stream_url": "javascript://example.cn/%0Aalert(1)"}, "starting with https://"),
    ({"captions_url": "ftp://example.cn/captions.vtt"}, "starting with https://"),
])
def test_bad_planning_input_is_explained_and_nothing_saved(client, db_session, overrides,
                                                           message):
    client.set_cookie("lang", "en")
    presenter = _operator(client, db_session)
    response = client.post("/operator/live/new", data=_form(presenter.id, **overrides))
    assert response.status_code == 400
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "<title>Error: " in html
    with db_session(write=False) as session:
        assert session.exec(select(func.count()).select_from(LiveSession)).one() == 0


def _starting_soon(db_session, live_id, minutes=10):
    with db_session() as session:
        live = session.get(LiveSession, live_id)
        live.planned_start = utcnow().replace(microsecond=0) + timedelta(minutes=minutes)
        live.planned_end = live.planned_start + timedelta(minutes=90)
        session.add(live)


def test_cannot_go_live_while_a_required_slot_is_open(client, db_session, published):
    _operator(client, db_session)
    _starting_soon(db_session, published.id)
    response = client.post(f"/operator/live/{published.id}/go-live", follow_redirects=True)
    assert response.status_code == 200
    assert "还不能开播" in response.get_data(as_text=True)
    with db_session(write=False) as session:
        assert session.get(LiveSession, published.id).status.value == "scheduled"
    page = client.get(f"/operator/live/{published.id}").get_data(as_text=True)
    assert "check-missing" in page


def test_an_operator_cannot_start_a_session_days_early(client, db_session, published):
    _operator(client, db_session)
    with db_session() as session:
        for slot in session.exec(select(LiveSessionSlot).where(
                LiveSessionSlot.session_id == published.id,
                LiveSessionSlot.role == HostRole.VOICE_INTERPRETER)).all():
            slots.claim_slot(session=session, slot_id=slot.id, host=make_interpreter(session))
    response = client.post(f"/operator/live/{published.id}/go-live", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "（开始前 30 分钟）才能开播" in page
    with db_session(write=False) as session:
        assert session.get(LiveSession, published.id).status.value == "scheduled"
    _starting_soon(db_session, published.id, minutes=20)
    client.post(f"/operator/live/{published.id}/go-live")
    with db_session(write=False) as session:
        assert session.get(LiveSession, published.id).status.value == "live"


def test_operator_assigns_and_adds_a_slot_outside_the_session_is_refused(client, db_session,
                                                                        published):
    _operator(client, db_session)
    with db_session() as session:
        interpreter = make_interpreter(session)
        slot_id = _open_slot_id(session, published.id)
    with db_session() as session:
        wrong = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
    refused = client.post(f"/operator/live/slots/{slot_id}/assign",
                          data={f"assign{slot_id}-host_id": str(wrong.id)},
                          follow_redirects=True)
    assert wrong.display_name in refused.get_data(as_text=True)
    client.post(f"/operator/live/slots/{slot_id}/assign",
                data={f"assign{slot_id}-host_id": str(interpreter.id)})
    with db_session(write=False) as session:
        assert session.get(LiveSessionSlot, slot_id).host_id == interpreter.id
    local_start = published.planned_start.astimezone(SHANGHAI)
    response = client.post(f"/operator/live/{published.id}", data={
        "slot-role": "captioner", "slot-min_level": "0",
        "slot-starts_at": (local_start - timedelta(hours=2)).strftime("%H:%M"),
        "slot-ends_at": local_start.strftime("%H:%M")})
    assert response.status_code == 400


def test_operator_pages_are_for_operators_only(client, db_session, published):
    with db_session() as session:
        host = make_host(session)
    login(client, host.email)
    assert client.get("/operator/live/").status_code == 403
    assert client.post(f"/operator/live/{published.id}/cancel").status_code == 403


def test_api_lists_sessions_and_refuses_anonymous_claims_in_json(client, published):
    body = client.get("/api/v1/sessions").get_json()
    (item,) = body["sessions"]
    assert item["id"] == published.id and len(item["slots"]) == 3
    slot = next(s for s in item["slots"] if s["is_open"])
    refused = client.post(f"/api/v1/slots/{slot['id']}/claim")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/sessions/999999").get_json()["error"]["code"] == "not_found"


def test_api_claim_race_loser_gets_409(client, db_session, published):
    with db_session() as session:
        first, second = make_interpreter(session), make_interpreter(session)
        slot_id = _open_slot_id(session, published.id)
        slots.claim_slot(session=session, slot_id=slot_id, host=first)
    login(client, second.email)
    open_ids = [s["id"] for s in client.get("/api/v1/me/open-slots").get_json()]
    assert slot_id not in open_ids and len(open_ids) == 1  # the team's other seat
    response = client.post(f"/api/v1/slots/{slot_id}/claim")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] in {"slot_taken", "slot_overlap"}


@pytest.mark.parametrize("payload", [
    {"title": "x", "planned_start": "2030-01-01T10:00:00", "planned_end": "2030-01-01T11:00:00"},
    {"title": "x"},
    {"title": 5, "planned_start": "nope"},
    {"title": "x", "planned_start": "2030-01-01T10:00:00+08:00",
     "planned_end": "2030-01-01T09:00:00+08:00"},
    {"title": "x", "planned_start": "2030-01-01T10:00:00+08:00",
     "planned_end": "2030-01-01T11:00:00+08:00", "repeat": "weekly"},
])
def test_api_bad_input_is_json_400_and_writes_nothing(client, db_session, payload):
    _operator(client, db_session)
    response = client.post("/api/v1/sessions", json=payload)
    assert response.status_code == 400
    assert set(response.get_json()["error"]) == {"code", "message"}
    with db_session(write=False) as session:
        assert session.exec(select(func.count()).select_from(LiveSession)).one() == 0


def test_api_operator_plans_a_session(client, db_session):
    presenter = _operator(client, db_session)
    start = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    response = client.post("/api/v1/sessions", json={
        "title": "API", "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(minutes=90)).isoformat(),
        "presenter_id": presenter.id})
    assert response.status_code == 201
    (made,) = response.get_json()["sessions"]
    assert [s["role"] for s in made["slots"]].count("voice_interpreter") == 2


def test_openapi_fragment_describes_the_endpoints(client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/slots/{slot_id}/claim" in document["paths"]
    assert {"SessionOut", "SlotOut", "SessionIn", "ErrorBody"} <= set(
        document["components"]["schemas"])


@pytest.mark.parametrize("lang, heading", [("zh_Hans_CN", "直播安排"), ("en", "Live schedule")])
def test_schedule_speaks_the_readers_language(client, lang, heading):
    client.set_cookie("lang", lang)
    html = client.get("/live").get_data(as_text=True)
    assert f"<h1>{heading}</h1>" in html


def test_forged_csrf_is_refused_and_nothing_written(app, client, db_session, published):
    with db_session() as session:
        host = make_interpreter(session)
        slot_id = _open_slot_id(session, published.id)
    login(client, host.email)
    assert "/host/slots/" in client.get("/host/schedule").get_data(as_text=True)  # signed in
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/host/slots/{slot_id}/claim",
                       data={"csrf_token": "forged"}).status_code == 400
    assert client.post(f"/api/v1/slots/{slot_id}/claim").status_code == 400
    with db_session(write=False) as session:
        assert session.get(LiveSessionSlot, slot_id).host_id is None


def test_forged_csrf_on_the_planning_form_shows_a_form_error(app, client, db_session):
    # A test of its own: the db_session fixture's app context (and so `g`, where the
    # signed-in user's roles are kept) spans every request of a test.
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
    login(client, operator.email)
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/operator/live/new", data={"title": "伪造", "csrf_token": "x"})
    assert response.status_code == 400
    assert "表单已经过期" in response.get_data(as_text=True) or \
        "expired" in response.get_data(as_text=True)
    with db_session(write=False) as session:
        assert session.exec(select(func.count()).select_from(LiveSession).where(
            LiveSession.title == "伪造")).one() == 0


def test_a_presenter_booked_twice_through_the_form_is_refused_and_nothing_saved(client,
                                                                                db_session):
    client.set_cookie("lang", "en")
    presenter = _operator(client, db_session)
    assert client.post("/operator/live/new", data=_form(presenter.id)).status_code == 303
    # A weekly series whose third week clashes with a session planned on its own.
    with db_session() as session:
        plan_session(session, presenter=session.get(User, presenter.id), minutes=60,
                     start=session.exec(select(LiveSession.planned_start)).one()
                     + timedelta(days=14, minutes=150))  # 21:30 two weeks on
    for data in (_form(presenter.id, start_time="19:30", end_time="20:00"),
                 _form(presenter.id, start_time="21:00", end_time="22:00", repeat="weekly",
                       repeat_count="4")):
        response = client.post("/operator/live/new", data=data)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "is already presenting or working at that time" in html
        assert "<title>Error: " in html
    with db_session(write=False) as session:
        assert session.exec(select(func.count()).select_from(LiveSession)).one() == 2


def test_a_slot_outside_its_session_is_explained_and_not_added(client, db_session, published):
    client.set_cookie("lang", "en")
    _operator(client, db_session)
    with db_session(write=False) as session:
        before = session.exec(select(func.count()).select_from(LiveSessionSlot)).one()
    local_end = published.planned_end.astimezone(SHANGHAI)
    response = client.post(f"/operator/live/{published.id}", data={
        "slot-role": "captioner", "slot-min_level": "0",
        "slot-starts_at": local_end.strftime("%H:%M"),
        "slot-ends_at": (local_end + timedelta(minutes=30)).strftime("%H:%M")})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "A slot must be within the session&#39;s times" in html or \
        "A slot must be within the session's times" in html
    assert '<a href="#slot-starts_at">' in html  # the summary links to the field
    with db_session(write=False) as session:
        assert session.exec(select(func.count()).select_from(LiveSessionSlot)).one() == before


def _late_session(db_session):
    """A published session from 22:00 to 01:00 in Shanghai, two days from now."""
    day = (utcnow() + timedelta(days=2)).astimezone(SHANGHAI).date()
    start = datetime.combine(day, time(22), tzinfo=SHANGHAI).astimezone(UTC)
    with db_session() as session:
        live = plan_session(session, presenter=make_deaf_presenter(session), start=start,
                            minutes=180)
        lifecycle.publish(session=session, live=live)
        return live


def test_a_slot_over_midnight_ends_on_the_next_day(client, db_session):
    live = _late_session(db_session)
    _operator(client, db_session)
    response = client.post(f"/operator/live/{live.id}", data={
        "slot-role": "captioner", "slot-min_level": "0",
        "slot-starts_at": "23:30", "slot-ends_at": "00:30"})
    assert response.status_code == 303
    with db_session(write=False) as session:
        captioner = session.exec(select(LiveSessionSlot).where(
            LiveSessionSlot.session_id == live.id,
            LiveSessionSlot.role == HostRole.CAPTIONER)).one()
    assert captioner.starts_at == live.planned_start + timedelta(minutes=90)
    assert captioner.ends_at == live.planned_start + timedelta(minutes=150)


@pytest.mark.parametrize("starts, ends", [("21:30", "23:00"), ("00:30", "01:30"),
                                          ("23:30", "01:30")])
def test_a_slot_past_either_end_of_a_late_session_is_refused(client, db_session, starts, ends):
    live = _late_session(db_session)
    client.set_cookie("lang", "en")
    _operator(client, db_session)
    response = client.post(f"/operator/live/{live.id}", data={
        "slot-role": "captioner", "slot-min_level": "0",
        "slot-starts_at": starts, "slot-ends_at": ends})
    assert response.status_code == 400
    assert "within the session" in response.get_data(as_text=True)
    with db_session(write=False) as session:
        assert session.exec(select(LiveSessionSlot).where(
            LiveSessionSlot.session_id == live.id,
            LiveSessionSlot.role == HostRole.CAPTIONER)).first() is None


def test_a_slot_ending_long_before_it_starts_is_a_mistake_not_the_next_day(
        client, db_session):
    live = _late_session(db_session)
    client.set_cookie("lang", "en")
    _operator(client, db_session)
    response = client.post(f"/operator/live/{live.id}", data={
        "slot-role": "captioner", "slot-min_level": "0",
        "slot-starts_at": "23:00", "slot-ends_at": "22:30"})
    assert response.status_code == 400
    assert "End time must be after the start time" in response.get_data(as_text=True)


def test_hosts_see_only_open_slots_they_qualify_for(client, db_session, published):
    with db_session() as session:
        wrong_way = make_interpreter(session, role=HostRole.SIGN_INTERPRETER)
        right = make_interpreter(session)
        slot_id = _open_slot_id(session, published.id)
    login(client, wrong_way.email)
    assert f"/host/slots/{slot_id}/claim" not in client.get("/host/schedule").get_data(
        as_text=True)
    client.post("/account/logout")
    login(client, right.email)
    assert f"/host/slots/{slot_id}/claim" in client.get("/host/schedule").get_data(as_text=True)


def _with_stream(db_session, live_id, stream_url, captions_url=None):
    with db_session() as session:
        live = session.get(LiveSession, live_id)
        live.stream_url, live.captions_url = stream_url, captions_url
        session.add(live)


def test_the_built_in_player_waits_for_play_and_offers_captions(client, db_session,
                                                                published):
    _with_stream(db_session, published.id, "https://cdn.example.cn/live/pankou.m3u8",
                 "https://cdn.example.cn/live/pankou.zh.vtt")
    html = client.get(f"/live/{published.slug}").get_data(as_text=True)
    video = html[html.index("<video"):html.index("</video>")]
    assert "controls" in video and 'preload="none"' in video
    assert "autoplay" not in video  # nothing plays sound by itself
    assert 'src="https://cdn.example.cn/live/pankou.m3u8"' in video
    assert 'type="application/vnd.apple.mpegurl"' in video
    assert '<track kind="captions" src="https://cdn.example.cn/live/pankou.zh.vtt"' in video
    assert 'srclang="zh"' in video and "default" in video
    assert "中文字幕" in video


def test_a_platform_room_is_a_link_and_no_stream_shows_nothing(client, db_session, published):
    assert "<video" not in client.get(f"/live/{published.slug}").get_data(as_text=True)
    _with_stream(db_session, published.id, "https://live.example.cn/room/8848")
    html = client.get(f"/live/{published.slug}").get_data(as_text=True)
    assert "<video" not in html
    assert 'href="https://live.example.cn/room/8848"' in html and "live.example.cn" in html


def test_the_session_page_names_its_workshops_in_order_once_each(client, db_session,
                                                                 published):
    from livestream.services import set_products
    from tests.factories import make_product, make_workshop

    with db_session() as session:
        host_workshop = make_workshop(session, name="主办工坊")
        knots = make_workshop(session, name="盘扣<i>工坊</i>")
        fabric = make_workshop(session, name="布艺工坊")
        goods = [make_product(session, workshop=w) for w in (knots, fabric, knots)]
        live = session.get(LiveSession, published.id)
        live.workshop_id = host_workshop.id
        session.add(live)
        set_products(session=session, live=live, product_ids=[p.id for p in goods])
    html = client.get(f"/live/{published.slug}").get_data(as_text=True)
    listed = html[html.index('class="live-workshops"'):]
    listed = listed[:listed.index("</ul>")]
    assert listed.index("主办工坊") < listed.index("盘扣&lt;i&gt;工坊") < listed.index("布艺工坊")
    assert listed.count("盘扣&lt;i&gt;工坊") == 1 and "<i>" not in listed


def test_the_week_plan_links_stop_where_planning_does(client, db_session):
    _operator(client, db_session)
    page = client.get("/operator/live/").get_data(as_text=True)
    assert "上一周" not in page and "下一周" in page  # nothing before this week yet
    with db_session() as session:
        past = plan_session(session, presenter=make_host(session), title="三周前")
        # Planned then, held since: moved back three weeks in the database.
        past.planned_start -= timedelta(days=21, hours=48)
        past.planned_end -= timedelta(days=21, hours=48)
        session.add(past)
    page = client.get("/operator/live/").get_data(as_text=True)
    assert "上一周" in page
    three_weeks_ago = (utcnow() - timedelta(days=21)).astimezone(SHANGHAI).date()
    earliest = three_weeks_ago - timedelta(days=three_weeks_ago.weekday())
    first = client.get("/operator/live/", query_string={"week": earliest.isoformat()})
    assert "三周前" in first.get_data(as_text=True) and "上一周" not in first.get_data(
        as_text=True)
    # A week typed far outside the plan shows its nearest end, without a link past it.
    before = client.get("/operator/live/", query_string={"week": "1990-01-01"})
    assert "三周前" in before.get_data(as_text=True) and "上一周" not in before.get_data(
        as_text=True)
    after = client.get("/operator/live/", query_string={"week": "2999-12-30"})
    assert after.status_code == 200 and "下一周" not in after.get_data(as_text=True)
    assert "上一周" in after.get_data(as_text=True)
