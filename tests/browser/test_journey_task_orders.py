"""A task order from first ask to booked pay, in Chinese: a company asks the knot-button
workshop on its page (a past deadline first: the GOV.UK error); the coordinator sees the
request, accepts, shares it out between two members, records their pieces, marks it
delivered and paid, and reads the progress and each member's pay; her own income page
says her share in plain words.

Runs on a fresh demo shop served for real, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.demo import DEMO_PASSWORD
from tests.browser.conftest import ROLE_ACCOUNTS
from tests.browser.helpers import main_menu, run_axe, sign_in

pytestmark = pytest.mark.browser

COMPANY = "海曙旗袍工作室"


def fen(text: str) -> int:
    return int(Decimal(text.strip().removeprefix("¥").replace(",", "")) * 100)


def test_coordinator_takes_a_task_order_from_request_to_pay(live_server, new_page, shots,
                                                            axe_url):
    # The company, signed out, on the workshop's page.
    page = new_page(live_server.url, width=768, height=900)
    page.goto(f"{live_server.url}/workshops/hexin-pankou")
    page.get_by_role("link", name="请工坊做订单活").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("做订单活")
    page.get_by_label("你的公司或机构名称").fill(COMPANY)
    page.get_by_label("联系人").fill("林老师")
    page.get_by_label("电话号码（可选）").fill("0574 8888 6666")
    page.get_by_label("要工坊做什么？").fill("盘扣")
    page.get_by_label("要做多少个？").fill("500")
    page.get_by_label("交货日期").fill("2020-01-01")
    page.get_by_label("每个的价钱（元）").fill("1.20")
    page.get_by_role("button", name="发送请求").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^错误："))
    expect(summary.get_by_role("link")).to_have_text(["交货日期必须在今天之后"])
    expect(page.get_by_label("要做多少个？")).to_have_value("500")
    assert run_axe(page, axe_url) == []
    shots.take(page, "task-order-request-error")
    page.get_by_label("交货日期").fill((date.today() + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="发送请求").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("你的请求已经发出")

    # The coordinator finds it from her workshop's income page.
    page = new_page(live_server.url, width=1280, height=900)
    sign_in(page, live_server.url, ROLE_ACCOUNTS["maker"], DEMO_PASSWORD)
    main_menu(page).get_by_role("link", name="我的收入").click()
    page.get_by_role("link", name=re.compile("^和信.*的收入$")).click()
    expect(page.get_by_role("heading", name="订单活")).to_be_visible()
    expect(page.get_by_text(f"{COMPANY} 想在")).to_contain_text("500 个盘扣。等你回复。")
    page.get_by_role("link", name=f"打开{COMPANY}的订单活").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{COMPANY}的订单活")
    page.get_by_role("button", name="接下这批订单活").click()
    expect(page.locator("#status-region")).to_contain_text("已接下。现在请把活分给成员。")

    # Shared out: a split that does not add up first, then 200 and 300.
    page.get_by_label("王秀英", exact=True).fill("200")
    page.get_by_label("陈美华", exact=True).fill("200")
    page.get_by_role("button", name="保存分活").click()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    expect(page.locator("[data-error-summary]")).to_contain_text("必须等于订单的 500")
    page.get_by_label("陈美华", exact=True).fill("300")
    page.get_by_role("button", name="保存分活").click()
    members = page.get_by_role("table", name="每位成员要做的个数")
    expect(members.locator("tbody tr")).to_have_count(2)

    # Pieces, recorded for each member; too many is refused.
    for name, pieces in (("陈美华", "300"), ("王秀英", "200")):
        page.get_by_role("link", name=f"替{name}记下做好的个数").click()
        if name == "王秀英":
            page.get_by_label("做好的个数").fill("201")
            page.get_by_role("button", name="保存个数").click()
            expect(page.locator("[data-error-summary]")).to_contain_text("还剩 200 个要做")
        page.get_by_label("做好的个数").fill(pieces)
        page.get_by_role("button", name="保存个数").click()
        expect(page.locator("#status-region")).to_contain_text(f"做好了 {pieces} 个")
    expect(page.locator(".income-headline")).to_have_text(re.compile(
        f"为{COMPANY}做的 500 个盘扣已做好 500 个，还差 0 个。"))
    assert run_axe(page, axe_url) == []
    shots.take(page, "task-order-made")

    # Delivered and paid: each member's pay, and the platform's fee, add up to ¥600.
    page.get_by_role("button", name="标记为已交货并收款").click()
    expect(page.locator("#status-region")).to_contain_text("已标记为交货并收款")
    expect(page.locator(".income-headline")).to_have_text(
        f"为{COMPANY}做的 500 个盘扣已全部交货并收款：¥600。")
    rows = {row.locator("th").inner_text().strip(): fen(row.locator("td").last.inner_text())
            for row in members.locator("tbody tr, tfoot tr").all()}
    assert sum(rows.values()) == 60000, rows
    assert rows["王秀英"] * 3 == pytest.approx(rows["陈美华"] * 2, abs=3)
    shots.take(page, "task-order-booked")

    # Her own income page says her share in plain words.
    main_menu(page).get_by_role("link", name="我的收入").click()
    mine = page.locator(".income-task-orders li", has_text=COMPANY)
    expect(mine).to_have_text(re.compile(
        f"^你为“{COMPANY}”的 500 个盘扣做了 200 个，这批活收入 ¥[\\d,.]+。\\s*$"))
    assert fen(mine.inner_text().strip().rsplit("¥", 1)[1].rstrip("。")) == rows["王秀英"]
    # The demo's 2,000-button order, still being made, says what it will bring.
    expect(page.locator(".income-task-orders li", has_text="宁波甬城服饰有限公司")).to_contain_text(
        "的 2,000 个盘扣做了 300 个（你的活是 700 个）。交货收款后，这批活你收入")
    assert run_axe(page, axe_url) == []
