"""The storefront page cache and the front that serves it (catalog/page_cache.py).

A page served from the cache must be the page Flask would have served that visitor:
the same headers, a CSRF token and session of their own, nothing of anyone else's.
"""

from __future__ import annotations

import re

import pytest
from werkzeug.http import parse_set_header

from catalog import page_cache


@pytest.fixture
def cached(app):
    page_cache.clear()
    app.config.update(CATALOG_PAGE_CACHE_SECONDS=60, WTF_CSRF_ENABLED=True)
    yield app
    page_cache.clear()


def _cookie_attributes(header: str) -> set[str]:
    """A Set-Cookie header without its value and its expiry date."""
    parts = [part.strip() for part in header.split(";")]
    return {part for part in parts[1:] if not part.lower().startswith("expires=")}


def test_page_cache_serves_anonymous_visitors_only(app, client, shop):

    from catalog import page_cache

    page_cache.clear()
    app.config["CATALOG_PAGE_CACHE_SECONDS"] = 60
    first = client.get("/products?q=盘扣")
    second = client.get("/products?q=盘扣")
    assert first.headers["X-Page-Cache"] == "miss" and second.headers["X-Page-Cache"] == "hit"
    assert first.data == second.data
    page = client.get(f"/products/{shop['slug']}").get_data(as_text=True)
    variant = re.search(r'name="variant_id" value="(\d+)"', page).group(1)
    client.post("/cart/add", data={"variant_id": variant, "quantity": "1"})
    # A session holding more than a CSRF token (here a cart) is never served a cached page.
    assert "X-Page-Cache" not in client.get("/products?q=盘扣").headers
    client.delete_cookie("session")
    client.get("/language/en")
    english = client.get("/products?q=盘扣")
    assert english.headers["X-Page-Cache"] == "miss" and english.data != first.data
    page_cache.clear()


def test_page_cache_keeps_the_browsers_languages_apart(cached, client, shop):
    english = {"Accept-Language": "en-US,en;q=0.9"}
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9"}
    first = client.get("/products?q=盘扣", headers=english)
    assert first.headers["X-Page-Cache"] == "miss" and '<html lang="en">' in first.text
    other = client.get("/products?q=盘扣", headers=chinese)
    assert other.headers["X-Page-Cache"] == "miss" and '<html lang="zh-CN">' in other.text
    again = client.get("/products?q=盘扣", headers={"Accept-Language": "en-GB"})
    assert again.headers["X-Page-Cache"] == "hit" and '<html lang="en">' in again.text
    # The cookie still wins over the header for a cached page.
    client.set_cookie("lang", "zh_Hans_CN")
    chosen = client.get("/products?q=盘扣", headers=english)
    assert chosen.headers["X-Page-Cache"] == "hit" and '<html lang="zh-CN">' in chosen.text


def test_page_cache_keeps_two_apps_of_one_process_apart(app, client, shop, app_config):
    """Tests make an app per test on a database of its own: never the last one's page."""
    from app import create_app
    from catalog import page_cache

    page_cache.clear()
    app.config["CATALOG_PAGE_CACHE_SECONDS"] = 60
    assert client.get("/products?q=盘扣").headers["X-Page-Cache"] == "miss"
    assert client.get("/products?q=盘扣").headers["X-Page-Cache"] == "hit"
    other = create_app({**app_config, "CATALOG_PAGE_CACHE_SECONDS": 60})
    try:
        page = other.test_client().get("/products?q=盘扣")
        assert page.headers["X-Page-Cache"] == "miss"
    finally:
        other.extensions["database"].engine.dispose()
        page_cache.clear()


def test_cached_product_page_gives_each_visitor_a_token_of_their_own(app, shop):
    """Two visitors, the second served from the cache: both can add to the cart."""

    from catalog import page_cache

    page_cache.clear()
    app.config.update(CATALOG_PAGE_CACHE_SECONDS=60, WTF_CSRF_ENABLED=True)
    tokens = []
    for visitor in ("first", "second"):
        client = app.test_client()
        page = client.get(f"/products/{shop['slug']}")
        assert page.headers["X-Page-Cache"] == ("miss" if visitor == "first" else "hit")
        assert "session=" in page.headers.get("Set-Cookie", ""), visitor
        html = page.get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        variant = re.search(r'name="variant_id" value="(\d+)"', html).group(1)
        tokens.append(token)
        added = client.post("/cart/add", data={"csrf_token": token, "variant_id": variant,
                                               "quantity": "1"})
        assert added.status_code == 302, (visitor, added.get_data(as_text=True)[:500])
        assert "梅花盘扣" in client.get("/cart").get_data(as_text=True)
    assert tokens[0] != tokens[1]
    page_cache.clear()


def test_a_visitor_who_has_seen_a_buy_box_is_still_served_from_the_cache(app, shop):
    """The buy box starts a session holding a CSRF token and nothing else: the next
    pages come from the cache with a token that is still that visitor's own."""

    from catalog import page_cache

    page_cache.clear()
    app.config.update(CATALOG_PAGE_CACHE_SECONDS=60, WTF_CSRF_ENABLED=True)
    product = f"/products/{shop['slug']}"
    for path in (product, "/products?q=盘扣"):
        app.test_client().get(path)  # someone else's visit fills the cache
    visitor = app.test_client()
    assert "session=" in visitor.get(product).headers.get("Set-Cookie", "")
    again = visitor.get(product)
    catalogue = visitor.get("/products?q=盘扣")
    assert again.headers["X-Page-Cache"] == catalogue.headers["X-Page-Cache"] == "hit"
    assert "Set-Cookie" not in again.headers  # their session stays as it was
    html = again.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    variant = re.search(r'name="variant_id" value="(\d+)"', html).group(1)
    page_cache.clear()  # a fresh worker: the returning visitor's own visit fills it
    assert visitor.get(product).headers["X-Page-Cache"] == "miss"
    assert app.test_client().get(product).headers["X-Page-Cache"] == "hit"
    added = visitor.post("/cart/add", data={"csrf_token": token, "variant_id": variant,
                                            "quantity": "1"})
    assert added.status_code == 302, added.get_data(as_text=True)[:500]
    assert "X-Page-Cache" not in visitor.get(product).headers  # a cart: never cached
    page_cache.clear()


