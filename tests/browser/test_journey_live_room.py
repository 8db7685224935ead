"""The live room in two browsers: the deaf presenter runs it from the control room on a
tablet while a viewer sees every change arrive without a reload, asks, reads the
answer and the captions, and buys at the live price; then a viewer does it all by
keyboard alone. On the demo shop served for real, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from core.demo import DEMO_PASSWORD
from tests.browser.helpers import FocusWalker, sign_in

pytestmark = pytest.mark.browser

ROOM = "/live/live-now"
HOST = "host.yang@demo.gongfang.cn"
VIEWER = "shopper@demo.gongfang.cn"
BROOCH = "蝴蝶盘扣胸针"


def _variant_id(app, slug):
    from catalog.models import Product, ProductVariant
    from core.db import db

    with app.app_context(), db.transaction(write=False) as session:
        return session.exec(select(ProductVariant.id).join(
            Product, Product.id == ProductVariant.product_id).where(Product.slug == slug)).first()


def _lines_of(app, email):
    from core.db import db
    from shop.models import Order, OrderLine

    with app.app_context(), db.transaction(write=False) as session:
        return session.exec(select(OrderLine.product_name, OrderLine.unit_price_amount,
                                   OrderLine.live_session_id, OrderLine.live_price_id)
                            .join(Order, Order.id == OrderLine.order_id)
                            .where(Order.email == email)).all()


def _check_out_from_the_contact_page(page):
    """Contact (known from the account), pick-up at a sales point, offline payment."""
    expect(page.get_by_role("heading", level=1)).to_have_text("你的联系方式")
    page.get_by_role("button", name="继续").click()
    page.get_by_role("radio", name="到销售点自提").check()
    page.get_by_role("button", name="继续").click()
    page.get_by_role("radio", name=re.compile("鼓楼地铁站")).check()
    page.get_by_role("button", name="继续").click()
    page.get_by_role("radio", name=re.compile("银行转账")).check()
    page.get_by_role("button", name="继续").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("提交订单前请核对信息")


def test_host_runs_the_room_while_a_viewer_follows_asks_and_buys_at_the_live_price(
        live_server, app, new_page, shots):
    host = new_page(live_server.url, width=768, height=1000)
    sign_in(host, live_server.url, HOST, DEMO_PASSWORD)
    host.goto(f"{ROOM}/control")
    expect(host.get_by_role("heading", level=1)).to_contain_text("直播控制台")

    viewer = new_page(live_server.url, width=1280)
    sign_in(viewer, live_server.url, VIEWER, DEMO_PASSWORD)
    viewer.goto(ROOM)
    viewer.evaluate("window.sameRoom = true")  # gone if the page ever reloads
    expect(viewer.locator("[data-connection]")).to_have_text("这里的变化会自动出现。")
    viewer_status = viewer.locator("#status-region")

    # The host shows the brooch: the viewer's "showing now" changes and is announced.
    host.get_by_role("button", name=f"讲解 {BROOCH}").click()
    expect(host.locator("#status-region")).to_contain_text(f"讲解中：{BROOCH}")
    expect(viewer.locator("[data-now-title]")).to_have_text(BROOCH)
    expect(viewer_status).to_contain_text(f"讲解中：{BROOCH}")
    brooch = viewer.locator(f"#room-product-{_product_id(app, 'pankou-butterfly')}")
    expect(brooch.locator("[data-pinned-badge]")).to_be_visible()
    shots.take(viewer, "viewer-sees-the-pin")

    # A live price for it, ready in the form once the control room shows the pin.
    host.reload()
    expect(host.get_by_label("商品", exact=True)).to_have_value(
        str(_variant_id(app, "pankou-butterfly")))
    host.get_by_label("直播价（元）").fill("29.00")
    host.get_by_label("直播价的数量").fill("10")
    host.get_by_label("每人最多能买").fill("2")
    host.get_by_label("倒计时（秒）").fill("300")
    host.get_by_role("button", name="开始直播价").click()
    expect(host.locator("#status-region")).to_contain_text("直播价 ¥29.00 开始了，共 10 件。")
    shots.take(host, "host-started-the-live-price")
    expect(brooch.locator(".price-line")).to_have_text("直播价 ¥29.00（原价 ¥39.00）")
    expect(viewer.locator("[data-now-countdown]")).to_be_visible()
    expect(viewer.locator("[data-countdown-clock]")).to_have_text(re.compile(r"^[45]:\d\d$"))
    expect(viewer_status).to_contain_text("直播价 ¥29.00")

    # The viewer asks; the host sees the card and its count, answers in text.
    question = "蝴蝶胸针背面是别针吗？"
    viewer.get_by_label("你的问题或留言").fill(question)
    viewer.get_by_role("button", name="发送", exact=True).click()
    expect(viewer_status).to_contain_text("你的留言已经发到直播间。")
    expect(viewer.locator("[data-messages]")).to_contain_text(question)
    card = host.locator("[data-question-cards] > li").filter(has_text=question)
    expect(card).to_be_visible()
    expect(host.locator("[data-alert-questions]")).to_have_text("1")
    card.get_by_label("用文字回答").fill("是的，背面是别针。")
    card.get_by_role("button", name="回答").click()
    expect(viewer.locator("[data-messages]")).to_contain_text("主播回答： 是的，背面是别针。")
    expect(viewer_status).to_contain_text("主播回答：是的，背面是别针。")

    # Live captions over the picture.
    host.get_by_label("字幕", exact=True).fill("这是蝴蝶盘扣胸针，背面是别针。")
    host.get_by_role("button", name="发送字幕").click()
    expect(viewer.locator("[data-caption-line]")).to_have_text("这是蝴蝶盘扣胸针，背面是别针。")
    shots.take(viewer, "viewer-sees-price-answer-captions")
    assert viewer.evaluate("window.sameRoom") is True

    # The viewer buys one at the live price, from the room.
    brooch.get_by_role("button", name=re.compile("^立即购买")).click()
    _check_out_from_the_contact_page(viewer)
    expect(viewer.locator("main")).to_contain_text("¥29.00")
    viewer.get_by_role("button", name="提交订单").click()
    expect(viewer.get_by_role("heading", level=1)).to_have_text("订单已提交")
    # The shopper's earlier (demo) orders are at normal prices; this one is the live one.
    assert [(name, price) for name, price, _session, live_price in _lines_of(app, VIEWER)
            if live_price is not None] == [(BROOCH, 2900)]
    expect(host.locator("[data-control-ticker]")).to_contain_text(f"{BROOCH} ×1")
    expect(host.locator("[data-alert-orders]")).to_have_text("1")
    shots.take(host, "host-sees-the-order")


def _product_id(app, slug):
    from catalog.models import Product
    from core.db import db

    with app.app_context(), db.transaction(write=False) as session:
        return session.exec(select(Product.id).where(Product.slug == slug)).one()


def test_a_viewer_follows_the_room_and_buys_by_keyboard_alone(live_server, app, new_page,
                                                             shots):
    page = new_page(live_server.url, width=1280, height=720)
    sign_in(page, live_server.url, VIEWER, DEMO_PASSWORD)
    page.goto(ROOM)
    walker = FocusWalker(page)

    # The captions toggle, by Space: pressed off and on again.
    captions = page.get_by_role("button", name="字幕", exact=True)
    walker.tab_to(lambda stop: stop.tag == "button" and stop.text == "字幕")
    walker.press("Space")
    expect(captions).to_have_attribute("aria-pressed", "false")
    walker.press("Space")
    expect(captions).to_have_attribute("aria-pressed", "true")

    # "Buy it" in "showing now" goes to the product's card; Tab goes on from there.
    walker.tab_to(lambda stop: stop.tag == "a" and stop.text == "去购买")
    walker.press("Enter")
    stop = walker.tab_to(lambda stop: stop.tag == "button" and stop.text.startswith("立即购买"))
    assert "梅花盘扣" in stop.text
    shots.take(page, "buy-now-focused", full_page=False)

    # First a question, by keyboard: pause the chat's scrolling, type, send.
    walker.tab_to(lambda stop: stop.tag == "button" and stop.text == "暂停滚动")
    walker.press("Space")
    expect(page.get_by_role("button", name="继续滚动")).to_have_attribute("aria-pressed", "true")
    walker.tab_to(lambda stop: stop.tag == "textarea")
    walker.type("红色的还有吗？")
    walker.tab_to(lambda stop: stop.tag == "button" and stop.text == "发送")
    walker.press("Enter")
    expect(page.locator("[data-messages]")).to_contain_text("红色的还有吗？")
    expect(page.locator("#status-region")).to_contain_text("你的留言已经发到直播间。")

    # Back to the product and through the checkout.
    walker.tab_to(lambda stop: stop.tag == "button" and stop.text.startswith("立即购买")
                  and "梅花盘扣" in stop.text, backwards=True)
    walker.follow("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("你的联系方式")
    walker.tab_to(lambda stop: stop.text == "继续")
    walker.follow("Enter")
    walker.tab_to(lambda stop: stop.id == "method-0")
    walker.press("ArrowDown")
    expect(page.get_by_role("radio", name="到销售点自提")).to_be_checked()
    walker.tab_to(lambda stop: stop.text == "继续")
    walker.follow("Enter")
    walker.tab_to(lambda stop: stop.id == "point-0")
    walker.press("Space")
    walker.tab_to(lambda stop: stop.text == "继续")
    walker.follow("Enter")
    walker.tab_to(lambda stop: stop.tag == "input" and stop.id.startswith("method-"))
    walker.press("Space")
    walker.tab_to(lambda stop: stop.text == "继续")
    walker.follow("Enter")
    walker.tab_to(lambda stop: stop.tag == "button" and stop.text == "提交订单")
    walker.follow("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("订单已提交")
    lines = _lines_of(app, VIEWER)
    live_id = _live_id(app)
    assert any(name.startswith("梅花盘扣") and session_id == live_id
               for name, _price, session_id, _lp in lines)
    shots.take(page, "bought-by-keyboard")


def _live_id(app):
    from core.db import db
    from livestream.models import LiveSession

    with app.app_context(), db.transaction(write=False) as session:
        return session.exec(select(LiveSession.id).where(LiveSession.slug == "live-now")).one()
