"""A shopper's journeys: search, filter, buy as a guest, follow the order (in Chinese, the default).

Each journey starts on the home page of a fresh demo shop served for real, with CSRF on,
on SQLite and on PostgreSQL, and saves screenshots of its key steps.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import FocusWalker, describe_violations, picture_loaded, run_axe
from tests.browser.shop_steps import mail_to, order_link_in, order_of, variant_stock

pytestmark = pytest.mark.browser

GUEST = {"name": "陈小红", "email": "chen.xiaohong@example.cn"}
PICKUP_AT_METRO = "鼓楼地铁站小黄车（鼓楼地铁站站厅，每天 10:00-16:00）"
PAY_OFFLINE = "自提时付款或银行转账"


def _continue(page) -> None:
    page.get_by_role("main").get_by_role("button", name="继续").click()


def _photo_shows(page, alt: str) -> None:
    """The photo is there and has loaded (not a broken image showing its alt text)."""
    photo = page.get_by_role("img", name=alt)
    expect(photo).to_be_visible()
    assert picture_loaded(photo), f"the photo {alt} did not load"


def _rows_stack(rows) -> None:
    """Each row is full width, under the one before (not two rows side by side)."""
    # Measured before every stylesheet has arrived, the rows are laid out by half the rules.
    rows.page.wait_for_load_state("load")
    boxes = [rows.nth(i).bounding_box() for i in range(rows.count())]
    assert len(boxes) > 1
    assert {(round(b["x"]), round(b["width"])) for b in boxes} == {
        (round(boxes[0]["x"]), round(boxes[0]["width"]))}, boxes
    assert all(upper["y"] + upper["height"] <= lower["y"] + 0.5
               for upper, lower in zip(boxes, boxes[1:], strict=False)), boxes


def test_guest_searches_filters_buys_and_follows_the_order_link(live_server, app, new_page,
                                                                  shots):
    app.config["BASE_URL"] = live_server.url  # the link in the mail leads to this server
    stock_before = variant_stock(app, "PK-BFLY")
    page = new_page(live_server.url, width=1280)
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("残疾人手艺人的好物")

    search = page.get_by_role("search")
    search.get_by_label("搜索商品").fill("盘扣")
    search.get_by_role("button", name="搜索").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("“盘扣”的搜索结果")
    results = page.get_by_role("region", name=re.compile("件商品"))
    expect(results.get_by_role("heading", level=2)).to_have_text("找到 4 件商品")
    expect(results.get_by_role("heading", level=3)).to_have_text(
        ["手工一字盘扣 十对装", "盘扣书签 三枚", "蝴蝶盘扣胸针", "梅花盘扣 十对装"])
    shots.take(page, "search-results")

    # Only what costs up to ¥50 and is in stock: the ¥68 plum-knot set drops out.
    filters = page.get_by_role("search", name="搜索和筛选")
    expect(filters.get_by_label("搜索商品")).to_have_value("盘扣")
    filters.get_by_role("textbox", name=re.compile(r"^到")).fill("50")
    filters.get_by_label("只看有货的").check()
    filters.get_by_role("button", name="查看商品").click()
    expect(results.get_by_role("heading", level=2)).to_have_text("找到 2 件商品")
    expect(results.get_by_role("heading", level=3)).to_have_text(["盘扣书签 三枚", "蝴蝶盘扣胸针"])
    expect(page.get_by_role("search", name="搜索和筛选").get_by_label("只看有货的")).to_be_checked()
    shots.take(page, "filtered")

    results.get_by_role("link", name="蝴蝶盘扣胸针").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("蝴蝶盘扣胸针")
    expect(page.locator("#stock-left")).to_have_text(f"还剩 {stock_before} 件")
    _photo_shows(page, "一只蓝色蝴蝶形状的盘扣胸针")
    page.get_by_label("数量").fill("1")
    page.get_by_role("button", name="加入购物车").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("你的购物车")
    expect(page.get_by_role("status")).to_contain_text("蝴蝶盘扣胸针 已在购物车里（1 件）。")
    cart = page.get_by_role("table", name="购物车里的商品")
    expect(cart.get_by_role("rowheader")).to_have_text(["蝴蝶盘扣胸针", "总价"])
    expect(cart).to_contain_text("¥39.00")
    shots.take(page, "cart")
    page.get_by_role("link", name="去结账").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("你的联系方式")
    page.get_by_label("你的名字").fill(GUEST["name"])
    page.get_by_label("邮箱").fill(GUEST["email"])
    _continue(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("你想怎样拿到商品？")
    page.get_by_role("radio", name="到销售点自提").check()
    _continue(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("你在哪里自提？")
    page.get_by_role("radio", name=PICKUP_AT_METRO).check()
    shots.take(page, "pickup")
    _continue(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("你想怎样付款？")
    # Without card keys paying offline is the only way, and it is chosen already.
    expect(page.get_by_role("radio", name=PAY_OFFLINE)).to_be_checked()
    _continue(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("提交订单前请核对信息")
    answers = page.locator("main dl.summary-list")
    for key, value in [("你的名字", GUEST["name"]), ("邮箱", GUEST["email"]),
                       ("自提地点", PICKUP_AT_METRO), ("付款", PAY_OFFLINE)]:
        expect(answers.locator(".summary-row").filter(has=page.get_by_text(key, exact=True))
               ).to_contain_text(value)
    _rows_stack(answers.locator(".summary-row"))
    expect(page.get_by_role("table", name="订单里的商品")).to_contain_text("蝴蝶盘扣胸针")
    expect(page.get_by_role("link", name="修改 自提地点")).to_be_visible()
    shots.take(page, "check-answers")
    page.get_by_role("button", name="提交订单").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("订单已提交")
    order = order_of(app, GUEST["email"])
    expect(page.locator(".panel-confirmation")).to_contain_text(f"你的订单号是 {order.number}")
    expect(page.get_by_role("main")).to_contain_text("等待付款")
    expect(page.get_by_role("main")).to_contain_text(f"并写上订单号 {order.number}")
    shots.take(page, "order-placed")

    # The stock is held for the order: one fewer, in the database and on the product page.
    assert variant_stock(app, "PK-BFLY") == stock_before - 1
    page.goto("/products/pankou-butterfly")
    expect(page.locator("#stock-left")).to_have_text(f"还剩 {stock_before - 1} 件")

    # Later, from the confirmation mail, in a browser that has never seen the shop.
    mails = mail_to(app, GUEST["email"])
    assert [m["Subject"] for m in mails] == [f"已收到订单 {order.number}"]
    link = order_link_in(mails[0])
    assert link == f"{live_server.url}/orders/{order.public_token}"
    elsewhere = new_page(live_server.url, width=320)
    elsewhere.goto(link)
    expect(elsewhere.get_by_role("heading", level=1)).to_have_text(f"订单 {order.number}")
    expect(elsewhere).to_have_title(f"订单 {order.number} - 工坊直播")
    lines = elsewhere.get_by_role("table", name="你买的商品")
    expect(lines.locator("tbody tr")).to_have_count(1)
    expect(lines.locator("tbody tr")).to_contain_text("蝴蝶盘扣胸针")
    expect(lines.locator("tbody tr td")).to_have_text(["¥39.00", "1", "¥39.00"])
    tags = elsewhere.locator(".status-tags li")
    expect(tags).to_have_text(["订单： 进行中", "付款： 等待付款", "送货： 还没发货"])
    expect(elsewhere.get_by_role("main")).to_contain_text("到销售点自提：鼓楼地铁站小黄车")
    shots.take(elsewhere, "order-from-mail")


def test_guest_buys_with_the_keyboard_alone(live_server, app, new_page, shots):
    """Tab, Shift+Tab, Enter, Space and arrows only, with focus checked at every stop."""
    red_before, blue_before = variant_stock(app, "PK-PLUM-RED"), variant_stock(app, "PK-PLUM-BLU")
    # Not very tall, so that focus moves the page under the sticky header.
    page = new_page(live_server.url, width=1280, height=640)
    page.goto("/")
    walker = FocusWalker(page)

    walker.tab_to(lambda stop: stop.id == "home-search")
    walker.type("盘扣")
    walker.follow("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("“盘扣”的搜索结果")
    walker.tab_to(lambda stop: stop.tag == "a" and stop.text == "梅花盘扣 十对装")
    walker.follow("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("梅花盘扣 十对装")

    # A radio group: Tab lands on the chosen version, an arrow key chooses the next.
    red = page.get_by_role("radio", name=re.compile("^中国红"))
    blue = page.get_by_role("radio", name=re.compile("^青花蓝"))
    expect(red).to_be_checked()
    walker.tab_to(lambda stop: stop.tag == "input" and stop.id.startswith("variant-"))
    expect(red).to_be_focused()
    walker.press("ArrowDown")
    expect(blue).to_be_checked()
    expect(blue).to_be_focused()
    quantity = page.get_by_label("数量")
    walker.press("Tab")
    expect(quantity).to_be_focused()
    walker.press("ArrowUp")  # one more
    expect(quantity).to_have_value("2")
    walker.press("Shift+Tab")  # back to the group: focus is on the chosen one
    expect(blue).to_be_focused()
    walker.press("Tab")
    button = walker.press("Tab")
    assert (button.tag, button.text) == ("button", "加入购物车")
    shots.take(page, "product-chosen", full_page=False)
    walker.follow("Enter")

    expect(page.get_by_role("status")).to_contain_text(
        "梅花盘扣 十对装（青花蓝） 已在购物车里（2 件）。")
    walker.tab_to(lambda stop: stop.tag == "a" and stop.text == "去结账")
    walker.follow("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("你的联系方式")
    walker.tab_to(lambda stop: stop.id == "name")
    walker.type(GUEST["name"])
    assert walker.press("Tab").id == "email"
    walker.type(GUEST["email"])
    assert walker.press("Tab").id == "phone"
    assert walker.press("Tab").text == "继续"
    walker.follow("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("你想怎样拿到商品？")
    walker.tab_to(lambda stop: stop.id == "method-0")  # nothing chosen yet: the first
    walker.press("ArrowDown")
    expect(page.get_by_role("radio", name="到销售点自提")).to_be_checked()
    assert walker.press("Tab").text == "继续"
    walker.follow("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("你在哪里自提？")
    walker.tab_to(lambda stop: stop.id == "point-0")
    walker.press("ArrowDown")
    walker.press("ArrowDown")
    walker.press("ArrowUp")
    walker.press("ArrowDown")  # the stalls are in name order: the metro cart is third
    expect(page.get_by_role("radio", name=PICKUP_AT_METRO)).to_be_checked()
    expect(page.get_by_role("radio", name=PICKUP_AT_METRO)).to_be_focused()
    shots.take(page, "pickup-by-keyboard", full_page=False)
    assert walker.press("Tab").text == "继续"
    walker.follow("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("你想怎样付款？")
    walker.tab_to(lambda stop: stop.tag == "input" and stop.id.startswith("method-"))
    walker.press("Space")
    expect(page.get_by_role("radio", name=PAY_OFFLINE)).to_be_checked()
    assert walker.press("Tab").text == "继续"
    walker.follow("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("提交订单前请核对信息")
    walker.tab_to(lambda stop: stop.tag == "button" and stop.text == "提交订单")
    shots.take(page, "place-order-focused", full_page=False)
    walker.follow("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("订单已提交")
    order = order_of(app, GUEST["email"])
    expect(page.locator(".panel-confirmation")).to_contain_text(order.number)
    expect(page.get_by_role("table", name="你买的商品")).to_contain_text("青花蓝")
    shots.take(page, "order-placed")
    assert (variant_stock(app, "PK-PLUM-RED"), variant_stock(app, "PK-PLUM-BLU")) == (
        red_before, blue_before - 2)
    # Every stop was checked as it came; the journey made many of them.
    assert len(walker.stops) > 40


def _expect_field_error(page, field_id: str, message: str, value: str) -> None:
    """The GOV.UK inline error: message at the field, tied to it, and what was typed kept."""
    field = page.locator(f"#{field_id}")
    expect(page.locator(f"#{field_id}-error")).to_have_text(f"错误： {message}")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", re.compile(rf"\b{field_id}-error\b"))
    expect(field).to_have_value(value)


def _expect_error_summary(page, links: list[tuple[str, str]]) -> None:
    """Title prefix, a focused summary at the top, one link per wrong field in form order."""
    expect(page).to_have_title(re.compile(r"^错误："))
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("有问题需要处理")
    found = summary.get_by_role("link")
    expect(found).to_have_text([text for _, text in links])
    assert [found.nth(i).get_attribute("href") for i in range(found.count())] == [
        f"#{field_id}" for field_id, _ in links]


def test_checkout_mistakes_show_the_error_pattern_then_go_through(live_server, app, new_page,
                                                                  shots, axe_url):
    page = new_page(live_server.url, width=1280, height=720)
    page.goto("/")
    page.get_by_role("region", name="新品").get_by_role("link", name="盘扣书签 三枚").click()
    page.get_by_role("button", name="加入购物车").click()
    page.get_by_role("link", name="去结账").click()

    # Contact: a bad email address, and a mobile number too short.
    page.get_by_label("你的名字").fill(GUEST["name"])
    page.get_by_label("邮箱").fill("chen.xiaohong#example.cn")
    page.get_by_label("手机号（可选）").fill("1381234")
    _continue(page)
    expect(page).to_have_title("错误：你的联系方式 - 工坊直播")
    _expect_error_summary(page, [("email", "请按正确格式填写邮箱，比如 name@example.com"),
                                 ("phone", "请填写11位手机号，比如 13812345678")])
    _expect_field_error(page, "email", "请按正确格式填写邮箱，比如 name@example.com",
                        "chen.xiaohong#example.cn")
    expect(page.locator("#email")).to_have_attribute("aria-describedby",
                                                     re.compile(r"\bemail-hint\b"))
    _expect_field_error(page, "phone", "请填写11位手机号，比如 13812345678", "1381234")
    expect(page.locator("#name")).to_have_value(GUEST["name"])
    expect(page.locator("#name")).not_to_have_attribute("aria-invalid", "true")
    assert (violations := run_axe(page, axe_url)) == [], describe_violations(violations)
    shots.take(page, "contact-errors")
    page.locator("[data-error-summary]").get_by_role("link").first.click()
    expect(page.locator("#email")).to_be_focused()
    assert not FocusWalker(page).current().problems

    page.locator("#email").fill(GUEST["email"])
    page.locator("#phone").fill("")  # optional: leave it out
    _continue(page)

    # Delivery: continuing without choosing; the summary link goes to the first choice.
    expect(page.get_by_role("heading", level=1)).to_have_text("你想怎样拿到商品？")
    _continue(page)
    _expect_error_summary(page, [("method", "请选择送货上门或自提")])
    expect(page.get_by_role("group", name="你想怎样拿到商品？")).to_have_attribute(
        "aria-describedby", "method-error")
    page.locator("[data-error-summary]").get_by_role("link").click()
    expect(page.get_by_role("radio", name="送货上门")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_role("radio", name="送货上门")).to_be_checked()
    _continue(page)

    # Address: the district left out, a landline where the courier needs a mobile.
    expect(page.get_by_role("heading", level=1)).to_have_text("收货地址")
    page.get_by_label("省").fill("浙江省")
    page.get_by_label("市", exact=True).fill("宁波市")
    page.get_by_label("详细地址").fill("中山西路 138 号 3 单元 201 室")
    page.get_by_label("收货人手机号码").fill("0574-8765432")
    _continue(page)
    expect(page).to_have_title("错误：收货地址 - 工坊直播")
    _expect_error_summary(page, [("district", "请填写区县"),
                                 ("phone", "请填写11位手机号，比如 13812345678")])
    _expect_field_error(page, "district", "请填写区县", "")
    _expect_field_error(page, "phone", "请填写11位手机号，比如 13812345678", "0574-8765432")
    for field_id, value in [("province", "浙江省"), ("city", "宁波市"),
                            ("street", "中山西路 138 号 3 单元 201 室")]:
        expect(page.locator(f"#{field_id}")).to_have_value(value)
        expect(page.locator(f"#{field_id}")).not_to_have_attribute("aria-invalid", "true")
    assert (violations := run_axe(page, axe_url)) == [], describe_violations(violations)
    shots.take(page, "address-errors")

    summary_links = page.locator("[data-error-summary]").get_by_role("link")
    summary_links.nth(1).click()
    expect(page.locator("#phone")).to_be_focused()
    assert not FocusWalker(page).current().problems
    page.keyboard.press("Control+A")
    page.keyboard.type("13812345678")
    summary_links.nth(0).click()
    expect(page.locator("#district")).to_be_focused()
    page.keyboard.type("海曙区")
    _continue(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("你想怎样付款？")
    expect(page).not_to_have_title(re.compile("^错误"))
    _continue(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("提交订单前请核对信息")
    answers = page.locator("main dl.summary-list")
    # No contact mobile number: it was left out.
    expect(answers.locator("dt")).to_have_text(["你的名字", "邮箱", "收货地址", "收货人手机号码",
                                                "付款"])
    expect(answers).to_contain_text("浙江省 宁波市 海曙区 中山西路 138 号 3 单元 201 室")
    expect(answers).to_contain_text("13812345678")
    shots.take(page, "check-answers")
    page.get_by_role("button", name="提交订单").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("订单已提交")
    expect(page.get_by_role("main")).to_contain_text(
        "送货上门：浙江省 宁波市 海曙区 中山西路 138 号")
    assert order_of(app, GUEST["email"]).district == "海曙区"
