"""Journeys of a maker reading their income, and of an operator whose confirmed payment
shows up in it, asserting what each person sees (in Chinese, the default).

Each runs on a fresh demo shop served for real, on SQLite and on PostgreSQL, and saves
screenshots of its key steps. The downloads are read back and held against the page.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from core.demo import DEMO_OPERATOR_EMAIL, DEMO_PASSWORD
from tests.browser.conftest import ROLE_ACCOUNTS, fill_cart, fill_checkout
from tests.browser.helpers import main_menu, picture_loaded, sign_in

pytestmark = pytest.mark.browser

MAKER = ROLE_ACCOUNTS["maker"]  # 王秀英, one of three makers of the plum-knot set
HEADLINE = re.compile(r"^这个月你赚了 (¥[\d,]+(?:\.\d{2})?)。$")
SOLD = re.compile(r"^(.+)：你卖出了 (\d+) 件。你赚了 (¥[\d,]+(?:\.\d{2})?)。$")
EARNING_KINDS = {"sale", "refund", "adjustment"}  # what "你赚了" counts; payouts do not


def fen(text: str) -> int:
    """¥1,280 or ¥150.77 as shown on the page, in fen."""
    return int(Decimal(text.strip().removeprefix("¥").replace(",", "")) * 100)


def read_dashboard(page) -> dict:
    """What the maker's income page says: the headline, each product line, the tables."""
    expect(page.get_by_role("heading", level=1)).to_have_text("我的收入")
    headline = page.locator(".income-headline").inner_text().strip()
    match = HEADLINE.match(headline)
    assert match, f"headline reads {headline!r}"
    sold = {}
    for text in page.locator(".income-products li").all_inner_texts():
        line = SOLD.match(text.strip())
        assert line, f"a product line reads {text!r}"
        sold[line[1]] = (int(line[2]), fen(line[3]))
    return {"earned": fen(match[1]), "sold": sold,
            "places": table_rows(page, "你在各处的收入"),
            "months": table_rows(page, "你最近六个月的收入")}


def table_rows(page, caption: str) -> dict[str, int]:
    """A two-column table of the page, by its caption: row header -> amount in fen."""
    table = page.get_by_role("table", name=caption)
    expect(table).to_be_visible()
    rows = {}
    for row in table.locator("tbody tr").all():
        rows[row.locator("th").inner_text().strip()] = fen(row.locator("td").inner_text())
    return rows


