"""A visitor abroad: the page offers their device's time zone and changes nothing until
they choose it (progressive enhancement), on SQLite and on PostgreSQL."""

import pytest
from playwright.sync_api import expect

from livestream import lifecycle
from tests.browser.helpers import run_axe
from tests.livestream.factories import make_deaf_presenter, plan_session
from tests.livestream.test_time_zones import WINTER, next_date, shanghai

pytestmark = pytest.mark.browser


def test_the_device_zone_is_offered_and_used_only_when_the_visitor_asks(
        live_server, browser, db_session, shots, axe_url):
    with db_session() as session:
        live = plan_session(session, presenter=make_deaf_presenter(session),
                            start=shanghai(next_date(WINTER), 19), title="时区测试之夜")
        lifecycle.publish(session=session, live=live)
    context = browser.new_context(base_url=live_server.url, timezone_id="Europe/London",
                                  locale="zh-CN",
                                  viewport={"width": 320, "height": 900})
    try:
        page = context.new_page()
        page.goto("/live")
        card = page.locator(".live-card", has_text="时区测试之夜")
        picker = page.get_by_label("用这个时区显示时间")
        expect(picker).to_have_value("Europe/London")  # the script chose the device's zone
        expect(page.get_by_text("我们已选好你设备上的时区")).to_be_visible()
        # ...but nothing changed by itself: no cookie, times still in the shop's zone.
        assert [c for c in context.cookies() if c["name"] == "tz"] == []
        expect(card).to_contain_text("19:00")
        expect(card).to_contain_text("GMT+08:00")
        assert run_axe(page, axe_url) == []
        shots.take(page, "device-zone-offered")

        page.get_by_role("button", name="按这个时区显示时间").click()
        expect(card).to_contain_text("11:00")
        expect(card).to_contain_text("GMT+00:00")
        assert [c["value"] for c in context.cookies() if c["name"] == "tz"] == ["Europe/London"]
        expect(page.get_by_text("我们已选好你设备上的时区")).to_be_hidden()
        shots.take(page, "london-time")
    finally:
        context.close()
