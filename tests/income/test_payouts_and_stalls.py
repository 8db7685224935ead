"""Payouts (one by one and in batches), corrections, and the stall till."""

from __future__ import annotations

import re

import pytest
from sqlmodel import func, select

from accounts.models import Role, User
from catalog.models import ProductVariant
from income.models import (
    CommissionRule,
    LedgerEntry,
    Payout,
    PayoutBatch,
    SalesPoint,
    StallSale,
)
from income.pickup_seed import SEED_POINTS
from income.sales_points import add_member, create_sales_point
from tests.factories import login, make_user
from tests.income.helpers import maker_shop, paid_order


@pytest.fixture
def books(app, db_session):
    app.config["INCOME_HOLD_DAYS"] = 0
    with db_session() as session:
        shop = maker_shop(session, shares=(10000,), price=10000, stock=5)
        operator = make_user(session, roles=(Role.OPERATOR,))
        seller = make_user(session, roles=(Role.SHOPPER,))
        other_seller = make_user(session, roles=(Role.SHOPPER,))
        paid_order(session, [(shop["variant"].id, 1)])
        point = create_sales_point(session=session, slug="gulou", name="鼓楼站")
        other = create_sales_point(session=session, slug="tianyi", name="天一广场")
        add_member(session=session, sales_point=point, user_id=seller.id)
        add_member(session=session, sales_point=other, user_id=other_seller.id)
        return {"maker": shop["makers"][0].id, "maker_email": shop["makers"][0].email,
                "variant": shop["variant"].id, "operator": operator.email,
                "workshop": shop["workshop"].id, "product": shop["product"].id,
                "seller": seller.email, "point": point.id, "other": other.id}


def _count(db_session, model):
    with db_session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize("amount", ["95.01", "-5", "0", "abc", "99999999999", ""])
def test_payout_above_balance_or_bad_is_refused(client, books, db_session, amount):
    login(client, books["operator"])
    before = _count(db_session, LedgerEntry)
    page = client.post("/operator/payouts/pay", data={
        "pay-maker_id": books["maker"], "pay-amount": amount, "pay-method": "bank",
        "pay-reference": "<script>x</script>"})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "<script>x</script>" not in text
    assert "错误" in text
    assert _count(db_session, LedgerEntry) == before
    assert _count(db_session, Payout) == 0


def test_payout_of_available_money_is_a_debit(client, books, db_session):
    login(client, books["operator"])
    # ¥100 paid, 5% fee: ¥95 available.
    page = client.post("/operator/payouts/pay", data={
        "pay-maker_id": books["maker"], "pay-amount": "95", "pay-method": "wallet",
        "pay-reference": "WX-1"})
    assert page.status_code == 302
    with db_session() as session:
        total = session.exec(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.maker_id == books["maker"])).one()
        assert total == 0
        payout = session.exec(select(Payout)).one()
        operator = session.exec(select(User).where(User.email == books["operator"])).one()
        assert (payout.amount, payout.method.value, payout.reference) == (9500, "wallet", "WX-1")
        assert payout.created_by_id == payout.paid_by_id == operator.id
        debit = session.exec(select(LedgerEntry).where(
            LedgerEntry.payout_id == payout.id)).one()
        assert (debit.amount, debit.created_by_id) == (-9500, operator.id)
    again = client.post("/operator/payouts/pay", data={
        "pay-maker_id": books["maker"], "pay-amount": "1", "pay-method": "bank",
        "pay-reference": "B-2"})
    assert again.status_code == 400


def test_the_payout_forms_choose_the_maker_from_a_list(client, books, db_session):
    login(client, books["operator"])
    page = client.get("/operator/payouts").get_data(as_text=True)
    for prefix in ("pay", "adjust"):
        select = re.search(rf'<select[^>]*id="{prefix}-maker_id".*?</select>', page, re.S)
        assert select, prefix
        options = re.findall(r'<option[^>]*value="(\d*)"[^>]*>([^<]*)<', select.group(0))
        assert options[0] == ("", "选择手艺人")
        # The maker owed money comes first, with what they are owed.
        assert options[1][0] == str(books["maker"]) and "（应付 ¥" in options[1][1]


