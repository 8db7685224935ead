"""The ledger invariant, by property tests on both databases: for every order, makers'
credits + commission = paid - refunded; payouts never exceed what is available."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from accounts.models import Role
from core.db import utcnow
from core.errors import Conflict
from income import ledger, payouts, sales_points
from income.models import EntryKind, LedgerEntry, PayoutMethod, StallPayment
from shop.models import Order
from shop.refunds import refund_order
from tests.income.helpers import maker_shop, paid_order, quick_user

PROPERTY = settings(max_examples=30, deadline=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

shares_st = st.lists(st.integers(min_value=1, max_value=10000), min_size=1, max_size=4)
line_st = st.tuples(shares_st, st.integers(min_value=1, max_value=99_999),
                    st.integers(min_value=1, max_value=5))
rate_st = st.one_of(st.just(0), st.just(10000), st.integers(min_value=0, max_value=10000))


def _maker_sum(session, maker_id, *kinds):
    query = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.maker_id == maker_id)
    if kinds:
        query = query.where(LedgerEntry.kind.in_(kinds))
    return int(session.exec(query).one())


@PROPERTY
@given(lines=st.lists(line_st, min_size=1, max_size=3), rate=rate_st,
       scope=st.sampled_from(["default", "workshop", "product"]),
       refunds=st.lists(st.integers(min_value=1, max_value=200_000), max_size=4),
       payout_parts=st.lists(st.integers(min_value=1, max_value=100), max_size=3),
       hold=st.sampled_from([0, 7]))
def test_order_books_always_add_up(app, db_session, lines, rate, scope, refunds, payout_parts,
                                   hold):
    app.config["INCOME_HOLD_DAYS"] = hold
    with db_session() as session:
        operator = quick_user(session, Role.OPERATOR)
        shops, wanted = [], []
        for shares, price, quantity in lines:
            shop = maker_shop(session, shares=tuple(shares), price=price, quick=True)
            target = {"default": {}, "workshop": {"workshop_id": shop["workshop"].id},
                      "product": {"product_id": shop["product"].id}}[scope]
            ledger.set_commission(session=session, rate_basis_points=rate, **target)
            shops.append(shop)
            wanted.append((shop["variant"].id, quantity))
        order = paid_order(session, wanted)
        order_id = order.id
        # A replayed "paid" changes nothing.
        assert ledger.credit_paid_order(session=session, order=order) == 0
        assert ledger.order_gap(session, order_id) == 0
        for amount in refunds:
            session.refresh(order)
            left = order.paid_amount - order.refunded_amount
            if left <= 0:
                break
            refund_order(session=session, order=order, amount=min(amount, left), reason="test",
                         restock=False, by_user_id=operator.id)
            assert ledger.order_gap(session, order_id) == 0
        session.refresh(order)
        # No credit is ever taken below zero by a refund.
        for shop in shops:
            for maker in shop["makers"]:
                assert _maker_sum(session, maker.id, EntryKind.SALE, EntryKind.REFUND) >= 0
        platform = session.exec(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.order_id == order_id, LedgerEntry.maker_id.is_(None))).one()
        assert int(platform) >= 0
        # Payouts: a share of what is available, never more.
        maker = shops[0]["makers"][0]
        for part in payout_parts:
            can = payouts.payable(session, maker.id)
            amount = can * part // 100
            if amount <= 0:
                break
            payouts.pay_maker(session=session, maker_id=maker.id, amount=amount,
                              method=PayoutMethod.BANK, reference="T1", by_user_id=operator.id)
        can = payouts.payable(session, maker.id)
        assert can >= 0
        try:
            payouts.pay_maker(session=session, maker_id=maker.id, amount=can + 1,
                              method=PayoutMethod.WALLET, reference="T2",
                              by_user_id=operator.id)
            raise AssertionError("a payout above the balance was accepted")
        except Conflict:
            pass
        assert ledger.order_gap(session, order_id) == 0
        # Balances are plain sums of the entries, whatever happened; money on hold is
        # never counted as available, and refunds never make it negative.
        now = utcnow()
        for shop in shops:
            for each in shop["makers"]:
                available, owed = ledger.balances(session, each.id, now)
                assert owed == _maker_sum(session, each.id)
                assert available == int(session.exec(
                    select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                        LedgerEntry.maker_id == each.id,
                        LedgerEntry.available_at <= now)).one())
                assert available >= 0
                if hold:
                    assert available == 0
        refreshed = session.get(Order, order_id)
        booked = session.exec(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.order_id == order_id)).one()
        assert booked == refreshed.paid_amount - refreshed.refunded_amount


@PROPERTY
@given(shares=shares_st, price=st.integers(min_value=1, max_value=99_999),
       quantity=st.integers(min_value=1, max_value=9), rate=rate_st)
def test_stall_sale_books_add_up(app, db_session, shares, price, quantity, rate):
    with db_session() as session:
        seller = quick_user(session, Role.SHOPPER)
        shop = maker_shop(session, shares=tuple(shares), price=price, quick=True)
        ledger.set_commission(session=session, rate_basis_points=rate,
                              product_id=shop["product"].id)
        point = sales_points.create_sales_point(session=session, slug=f"p-{seller.id}",
                                                name="Gulou")
        sale, created = sales_points.record_sale(
            session=session, sales_point=point,
            lines=[sales_points.TillLine(shop["variant"].id, quantity)],
            payment_method=StallPayment.CASH, by_user_id=seller.id,
            idempotency_key=f"k-{seller.id}")
        assert created
        assert sales_points.sale_gap(session, sale.id) == 0
        assert sale.total_amount == price * quantity
        credits = [_maker_sum(session, m.id) for m in shop["makers"]]
        commission = sale.total_amount * rate
        # The platform's part is the exact fraction, rounded to a whole fen.
        platform = sale.total_amount - sum(credits)
        assert abs(platform * 10000 - commission) <= 10000