def test_a_page_from_the_cache_has_the_headers_flask_gave_it(cached, shop):
    product = f"/products/{shop['slug']}"
    miss = cached.test_client().get(product)
    hit = cached.test_client().get(product)
    assert (miss.headers["X-Page-Cache"], hit.headers["X-Page-Cache"]) == ("miss", "hit")
    for name in ("Content-Type", "X-Content-Type-Options", "X-Frame-Options",
                 "Referrer-Policy"):
        assert hit.headers[name] == miss.headers[name], name
    assert "Cookie" in parse_set_header(hit.headers["Vary"])
    assert hit.headers.getlist("Vary") == miss.headers.getlist("Vary")
    assert int(hit.headers["Content-Length"]) == len(hit.data)
    # The new visitor's session cookie is made as Flask makes it (HttpOnly, SameSite...).
    assert _cookie_attributes(hit.headers["Set-Cookie"]) == _cookie_attributes(
        miss.headers["Set-Cookie"])
    assert len(hit.headers.getlist("Set-Cookie")) == 1


def test_a_forged_or_foreign_session_is_never_served_from_the_cache(cached, shop):
    """A session the front cannot read as a token and nothing else goes to Flask."""
    product = f"/products/{shop['slug']}"
    cached.test_client().get(product)  # fills the cache
    visitor = cached.test_client()
    visitor.get(product)
    genuine = visitor.get_cookie("session").value
    payload, _, signature = genuine.rpartition(".")
    for value in (payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:],
                  "not-a-session", "<script>alert(1)</script>", "x" * 4000):
        stranger = cached.test_client()
        stranger.set_cookie("session", value)
        page = stranger.get(product)
        assert page.status_code == 200
        assert page.headers["X-Page-Cache"] != "hit", value[:40]
        # Flask discarded the bad cookie and started a session of its own.
        assert "session=" in page.headers.get("Set-Cookie", "")
    with cached.test_client() as signed_cart:
        signed_cart.get(product)
        with signed_cart.session_transaction() as saved:
            saved["csrf_token"] = 12345  # a token that is not text: Flask decides
        assert signed_cart.get(product).headers.get("X-Page-Cache") != "hit"


def test_the_cache_is_for_reading_anonymous_pages_only(cached, shop, client):
    product = f"/products/{shop['slug']}"
    cached.test_client().get(product)
    remembered = cached.test_client()
    remembered.set_cookie("remember_token", "1|whatever")
    assert "X-Page-Cache" not in remembered.get(product).headers
    assert "X-Page-Cache" not in cached.test_client().head(product).headers
    # A POST to a cached address reaches Flask (here: no such method there).
    assert cached.test_client().post(product).status_code == 405
    cached.config["CATALOG_PAGE_CACHE_SECONDS"] = 0
    assert "X-Page-Cache" not in cached.test_client().get(product).headers


def test_each_address_has_a_page_of_its_own(cached, shop):
    first = cached.test_client().get("/products?q=盘扣")
    other = cached.test_client().get("/products?q=草稿")
    assert first.headers["X-Page-Cache"] == other.headers["X-Page-Cache"] == "miss"
    assert "梅花盘扣" in first.get_data(as_text=True)
    assert "梅花盘扣" not in other.get_data(as_text=True)
    assert cached.test_client().get("/products?q=盘扣").data == first.data
    on_other_host = cached.test_client().get("/products?q=盘扣", base_url="http://shop.example")
    assert on_other_host.headers["X-Page-Cache"] == "miss"


def test_an_old_page_is_served_while_one_request_renders_it_again(cached, shop):
    """No crowd of renders when a popular page goes out of date, and never a page
    older than two periods."""
    import time

    path = "/products?q=盘扣"
    assert cached.test_client().get(path).headers["X-Page-Cache"] == "miss"
    (key, (until, body, headers)), = page_cache._pages.items()

    def age_by(seconds: float) -> None:
        page_cache._pages[key] = (time.monotonic() - seconds, body, headers)

    age_by(1)  # out of date; another request is rendering it: the old page meanwhile
    page_cache._refreshing.add(key)
    assert cached.test_client().get(path).headers["X-Page-Cache"] == "hit"
    age_by(61)  # older than one more period: not even then
    assert cached.test_client().get(path).headers["X-Page-Cache"] == "miss"
    assert page_cache._pages[key][0] > time.monotonic()  # rendered and stored afresh

    age_by(1)  # out of date and nobody rendering it: this request does, and stores it
    page_cache._refreshing.clear()
    assert cached.test_client().get(path).headers["X-Page-Cache"] == "miss"
    assert key not in page_cache._refreshing
    assert page_cache._pages[key][0] > time.monotonic()
    assert cached.test_client().get(path).headers["X-Page-Cache"] == "hit"

    # A visitor with a cart who happens to be the one to render it stores nothing, and
    # leaves the page to the next anonymous visitor to render.
    with cached.test_client() as shopper:
        with shopper.session_transaction() as saved:
            saved["cart"] = {"1": 1}
        age_by(1)
        assert "X-Page-Cache" not in shopper.get(path).headers
    assert key not in page_cache._refreshing
    assert cached.test_client().get(path).headers["X-Page-Cache"] == "miss"
