"""The metro cart's close of day (小黄车), as the young person who runs it does it on a
phone: a cash sale at the till, a wrong count first (the GOV.UK error), then the cash
counted with a note; the day sheet and its CSV say the same, and the month shows both
closed days (yesterday's from the demo, ¥2 short).

Runs on a fresh demo shop served for real, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.demo import DEMO_PASSWORD
from tests.browser.conftest import ROLE_ACCOUNTS
from tests.browser.helpers import main_menu, run_axe, sign_in

pytestmark = pytest.mark.browser


def test_the_cart_closes_its_day_with_the_cash_short(live_server, new_page, shots, axe_url):
    page = new_page(live_server.url, width=375, height=800)
    sign_in(page, live_server.url, ROLE_ACCOUNTS["stall"], DEMO_PASSWORD)
    main_menu(page).get_by_role("link", name="我的摊位").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("收银台：鼓楼地铁站小黄车")
    # Today so far: the demo's QR-code sale only, no cash.
    expect(page.get_by_text("今天 1 笔销售，共 ¥128。")).to_be_visible()

    # A brooch, paid in cash.
    brooch = page.locator("label", has_text="蝴蝶盘扣胸针").first.get_attribute("for")
    page.locator(f"#{brooch}").fill("1")
    page.get_by_label("现金", exact=True).check()
    page.get_by_role("button", name="记下这笔销售").click()
    expect(page.get_by_text("今天 2 笔销售，共 ¥167。")).to_be_visible()
    expect(page.get_by_text("收银台会和它记录的现金比较：¥39。")).to_be_visible()

    # A count that is not a number: the error summary takes focus and names the field.
    cash = page.get_by_label("点出的现金（元）")
    cash.fill("三十八")
    page.get_by_role("button", name="日结").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^错误："))
    expect(summary.get_by_role("link")).to_have_text(["点出的现金必须是元数，例如 356.50"])
    expect(page.get_by_label("点出的现金（元）")).to_have_value("三十八")
    assert run_axe(page, axe_url) == []
    shots.take(page, "close-error")

    # The real count, a yuan short, and why.
    page.get_by_label("点出的现金（元）").fill("38")
    page.get_by_label("备注（可选）").fill("给顾客多找了 1 元")
    page.get_by_role("button", name="日结").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("日报表：鼓楼地铁站小黄车")
    expect(page.locator("#status-region")).to_contain_text("今天已日结。")
    close = page.get_by_role("table", name="日结")
    expect(close).to_contain_text("少 ¥1")
    expect(close).to_contain_text("给顾客多找了 1 元")
    expect(page.get_by_text("2 笔销售，共 ¥167。")).to_be_visible()
    assert run_axe(page, axe_url) == []
    shots.take(page, "day-sheet")

    # The CSV: English column codes, and the same lines and total as the page.
    with page.expect_download() as info:
        page.get_by_role("link", name="下载销售记录（CSV）").click()
    rows = list(csv.DictReader(io.StringIO(
        info.value.path().read_bytes().decode("utf-8").lstrip("\ufeff"))))
    assert sum(Decimal(r["line_total_yuan"]) for r in rows) == Decimal("167.00")
    assert {r["paid_by"] for r in rows} == {"cash", "qr"}

    # The till takes no more sales today.
    page.get_by_role("link", name="回到收银台").click()
    expect(page.get_by_text("今天已日结。今天不能再记录销售。")).to_be_visible()
    expect(page.get_by_role("button", name="记下这笔销售")).to_have_count(0)

    # The month: both days closed, yesterday's ¥2 short.
    page.get_by_role("link", name="摊位本月情况").click()
    days = page.get_by_role("table", name="摊位每天的情况")
    expect(days.locator("tbody tr").last).to_contain_text("少 ¥1")
    if days.locator("tbody tr").count() == 2:  # yesterday is in this month
        expect(days.locator("tbody tr").first).to_contain_text("少 ¥2")
    expect(days).not_to_contain_text("未日结")
    assert run_axe(page, axe_url) == []
    shots.take(page, "month")