@pytest.mark.parametrize("maker", ["999999", "abc", "-1", "1" * 40, "", "operator"])
def test_a_maker_not_on_the_list_is_refused_and_nothing_recorded(client, books, db_session,
                                                                 maker):
    login(client, books["operator"])
    if maker == "operator":  # a real account, but not a maker's
        with db_session(write=False) as session:
            maker = str(session.exec(select(User.id).where(
                User.email == books["operator"])).one())
    before = _count(db_session, LedgerEntry)
    for prefix, url, extra in (("pay", "/operator/payouts/pay",
                                {"pay-method": "bank", "pay-reference": "B"}),
                               ("adjust", "/operator/payouts/adjust",
                                {"adjust-reason": "更正"})):
        page = client.post(url, data={f"{prefix}-maker_id": maker, f"{prefix}-amount": "1",
                                      **extra})
        assert page.status_code == 400
        text = page.get_data(as_text=True)
        assert ("请从列表中选择手艺人" if maker else "请选择手艺人") in text
    assert _count(db_session, LedgerEntry) == before
    assert _count(db_session, Payout) == 0


def test_correction_needs_a_reason(client, books, db_session):
    login(client, books["operator"])
    before = _count(db_session, LedgerEntry)
    page = client.post("/operator/payouts/adjust", data={
        "adjust-maker_id": books["maker"], "adjust-amount": "10", "adjust-reason": "  "})
    assert page.status_code == 400
    assert "原因" in page.get_data(as_text=True)
    assert _count(db_session, LedgerEntry) == before
    ok = client.post("/operator/payouts/adjust", data={
        "adjust-maker_id": books["maker"], "adjust-amount": "-10",
        "adjust-reason": "线下多付"})
    assert ok.status_code == 302
    assert _count(db_session, LedgerEntry) == before + 1


def test_batch_exports_and_books_every_payout_at_once(client, books, db_session):
    login(client, books["operator"])
    bad = client.post("/operator/payout-batches", data={"batch-month": "2026-13"})
    assert bad.status_code == 400
    made = client.post("/operator/payout-batches", data={"batch-month": "2026-12"})
    assert made.status_code == 302
    with db_session() as session:
        batch = session.exec(select(PayoutBatch)).one()
    csv_text = client.get(f"/operator/payout-batches/{batch.id}.csv").get_data(as_text=True)
    assert "95.00" in csv_text
    # Nothing more can be paid while the batch waits.
    extra = client.post("/operator/payouts/pay", data={
        "pay-maker_id": books["maker"], "pay-amount": "1", "pay-method": "bank",
        "pay-reference": "B"})
    assert extra.status_code == 400
    no_ref = client.post(f"/operator/payout-batches/{batch.id}", data={"reference": ""})
    assert no_ref.status_code == 400
    paid = client.post(f"/operator/payout-batches/{batch.id}", data={"reference": "ICBC-77"})
    assert paid.status_code == 302
    twice = client.post(f"/operator/payout-batches/{batch.id}", data={"reference": "ICBC-77"})
    assert twice.status_code == 400
    with db_session() as session:
        assert session.exec(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.maker_id == books["maker"])).one() == 0
    summary = client.get(f"/api/income/makers/{books['maker']}").get_json()
    assert [p["amount"] for p in summary["payouts"]] == [9500]
    assert summary["available"] == 0


def test_stall_till_takes_stock_and_credits_makers(client, books, db_session):
    login(client, books["seller"])
    till = client.get(f"/stall/{books['point']}")
    assert till.status_code == 200
    key = "till-key-0000000000001"
    sale = client.post(f"/stall/{books['point']}", data={
        f"qty-{books['variant']}": "2", "payment": "qr", "key": key})
    assert sale.status_code == 302
    replay = client.post(f"/stall/{books['point']}", data={
        f"qty-{books['variant']}": "2", "payment": "qr", "key": key})
    assert replay.status_code == 302
    with db_session() as session:
        assert session.get(ProductVariant, books["variant"]).stock == 2  # 5 - 1 online - 2
        assert session.exec(select(func.count()).select_from(StallSale)).one() == 1
        credit = session.exec(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.sales_point_id == books["point"])).one()
        assert credit == 20000
    too_many = client.post(f"/stall/{books['point']}", data={
        f"qty-{books['variant']}": "3", "payment": "cash", "key": "till-key-0000000000002"})
    assert too_many.status_code == 400
    for data in ({f"qty-{books['variant']}": "x", "payment": "cash"},
                 {"payment": "cash"}, {f"qty-{books['variant']}": "1"}):
        assert client.post(f"/stall/{books['point']}", data=data).status_code == 400
    with db_session() as session:
        assert session.get(ProductVariant, books["variant"]).stock == 2


