"""Each operator action on money writes exactly one audit entry with who and what, in
its own transaction; the same action refused for bad input writes none."""

from __future__ import annotations

import pytest
from sqlmodel import select

from accounts.models import Role
from income.models import LedgerEntry, Payout, PayoutBatch
from shop.models import Order
from tests.core.audit_helpers import actions, entries
from tests.factories import login, make_user
from tests.income.helpers import maker_shop, paid_order
from tests.shop.helpers import make_shop, place


@pytest.fixture
def operator(client, db_session):
    with db_session() as session:
        user = make_user(session, email="audit-op@example.cn", roles=(Role.OPERATOR,))
    assert login(client, "audit-op@example.cn").status_code == 302
    return user.id


@pytest.fixture
def waiting(db_session, operator):
    """An offline order of ¥60.00 waiting for its money."""
    with db_session() as session:
        _product, variant = make_shop(session, price=3000)["items"][0]
        order = place(session, [(variant.id, 2)])
        return {"number": order.number, "id": order.id,
                "base": f"/operator/orders/{order.number}"}


@pytest.fixture
def paid(db_session, operator):
    """A paid order of ¥100.00."""
    with db_session() as session:
        shop = maker_shop(session, shares=(10000,), price=10000, stock=5)
        order = paid_order(session, [(shop["variant"].id, 1)])
        return {"number": order.number, "id": order.id,
                "base": f"/operator/orders/{order.number}", "maker": shop["makers"][0].id}


def test_marking_paid(client, db_session, operator, waiting):
    response = client.post(f"{waiting['base']}/mark-paid", data={
        "paid-amount": "60.00", "paid-method": "bank_transfer", "paid-reference": "ICBC-1"})
    assert response.status_code == 302
    [(actor, action, kind, subject, details)] = entries(db_session)
    assert (actor, action, kind, subject) == (operator, "order.mark_paid", "order",
                                              waiting["number"])
    assert details["amount"] == 6000 and details["method"] == "bank_transfer"
    assert details["order_id"] == waiting["id"]
    # The bank's reference is the operator's note, not the trail's.
    assert "ICBC-1" not in str(details)


def test_marking_paid_with_the_wrong_amount_writes_nothing(client, db_session, waiting):
    response = client.post(f"{waiting['base']}/mark-paid", data={
        "paid-amount": "59.99", "paid-method": "cash"})
    assert response.status_code == 400
    assert entries(db_session) == []


@pytest.mark.parametrize(("amount", "full"), [("100.00", True), ("30.00", False)])
def test_refunds_full_and_partial(client, db_session, operator, paid, amount, full):
    response = client.post(f"{paid['base']}/refund", data={
        "refund-amount": amount, "refund-reason": "坏了"})
    assert response.status_code == 302
    [(actor, action, kind, subject, details)] = entries(db_session)
    assert (actor, action, kind, subject) == (operator, "order.refund", "order",
                                              paid["number"])
    assert details["amount"] == int(float(amount) * 100) and details["full"] is full
    assert details["currency"] == "CNY" and details["restock"] is False


@pytest.mark.parametrize("amount", ["100.01", "0", "abc"])
def test_a_refused_refund_writes_nothing(client, db_session, paid, amount):
    response = client.post(f"{paid['base']}/refund", data={
        "refund-amount": amount, "refund-reason": "坏了"})
    assert response.status_code in (400, 409)
    assert entries(db_session) == []
    with db_session(write=False) as session:
        assert session.get(Order, paid["id"]).refunded_amount == 0


def test_cancel_and_its_refusal(client, db_session, operator, waiting, paid):
    assert client.post(f"{paid['base']}/cancel").status_code == 409
    assert entries(db_session) == []
    assert client.post(f"{waiting['base']}/cancel").status_code == 302
    assert entries(db_session) == [(operator, "order.cancel", "order", waiting["number"],
                                    {"order_id": waiting["id"]})]


def test_shipping_and_pick_up(client, db_session, operator, paid):
    assert client.post(f"{paid['base']}/ship", data={"ship-tracking_number": ""}
                       ).status_code == 400
    assert entries(db_session) == []
    assert client.post(f"{paid['base']}/picked-up").status_code == 302
    assert actions(db_session) == ["order.pick_up"]


@pytest.fixture
def books(app, db_session, operator):
    """A maker with ¥95.00 available (¥100 sold, the 5% fee kept)."""
    app.config["INCOME_HOLD_DAYS"] = 0
    with db_session() as session:
        shop = maker_shop(session, shares=(10000,), price=10000, stock=5)
        paid_order(session, [(shop["variant"].id, 1)])
        return {"maker": shop["makers"][0].id}


