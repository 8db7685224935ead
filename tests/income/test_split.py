"""The month's gross, platform fee and share: real orders and a stall sale booked through
the ledger; gross - fee = share for every maker, the fees add up to the platform's
commission, and the page shows the same three figures. On SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from sqlmodel import func, select

from accounts.models import Role, User
from core.db import utcnow
from income import ledger
from income.models import EntryKind, LedgerEntry, StallPayment
from income.queries import dashboard, month_split, this_month
from income.sales_points import TillLine, create_sales_point, record_sale
from income.views import plain_money
from shop.models import Order
from shop.refunds import refund_order
from tests.factories import login, make_user
from tests.income.helpers import maker_shop, paid_order


@pytest.fixture
def books(app, db_session):
    """Maker A alone on a ¥99.99 product at 7%; A and B share (2/3, 1/3) a ¥33.33 one at
    the default 5%. Three paid orders, a stall sale, a refund and a correction."""
    app.config["INCOME_HOLD_DAYS"] = 0
    with db_session() as session:
        solo = maker_shop(session, shares=(10000,), price=9999, stock=50)
        maker_a = solo["makers"][0]
        shared = maker_shop(session, shares=(6667, 3333), price=3333, stock=50)
        maker_b = shared["makers"][1]
        # Maker A also makes two thirds of the shared product.
        from catalog.models import ProductMaker

        first = session.exec(select(ProductMaker).where(
            ProductMaker.product_id == shared["product"].id)).all()[0]
        first.maker_id = maker_a.id
        session.add(first)
        ledger.set_commission(session=session, rate_basis_points=700,
                              product_id=solo["product"].id)
        operator = make_user(session, roles=(Role.OPERATOR,))
        point = create_sales_point(session=session, slug="split-cart", name="天一广场小黄车")
        ids = {"a": maker_a.id, "b": maker_b.id, "solo": solo["variant"].id,
               "shared": shared["variant"].id, "operator": operator.id, "point": point.id}
        emails = {"a": maker_a.email, "b": maker_b.email}
    orders = []
    for lines in ([("solo", 1)], [("shared", 3)], [("solo", 2), ("shared", 1)]):
        with db_session() as session:
            orders.append(paid_order(session, [(ids[k], n) for k, n in lines],
                                     operator_id=ids["operator"]).id)
    with db_session() as session:
        from income.models import SalesPoint

        record_sale(session=session, sales_point=session.get(SalesPoint, ids["point"]),
                    lines=[TillLine(ids["shared"], 2), TillLine(ids["solo"], 1)],
                    payment_method=StallPayment.CASH, by_user_id=ids["operator"],
                    idempotency_key="split-stall-1")
    with db_session() as session:
        refund_order(session=session, order=session.get(Order, orders[2]), amount=5001,
                     reason="一件有瑕疵", restock=False, by_user_id=ids["operator"])
    with db_session() as session:
        ledger.adjust(session=session, maker_id=ids["a"], amount=1234, reason="市集补贴",
                      by_user_id=ids["operator"], key="split-adjust")
    return {"ids": ids, "emails": emails, "orders": orders}


def _sum(session, *where) -> int:
    return int(session.exec(select(func.coalesce(func.sum(LedgerEntry.amount), 0))
                            .where(*where)).one())


def test_gross_less_fee_is_the_share_for_every_maker(app, books, db_session):
    period = this_month()
    with app.app_context(), db_session(write=False) as session:
        splits = {k: month_split(session, books["ids"][k], period) for k in ("a", "b")}
        for key, split in splits.items():
            maker_id = books["ids"][key]
            assert split.gross - split.fee == split.share
            # The share is the maker's own sale and refund entries; corrections apart.
            assert split.share == _sum(session, LedgerEntry.maker_id == maker_id,
                                       LedgerEntry.kind.in_([EntryKind.SALE,
                                                             EntryKind.REFUND]))
            assert split.corrections == (1234 if key == "a" else 0)
            assert split.earned == ledger.total_balance(session, maker_id)
            assert split.fee > 0
        # The makers' fees are the platform's commission, less fees returned, exactly;
        # their gross is everything paid (online and at the stall) less refunds.
        platform = _sum(session, LedgerEntry.maker_id.is_(None))
        assert sum(s.fee for s in splits.values()) == platform
        paid = int(session.exec(select(func.sum(Order.paid_amount - Order.refunded_amount))
                                .where(Order.id.in_(books["orders"]))).one())
        stall = 2 * 3333 + 9999
        assert sum(s.gross for s in splits.values()) == paid + stall
        for order_id in books["orders"]:
            assert ledger.order_gap(session, order_id) == 0


def test_one_maker_one_line_reads_as_the_price_and_the_rate(app, db_session):
    """¥99.99 at 7%: the fee is ¥7.00 (699.93 rounded), the share ¥92.99."""
    with db_session() as session:
        shop = maker_shop(session, shares=(10000,), price=9999, quick=True)
        ledger.set_commission(session=session, rate_basis_points=700,
                              product_id=shop["product"].id)
        maker_id = shop["makers"][0].id
    with db_session() as session:
        paid_order(session, [(shop["variant"].id, 1)])
    with app.app_context(), db_session(write=False) as session:
        split = month_split(session, maker_id, this_month())
    assert (split.gross, split.fee, split.share, split.corrections) == (9999, 700, 9299, 0)


def test_the_month_page_and_statement_show_the_same_three_figures(client, books, db_session,
                                                                  app):
    period = this_month()
    with app.app_context(), db_session(write=False) as session:
        board = dashboard(session, session.get(User, books["ids"]["a"]), period, utcnow())
        split = board.split
        assert board.earned == split.earned
    login(client, books["emails"]["a"])
    api = client.get(f"/api/income/makers/{books['ids']['a']}").get_json()
    assert (api["gross"], api["platform_fee"], api["share"], api["corrections"]) == (
        split.gross, split.fee, split.share, split.corrections)
    assert api["gross"] - api["platform_fee"] + api["corrections"] == api["earned"]

    def figures(html: str) -> dict:
        return dict(re.findall(r'<td data-figure="(\w+)">([^<]+)</td>', html))

    for path in ("/income", f"/income/makers/{books['ids']['a']}/statement/"
                 f"{period.month_key}"):
        for language in ("zh_Hans_CN", "en"):
            assert client.get(f"/language/{language}").status_code == 302
            html = client.get(path).get_data(as_text=True)
            with app.test_request_context(), force_locale(language):
                expected = {"gross": plain_money(split.gross), "fee": plain_money(-split.fee),
                            "share": plain_money(split.share),
                            "corrections": plain_money(split.corrections),
                            "earned": plain_money(split.earned)}
            assert figures(html) == expected, (path, language)
            if language == "zh_Hans_CN":
                assert "平台服务费" in html and "你的收入是怎么算的" in html
            else:
                assert "Platform fee" in html and "How your income adds up" in html
