"""Digital goods (audiobooks), on SQLite and PostgreSQL: no stock count on their pages,
and a cart of only digital goods goes from contact straight to payment, with no
delivery, pick-up or address; a cart with physical goods in it still asks."""

from __future__ import annotations

import re

from sqlmodel import select

from shop.models import DeliveryMethod, Order
from tests.shop.helpers import make_shop


def _back_link(client) -> str:
    """Where the payment step's back link goes."""
    page = client.get("/checkout/payment").get_data(as_text=True)
    return re.search(r'class="back-link" href="([^"]*)"', page).group(1)


def test_only_digital_skips_delivery_and_a_mixed_cart_still_asks(app, client, db_session):
    with db_session() as session:
        book, book_variant = make_shop(session, stock=100000, digital=True)["items"][0]
        _tote, tote_variant = make_shop(session, stock=5)["items"][0]
    page = client.get(f"/products/{book.slug}").get_data(as_text=True)
    assert "还剩" not in page and "100000" not in page and "售罄" not in page
    assert "还剩 5 件" not in page  # (the physical one's count is only on its own page)

    assert client.post("/cart/add", data={"variant_id": book_variant.id}).status_code == 302
    contact = client.post("/checkout/contact", data={"name": "王小明",
                                                     "email": "buyer@example.cn"})
    assert contact.headers["Location"].endswith("/checkout/payment")
    assert _back_link(client) == "/checkout/contact"
    for step in ("delivery", "address", "pickup"):  # no such step: back to contact
        assert client.get(f"/checkout/{step}").headers["Location"].endswith(
            "/checkout/contact")
    assert client.post("/checkout/payment", data={"method": "offline"}).status_code == 302
    check = client.get("/checkout/check").get_data(as_text=True)
    assert "/checkout/address" not in check and "/checkout/pickup" not in check

    # A physical good joins the cart: the download answer no longer fits, so it asks.
    assert client.post("/cart/add", data={"variant_id": tote_variant.id}).status_code == 302
    assert client.get("/checkout/check").headers["Location"].endswith("/checkout/delivery")
    assert client.get("/checkout/delivery").status_code == 200
    assert client.post("/checkout/delivery", data={"method": "pickup"}).status_code == 302
    assert client.post("/checkout/pickup", data={"point": "metro-gulou"}).status_code == 302
    assert _back_link(client) == "/checkout/pickup"  # the step answered, not the question
    assert client.post("/checkout/address", data={
        "province": "浙江省", "city": "宁波市", "district": "海曙区", "street": "中山西路 1 号",
        "phone": "13800000000"}).status_code == 302
    assert _back_link(client) == "/checkout/address"
    assert client.post("/checkout/pickup", data={"point": "metro-gulou"}).status_code == 302
    assert "/checkout/pickup" in client.get("/checkout/check").get_data(as_text=True)
    # Taken out again: the pick-up answer goes, and the order is placed as a download.
    assert client.post("/cart/remove", data={"variant_id": tote_variant.id}).status_code == 302
    check = client.get("/checkout/check")
    assert check.status_code == 200 and "/checkout/pickup" not in check.get_data(as_text=True)
    fields = dict(re.findall(r'name="(idempotency_key|total_amount)"[^>]*value="([^"]*)"',
                             check.get_data(as_text=True)))
    assert client.post("/checkout/place", data=fields).status_code == 302
    with db_session() as session:
        order = session.exec(select(Order)).one()
        assert order.delivery_method == DeliveryMethod.DIGITAL
        assert order.province is None and order.pickup_point is None
