"""Shoppers served from the storefront page cache in a real browser, the cache on as in
production: the page a shopper buys from may be one stored for somebody else, and the
token and session the cache gives them must still work (catalog/page_cache.py)."""

import pytest
from playwright.sync_api import expect

from catalog import page_cache

pytestmark = pytest.mark.browser


def _buy_one(page) -> None:
    page.get_by_label("数量").fill("1")
    page.get_by_role("button", name="加入购物车").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("你的购物车")
    expect(page.get_by_role("main")).to_contain_text("蝴蝶盘扣胸针")


def test_shoppers_served_from_the_cache_can_buy(live_server, app, new_page):
    page_cache.clear()
    app.config["CATALOG_PAGE_CACHE_SECONDS"] = 60
    try:
        first = new_page(live_server.url)
        first.goto("/products?q=盘扣")
        first.get_by_role("link", name="蝴蝶盘扣胸针").click()
        expect(first.get_by_role("heading", level=1)).to_have_text("蝴蝶盘扣胸针")
        product = first.url

        # A second shopper gets the stored page, with a token and session of their own.
        second = new_page(live_server.url)
        served = second.goto(product)
        assert served.headers.get("x-page-cache") == "hit"
        _buy_one(second)
        # With a cart their pages are their own from now on, never a stored one.
        assert "x-page-cache" not in second.goto(product).headers

        # The first shopper, who filled the cache, is served from it too, and buys.
        again = first.goto(product)
        assert again.headers.get("x-page-cache") == "hit"
        _buy_one(first)
    finally:
        app.config["CATALOG_PAGE_CACHE_SECONDS"] = 0
        page_cache.clear()
