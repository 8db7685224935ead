"""Cart, checkout and order pages through the client: journey, bad input, access."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from accounts.models import Role
from catalog.models import ProductStatus
from core.mail import OutboxMail
from shop.models import (
    CartItem,
    DeliveryMethod,
    Order,
    OrderLine,
    OrderStatusChange,
    PaymentStatus,
)
from shop.orders import Delivery
from tests.factories import login, make_user
from tests.shop.helpers import checkout_until_check as _checkout
from tests.shop.helpers import make_shop, payment_of, place, reload, stock_of


def _shop(db_session, **kwargs):
    with db_session() as session:
        shop = make_shop(session, **kwargs)
        return shop, shop["items"][0][1].id


def test_offline_journey_from_cart_to_order_link(app, client, db_session):
    _shop_data, variant_id = _shop(db_session, price=1280)
    fields = _checkout(client, variant_id, pickup=False)
    assert fields["total_amount"] == "2560"
    response = client.post("/checkout/place", data=fields)
    assert response.status_code == 302
    order_url = response.headers["Location"]
    assert order_url.startswith("/orders/")
    page = client.get(order_url).get_data(as_text=True)
    assert "GF" in page and "¥25.60" in page
    # The same key again (a double click) goes to the same order.
    assert client.post("/checkout/place", data=fields).headers["Location"] == order_url
    with db_session() as session:
        order = session.exec(select(Order)).one()
        assert (order.district, order.phone) == ("海曙区", "13812345678")
        assert stock_of(session, variant_id) == 8
        mails = session.exec(select(OutboxMail)).all()
        assert len(mails) == 1 and order.number in mails[0].subject
    assert client.get("/cart").status_code == 200
    assert "购物车是空的" in client.get("/cart").get_data(as_text=True) or \
        "empty" in client.get("/cart").get_data(as_text=True)


@pytest.mark.parametrize("quantity", ["0", "-1", "1000000000", "abc", "", "1.5"])
def test_bad_quantities_are_refused_and_nothing_is_added(app, client, db_session, quantity):
    _shop_data, variant_id = _shop(db_session)
    response = client.post("/cart/add", data={"variant_id": variant_id, "quantity": quantity})
    assert response.status_code == 400
    assert "1" in response.get_data(as_text=True)
    assert client.get("/checkout/contact").status_code == 302  # cart still empty


@pytest.mark.parametrize("variant", ["999999", "abc", "", "<script>alert(1)</script>"])
def test_unknown_variant_is_refused(app, client, db_session, variant):
    _shop(db_session)
    response = client.post("/cart/add", data={"variant_id": variant, "quantity": "1"})
    assert response.status_code in (400, 404)
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_more_than_in_stock_is_refused_at_add(app, client, db_session):
    _shop_data, variant_id = _shop(db_session, stock=3)
    client.get("/language/en")
    response = client.post("/cart/add", data={"variant_id": variant_id, "quantity": "4"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Only 3 left" in html or "只剩 3 件" in html


def test_archived_product_in_cart_blocks_checkout(app, client, db_session):
    shop, variant_id = _shop(db_session)
    fields = _checkout(client, variant_id)
    with db_session() as session:
        product = reload(session, 0) or shop["items"][0][0]
        product.status = ProductStatus.ARCHIVED
        session.add(product)
    cart = client.get("/cart").get_data(as_text=True)
    assert "data-error-summary" in cart
    response = client.post("/checkout/place", data=fields)
    assert response.status_code == 400
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(Order)).one() == 0
        assert stock_of(session, variant_id) == 10


def test_address_without_district_shows_the_error_and_keeps_answers(app, client, db_session):
    _shop_data, variant_id = _shop(db_session)
    client.post("/cart/add", data={"variant_id": variant_id, "quantity": "1"})
    client.get("/language/en")
    response = client.post("/checkout/address", data={
        "province": "浙江省", "city": "宁波市", "district": "", "street": "<b>中山路</b>",
        "phone": "13812345678"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert ("<title>Error:" in html or "<title>错误：" in html) and 'href="#district"' in html
    assert "Enter the district" in html or "请填写区县" in html
    assert "&lt;b&gt;中山路&lt;/b&gt;" in html and "<b>中山路</b>" not in html


def test_contact_errors_follow_the_govuk_pattern(app, client, db_session):
    _shop_data, variant_id = _shop(db_session)
    client.post("/cart/add", data={"variant_id": variant_id, "quantity": "1"})
    response = client.post("/checkout/contact", data={"name": "", "email": "not-an-email",
                                                      "phone": "123"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>错误：" in html and "data-error-summary" in html
    assert 'value="not-an-email"' in html


def test_tampered_total_places_nothing(app, client, db_session):
    _shop_data, variant_id = _shop(db_session, price=5000)
    fields = _checkout(client, variant_id)
    fields["total_amount"] = "1"
    response = client.post("/checkout/place", data=fields)
    assert response.status_code == 400
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(Order)).one() == 0
        assert stock_of(session, variant_id) == 10


def test_sold_out_at_placing_names_the_line(app, client, db_session):
    shop, variant_id = _shop(db_session, stock=2)
    fields = _checkout(client, variant_id, quantity=2)
    with db_session() as session:
        place(session, [(variant_id, 1)])
    client.get("/language/en")
    response = client.post("/checkout/place", data=fields)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert ("only 1 left" in html or "只剩 1 件" in html) and shop["items"][0][0].title in html


@pytest.mark.parametrize("token", ["nope", "x" * 200, "' OR 1=1 --"])
def test_forged_order_link_is_404(app, client, token):
    assert client.get(f"/orders/{token}").status_code == 404


def test_shopper_history_and_guest_cart_merge(app, client, db_session):
    _shop_data, variant_id = _shop(db_session)
    with db_session() as session:
        user = make_user(session)
        other = make_user(session)
        others_order = place(session, [(variant_id, 1)], user_id=other.id)
        others_number = others_order.number
    client.post("/cart/add", data={"variant_id": variant_id, "quantity": "2"})
    login(client, user.email)
    with db_session() as session:
        item = session.exec(select(CartItem).where(CartItem.user_id == user.id)).one()
        assert item.quantity == 2
    assert client.get("/my/orders").status_code == 200
    assert others_number not in client.get("/my/orders").get_data(as_text=True)


def test_maker_sees_their_workshops_paid_lines_only(app, client, db_session):
    shop, variant_id = _shop(db_session)
    other_shop, other_variant = _shop(db_session)
    with db_session() as session:
        mine = place(session, [(variant_id, 1)])
        theirs = place(session, [(other_variant, 1)])
        unpaid = place(session, [(variant_id, 2)])
        for order in (mine, theirs):
            payment = payment_of(session, order.id)
    with app.test_request_context():
        from shop.payments import mark_paid

        for order_id in (mine.id, theirs.id):
            with db_session() as session:
                payment = payment_of(session, order_id)
                mark_paid(session=session, payment=payment, amount=payment.amount,
                          currency="CNY", by_system="test")
    login(client, shop["makers"][0].email)
    html = client.get("/my/order-lines").get_data(as_text=True)
    assert mine.number in html
    assert theirs.number not in html and unpaid.number not in html
    assert "buyer@example.cn" not in html


def test_operator_pages_need_the_operator_role(app, client, db_session):
    with db_session() as session:
        shopper = make_user(session)
    assert client.get("/operator/orders").status_code == 302
    login(client, shopper.email)
    assert client.get("/operator/orders").status_code == 403


def test_operator_marks_paid_ships_and_refunds_with_a_guard(app, client, db_session):
    _shop_data, variant_id = _shop(db_session, price=3000)
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        order = place(session, [(variant_id, 2)], delivery=Delivery(
            method=DeliveryMethod.DELIVERY, province="浙江省", city="宁波市", district="海曙区",
            street="1号"))
    login(client, operator.email)
    base = f"/operator/orders/{order.number}"
    assert client.get("/operator/orders").status_code == 200
    paid = {"paid-amount": "60.00", "paid-method": "bank_transfer",
            "paid-reference": "ICBC20261206001"}
    assert client.post(f"{base}/mark-paid", data=paid).status_code == 302
    assert client.post(f"{base}/mark-paid", data=paid).status_code == 409
    assert client.post(f"{base}/ship", data={"ship-tracking_number": ""}).status_code == 400
    assert client.post(f"{base}/ship", data={"ship-tracking_number": "SF123"}).status_code == 302
    bad = client.post(f"{base}/refund", data={"refund-amount": "abc", "refund-reason": "x"})
    assert bad.status_code == 400
    assert client.post(f"{base}/refund", data={"refund-amount": "20.00",
                                               "refund-reason": "破损"}).status_code == 302
    over = client.post(f"{base}/refund", data={"refund-amount": "40.01",
                                               "refund-reason": "again"})
    assert over.status_code == 409
    with db_session() as session:
        line_id = session.exec(select(OrderLine.id).where(OrderLine.order_id == order.id)).one()
    assert client.post(f"{base}/refund", data={"refund-amount": "40",
                                               "refund-reason": "退货",
                                               f"refund-line_{line_id}": "2"}).status_code == 302
    with db_session() as session:
        order = reload(session, order.id)
        assert (order.refunded_amount, order.payment_status) == (6000, PaymentStatus.REFUNDED)
        assert order.tracking_number == "SF123"
        who = session.exec(select(OrderStatusChange.by_user_id).where(
            OrderStatusChange.order_id == order.id, OrderStatusChange.kind == "payment")).all()
        assert set(who) == {operator.id}
        assert stock_of(session, variant_id) == 10
    assert "SF123" in client.get(base).get_data(as_text=True)


def test_forged_csrf_changes_nothing(app_config):
    """With CSRF on, a post without the token is refused and nothing is added."""
    from app import create_app

    app_config["WTF_CSRF_ENABLED"] = True
    application = create_app(app_config)
    try:
        client = application.test_client()
        response = client.post("/cart/add", data={"variant_id": "1", "quantity": "1"})
        assert response.status_code == 400
        response = client.post("/checkout/place", data={"idempotency_key": "k" * 20})
        assert response.status_code in (302, 400)
        with application.app_context():
            from core.db import db

            with db.transaction() as session:
                assert session.exec(select(func.count()).select_from(Order)).one() == 0
    finally:
        application.extensions["database"].engine.dispose()