def test_a_payout(client, db_session, operator, books):
    response = client.post("/operator/payouts/pay", data={
        "pay-maker_id": books["maker"], "pay-amount": "95", "pay-method": "wallet",
        "pay-reference": "WX-1"})
    assert response.status_code == 302
    with db_session(write=False) as session:
        payout = session.exec(select(Payout)).one()
    assert entries(db_session) == [(operator, "payout.create", "payout", str(payout.id), {
        "maker_id": books["maker"], "amount": 9500, "currency": "CNY", "method": "wallet"})]


@pytest.mark.parametrize("amount", ["95.01", "-5", ""])
def test_a_refused_payout_writes_nothing(client, db_session, books, amount):
    response = client.post("/operator/payouts/pay", data={
        "pay-maker_id": books["maker"], "pay-amount": amount, "pay-method": "bank",
        "pay-reference": "B-1"})
    assert response.status_code == 400
    assert entries(db_session) == []


def test_a_ledger_adjustment_and_a_refused_one(client, db_session, operator, books):
    refused = client.post("/operator/payouts/adjust", data={
        "adjust-maker_id": books["maker"], "adjust-amount": "-100",
        "adjust-reason": "线下多付"})
    assert refused.status_code == 400
    assert entries(db_session) == []
    response = client.post("/operator/payouts/adjust", data={
        "adjust-maker_id": books["maker"], "adjust-amount": "-10", "adjust-reason": "线下多付"})
    assert response.status_code == 302
    with db_session(write=False) as session:
        adjustment = session.exec(select(LedgerEntry).order_by(LedgerEntry.id.desc())).first()
    assert entries(db_session) == [(operator, "ledger.adjust", "maker", str(books["maker"]),
                                    {"ledger_entry_id": adjustment.id, "amount": -1000})]


def test_a_payout_batch_made_and_paid(client, db_session, operator, books):
    assert client.post("/operator/payout-batches", data={"batch-month": "2026-13"}
                       ).status_code == 400
    assert entries(db_session) == []
    assert client.post("/operator/payout-batches", data={"batch-month": "2026-12"}
                       ).status_code == 302
    with db_session(write=False) as session:
        batch = session.exec(select(PayoutBatch)).one()
    assert client.post(f"/operator/payout-batches/{batch.id}", data={"reference": ""}
                       ).status_code == 400
    assert client.post(f"/operator/payout-batches/{batch.id}", data={"reference": "ICBC-7"}
                       ).status_code == 302
    assert entries(db_session) == [
        (operator, "payout_batch.create", "payout_batch", str(batch.id), {"month": "2026-12"}),
        (operator, "payout_batch.mark_paid", "payout_batch", str(batch.id),
         {"payouts": 1, "amount": 9500})]


def test_the_platform_fee(client, db_session, operator):
    assert client.post("/operator/platform-fee", data={"scope": "default", "rate": "101"}
                       ).status_code == 400
    assert entries(db_session) == []
    assert client.post("/operator/platform-fee", data={"scope": "default", "rate": "3"}
                       ).status_code == 302
    assert entries(db_session) == [(operator, "commission.set", "platform_fee", "default",
                                    {"rate_basis_points": 300})]


def test_the_bank_account_for_transfers(client, db_session, operator):
    account = {"account_name": "宁波市残联工坊直播", "bank_name": "中国工商银行宁波海曙支行",
               "account_number": "6222 0210 0104 5678 901", "note": ""}
    assert client.post("/operator/bank-transfer", data={**account, "account_number": ""}
                       ).status_code == 400
    assert entries(db_session) == []
    assert client.post("/operator/bank-transfer", data=account).status_code == 302
    [(actor, action, kind, _subject, details)] = entries(db_session)
    assert (actor, action, kind, details) == (operator, "bank_account.change",
                                              "bank_transfer_account", {})


def test_adding_a_person_to_a_stalls_till(client, db_session, operator):
    from income.sales_points import create_sales_point

    with db_session() as session:
        point = create_sales_point(session=session, slug="gulou", name="鼓楼站")
        seller = make_user(session, email="seller@example.cn")
        ids = (point.id, seller.id)
    url = f"/operator/sales-points/{ids[0]}/members"
    assert client.post(url, data={"email": "nobody@example.cn"}).status_code == 400
    assert entries(db_session) == []
    assert client.post(url, data={"email": "seller@example.cn"}).status_code == 302
    assert entries(db_session) == [(operator, "sales_point.member_add", "sales_point",
                                    str(ids[0]), {"user_id": ids[1]})]
