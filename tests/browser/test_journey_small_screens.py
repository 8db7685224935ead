"""Phones: the cart's lines reflow at 375 and 320 px in both languages, so Total and
Remove stay in view without sideways scrolling (WCAG 1.4.10)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import fill_cart
from tests.browser.helpers import describe_violations, horizontal_scroll, run_axe

pytestmark = pytest.mark.browser


def _inside_the_window(page, locator) -> None:
    box = locator.bounding_box()
    width = page.evaluate("() => window.innerWidth")
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (
        box, width)


@pytest.mark.parametrize(("locale", "width", "total", "remove"), [
    ("en", 375, "Total", "Remove"),
    ("en", 320, "Total", "Remove"),
    ("zh_Hans_CN", 320, "总价", "删除"),
])
def test_the_cart_reflows_on_a_phone(live_server, new_page, shots, axe_url, locale, width,
                                     total, remove):
    page = new_page(live_server.url, width=width, locale=locale)
    fill_cart(page)
    # A second, long line: the plum set in its other colour.
    page.goto("/products/pankou-plum-set")
    page.locator("form.add-to-cart input[type=radio]").last.check()
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/cart")
    page.wait_for_load_state("load")
    shots.take(page, f"cart-{locale}-{width}")
    assert horizontal_scroll(page) is None
    scroll = page.evaluate(
        "() => { const box = document.querySelector('.table-scroll');"
        " return box.scrollWidth - box.clientWidth; }")
    assert scroll <= 0, f"the cart's table scrolls {scroll}px sideways in its box"
    table = page.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(4)  # header, two lines, the total
    for button in table.get_by_role("button", name=remove).all():
        expect(button).to_be_visible()
        _inside_the_window(page, button)
    grand_total = table.get_by_role("rowheader", name=total, exact=True)
    expect(grand_total).to_be_visible()
    _inside_the_window(page, grand_total)
    line_totals = page.locator("td[data-label]").filter(has_text="¥")
    for cell in line_totals.all():
        _inside_the_window(page, cell)
    violations = run_axe(page, axe_url)
    assert not violations, describe_violations(violations)


def test_the_menu_folds_on_a_phone_and_opens_by_keyboard(live_server, new_page, shots,
                                                         axe_url):
    from core.demo import DEMO_PASSWORD
    from tests.browser.conftest import ROLE_ACCOUNTS
    from tests.browser.helpers import sign_in

    page = new_page(live_server.url, width=375, height=800)
    sign_in(page, live_server.url, ROLE_ACCOUNTS["maker"], DEMO_PASSWORD)
    page.goto("/")
    page.wait_for_load_state("load")
    nav = page.get_by_role("navigation", name="主菜单")
    toggle = nav.get_by_role("button", name="菜单")
    income = nav.get_by_role("link", name="我的收入")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(income).to_be_hidden()
    # Closed, the header is the brand and language row plus the button: about two rows.
    header = page.locator(".site-header").bounding_box()
    assert header["height"] <= 150, header
    shots.take(page, "menu-closed", full_page=False)

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(income).to_be_visible()
    page.keyboard.press("Tab")  # the first link follows the button
    assert page.evaluate("() => document.activeElement.closest('#main-nav-links') !== null")
    shots.take(page, "menu-open", full_page=False)
    violations = run_axe(page, axe_url)
    assert not violations, describe_violations(violations)
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(income).to_be_hidden()
    page.keyboard.press(" ")  # Space opens it too
    expect(toggle).to_have_attribute("aria-expanded", "true")
    income.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "/income" in page.url


def test_wide_screens_and_pages_without_scripts_show_every_link(live_server, browser,
                                                                new_page):
    wide = new_page(live_server.url, width=1280)
    wide.goto("/")
    nav = wide.get_by_role("navigation", name="主菜单")
    expect(nav.get_by_role("button", name="菜单")).to_be_hidden()
    expect(nav.get_by_role("link", name="全部商品")).to_be_visible()
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  viewport={"width": 320, "height": 800}, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto("/")
        nav = page.get_by_role("navigation", name="主菜单")
        expect(nav.get_by_role("button", name="菜单")).to_be_hidden()
        for name in ("首页", "全部商品", "直播安排", "购物车", "登录"):
            expect(nav.get_by_role("link", name=name)).to_be_visible()
        assert horizontal_scroll(page) is None
    finally:
        context.close()
