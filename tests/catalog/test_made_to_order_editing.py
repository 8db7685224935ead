"""The coordinator makes a product "made to order" with a lead time and a weekly
capacity; bad numbers get a clear message by the field and change nothing; listings and
the product page say "做好后发货，约 N 天"; digital goods show no stock count."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from accounts.models import Role
from catalog.models import Category, Product, ProductStatus, ProductVariant
from tests.factories import login, make_product, make_user, make_workshop


@pytest.fixture
def world(app):
    from core.db import db

    with app.app_context(), db.transaction() as session:
        coordinator = make_user(session, roles=(Role.MAKER,))
        workshop = make_workshop(session, coordinator=coordinator)
        crafts = Category(slug="pankou", name="盘扣", name_en="Knot buttons")
        books = Category(slug="audiobook", name="有声书", name_en="Audiobooks", is_digital=True)
        session.add_all([crafts, books])
        session.flush()
        product = make_product(session, workshop=workshop, status=ProductStatus.DRAFT,
                               title="一字盘扣", category_id=crafts.id, stock=0)
        variant = session.exec(select(ProductVariant).where(
            ProductVariant.product_id == product.id)).one()
        return dict(coordinator=coordinator.email, product_id=product.id, sku=variant.sku,
                    variant_id=variant.id, crafts=crafts.id, books=books.id)


def _form(world, **overrides):
    data = {"title": "一字盘扣", "category_id": world["crafts"],
            "variants-0-variant_id": world["variant_id"], "variants-0-sku": world["sku"],
            "variants-0-price": "52", "variants-0-stock": "0",
            "made_to_order": "y", "lead_time_days": "7", "weekly_capacity": "30"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _saved(app, product_id):
    from core.db import db

    with app.app_context(), db.transaction(write=False) as session:
        product = session.get(Product, product_id)
        return product.made_to_order, product.lead_time_days, product.weekly_capacity


BAD = [
    ({"lead_time_days": "0"}, "lead_time_days", "做好并寄出的天数"),
    ({"lead_time_days": "-3"}, "lead_time_days", "做好并寄出的天数"),
    ({"lead_time_days": "9999999999"}, "lead_time_days", "做好并寄出的天数"),
    ({"lead_time_days": "一周"}, "lead_time_days", "做好并寄出的天数"),
    ({"weekly_capacity": "0"}, "weekly_capacity", "每周能做多少"),
    ({"weekly_capacity": "100001"}, "weekly_capacity", "每周能做多少"),
    ({"weekly_capacity": "3.5"}, "weekly_capacity", "每周能做多少"),
    ({"weekly_capacity": ""}, "weekly_capacity", "每周能做多少"),
    ({"category_id": "books"}, "made_to_order", "数字商品不能按订单制作"),
]


def test_bad_numbers_are_refused_by_the_field_and_nothing_changes(app, client, world):
    login(client, world["coordinator"])
    url = f"/my/products/{world['product_id']}"
    for overrides, field, words in BAD:
        if overrides.get("category_id") == "books":
            overrides = {"category_id": world["books"]}
        response = client.post(url, data=_form(world, **overrides))
        page = response.get_data(as_text=True)
        assert response.status_code == 400, overrides
        assert page.count(words) >= 2, (overrides, field)  # the summary and the field
        assert f'href="#{field}"' in page and f'id="{field}-error"' in page, overrides
        assert _saved(app, world["product_id"]) == (False, 0, 0)
    client.get("/language/en")
    page = client.post(url, data=_form(world, lead_time_days="abc")).get_data(as_text=True)
    assert "Enter the days to make and send it as a whole number from 1 to 365" in page


def test_saved_made_to_order_shows_on_the_form_listing_and_product_page(app, client, world):
    login(client, world["coordinator"])
    url = f"/my/products/{world['product_id']}"
    assert client.post(url, data=_form(world)).status_code == 302
    assert _saved(app, world["product_id"]) == (True, 7, 30)
    form = client.get(url).get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*name="made_to_order"', form)
    assert 'value="7"' in form and 'value="30"' in form
    # Unticked, the numbers are dropped: it is sold from stock only again.
    assert client.post(url, data=_form(world, made_to_order=None,
                                       lead_time_days="", weekly_capacity="")).status_code == 302
    assert _saved(app, world["product_id"]) == (False, 0, 0)
    assert client.post(url, data=_form(world)).status_code == 302

    from core.db import db

    with app.app_context(), db.transaction() as session:
        product = session.get(Product, world["product_id"])
        product.status = ProductStatus.PUBLISHED
        book = make_product(session, workshop=_workshop(session, product), title="有声书",
                            stock=100000, category_id=world["books"])
        book.is_digital = True
        slug, book_slug = product.slug, book.slug
    shopper = app.test_client()
    page = shopper.get(f"/products/{slug}").get_data(as_text=True)
    assert "做好后发货，约 7 天" in page and "现在下单，预计" in page and "售罄" not in page
    assert 'name="quantity"' in page  # orderable with no stock
    listing = shopper.get("/products").get_data(as_text=True)
    assert "做好后发货，约 7 天" in listing
    assert "还剩 100000 件" not in listing
    book_page = shopper.get(f"/products/{book_slug}").get_data(as_text=True)
    assert "还剩" not in book_page and "100000" not in book_page and 'name="quantity"' in book_page


def _workshop(session, product):
    from accounts.models import Workshop

    return session.get(Workshop, product.workshop_id)