def test_maker_reads_this_month_and_downloads_the_same_figures(live_server, new_page, shots):
    # A maker on a phone: the narrowest screen.
    page = new_page(live_server.url, width=320, height=800)
    sign_in(page, live_server.url, MAKER, DEMO_PASSWORD)
    main_menu(page).get_by_role("link", name="我的收入").click()
    board = read_dashboard(page)
    shots.take(page, "income-dashboard")

    # The demo month: the plum-knot set sold online, in the live stream and at the cart.
    assert board["earned"] > 0
    assert list(board["sold"]) == ["梅花盘扣 十对装"]
    assert sum(amount for _count, amount in board["sold"].values()) == board["earned"]
    assert sum(board["places"].values()) == board["earned"]
    assert any(place.startswith("直播 · ") for place in board["places"]), board["places"]
    assert any(place.startswith("摊位 · ") for place in board["places"]), board["places"]
    # A photo beside each product line, described for people who cannot see it.
    photo = page.locator(".income-products li").first.get_by_role("img")
    expect(photo).to_have_attribute("alt", "十对红色梅花盘扣排成两行")
    assert picture_loaded(photo), "the photo did not load"
    # The chart's figures are in a real table, this month last, the same as the headline.
    assert len(board["months"]) == 6
    assert all(re.fullmatch(r"\d{4}年\d{1,2}月", month) for month in board["months"])
    assert list(board["months"].values())[-1] == board["earned"]
    expect(page.locator(".income-list").first).to_contain_text(
        re.compile(r"从 \d{4}年\d{1,2}月\d{1,2}日 起可以付给你"))  # when, as a full date

    # The CSV has one row per sale; its amounts add up to what the page says.
    actions = page.get_by_role("navigation", name="收入页面")
    with page.expect_download() as info:
        actions.get_by_role("link", name="下载（CSV）").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    text = download.path().read_bytes().decode("utf-8")
    assert text.startswith("\ufeff"), "spreadsheet programs need the BOM to read UTF-8"
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows and {row["maker"] for row in rows} == {"王秀英"}
    assert {row["currency"] for row in rows} == {"CNY"}
    earning = [row for row in rows if row["kind"] in EARNING_KINDS]
    assert sum(fen(row["amount_yuan"]) for row in earning) == board["earned"]
    for name, (count, amount) in board["sold"].items():
        sales = [row for row in earning if row["item"] == name]
        assert sum(int(row["quantity"]) for row in sales if row["kind"] == "sale") == count
        assert sum(fen(row["amount_yuan"]) for row in sales) == amount
    by_channel: dict[str, int] = {}
    for row in earning:
        by_channel[row["where"]] = by_channel.get(row["where"], 0) + fen(row["amount_yuan"])
    assert sorted(by_channel.values()) == sorted(board["places"].values())

    # The spreadsheet holds the same rows, in Chinese, with amounts a sheet can add up.
    with page.expect_download() as info:
        actions.get_by_role("link", name="下载（表格）").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(info.value.path().read_bytes())).active
    header, *lines = list(sheet.iter_rows(values_only=True))
    assert header == ("日期", "手艺人", "类型", "在哪里卖出的", "商品", "数量", "金额（元）",
                      "币种", "原因")
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        assert (line[1], line[4], line[5]) == (row["maker"], row["item"], int(row["quantity"]))
        assert isinstance(line[6], float) and round(line[6] * 100) == fen(row["amount_yuan"])
    earned = sum(line[6] for line in lines if line[2] in ("卖出", "退款", "更正"))
    assert round(earned * 100) == board["earned"]
    assert {line[3] for line in lines} == {place.split(" · ")[0] for place in board["places"]}

    # The statement to print says the same month in the same figures.
    actions.get_by_role("link", name="打印月度账单").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^\d{4}年\d{1,2}月 月度账单$"))  # as people say it
    month = heading.inner_text().split(" ")[0]
    assert list(board["months"])[-1] == month
    expect(page.locator(".income-headline")).to_have_text(
        f"{month} 你赚了 {page_money(board['earned'])}。")
    money = table_rows(page, "你这个月的钱")
    assert money["这个月的收入"] == board["earned"]
    assert money["月底欠你的钱"] == (money["月初欠你的钱"] + money["这个月的收入"]
                                    - money["这个月付给你的钱"])
    sold_table = page.get_by_role("table", name="卖出了什么")
    for name, (count, amount) in board["sold"].items():
        row = sold_table.get_by_role("row").filter(has_text=name)
        expect(row.locator("td")).to_have_text([str(count), page_money(amount)])
    expect(page.get_by_role("button", name="打印")).to_be_visible()
    shots.take(page, "statement")


def page_money(amount_fen: int) -> str:
    """How the income pages write an amount: ¥1,280 for whole yuan, else ¥150.77."""
    yuan, cents = divmod(amount_fen, 100)
    return f"¥{yuan:,}" + (f".{cents:02d}" if cents else "")


def payment_tag(page):
    """The order page's payment status, as a screen reader reads it ("付款：已付款")."""
    return page.locator(".status-tags li").filter(has_text="付款：")


def exact_share(app, email: str, sku: str, line_total: int) -> Fraction:
    """The maker's part of a paid line before rounding: total less the platform's fee,
    times their share of the product (read from the shop's own settings)."""
    from sqlmodel import select

    from accounts.models import User
    from catalog.models import Product, ProductMaker, ProductVariant
    from core.db import db
    from income.ledger import commission_rate

    with app.test_request_context(), db.transaction(write=False) as session:
        maker = session.exec(select(User).where(User.email == email)).one()
        variant = session.exec(select(ProductVariant).where(ProductVariant.sku == sku)).one()
        product = session.get(Product, variant.product_id)
        shares = {row.maker_id: row.share_basis_points for row in session.exec(
            select(ProductMaker).where(ProductMaker.product_id == product.id))}
        rate = commission_rate(session, product_id=product.id, workshop_id=product.workshop_id)
    return Fraction(line_total) * Fraction(10000 - rate, 10000) * Fraction(
        shares[maker.id], sum(shares.values()))


