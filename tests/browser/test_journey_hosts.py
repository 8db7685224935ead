"""A sign-language interpreter takes an open slot and puts it in their calendar; a second
interpreter, who qualifies too, finds it taken.

Runs on a fresh demo shop served for real, on SQLite and on PostgreSQL, asserting what
each host sees (in Chinese, the default), with screenshots of the key steps.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from core.demo import DEMO_PASSWORD
from tests.browser.conftest import ROLE_ACCOUNTS
from tests.browser.helpers import main_menu, sign_in

pytestmark = pytest.mark.browser

FIRST = ROLE_ACCOUNTS["interpreter"]   # 李娜: national sign language, level 2
SECOND = "interp.wang@demo.gongfang.cn"  # 王敏: national sign language, level 3
SESSION = "小黄车和有声书"  # a hearing presenter's hour: one sign-language interpreter
ROLE = "手语翻译"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def open_schedule(page, base_url: str, email: str) -> None:
    """Sign in and go to "我的班次" from the main menu."""
    sign_in(page, base_url, email, DEMO_PASSWORD)
    main_menu(page).get_by_role("link", name="我的班次").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的班次")


def slot_card(region, session_title: str = SESSION, role: str = ROLE):
    """The card of one session's slot for one role within a part of the page."""
    return region.get_by_role("listitem").filter(
        has=region.page.get_by_role("heading", name=session_title)).filter(has_text=role)


def test_interpreter_claims_a_slot_downloads_it_and_the_next_host_finds_it_taken(
        live_server, new_page, shots):
    first = new_page(live_server.url, width=1280)
    open_schedule(first, live_server.url, FIRST)
    mine = first.get_by_role("region", name="我领的班次")
    offered = first.get_by_role("region", name="适合你的空班次")
    expect(mine).to_contain_text("你还没有班次。")
    card = slot_card(offered)
    expect(card).to_have_count(1)
    expect(card).to_contain_text("手语翻译 · 国家通用手语")
    start_time = card.locator("time").first  # then the end time
    starts = datetime.fromisoformat(start_time.get_attribute("datetime"))
    local = starts.astimezone(SHANGHAI)
    expect(start_time).to_contain_text(f"{local.year}年{local.month}月{local.day}日")
    expect(start_time).to_contain_text(f"{local:%H:%M}")
    shots.take(first, "open-slots")

    # The second interpreter has the page open too, and the slot is offered to them.
    second = new_page(live_server.url, width=320, height=800)
    open_schedule(second, live_server.url, SECOND)
    second_offered = second.get_by_role("region", name="适合你的空班次")
    stale = slot_card(second_offered)
    expect(stale).to_have_count(1)
    # They already interpret the knot-button evening, so its other seat is not offered.
    evening = "盘扣之夜：手语带你看一针一线"
    expect(slot_card(second.get_by_role("region", name="我领的班次"), evening, "语音翻译")
           ).to_have_count(1)
    expect(slot_card(second_offered, evening, "语音翻译")).to_have_count(0)

    # The first takes it.
    card.get_by_role("button", name="领这个班次").click()
    expect(first.get_by_role("status")).to_have_text(f"班次是你的了：{ROLE}。")
    held = slot_card(first.get_by_role("region", name="我领的班次"))
    expect(held).to_have_count(1)
    expect(held.get_by_role("button", name="退出这个班次")).to_be_visible()
    expect(slot_card(first.get_by_role("region", name="适合你的空班次"))).to_have_count(0)
    shots.take(first, "slot-taken")

    # ...and downloads the calendar file: the slot, at the same moment, written in UTC.
    calendar = first.get_by_role("region", name="我的日历")
    with first.expect_download() as info:
        calendar.get_by_role("link", name="下载我的班次（.ics）").click()
    assert info.value.suggested_filename.endswith(".ics")
    feed = Calendar.from_ical(info.value.path().read_bytes())
    assert str(feed["X-WR-CALNAME"]) == "李娜的直播"
    events = [e for e in feed.walk("VEVENT") if str(e["SUMMARY"]) == f"{SESSION} · {ROLE}"]
    assert len(events) == 1, [str(e["SUMMARY"]) for e in feed.walk("VEVENT")]
    event = events[0]
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start.utcoffset().total_seconds() == 0 and event["DTSTART"].to_ical().endswith(b"Z")
    assert start == starts.astimezone(UTC)
    assert (end - start).total_seconds() == 60 * 60
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "请提前 15 分钟到" in str(event["DESCRIPTION"])
    assert str(event["URL"]).endswith("/live/cart-and-tales")

    # The second, on the page they had open, is told that someone was quicker.
    stale.get_by_role("button", name="领这个班次").click()
    expect(second.get_by_role("status")).to_have_text("这个班次刚被别人领走了。")
    expect(slot_card(second.get_by_role("region", name="适合你的空班次"))).to_have_count(0)
    expect(slot_card(second.get_by_role("region", name="我领的班次"))).to_have_count(0)
    shots.take(second, "taken-by-someone-else")

    # The public schedule's page of the session names who interprets.
    main_menu(second).get_by_role("link", name="直播安排").click()
    second.get_by_role("main").get_by_role("link", name=SESSION).click()
    expect(second.get_by_role("heading", level=1)).to_have_text(SESSION)
    team = second.locator(".team-list")
    expect(team.get_by_role("listitem").filter(has_text=ROLE)).to_have_text(
        re.compile(rf"^{ROLE} · 国家通用手语 · 1 级或以上: 李娜$"))
    shots.take(second, "session-team")
