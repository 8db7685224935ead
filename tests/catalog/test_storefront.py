"""Storefront pages and the JSON API, on both databases."""

from __future__ import annotations

import pytest

from accounts import services as account_services
from accounts.models import Role
from catalog.models import ProductStatus
from catalog.services import refresh_listing
from tests.factories import make_product, make_user, make_workshop


@pytest.fixture
def shop(app):
    from core.db import db

    with app.app_context(), db.transaction() as session:
        named = make_user(session, roles=(Role.MAKER,))
        account_services.save_maker_profile(session=session, user=named, public_name="张巧手",
                                            story="我编了二十年盘扣。", show_name_publicly=True,
                                            show_story_publicly=True)
        hidden = make_user(session, roles=(Role.MAKER,))
        account_services.save_maker_profile(session=session, user=hidden, public_name="不公开",
                                            show_name_publicly=False)
        workshop = make_workshop(session, name="和心盘扣工坊", makers=[named, hidden])
        on_sale = make_product(session, workshop=workshop, title="梅花盘扣", makers=[named, hidden],
                               price=6800, stock=7)
        draft = make_product(session, workshop=workshop, title="草稿盘扣",
                             status=ProductStatus.DRAFT)
        for product in (on_sale, draft):
            refresh_listing(session=session, product=product)
        return dict(slug=on_sale.slug, draft=draft.slug, workshop=workshop.slug,
                    named=named.id, hidden=hidden.id)


def test_pages_show_goods_price_stock_and_consenting_makers(client, shop):
    home = client.get("/").get_data(as_text=True)
    assert "梅花盘扣" in home and "草稿盘扣" not in home
    page = client.get(f"/products/{shop['slug']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "¥68.00" in text and "7" in text and "张巧手" in text and "不公开" not in text
    assert text.count("<h1") == 1
    assert client.get(f"/products/{shop['draft']}").status_code == 404
    assert "梅花盘扣" in client.get(f"/workshops/{shop['workshop']}").get_data(as_text=True)
    maker = client.get(f"/makers/{shop['named']}").get_data(as_text=True)
    assert "二十年" in maker and "梅花盘扣" in maker
    assert client.get(f"/makers/{shop['hidden']}").status_code == 404
    assert client.get("/makers/99999999999").status_code == 404


@pytest.mark.parametrize("query", ["?q=盘扣", "?q=pankou&sort=price_low", "?min_price=abc",
                                   "?sort=nonsense&page=-3", "?page=99999999999",
                                   "?q=" + "<script>" * 40, "?category=nope&workshop=nope",
                                   "?in_stock=1&max_price=100"])
def test_catalogue_survives_any_query_string(client, shop, query):
    response = client.get("/products" + query)
    assert response.status_code == 200
    assert "<script><script>" not in response.get_data(as_text=True)


def test_catalogue_search_finds_product(client, shop):
    text = client.get("/products?q=盘扣").get_data(as_text=True)
    assert f"/products/{shop['slug']}" in text and shop["draft"] not in text
    bad = client.get("/products?min_price=abc").get_data(as_text=True)
    assert 'aria-invalid="true"' in bad


def test_api_lists_searches_and_shows_products(client, shop):
    listing = client.get("/api/v1/products?q=盘扣").get_json()
    assert listing["total"] == 1 and listing["items"][0]["slug"] == shop["slug"]
    assert listing["items"][0]["price_fen"] == 6800 and listing["items"][0]["stock_left"] == 7
    detail = client.get(f"/api/v1/products/{shop['slug']}").get_json()
    assert detail["makers"] == ["张巧手"] and detail["variants"][0]["price_fen"] == 6800
    assert client.get("/api/v1/workshops").get_json()["items"][0]["slug"] == shop["workshop"]
    assert client.get(f"/api/v1/makers/{shop['named']}").get_json()["name"] == "张巧手"


@pytest.mark.parametrize(("url", "status", "code"), [
    ("/api/v1/products?page=0", 422, "invalid_request"),
    ("/api/v1/products?per_page=100000", 422, "invalid_request"),
    ("/api/v1/products?min_price=abc", 422, "invalid_request"),
    ("/api/v1/products?sort=random", 422, "invalid_request"),
    ("/api/v1/products/no-such-thing", 404, "not_found"),
    ("/api/v1/makers/99999", 404, "not_found"),
    ("/api/v1/nothing-here", 404, "404"),
])
def test_api_errors_are_json(client, shop, url, status, code):
    response = client.get(url)
    assert response.status_code == status
    body = response.get_json()
    assert body["error"]["code"] == code and body["error"]["message"]


def test_api_hides_drafts_and_private_makers(client, shop):
    assert client.get(f"/api/v1/products/{shop['draft']}").status_code == 404
    assert client.get(f"/api/v1/makers/{shop['hidden']}").status_code == 404


def test_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in ("/api/v1/products", "/api/v1/products/{slug}", "/api/v1/workshops",
                 "/api/v1/makers/{user_id}"):
        assert path in paths, sorted(paths)
    parameters = {p["name"] for p in paths["/api/v1/products"]["get"]["parameters"]}
    assert {"q", "category", "min_price", "sort", "page"} <= parameters


def test_page_cache_serves_anonymous_visitors_only(app, client, shop):
    import re

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
    import re

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
    import re

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
