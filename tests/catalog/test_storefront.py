"""Storefront pages and the JSON API, on both databases."""

from __future__ import annotations

import pytest


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
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in ("/api/v1/products", "/api/v1/products/{slug}", "/api/v1/workshops",
                 "/api/v1/makers/{user_id}"):
        assert path in paths, sorted(paths)
    parameters = {p["name"] for p in paths["/api/v1/products"]["get"]["parameters"]}
    assert {"q", "category", "min_price", "sort", "page"} <= parameters