def test_stall_user_sees_only_their_own_stall(client, books, db_session):
    login(client, books["seller"])
    assert client.get(f"/stall/{books['other']}").status_code == 404
    assert client.post(f"/stall/{books['other']}", data={
        f"qty-{books['variant']}": "1", "payment": "cash"}).status_code == 404
    assert client.get("/operator/sales-points").status_code == 403
    with db_session() as session:
        # The two of the test and the pick-up points every database starts with.
        assert session.exec(select(func.count()).select_from(SalesPoint)).one() == 2 + len(
            SEED_POINTS)


def test_balance_is_the_sum_of_entries_whatever_a_statement_says(client, books, db_session):
    """Statements are records of a month; no stored figure ever feeds a balance."""
    from income import ledger
    from income.models import MonthlyStatement
    from income.queries import previous_month, this_month

    with db_session() as session:
        # A statement of last month whose closing figure no longer matches the entries
        # (as if one were booked into that month after the job ran).
        session.add(MonthlyStatement(maker_id=books["maker"],
                                     month=previous_month(this_month()).month_key,
                                     opening_amount=0, earned_amount=123456,
                                     paid_out_amount=0, closing_amount=123456))
        session.flush()
        ledger.adjust(session=session, maker_id=books["maker"], amount=500,
                      reason="补发", by_user_id=None, key="closed-statement")
        owed = session.exec(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.maker_id == books["maker"])).one()
        assert owed == 10000
        assert ledger.balances(session, books["maker"]) == (10000, 10000)
        assert ledger.available_balance(session, books["maker"]) == 10000
    login(client, books["maker_email"])
    api = client.get(f"/api/income/makers/{books['maker']}").get_json()
    assert (api["available"], api["balance"]) == (10000, 10000)


@pytest.mark.parametrize("rate", ["101", "-1", "abc", ""])
def test_bad_platform_fee_is_refused(client, books, db_session, rate):
    login(client, books["operator"])
    page = client.post("/operator/platform-fee", data={
        "scope": f"workshop:{books['workshop']}", "rate": rate})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "<title>错误：" in text and "平台服务费" in text
    assert _count(db_session, CommissionRule) == 0


def test_platform_fee_per_workshop_and_product(client, books, db_session):
    from income.ledger import commission_rate

    login(client, books["operator"])
    for scope, rate in ((f"workshop:{books['workshop']}", "2.5"),
                        (f"product:{books['product']}", "0")):
        assert client.post("/operator/platform-fee", data={
            "scope": scope, "rate": rate}).status_code == 302
    with db_session() as session:
        assert commission_rate(session, product_id=None,
                               workshop_id=books["workshop"]) == 250
        assert commission_rate(session, product_id=books["product"],
                               workshop_id=books["workshop"]) == 0
        assert commission_rate(session, product_id=None, workshop_id=None) == 500


@pytest.mark.parametrize("column", ["amount", "maker_id", "kind", "available_at"])
def test_the_database_refuses_to_change_an_entry_s_money(books, db_session, column):
    """Append-only is the database's rule too: a changed entry could make sums drift."""
    import sqlalchemy as sa

    from core.db import utcnow

    value = {"amount": 1, "maker_id": None, "kind": "adjustment",
             "available_at": utcnow()}[column]
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db_session() as session:
        session.execute(sa.update(LedgerEntry).where(
            LedgerEntry.maker_id == books["maker"]).values({column: value}))
    with db_session() as session:
        # What an entry points at may still change (a deleted product leaves its sales).
        assert session.execute(sa.update(LedgerEntry).where(
            LedgerEntry.maker_id == books["maker"]).values(product_id=None)).rowcount == 1
        assert session.exec(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.maker_id == books["maker"])).one() == 9500
