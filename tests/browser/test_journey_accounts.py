"""Journeys through the account pages, asserting what a person sees (in Chinese, the default).

Each journey starts on the home page of a fresh demo shop served for real, on SQLite and
on PostgreSQL, and saves screenshots of its key steps.
"""

import re

import pytest
from playwright.sync_api import expect

from core.demo import DEMO_OPERATOR_EMAIL, DEMO_PASSWORD
from tests.browser.helpers import FocusWalker, main_menu, run_axe, sign_in

pytestmark = pytest.mark.browser


def test_register_shows_every_mistake_then_creates_the_account(live_server, new_page, shots,
                                                               axe_url):
    page = new_page(live_server.url, width=1280)
    page.goto("/")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="注册账户").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("注册账户")
    shots.take(page, "register-empty")

    page.get_by_label("你的名字").fill("王小明")
    page.get_by_label("邮箱").fill("not-an-email")
    page.get_by_label("手机号").fill("123")
    page.get_by_label("密码", exact=True).fill("short")
    page.get_by_label("再输一次密码").fill("different-password")
    page.get_by_role("button", name="注册").click()

    # GOV.UK pattern: the title says there is an error, the summary takes focus...
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^错误："))
    expect(summary.get_by_role("heading")).to_have_text("有问题需要处理")
    # ...and links to each field with a mistake, in the order of the form.
    links = summary.get_by_role("link")
    expect(links).to_have_text(["请按正确格式填写邮箱，比如 name@example.com",
                                "请填写11位手机号，比如 13812345678",
                                "密码要有10到200个字符",
                                "两次输入的密码不一样"])
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == ["#email", "#phone", "#password", "#password_again"]
    # Each field shows its own message, tied to it for screen readers.
    expect(page.locator("#email-error")).to_contain_text("请按正确格式填写邮箱")
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email")).to_have_attribute("aria-describedby",
                                                     re.compile(r"\bemail-error\b"))
    expect(page.locator("#password_again-error")).to_contain_text("两次输入的密码不一样")
    # What was typed is kept, except the passwords.
    expect(page.locator("#display_name")).to_have_value("王小明")
    expect(page.locator("#email")).to_have_value("not-an-email")
    expect(page.locator("#phone")).to_have_value("123")
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator("#password_again")).to_have_value("")
    assert run_axe(page, axe_url) == []
    shots.take(page, "register-errors")

    # A summary link takes the person to the field.
    links.nth(1).click()
    expect(page.locator("#phone")).to_be_focused()

    page.locator("#email").fill("wang.xiaoming@example.com")
    page.locator("#phone").fill("13812345678")
    page.locator("#password").fill("a-long-password-1")
    page.locator("#password_again").fill("a-long-password-1")
    page.get_by_role("button", name="注册").click()

    expect(page.get_by_role("status")).to_contain_text("欢迎你，王小明。你的账户已经开好了。")
    expect(page).not_to_have_title(re.compile(r"^错误"))
    main_nav = page.get_by_role("navigation", name="主菜单")
    expect(main_nav.get_by_role("link", name="我的账户")).to_be_visible()
    expect(main_nav.get_by_role("button", name="退出登录")).to_be_visible()
    shots.take(page, "registered")


def _tab_to_menu_link(walker, page, text: str) -> None:
    """Tab to a main-menu link; on a phone, open the folded menu with its button first."""
    stop = walker.tab_to(lambda stop: (stop.tag == "a" and stop.text == text) or (
        stop.tag == "button" and stop.text == "菜单"))
    if stop.tag == "button":
        toggle = page.get_by_role("button", name="菜单")
        if toggle.get_attribute("aria-expanded") != "true":
            page.keyboard.press("Enter")
            expect(toggle).to_have_attribute("aria-expanded", "true")
        walker.tab_to(lambda stop: stop.tag == "a" and stop.text == text)


