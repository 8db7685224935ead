"""A new product's way to the shelf: a workshop coordinator drafts it with a photo and
its description, an operator publishes it, a shopper finds it by search.

Runs on a fresh demo shop served for real, on SQLite and on PostgreSQL, asserting what
each person sees (in Chinese, the default), with screenshots of the key steps.
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from core.demo import DEMO_OPERATOR_EMAIL, DEMO_PASSWORD
from tests.browser.conftest import ROLE_ACCOUNTS
from tests.browser.helpers import picture_loaded, sign_in

pytestmark = pytest.mark.browser

COORDINATOR = ROLE_ACCOUNTS["maker"]  # 王秀英 coordinates the knot-button workshop
WORKSHOP = "和信残疾人之家·盘扣共富工坊"
TITLE = "平安结手机挂绳"
ALT = "一根红色平安结手机挂绳，放在白色桌面上"


def photo_jpeg() -> bytes:
    """A real photo-sized JPEG: a red knot drawn on a light table."""
    picture = Image.new("RGB", (900, 600), (245, 240, 230))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((330, 180, 570, 420), outline=(190, 20, 40), width=28)
    draw.line((450, 420, 450, 580), fill=(190, 20, 40), width=14)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def choose_photo(page) -> None:
    page.get_by_label("照片（JPG、PNG 或 WebP，不超过 10 MB）").set_input_files(
        {"name": "pingan-knot.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg()})


def test_coordinator_lists_a_product_operator_publishes_it_shopper_finds_it(
        live_server, new_page, shots):
    maker = new_page(live_server.url, width=1280)
    sign_in(maker, live_server.url, COORDINATOR, DEMO_PASSWORD)
    maker.get_by_role("navigation", name="主菜单").get_by_role("link", name="我的商品").click()
    expect(maker.get_by_role("heading", level=1)).to_have_text("我的商品")
    maker.get_by_role("link", name=f"给{WORKSHOP}添加商品").click()
    expect(maker.get_by_role("heading", level=1)).to_have_text(f"给{WORKSHOP}添加商品")

    maker.get_by_label("中文名称").fill(TITLE)
    maker.get_by_label("分类").select_option(label="盘扣")
    maker.get_by_label("中文介绍（可选）").fill("手工编的平安结，挂在手机上，也可以挂在包上。")
    version = maker.get_by_role("group", name="款式 1")
    version.get_by_label("款式（颜色、尺寸）（可选）").fill("中国红")
    version.get_by_label("货号").fill("PK-PINGAN-RED")
    version.get_by_label("价格（元）").fill("36")
    version.get_by_label("库存").fill("15")
    makers = maker.get_by_role("group", name="谁做的，以及他们的收入分成")
    makers.get_by_label("手艺人（可选）").nth(0).select_option(label="王秀英")
    makers.get_by_label("分成比例（%）（可选）").nth(0).fill("60")
    makers.get_by_label("手艺人（可选）").nth(1).select_option(label="刘玉兰")
    makers.get_by_label("分成比例（%）（可选）").nth(1).fill("40")
    shots.take(maker, "draft-filled")
    maker.get_by_role("button", name="保存", exact=True).click()
    expect(maker.get_by_role("status")).to_have_text("草稿已保存。请加上照片，再提交审核。")
    expect(maker.get_by_role("heading", level=1)).to_have_text(f"修改{TITLE}")
    expect(maker.get_by_role("main")).to_contain_text("状态： 草稿")
    photos = maker.get_by_role("region", name="照片")
    expect(photos).to_contain_text("还没有照片。")

    # A photo without its description is refused, GOV.UK style, and nothing is kept.
    choose_photo(maker)
    maker.get_by_role("button", name="添加照片").click()
    expect(maker).to_have_title(re.compile(r"^错误："))
    summary = maker.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(["请为看不见照片的人描述这张照片"])
    expect(maker.locator("#alt-error")).to_contain_text("请为看不见照片的人描述这张照片")
    expect(maker.locator("#alt")).to_have_attribute("aria-invalid", "true")
    shots.take(maker, "photo-without-description")

    choose_photo(maker)
    maker.get_by_label("用中文描述这张照片").fill(ALT)
    maker.get_by_role("button", name="添加照片").click()
    expect(maker.get_by_role("status")).to_have_text("照片已添加。")
    photo = maker.get_by_role("region", name="照片").get_by_role("img", name=ALT)
    expect(photo).to_have_count(1)
    assert picture_loaded(photo)
    shots.take(maker, "photo-added")

    maker.get_by_role("button", name="提交审核").click()
    expect(maker.get_by_role("status")).to_have_text("已提交审核。上架后我们会告诉你。")
    expect(maker.get_by_role("main")).to_contain_text("状态： 等待审核")
    expect(maker.get_by_role("button", name="提交审核")).to_have_count(0)

    # Not on sale yet: a shopper's search does not find it.
    shopper = new_page(live_server.url, width=320, height=800)
    shopper.goto("/")
    search(shopper, "平安结")
    expect(shopper.get_by_role("heading", name="找到 0 件商品")).to_be_visible()

    # The operator finds it in the review queue, checks it and publishes it.
    operator = new_page(live_server.url, width=1280)
    sign_in(operator, live_server.url, DEMO_OPERATOR_EMAIL, DEMO_PASSWORD)
    operator.get_by_role("navigation", name="主菜单").get_by_role("link", name="运营人员").click()
    operator.get_by_role("main").get_by_role("link", name="待审核商品").click()
    expect(operator.get_by_role("heading", level=1)).to_have_text("待审核商品")
    queue = operator.get_by_role("table", name="最早的在前")
    row = queue.get_by_role("row").filter(has_text=TITLE)
    expect(row).to_contain_text(WORKSHOP)
    expect(row).to_contain_text("¥36.00")
    row.get_by_role("link", name=TITLE).click()
    expect(operator.get_by_role("heading", level=1)).to_have_text(f"审核{TITLE}")
    # What the reviewer checks: status, category, who made it and their shares.
    facts = operator.get_by_role("main").locator("dl")
    expect(facts).to_contain_text(re.compile(r"状态\s*等待审核"))
    expect(facts).to_contain_text("分得收入的")
    assert picture_loaded(operator.get_by_role("img", name=ALT))
    versions = operator.get_by_role("table", name="款式")
    expect(versions.get_by_role("row").filter(has_text="PK-PINGAN-RED").locator("td")
           ).to_have_text(["¥36.00", "15"])
    shots.take(operator, "review")
    operator.get_by_label("审核结果").select_option(label="上架")
    operator.get_by_role("button", name="保存审核结果").click()
    expect(operator.get_by_role("status")).to_have_text("已上架。")
    expect(operator.get_by_role("main")).to_contain_text("没有等待审核的商品。")

    # The coordinator's list says it is on sale.
    maker.get_by_role("navigation", name="主菜单").get_by_role("link", name="我的商品").click()
    mine = maker.get_by_role("table", name="你的商品").get_by_role("row").filter(has_text=TITLE)
    expect(mine).to_contain_text("在售")

    # A shopper on a phone searches a word inside the name and finds it.
    shopper.goto("/")
    search(shopper, "平安结")
    expect(shopper.get_by_role("heading", level=1)).to_have_text("“平安结”的搜索结果")
    expect(shopper.get_by_role("heading", name="找到 1 件商品")).to_be_visible()
    card = shopper.locator(".product-card").filter(has_text=TITLE)
    expect(card).to_contain_text(WORKSHOP)
    expect(card).to_contain_text("¥36.00")
    assert picture_loaded(card.get_by_role("img", name=ALT))
    shots.take(shopper, "search-finds-it")
    card.get_by_role("link", name=TITLE).click()
    expect(shopper.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(shopper.get_by_role("main")).to_contain_text("¥36.00")
    assert picture_loaded(shopper.get_by_role("main").get_by_role("img", name=ALT).first)
    shots.take(shopper, "product-page")


def search(page, words: str) -> None:
    """Search from the home page's search box, as a shopper would."""
    box = page.get_by_role("search").get_by_label("搜索商品")
    box.fill(words)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/products\?"))
