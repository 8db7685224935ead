"""Paying by bank transfer: the operator's account settings, shown on order pages and
in the order mail; a home-delivery order is never told to pay at pick-up."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from accounts.models import Role
from core.mail import OutboxMail
from shop import bank_transfer
from shop.models import BankTransferAccount, DeliveryMethod
from shop.orders import Delivery
from tests.accounts.pages import error_summary, field_error
from tests.factories import login, make_user
from tests.shop.helpers import PICKUP, checkout_until_check, make_shop, place

IN_DIGITS = "账号请用数字填写，例如 6222 0210 0104 5678 901"
ACCOUNT = {"account_name": "宁波市残联工坊直播", "bank_name": "中国工商银行宁波海曙支行",
           "account_number": "6222 0210 0104 5678 901", "note": "工作日每天下午核对到账。"}
HOME = Delivery(method=DeliveryMethod.DELIVERY, province="浙江省", city="宁波市",
                district="海曙区", street="中山西路 1 号")


@pytest.fixture
def operator(client, db_session):
    with db_session() as session:
        make_user(session, roles=(Role.OPERATOR,), email="op@example.cn")
    login(client, "op@example.cn")
    return client


def _saved(db_session):
    with db_session(write=False) as session:
        return [(a.account_name, a.bank_name, a.account_number, a.note)
                for a in session.exec(select(BankTransferAccount)).all()]


def _set_account(db_session, **changes):
    with db_session() as session:
        operator = make_user(session, roles=(Role.OPERATOR,))
        bank_transfer.save_account(session=session, by_user_id=operator.id,
                                   **{**ACCOUNT, **changes})


def test_an_operator_sets_the_account_and_finds_it_from_the_dashboard(operator, db_session):
    dashboard = operator.get("/operator/").get_data(as_text=True)
    assert 'href="/operator/bank-transfer"' in dashboard
    assert operator.get("/operator/bank-transfer").status_code == 200
    response = operator.post("/operator/bank-transfer", data=ACCOUNT)
    assert response.status_code == 302
    assert _saved(db_session) == [tuple(ACCOUNT.values())]
    page = operator.get("/operator/bank-transfer").get_data(as_text=True)
    assert "银行账户已保存" in page and 'value="6222 0210 0104 5678 901"' in page
    # A second save changes the one account.
    operator.post("/operator/bank-transfer", data={**ACCOUNT, "note": ""})
    assert _saved(db_session) == [(*list(ACCOUNT.values())[:3], "")]


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"account_name": ""}, "account_name", "请填写账户的户名"),
    ({"bank_name": "   "}, "bank_name", "请填写开户银行和支行"),
    ({"account_number": "abc-123"}, "account_number", IN_DIGITS),
    ({"account_number": "1" * 60}, "account_number", IN_DIGITS),
    ({"account_name": "名" * 101}, "account_name", "户名不能超过 100 个字"),
    ({"note": "x" * 301}, "note", "备注不能超过 300 个字"),
    ({"bank_name": "工行\n<script>"}, "bank_name", "请写在一行里"),
])
def test_bad_account_details_are_refused_and_change_nothing(operator, db_session, changes,
                                                            field, message):
    _set_account(db_session)
    before = _saved(db_session)
    response = operator.post("/operator/bank-transfer", data={**ACCOUNT, **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, field) == message
    assert message in error_summary(page)
    assert _saved(db_session) == before


def test_only_operators_reach_the_account(client, db_session):
    with db_session() as session:
        make_user(session, roles=(Role.MAKER,), email="maker@example.cn")
    assert client.get("/operator/bank-transfer").status_code in (302, 401, 403)
    login(client, "maker@example.cn")
    assert client.get("/operator/bank-transfer").status_code == 403
    assert client.post("/operator/bank-transfer", data=ACCOUNT).status_code == 403
    assert _saved(db_session) == []


def test_a_forged_form_without_its_token_changes_nothing(operator, app, db_session):
    app.config["WTF_CSRF_ENABLED"] = True
    assert operator.post("/operator/bank-transfer", data=ACCOUNT).status_code == 400
    assert _saved(db_session) == []


def _order_page(client, db_session, app, delivery):
    with app.test_request_context(), db_session() as session:
        _product, variant = make_shop(session)["items"][0]
        order = place(session, [(variant.id, 1)], delivery=delivery)
        token, number = order.public_token, order.number
    return client.get(f"/orders/{token}").get_data(as_text=True), number


def test_a_pickup_order_shows_the_stall_and_the_account(client, app, db_session):
    _set_account(db_session, account_name="宁波<b>残联</b>")
    page, number = _order_page(client, db_session, app, PICKUP)
    assert f"请在自提时付款，或用银行转账付款，并写上订单号 {number}" in page
    assert "6222 0210 0104 5678 901" in page and "中国工商银行宁波海曙支行" in page
    assert "宁波&lt;b&gt;残联&lt;/b&gt;" in page and "<b>残联" not in page
    assert "工作日每天下午核对到账。" in page


def test_a_home_delivery_order_is_told_to_transfer_not_to_pay_at_pickup(client, app,
                                                                         db_session):
    _set_account(db_session)
    page, number = _order_page(client, db_session, app, HOME)
    assert f"请用银行转账付款，并写上订单号 {number}" in page
    assert "自提时付款" not in page
    assert "6222 0210 0104 5678 901" in page


def test_without_an_account_the_order_says_to_ask_the_shop(client, app, db_session):
    page, number = _order_page(client, db_session, app, HOME)
    assert f"商店还没有在这里给出银行账户。请联系商店索取，并注明订单号 {number}。" in page


def test_the_english_order_page_reads_english(client, app, db_session):
    _set_account(db_session)
    client.get("/language/en")
    page, number = _order_page(client, db_session, app, HOME)
    assert f"Pay by bank transfer, quoting {number}." in page
    assert "Account number" in page and "pick-up" not in page


def test_the_order_mail_gives_the_account_and_the_right_way_to_pay(app, db_session):
    from shop import mails

    _set_account(db_session)
    with app.test_request_context(), db_session() as session:
        _product, variant = make_shop(session)["items"][0]
        home = place(session, [(variant.id, 1)], delivery=HOME, locale="en")
        mails.order_placed(session=session, order=home)
        stall = place(session, [(variant.id, 1)], delivery=PICKUP)
        mails.order_placed(session=session, order=stall)
        numbers = home.number, stall.number
    with db_session(write=False) as session:
        bodies = {m.subject: m.body_text for m in session.exec(select(OutboxMail)).all()}
    english = bodies[f"Order {numbers[0]} received"]
    assert f"Pay by bank transfer, quoting {numbers[0]}." in english
    assert "pick-up" not in english
    assert "Account number: 6222 0210 0104 5678 901" in english
    assert "Bank and branch: 中国工商银行宁波海曙支行" in english
    chinese = bodies[f"已收到订单 {numbers[1]}"]
    assert "自提时付款" in chinese and "账号：6222 0210 0104 5678 901" in chinese


def test_checkout_offers_transfer_for_delivery_and_the_stall_for_pickup(client, app,
                                                                       db_session):
    with db_session() as session:
        _product, variant = make_shop(session)["items"][0]
        variant_id = variant.id
    checkout_until_check(client, variant_id, pickup=False)
    assert "银行转账付款" in client.get("/checkout/payment").get_data(as_text=True)
    check = client.get("/checkout/check").get_data(as_text=True)
    assert "银行转账付款" in check and "自提时付款" not in check
    client.post("/checkout/delivery", data={"method": "pickup"})
    client.post("/checkout/pickup", data={"point": "metro-gulou"})
    assert "自提时付款或银行转账" in client.get("/checkout/payment").get_data(as_text=True)


def test_two_first_saves_at_once_keep_one_account(app, db_session):
    with db_session() as session:
        ids = [make_user(session, roles=(Role.OPERATOR,)).id for _ in range(2)]
    start = threading.Barrier(2)
    errors = []

    def save(index):
        try:
            start.wait()
            with db_session() as session:
                bank_transfer.save_account(session=session, by_user_id=ids[index],
                                           **{**ACCOUNT, "note": f"第{index}位"})
        except Exception as exc:  # noqa: BLE001  (the test reports what went wrong)
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    saved = _saved(db_session)
    assert len(saved) == 1 and saved[0][3] in ("第0位", "第1位")
