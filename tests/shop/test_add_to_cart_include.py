"""The product page's add-to-cart form: labelled, a radio group for several variants."""

from __future__ import annotations

from flask import render_template_string
from sqlmodel import select

from catalog.models import ProductVariant
from tests.shop.helpers import make_shop


def test_include_renders_a_labelled_form_that_adds_to_the_cart(app, client, db_session):
    with db_session() as session:
        product, variant = make_shop(session, stock=5)["items"][0]
        session.add(ProductVariant(product_id=product.id, sku="SKU-RED", name="红色",
                                   price_amount=4200, stock=0))
    with app.test_request_context():
        with db_session() as session:
            variants = session.exec(select(ProductVariant).where(
                ProductVariant.product_id == product.id).order_by(ProductVariant.id)).all()
        html = render_template_string('{% include "shop/_add_to_cart.html" %}',
                                      product=product, variants=variants)
    assert 'action="/cart/add"' in html and 'name="csrf_token"' in html
    assert "<fieldset" in html and "<legend" in html
    assert f'id="variant-{variant.id}"' in html and f'for="variant-{variant.id}"' in html
    assert html.count('type="radio"') == 2 and "disabled" in html  # the sold-out one
    assert f'for="add-quantity-{product.id}"' in html
    response = client.post("/cart/add", data={"variant_id": variant.id, "quantity": "2"})
    assert response.status_code == 302
    cart = client.get("/cart").get_data(as_text=True)
    assert cart.count("<h1") == 1 and 'scope="col"' in cart and "<caption" in cart