def test_operator_confirms_an_offline_payment_and_the_maker_earns_their_share(
        live_server, app, new_page, shots):
    # The maker looks at their month first, in a browser of their own.
    maker = new_page(live_server.url, width=1280)
    sign_in(maker, live_server.url, MAKER, DEMO_PASSWORD)
    maker.get_by_role("navigation", name="主菜单").get_by_role("link", name="我的收入").click()
    before = read_dashboard(maker)
    shots.take(maker, "maker-before")

    # A guest buys the plum-knot set, to pay at the metro cart.
    guest = new_page(live_server.url, width=1280)
    guest.goto("/")
    fill_cart(guest)
    fill_checkout(guest)
    guest.get_by_role("button", name="提交订单").click()
    expect(guest.get_by_role("heading", level=1)).to_have_text("订单已提交")
    number = guest.locator(".panel-confirmation strong").inner_text()
    assert re.fullmatch(r"GF\d{6}-[0-9A-Z]+", number), number
    expect(payment_tag(guest)).to_have_text(re.compile(r"^付款：\s*等待付款$"))
    lines = guest.get_by_role("table", name="你买的商品")
    expect(lines.get_by_role("row").filter(has_text="梅花盘扣 十对装")).to_contain_text("¥68.00")
    shots.take(guest, "order-waiting")

    # An unpaid order earns the maker nothing yet.
    maker.reload()
    assert read_dashboard(maker)["earned"] == before["earned"]

    # The operator finds the order among those waiting for payment and confirms it.
    operator = new_page(live_server.url, width=1280)
    sign_in(operator, live_server.url, DEMO_OPERATOR_EMAIL, DEMO_PASSWORD)
    operator.get_by_role("navigation", name="主菜单").get_by_role("link", name="运营人员").click()
    operator.get_by_role("main").get_by_role("link", name="订单和退款").click()
    operator.get_by_label("付款", exact=True).select_option(label="等待付款")
    operator.get_by_role("button", name="显示").click()
    waiting = operator.get_by_role("table").get_by_role("row").filter(has_text="GF")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text("等待付款")
    waiting.get_by_role("link", name=number).click()
    expect(operator.get_by_role("heading", level=1)).to_contain_text(number)
    line_total = fen(operator.get_by_role("table", name="订单商品").get_by_role("row")
                     .filter(has_text="PK-PLUM-RED").locator("td").last.inner_text())
    shots.take(operator, "order-before-confirming")
    # What arrived: the whole amount, by bank transfer, with the bank's reference.
    paying = operator.locator("form[action$='/mark-paid']")
    due = fen(paying.get_by_text(re.compile("^应付：")).inner_text().split("：", 1)[1])
    paying.get_by_label("收到的金额（元）").fill(f"{due / 100:.2f}")
    paying.get_by_label("银行转账").check()
    paying.get_by_label("流水号").fill("ICBC-20261206-0042")
    paying.get_by_role("button", name="记为已付款").click()
    expect(operator.get_by_role("status")).to_have_text(f"订单 {number} 已记为已付款。")
    expect(payment_tag(operator)).to_have_text(re.compile(r"^付款：\s*已付款$"))
    expect(operator.get_by_role("button", name="记为已付款")).to_have_count(0)
    expect(operator.get_by_role("main")).to_contain_text("银行转账: ICBC-20261206-0042")
    shots.take(operator, "order-paid")

    # The guest's order link says so too.
    guest.reload()
    expect(payment_tag(guest)).to_have_text(re.compile(r"^付款：\s*已付款$"))

    # The maker's month grew by their share of the line, to the fen.
    maker.reload()
    after = read_dashboard(maker)
    shots.take(maker, "maker-after")
    share = exact_share(app, MAKER, "PK-PLUM-RED", line_total)
    gained = after["earned"] - before["earned"]
    assert abs(gained - share) < 1, (gained, float(share))
    count_before, amount_before = before["sold"]["梅花盘扣 十对装"]
    assert after["sold"]["梅花盘扣 十对装"] == (count_before + 1, amount_before + gained)
    assert after["places"]["网店"] == before["places"].get("网店", 0) + gained
    assert list(after["months"].values())[-1] == after["earned"]
