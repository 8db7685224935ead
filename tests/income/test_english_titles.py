"""English pages name products (and live streams) in English where there is an English
version, on the income page, the statement and every order page; in Chinese otherwise,
marked as Chinese. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from accounts.models import Role
from catalog.models import Product, ProductVariant
from core.db import utcnow
from income.queries import this_month
from livestream.models import LiveSession, SessionStatus
from tests.factories import login, make_product, make_user
from tests.income.helpers import maker_shop, paid_order

ZH, EN = "梅花盘扣套装", "Plum blossom knot buttons"
ZH_ONLY = "手工书签"
STREAM_ZH, STREAM_EN = "周五手语直播", "Friday live in sign language"


@pytest.fixture
def sold(app, db_session):
    """One order with an English-named product and a Chinese-only one, bought in a live
    stream that has an English title."""
    with db_session() as session:
        shop = maker_shop(session, shares=(10000,), price=6800)
        maker = shop["makers"][0]
        shop["product"].title, shop["product"].title_en = ZH, EN
        shop["variant"].name, shop["variant"].name_en = "红色", "Red"
        plain = make_product(session, workshop=shop["workshop"], makers=[maker],
                             title=ZH_ONLY, price=1500)
        stream = LiveSession(slug="friday-en", title=STREAM_ZH, title_en=STREAM_EN,
                             planned_start=utcnow(), planned_end=utcnow() + timedelta(hours=1),
                             status=SessionStatus.ENDED)
        session.add(stream)
        operator = make_user(session, roles=(Role.OPERATOR,))
        session.flush()
        ids = {"maker": maker.id, "variant": shop["variant"].id, "stream": stream.id,
               "product": shop["product"].id,
               "plain": session.exec(select(ProductVariant.id).where(
                   ProductVariant.product_id == plain.id)).one()}
        emails = {"maker": maker.email, "operator": operator.email}
    with db_session() as session:
        order = paid_order(session, [(ids["variant"], 1), (ids["plain"], 2)],
                           live_session_id=ids["stream"])
        ids["token"], ids["number"] = order.public_token, order.number
    return {"ids": ids, "emails": emails}


def _pages(ids) -> dict[str, str]:
    return {"income": "/income",
            "statement": f"/income/makers/{ids['maker']}/statement/{this_month().month_key}",
            "maker's order lines": "/my/order-lines"}


def test_english_income_and_statement_pages_use_english_titles(client, sold):
    ids = sold["ids"]
    login(client, sold["emails"]["maker"])
    client.get("/language/en")
    for name, path in _pages(ids).items():
        html = client.get(path).get_data(as_text=True)
        assert EN in html, name
        assert ZH not in html, name
        # No English version: the Chinese title, marked as Chinese for screen readers.
        assert f'<span lang="zh-CN">{ZH_ONLY}</span>' in html, name
    html = client.get("/income").get_data(as_text=True)
    assert STREAM_EN in html and STREAM_ZH not in html
    api = client.get(f"/api/income/makers/{ids['maker']}").get_json()
    assert {(p["name"], p["name_en"]) for p in api["products"]} == {(ZH, EN), (ZH_ONLY, None)}
    # Chinese pages keep the Chinese titles.
    client.get("/language/zh_Hans_CN")
    for name, path in _pages(ids).items():
        html = client.get(path).get_data(as_text=True)
        assert ZH in html and EN not in html, name


def test_every_order_page_uses_the_english_names(client, sold, db_session):
    """The buyer's order page, the maker's order lines and the operator's order page,
    with the names the order was sold under (renaming the product later changes none)."""
    ids = sold["ids"]
    with db_session() as session:
        session.get(Product, ids["product"]).title_en = "Renamed since"
    pages = {"buyer's order page": (None, f"/orders/{ids['token']}"),
             "maker's order lines": ("maker", "/my/order-lines"),
             "operator's order page": ("operator", f"/operator/orders/{ids['number']}")}
    for name, (who, path) in pages.items():
        if who:  # the buyer's page first, by its secret link, signed out
            login(client, sold["emails"][who])
        client.get("/language/en")
        html = client.get(path).get_data(as_text=True)
        assert f"{EN} (Red)" in html, name
        assert ZH not in html and "Renamed since" not in html, name
        assert f'<span lang="zh-CN">{ZH_ONLY}</span>' in html, name
