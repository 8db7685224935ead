"""An operator marks an offline order paid with what arrived: the amount, how, and the
bank's or app's reference; anything else is a form error that changes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import select

from accounts.models import Role
from shop.models import OfflineMethod, Order, Payment, PaymentStatus
from tests.accounts.pages import error_summary, field_error
from tests.factories import login, make_user
from tests.shop.helpers import make_shop, place


@pytest.fixture
def waiting(client, db_session):
    """An offline order of ¥60.00 waiting for its money, and an operator signed in."""
    with db_session() as session:
        _product, variant = make_shop(session, price=3000)["items"][0]
        order = place(session, [(variant.id, 2)])
        make_user(session, roles=(Role.OPERATOR,), email="op-paid@example.cn")
        number, token = order.number, order.public_token
    login(client, "op-paid@example.cn")
    return {"number": number, "token": token, "base": f"/operator/orders/{number}"}


def _state(db_session, number):
    with db_session(write=False) as session:
        order = session.exec(select(Order).where(Order.number == number)).one()
        payment = session.exec(select(Payment).where(Payment.order_id == order.id)).one()
        return (order.payment_status, order.paid_amount, payment.status.value,
                payment.received_method, payment.received_reference, payment.confirmed_by_id)


def test_marking_paid_records_the_amount_the_way_and_the_reference(client, db_session,
                                                                   waiting):
    page = client.get(waiting["base"]).get_data(as_text=True)
    assert "应付：¥60.00" in page and 'name="paid-reference"' in page
    response = client.post(f"{waiting['base']}/mark-paid", data={
        "paid-amount": "60.00", "paid-method": "bank_transfer",
        "paid-reference": " ICBC-20261206-0042 "})
    assert response.status_code == 302
    status, paid, record, method, reference, by = _state(db_session, waiting["number"])
    assert (status, paid, record) == (PaymentStatus.PAID, 6000, "succeeded")
    assert (method, reference) == (OfflineMethod.BANK_TRANSFER, "ICBC-20261206-0042")
    assert by is not None
    detail = client.get(waiting["base"]).get_data(as_text=True)
    assert "银行转账: ICBC-20261206-0042" in detail
    # The buyer's page says it is paid.
    assert "已付款" in client.get(f"/orders/{waiting['token']}").get_data(as_text=True)


def test_cash_needs_no_reference(client, db_session, waiting):
    response = client.post(f"{waiting['base']}/mark-paid", data={
        "paid-amount": "60", "paid-method": "cash"})
    assert response.status_code == 302
    status, _paid, _record, method, reference, _by = _state(db_session, waiting["number"])
    assert (status, method, reference) == (PaymentStatus.PAID, OfflineMethod.CASH, None)


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"paid-amount": "59.99", "paid-method": "cash"}, "paid-amount",
     "这个订单应付 ¥60.00。等这笔钱如数到账后，再标记为已付款。"),
    ({"paid-amount": "600", "paid-method": "cash"}, "paid-amount",
     "这个订单应付 ¥60.00。等这笔钱如数到账后，再标记为已付款。"),
    ({"paid-amount": "abc", "paid-method": "cash"}, "paid-amount", None),
    ({"paid-amount": "9" * 40, "paid-method": "cash"}, "paid-amount", None),
    ({"paid-amount": "", "paid-method": "cash"}, "paid-amount", "请填写收到的金额"),
    ({"paid-amount": "60", "paid-method": ""}, "paid-method", "请选择付款方式"),
    ({"paid-amount": "60", "paid-method": "bitcoin"}, "paid-method", None),
    ({"paid-amount": "60", "paid-method": "bank_transfer"}, "paid-reference",
     "请填写转账或付款的流水号"),
    ({"paid-amount": "60", "paid-method": "wallet", "paid-reference": "x" * 101},
     "paid-reference", None),
    ({"paid-amount": "60", "paid-method": "wallet", "paid-reference": "a\nb"},
     "paid-reference", "请写在一行里"),
])
def test_a_wrong_amount_or_missing_detail_changes_nothing(client, db_session, waiting, data,
                                                         field, message):
    before = _state(db_session, waiting["number"])
    response = client.post(f"{waiting['base']}/mark-paid", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    shown = field_error(page, field)
    assert shown and (message is None or shown == message)
    assert shown in error_summary(page)
    assert _state(db_session, waiting["number"]) == before


def test_hostile_references_are_escaped(client, db_session, waiting):
    client.post(f"{waiting['base']}/mark-paid", data={
        "paid-amount": "60", "paid-method": "other", "paid-reference": "<b>x</b>"})
    page = client.get(waiting["base"]).get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page


def test_only_operators_mark_paid(client, db_session, waiting):
    with db_session() as session:
        make_user(session, roles=(Role.MAKER,), email="maker-paid@example.cn")
    login(client, "maker-paid@example.cn")
    before = _state(db_session, waiting["number"])
    response = client.post(f"{waiting['base']}/mark-paid", data={
        "paid-amount": "60", "paid-method": "cash"})
    assert response.status_code == 403
    assert _state(db_session, waiting["number"]) == before
