"""Times in the viewer's zone: shown, typed and stored right, on both databases.

Dates are the next 15 January (London on GMT, New York on EST) and the next 15 July
(summer time in both), so the tests keep working as the years pass.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from accounts.models import HostRole, Role, User
from core.db import utcnow
from core.mail import OutboxMail
from livestream import lifecycle, services, slots
from livestream.models import LiveSession, LiveSessionSlot
from tests.factories import login, make_product, make_user, make_workshop
from tests.livestream.factories import (
    make_deaf_presenter,
    make_host,
    make_interpreter,
    plan_session,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WINTER, SUMMER = 1, 7


def next_date(month: int, day: int = 15) -> date:
    """The next `month`/`day` at least three days from now."""
    earliest = utcnow().date() + timedelta(days=3)
    candidate = date(earliest.year, month, day)
    return candidate if candidate >= earliest else date(earliest.year + 1, month, day)


def shanghai(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI).astimezone(UTC)


def shown(html: str) -> str:
    """The times and zones a page shows (inside <time> and the zone labels), as text."""
    parts = re.findall(r'<time [^>]*>([^<]*)</time>|<span class="time-zone">([^<]*)</span>'
                       r'|<p class="zone-note">([^<]*)<', html)
    return " ".join("".join(p) for p in parts).replace("\u202f", " ")


def zone_select_preselects(html: str) -> bool:
    """Whether the page's zone select lets the script preselect the device's zone."""
    return re.search(r"<select[^>]*data-browser-zone", html) is not None


def _with_zone(session, user, zone):
    user.timezone = zone
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def evening(db_session):
    """Builds a published 90-minute session at 19:00 Shanghai time on the given date."""

    def build(month):
        with db_session() as session:
            live = plan_session(session, presenter=make_deaf_presenter(session),
                                start=shanghai(next_date(month), 19), title="盘扣之夜")
            lifecycle.publish(session=session, live=live)
            return live

    return build


@pytest.mark.parametrize("month, london, offset", [(WINTER, "11:00", "GMT+00:00"),
                                                   (SUMMER, "12:00", "GMT+01:00")])
def test_a_london_visitor_sees_a_shanghai_evening_at_london_time(client, evening, month,
                                                                 london, offset):
    live = evening(month)
    before = shown(client.get(f"/live/{live.slug}").get_data(as_text=True))
    assert "19:00" in before and "GMT+08:00" in before  # the shop's zone by default
    client.set_cookie("tz", "Europe/London")
    for path in ("/live", f"/live/{live.slug}", "/"):
        times = shown(client.get(path).get_data(as_text=True))
        assert london in times and offset in times, path
        assert "19:00" not in times and "GMT+08:00" not in times, path
    page = client.get(f"/live/{live.slug}").get_data(as_text=True)
    assert "英国时间 (Europe/London)" in shown(page)  # the zone named where the times are
    # The calendar file stays in UTC whatever the viewer chose.
    ics = client.get(f"/live/{live.slug}/calendar.ics").get_data(as_text=True)
    assert f"DTSTART:{live.planned_start.strftime('%Y%m%dT%H%M%SZ')}" in ics


def test_host_and_operator_pages_follow_the_account_zone(client, db_session, evening):
    live = evening(WINTER)
    with db_session() as session:
        host = _with_zone(session, make_interpreter(session), "Europe/London")
        slot_id = session.exec(select(LiveSessionSlot.id).where(
            LiveSessionSlot.session_id == live.id,
            LiveSessionSlot.role == HostRole.VOICE_INTERPRETER)).first()
        slots.claim_slot(session=session, slot_id=slot_id, host=host)
        operator = _with_zone(session, make_user(session, roles=(Role.OPERATOR,), locale="en"),
                              "America/New_York")
    login(client, host.email)
    mine = shown(client.get("/host/schedule").get_data(as_text=True))
    assert "11:00" in mine and "GMT+00:00" in mine and "19:00" not in mine
    client.post("/account/logout")
    login(client, operator.email)
    week = shown(client.get("/operator/live/", query_string={
        "week": next_date(WINTER).isoformat()}).get_data(as_text=True))
    assert "6:00 AM" in week and "GMT-05:00" in week and "GMT+08:00" not in week
    assert "United States (New York) Time (America/New_York)" in week
    detail = client.get(f"/operator/live/{live.id}").get_data(as_text=True)
    assert "6:00 AM" in shown(detail) and 'value="06:00"' in detail  # the slot form too


def test_account_settings_preselect_the_shop_zone_and_save_a_choice(client, db_session):
    with db_session() as session:
        user = make_user(session)
    login(client, user.email)
    page = client.get("/account/").get_data(as_text=True)
    assert '<option selected value="Asia/Shanghai">' in page
    assert page.index('value="Europe/London"') < page.index('value="Africa/Abidjan"')
    response = client.post("/account/", data={"display_name": "小王", "locale": "zh_Hans_CN",
                                              "timezone": "Europe/London"})
    assert response.status_code == 302
    assert any(c.startswith("tz=Europe/London;") for c in response.headers.getlist("Set-Cookie"))
    with db_session(write=False) as session:
        assert session.get(User, user.id).timezone == "Europe/London"


@pytest.mark.parametrize("bad", ["Mars/Base", "../../etc/passwd", "Etc/GMT+5", "x" * 200, ""])
def test_an_unknown_zone_in_account_settings_is_refused_and_nothing_saved(client, db_session,
                                                                          bad):
    client.set_cookie("lang", "en")
    with db_session() as session:
        user = make_user(session, locale="en")
    login(client, user.email)
    response = client.post("/account/", data={"display_name": "Changed", "locale": "en",
                                              "timezone": bad})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<title>Error: " in html and 'class="error-summary"' in html
    assert ("is not a time zone we know" in html) if bad else ("Choose a time zone" in html)
    assert not any(c.startswith("tz=") for c in response.headers.getlist("Set-Cookie"))
    with db_session(write=False) as session:
        saved = session.get(User, user.id)
        assert saved.timezone is None and saved.display_name != "Changed"


def test_a_visitor_chooses_a_zone_for_this_browser(client, evening):
    live = evening(SUMMER)
    form = client.get("/time-zone", query_string={"next": "/live"}).get_data(as_text=True)
    assert zone_select_preselects(form)  # not chosen yet: the script may preselect
    response = client.get("/time-zone", query_string={"zone": "America/New_York",
                                                      "next": "/live"})
    assert response.status_code == 303 and response.headers["Location"] == "/live"
    (cookie,) = response.headers.getlist("Set-Cookie")  # and no session for a visitor
    assert cookie.startswith("tz=America/New_York;")
    html = client.get("/live").get_data(as_text=True)
    assert "07:00" in shown(html) and "GMT-04:00" in shown(html)  # 19:00 Shanghai, EDT
    assert zone_select_preselects(html) is False  # chosen: the script leaves it alone
    assert not zone_select_preselects(client.get("/time-zone").get_data(as_text=True))
    escape = client.get("/time-zone", query_string={"zone": "UTC",
                                                    "next": "https://evil.example/"})
    assert escape.headers["Location"] == "/live"
    assert f"/live/{live.slug}" in client.get("/live").get_data(as_text=True)


def test_a_visitors_unknown_zone_is_explained_and_no_cookie_set(client):
    client.set_cookie("lang", "en")
    response = client.get("/time-zone", query_string={"zone": "Mars/Base", "next": "/live"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<title>Error: " in html and "“Mars/Base” is not a time zone we know" in html
    assert 'href="#zone"' in html  # the summary links to the field
    assert "Set-Cookie" not in response.headers


def test_a_junk_zone_cookie_falls_back_to_the_shop_zone(client, evening):
    evening(WINTER)
    client.set_cookie("tz", "../../etc/passwd")
    times = shown(client.get("/live").get_data(as_text=True))
    assert "19:00" in times and "GMT+08:00" in times


def _operator_in(client, db_session, zone):
    with db_session() as session:
        operator = _with_zone(session, make_user(session, roles=(Role.OPERATOR,)), zone)
        presenter = make_host(session)
    login(client, operator.email)
    return presenter


def _count_sessions(db_session):
    with db_session(write=False) as session:
        return session.exec(select(func.count()).select_from(LiveSession)).one()


@pytest.mark.parametrize("month, utc_hour", [(WINTER, 11), (SUMMER, 10)])
def test_times_typed_in_new_york_are_stored_in_utc(client, db_session, month, utc_hour):
    presenter = _operator_in(client, db_session, "America/New_York")
    day = next_date(month)
    response = client.post("/operator/live/new", data={
        "title": "纽约时间", "start_date": day.isoformat(), "start_time": "06:00",
        "end_time": "07:30", "presenter_id": str(presenter.id)})
    assert response.status_code == 303
    with db_session(write=False) as session:
        live = session.exec(select(LiveSession)).one()
    assert live.planned_start == datetime.combine(day, time(utc_hour), tzinfo=UTC)
    assert live.planned_end - live.planned_start == timedelta(minutes=90)
    edit = client.get(f"/operator/live/{live.id}/edit").get_data(as_text=True)
    assert 'value="06:00"' in edit and 'value="07:30"' in edit
    added = client.post(f"/operator/live/{live.id}", data={
        "slot-role": "captioner", "slot-min_level": "0", "slot-starts_at": "06:30",
        "slot-ends_at": "07:00"})
    assert added.status_code == 303
    with db_session(write=False) as session:
        captioner = session.exec(select(LiveSessionSlot).where(
            LiveSessionSlot.role == HostRole.CAPTIONER)).one()
    assert captioner.starts_at == live.planned_start + timedelta(minutes=30)


def _second_sunday_of_march() -> date:
    first = next_date(3, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7)


def test_a_time_the_clocks_skip_is_refused(client, db_session):
    client.set_cookie("lang", "en")
    presenter = _operator_in(client, db_session, "America/New_York")
    response = client.post("/operator/live/new", data={
        "title": "跳过的时间", "start_date": _second_sunday_of_march().isoformat(),
        "start_time": "02:30", "end_time": "03:30", "presenter_id": str(presenter.id)})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "02:30 does not exist on that day" in html and "<title>Error: " in html
    assert _count_sessions(db_session) == 0


def test_an_end_before_the_start_passes_midnight_when_it_stays_short(client, db_session):
    presenter = _operator_in(client, db_session, "Australia/Sydney")
    day = next_date(WINTER)  # summer in Sydney: UTC+11
    response = client.post("/operator/live/new", data={
        "title": "午夜", "start_date": day.isoformat(), "start_time": "23:30",
        "end_time": "00:30", "presenter_id": str(presenter.id)})
    assert response.status_code == 303
    with db_session(write=False) as session:
        live = session.exec(select(LiveSession)).one()
    assert live.planned_start == datetime.combine(day, time(12, 30), tzinfo=UTC)
    assert live.minutes == 60
    edit = client.get(f"/operator/live/{live.id}/edit").get_data(as_text=True)
    assert 'value="23:30"' in edit and 'value="00:30"' in edit  # it reads back the same


def test_the_page_cache_keeps_one_page_per_time_zone(app, client, evening):
    from catalog import page_cache

    app.config["CATALOG_PAGE_CACHE_SECONDS"] = 60
    page_cache.clear()
    evening(WINTER)
    try:
        client.set_cookie("tz", "Europe/London")
        first = client.get("/")
        again = client.get("/")
        assert first.headers["X-Page-Cache"] == "miss" and again.headers["X-Page-Cache"] == "hit"
        assert "11:00" in shown(again.get_data(as_text=True))
        client.set_cookie("tz", "America/New_York")
        new_york = client.get("/")
        assert new_york.headers["X-Page-Cache"] == "miss"
        times = shown(new_york.get_data(as_text=True))
        assert "06:00" in times and "11:00" not in times
    finally:
        page_cache.clear()


def test_a_mail_speaks_the_readers_zone_not_the_senders(client, db_session, evening):
    live = evening(WINTER)
    with db_session() as session:
        workshop = make_workshop(session)
        product = make_product(session, workshop=workshop, title="盘扣胸针")
        services.set_products(session=session, live=session.get(LiveSession, live.id),
                              product_ids=(product.id,))
        interpreter = _with_zone(session, make_interpreter(session), "Europe/London")
        interpreter.locale = "en"
        slot_id = session.exec(select(LiveSessionSlot.id).where(
            LiveSessionSlot.session_id == live.id,
            LiveSessionSlot.role == HostRole.VOICE_INTERPRETER)).first()
        operator = make_user(session, roles=(Role.OPERATOR,))  # in Shanghai, in Chinese
    login(client, operator.email)
    client.post(f"/operator/live/slots/{slot_id}/assign",
                data={f"assign{slot_id}-host_id": str(interpreter.id)})
    with db_session(write=False) as session:
        (mail,) = session.exec(select(OutboxMail).where(
            OutboxMail.to_address == interpreter.email)).all()
    assert mail.subject.startswith("Products for")
    body = mail.body_text.replace("\u202f", " ")
    assert "11:00:00 AM Greenwich Mean Time" in body and "盘扣胸针" in body


def test_the_daily_limit_counts_the_shops_day_wherever_the_interpreter_lives(app, db_session):
    app.config["LIVESTREAM_DAILY_SOLO_MAX_MINUTES"] = 90
    day = next_date(WINTER)
    with db_session() as session:
        interpreter = _with_zone(session, make_interpreter(
            session, role=HostRole.SIGN_INTERPRETER), "Europe/London")

        def open_slot(start):
            live = plan_session(session, presenter=make_host(session), minutes=60, start=start)
            return session.exec(select(LiveSessionSlot.id).where(
                LiveSessionSlot.session_id == live.id,
                LiveSessionSlot.role == HostRole.SIGN_INTERPRETER)).one()

        # 22:00 and 00:30 in Shanghai are two Shanghai days, one London afternoon: allowed.
        slots.claim_slot(session=session, slot_id=open_slot(shanghai(day, 22)), host=interpreter)
        slots.claim_slot(session=session, slot_id=open_slot(
            shanghai(day + timedelta(days=1), 0, 30)), host=interpreter)
        # 07:00 and 09:00 in Shanghai are one Shanghai day, two London days: refused.
        later = day + timedelta(days=3)
        slots.claim_slot(session=session, slot_id=open_slot(shanghai(later, 7)), host=interpreter)
        with pytest.raises(slots.DailyLimitReached):
            slots.claim_slot(session=session, slot_id=open_slot(shanghai(later, 9)),
                             host=interpreter)
