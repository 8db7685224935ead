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