@pytest.mark.parametrize("width", [320, 1280])
def test_sign_in_with_the_keyboard_alone(live_server, new_page, shots, width):
    page = new_page(live_server.url, width=width)
    page.goto("/")
    walker = FocusWalker(page)

    # The first Tab shows the skip link.
    first = walker.press("Tab")
    assert first is not None and first.text == "跳到主要内容"
    shots.take(page, "skip-link")

    _tab_to_menu_link(walker, page, "登录")
    walker.follow("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")

    walker.tab_to(lambda stop: stop.id == "login")
    walker.type(DEMO_OPERATOR_EMAIL)
    assert walker.press("Tab").id == "password"
    walker.type("typed-in-the-wrong-box")
    assert walker.press("Shift+Tab").id == "login"  # back again with Shift+Tab
    expect(page.locator("#login")).to_have_value(DEMO_OPERATOR_EMAIL)
    assert walker.press("Tab").id == "password"
    page.keyboard.press("Control+A")
    walker.type(DEMO_PASSWORD)
    assert walker.press("Tab").id == "remember"
    walker.press("Space")
    expect(page.locator("#remember")).to_be_checked()
    shots.take(page, "login-filled")
    button = walker.press("Tab")
    assert button.tag == "button" and button.text == "登录"
    walker.follow("Enter")

    expect(page.get_by_role("status")).to_contain_text("你已登录。")
    nav = main_menu(page)
    expect(nav.get_by_role("link", name="运营人员")).to_be_visible()
    shots.take(page, "signed-in")

    # Onward by keyboard to the operator's page.
    _tab_to_menu_link(walker, page, "运营人员")
    walker.follow("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("运营人员")
    walker.tab_to(lambda stop: stop.tag == "a" and stop.text == "工坊")
    shots.take(page, "operator-focus")
    assert len(walker.stops) > 8


def test_operator_adds_a_workshop_and_a_member(live_server, new_page, shots):
    page = new_page(live_server.url, width=1280)
    sign_in(page, live_server.url, DEMO_OPERATOR_EMAIL, DEMO_PASSWORD)
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="运营人员").click()
    page.get_by_role("main").get_by_role("link", name="工坊").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("工坊")
    page.get_by_role("link", name="添加工坊").click()

    # A mistake first: the web address name has capitals and a space.
    page.get_by_label("名称", exact=True).fill("海曙手语咖啡工坊")
    page.locator("#slug").fill("Haishu Cafe")
    page.get_by_role("button", name="添加工坊").click()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    expect(page.locator("#slug-error")).to_contain_text("只能用小写字母、数字和短横线")
    expect(page.locator("#name")).to_have_value("海曙手语咖啡工坊")
    shots.take(page, "workshop-error")

    page.locator("#slug").fill("haishu-sign-cafe")
    page.locator("#name_en").fill("Haishu Sign-Language Cafe")
    page.locator("#district").fill("海曙区")
    page.locator("#story").fill("聋人咖啡师用手语点单，顾客可以看着图片菜单点咖啡。")
    page.get_by_role("button", name="添加工坊").click()
    expect(page.get_by_role("status")).to_contain_text("已添加海曙手语咖啡工坊。")
    expect(page.get_by_role("heading", level=1)).to_have_text("海曙手语咖啡工坊")
    expect(page.get_by_role("table", name="成员")).to_contain_text("还没有成员")
    shots.take(page, "workshop-added")

    # Someone without an account cannot be added; the message says what to do.
    page.locator("#login").fill("nobody@example.com")
    page.get_by_role("button", name="添加成员").click()
    expect(page.locator("#login-error")).to_contain_text("请让手艺人先注册")
    expect(page.locator("#login")).to_have_value("nobody@example.com")

    page.locator("#login").fill("shopper@demo.gongfang.cn")
    page.locator("#is_coordinator").check()
    page.get_by_role("button", name="添加成员").click()
    expect(page.get_by_role("status")).to_contain_text("顾客小李 已经是成员了。")
    row = page.get_by_role("table", name="成员").get_by_role("row").filter(has_text="顾客小李")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("是")
    shots.take(page, "member-added")

    # The new workshop is in the list with one member.
    page.goto("/operator/workshops")
    new_row = page.get_by_role("row").filter(has_text="海曙手语咖啡工坊")
    expect(new_row).to_contain_text("1")


@pytest.mark.parametrize(("width", "locale"), [(320, "en"), (1280, "zh_Hans_CN")])
def test_focus_stays_clear_of_the_header_down_and_up_a_long_page(live_server, new_page, shots,
                                                                  width, locale):
    """Tab down a workshop's twelve members and Shift+Tab back up: going up, the browser
    scrolls each control to the top, where a tall sticky header would cover it."""
    page = new_page(live_server.url, width=width, locale=locale, height=640)
    sign_in(page, live_server.url, DEMO_OPERATOR_EMAIL, DEMO_PASSWORD)
    page.goto("/operator/workshops")
    # The workshop's English name on English pages (it has one), its own on Chinese ones.
    name = "Hexin Knot-Button Workshop" if locale == "en" else "和信残疾人之家·盘扣共富工坊"
    page.get_by_role("link", name=name).click()
    remove_buttons = page.locator("main table button")
    expect(remove_buttons).to_have_count(12)

    walker = FocusWalker(page)
    walker.tab_to(lambda stop: stop.id == "login")  # past every Remove button
    shots.take(page, "bottom")
    # The first control of the menu: its Home link, or on a phone its Menu button.
    walker.tab_to(lambda stop: (stop.tag == "a" and stop.text in ("Home", "首页")) or (
        stop.tag == "button" and stop.text in ("Menu", "菜单")), backwards=True)
    buttons_seen = [s for s in walker.stops if s.tag == "button"]
    assert len(buttons_seen) >= 24  # each Remove button, down and back up
