"""Bad input at the cart, checkout and refund forms: a clear message in the reader's
language, and nothing written. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from accounts.models import Role
from shop.models import CartItem, Order, Refund
from tests.factories import login, make_user
from tests.shop.helpers import checkout_until_check, make_shop, payment_of, place, reload


def _variant(db_session, **kwargs):
    with db_session() as session:
        return make_shop(session, **kwargs)["items"][0][1].id


@pytest.mark.parametrize(("quantity", "message"), [
    ("-1", "between 0 and 99"), ("abc", "between 0 and 99"), ("1.5", "between 0 and 99"),
    ("", "between 0 and 99"), ("1000000000", "between 0 and 99"), ("100", "up to 99"),
    ("11", "Only 10 left")])
def test_bad_cart_change_is_refused_and_the_cart_kept(app, client, db_session, quantity,
                                                      message):
    variant_id = _variant(db_session)
    with db_session() as session:
        shopper = make_user(session)
    login(client, shopper.email)
    client.post("/cart/add", data={"variant_id": variant_id, "quantity": "2"})
    client.get("/language/en")
    response = client.post("/cart/update", data={"variant_id": variant_id,
                                                 "quantity": quantity})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with db_session() as session:
        item = session.exec(select(CartItem).where(CartItem.user_id == shopper.id)).one()
        assert item.quantity == 2


@pytest.mark.parametrize("path", ["/cart/update", "/cart/remove"])
def test_changing_what_is_not_in_the_cart_is_refused_in_chinese(app, client, db_session, path):
    variant_id = _variant(db_session)
    other_id = _variant(db_session)
    client.post("/cart/add", data={"variant_id": variant_id, "quantity": "1"})
    response = client.post(path, data={"variant_id": other_id, "quantity": "1"})
    assert response.status_code == 404
    assert "购物车" in response.get_data(as_text=True)  # "That item is not in your cart."
    assert client.get("/checkout/contact").status_code == 200  # the cart still holds one


def test_a_price_sent_by_the_browser_is_ignored(app, client, db_session):
    variant_id = _variant(db_session, price=5000)
    client.post("/cart/add", data={"variant_id": variant_id, "quantity": "1", "price": "1",
                                   "unit_price_amount": "1", "total_amount": "1"})
    fields = checkout_until_check(client, variant_id, quantity=1)
    assert fields["total_amount"] == "10000"  # two at today's ¥50.00
    assert client.post("/checkout/place", data={**fields, "unit_price_amount": "1"}
                       ).status_code == 302
    with db_session() as session:
        assert session.exec(select(Order)).one().total_amount == 10000


@pytest.mark.parametrize(("path", "data", "message"), [
    ("/checkout/delivery", {"method": "drone"}, "不是有效的选择"),
    ("/checkout/pickup", {"point": "nowhere"}, "不是有效的选择"),
    ("/checkout/payment", {"method": "stripe"}, "不是有效的选择"),  # card payments are off
    ("/checkout/payment", {"method": ""}, "请选择付款方式"),
])
def test_a_tampered_checkout_choice_is_refused(app, client, db_session, path, data, message):
    variant_id = _variant(db_session)
    client.post("/cart/add", data={"variant_id": variant_id, "quantity": "1"})
    client.post("/checkout/contact", data={"name": "王小明", "email": "buyer@example.cn"})
    response = client.post(path, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>错误：" in html and message in html
    # Nothing was saved: check-your-answers still sends the buyer back to a question.
    assert client.get("/checkout/check").status_code == 302


@pytest.mark.parametrize("amount", ["0", "-1", "0.001", "1e3", "99999999999999999999"])
def test_bad_refund_amounts_refund_nothing(app, client, db_session, amount):
    variant_id = _variant(db_session, price=3000)
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        order = place(session, [(variant_id, 2)])
    login(client, operator.email)
    base = f"/operator/orders/{order.number}"
    assert client.post(f"{base}/mark-paid", data={
        "paid-amount": "60", "paid-method": "cash"}).status_code == 302
    client.get("/language/en")
    response = client.post(f"{base}/refund", data={"refund-amount": amount,
                                                   "refund-reason": "破损"})
    assert response.status_code in (400, 409)
    html = response.get_data(as_text=True)
    assert "Enter an amount like 12.50" in html or "more than ¥0.00" in html \
        or "at most ¥60.00" in html
    with db_session() as session:
        assert reload(session, order.id).refunded_amount == 0
        assert session.exec(select(func.count()).select_from(Refund)).one() == 0
        assert payment_of(session, order.id).amount == 6000


def _placed_order_hold(application, method):
    from core.db import db

    client = application.test_client()
    with application.app_context(), db.transaction() as session:
        variant_id = make_shop(session)["items"][0][1].id
    fields = checkout_until_check(client, variant_id, quantity=1, method=method)
    assert client.post("/checkout/place", data=fields).status_code in (302, 303)
    with application.app_context(), db.transaction() as session:
        order = session.exec(select(Order)).one()
        return order.hold_expires_at - order.created_at


@pytest.mark.parametrize("hours", [None, 5])
def test_an_offline_order_waits_days_for_its_money_as_configured(app_config, hours):
    """Money at pick-up or by bank transfer takes days; 15 minutes would cancel it first."""
    from app import create_app

    if hours is not None:
        app_config["OFFLINE_HOLD_HOURS"] = hours
    application = create_app(app_config)
    try:
        assert _placed_order_hold(application, "offline") == timedelta(hours=hours or 72)
    finally:
        application.extensions["database"].engine.dispose()


@pytest.mark.parametrize("minutes", [None, 5])
def test_a_card_order_holds_its_stock_as_configured(stripe_config, minutes):
    from app import create_app

    if minutes is not None:
        stripe_config["HOLD_MINUTES"] = minutes
    application = create_app(stripe_config)
    try:
        assert _placed_order_hold(application, "stripe") == timedelta(minutes=minutes or 15)
    finally:
        application.extensions["database"].engine.dispose()
