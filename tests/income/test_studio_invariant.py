"""The books with a selling studio, by property tests on both databases: over random
prices, quantities, shares, platform and studio rates, every part of a paid line is
>= 0, the parts add up exactly to the sale, and refunds take back exactly what they
return, never a part below zero."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from accounts.models import Role, WorkshopKind
from core.money import Money
from income import ledger, studios
from income.models import EntryKind, LedgerEntry
from shop.refunds import refund_order
from tests.factories import make_workshop
from tests.income.helpers import maker_shop, paid_order, quick_user

PROPERTY = settings(max_examples=20, deadline=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
rate_st = st.one_of(st.just(0), st.just(10000), st.integers(min_value=0, max_value=10000))
shares_st = st.lists(st.integers(min_value=1, max_value=10000), min_size=1, max_size=3)


@PROPERTY
@given(shares=shares_st, price=st.integers(min_value=1, max_value=99_999),
       quantity=st.integers(min_value=1, max_value=5), platform=rate_st, studio_rate=rate_st,
       refunds=st.lists(st.integers(min_value=1, max_value=200_000), max_size=3))
def test_studio_sales_always_add_up(db_session, shares, price, quantity, platform,
                                    studio_rate, refunds):
    with db_session() as session:
        operator = quick_user(session, Role.OPERATOR)
        shop = maker_shop(session, shares=tuple(shares), price=price, quick=True)
        studio = make_workshop(session, kind=WorkshopKind.STUDIO)
        ledger.set_commission(session=session, rate_basis_points=platform,
                              workshop_id=shop["workshop"].id)
        studios.set_studio_rate(session=session, studio_id=studio.id,
                                rate_basis_points=studio_rate, by_user_id=operator.id)
        studios.set_selling_studio(session=session, product_id=shop["product"].id,
                                   studio_id=studio.id, by_user_id=operator.id)
        order = paid_order(session, [(shop["variant"].id, quantity)])
        sale = price * quantity
        parts = session.exec(select(LedgerEntry.kind, LedgerEntry.amount).where(
            LedgerEntry.order_id == order.id)).all()
        assert all(amount > 0 for _kind, amount in parts)
        assert sum(amount for _kind, amount in parts) == sale
        # The same as the pure split: platform first, the studio of what is left.
        want_platform, want_studio, want_makers = ledger.split_amount(
            Money(sale, order.currency), platform_rate=platform, studio_rate=studio_rate,
            shares=list(shares))
        by_kind = {k: sum(a for kk, a in parts if kk == k) for k, _a in parts}
        assert by_kind.get(EntryKind.COMMISSION, 0) == want_platform.amount
        assert by_kind.get(EntryKind.STUDIO_COMMISSION, 0) == want_studio.amount
        assert by_kind.get(EntryKind.SALE, 0) == sum(m.amount for m in want_makers)
        for amount in refunds:
            session.refresh(order)
            left = order.paid_amount - order.refunded_amount
            if left <= 0:
                break
            taken = min(amount, left)
            before = _order_sum(session, order.id)
            refund_order(session=session, order=order, amount=taken, reason="test",
                         restock=False, by_user_id=operator.id)
            assert before - _order_sum(session, order.id) == taken
            assert ledger.order_gap(session, order.id) == 0
            # No party's part of the line is ever taken below zero.
            for account in session.exec(
                    select(LedgerEntry.maker_id, LedgerEntry.studio_id,
                           func.sum(LedgerEntry.amount))
                    .where(LedgerEntry.order_id == order.id,
                           LedgerEntry.kind.in_([EntryKind.STUDIO_COMMISSION,
                                                 EntryKind.STUDIO_COMMISSION_REFUND]))
                    .group_by(LedgerEntry.maker_id, LedgerEntry.studio_id)).all():
                assert account[2] >= 0
            for maker in shop["makers"]:
                assert _order_sum(session, order.id, maker.id) >= 0


def _order_sum(session, order_id, maker_id=None) -> int:
    query = select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.order_id == order_id)
    if maker_id is not None:
        query = query.where(LedgerEntry.maker_id == maker_id)
    return int(session.exec(query).one())
