"""A maker's month sold online, in a live stream and at a stall: the dashboard says
where, shows the photo, the hold and the payout; the impact report counts it all."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from babel.dates import format_date
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from accounts.models import Role
from catalog.models import ProductImage
from core.db import utcnow
from core.errors import Conflict
from income import ledger, payouts
from income.models import LedgerEntry, PayoutMethod, StallPayment
from income.queries import local_zone
from income.sales_points import TillLine, create_sales_point, record_sale
from livestream.models import LiveSession, SessionStatus
from shop.refunds import refund_order
from tests.factories import login, make_user
from tests.income.helpers import maker_shop, paid_order

HASH = "ab" * 32


@pytest.fixture
def month(app, db_session):
    """One maker, ¥100 a unit, 5% fee: 1 sold online, 2 in a live stream, 1 at a stall."""
    app.config["INCOME_HOLD_DAYS"] = 7
    with db_session() as session:
        shop = maker_shop(session, shares=(10000,), price=10000, stock=20)
        session.add(ProductImage(product_id=shop["product"].id, content_hash=HASH,
                                 width=640, height=640, rendition_widths="320,640",
                                 alt="红色盘扣"))
        # Within this month where the report is read, even in its first hour.
        now = utcnow()
        month_start = now.astimezone(local_zone()).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        stream = LiveSession(slug="friday-sign", title="周五手语直播",
                             planned_start=max(now - timedelta(hours=1), month_start),
                             planned_end=now, status=SessionStatus.ENDED)
        session.add(stream)
        point = create_sales_point(session=session, slug="gulou", name="鼓楼站小黄车",
                                   district="海曙区")
        operator = make_user(session, roles=(Role.OPERATOR,))
        session.flush()
        ids = {"maker": shop["makers"][0].id, "variant": shop["variant"].id,
               "stream": stream.id, "point": point.id, "operator": operator.id,
               "workshop": shop["workshop"].id}
        emails = {"maker": shop["makers"][0].email, "operator": operator.email}
    with db_session() as session:
        online = paid_order(session, [(ids["variant"], 1)])
        ids["online_order"] = online.id
    with db_session() as session:
        ids["live_order"] = paid_order(session, [(ids["variant"], 2)],
                                       live_session_id=ids["stream"]).id
    with db_session() as session:
        point = session.get(type(point), ids["point"])
        record_sale(session=session, sales_point=point,
                    lines=[TillLine(ids["variant"], 1)], payment_method=StallPayment.CASH,
                    by_user_id=ids["operator"], idempotency_key="month-stall-1")
    return {"ids": ids, "emails": emails}


def _on_hold_until() -> str:
    day = (utcnow() + timedelta(days=7)).astimezone(local_zone()).date()
    return format_date(day, format="long", locale="zh_Hans_CN")


def test_dashboard_says_where_it_sold_with_photo_and_hold(client, month):
    login(client, month["emails"]["maker"])
    text = client.get("/income").get_data(as_text=True)
    assert "这个月你赚了 ¥380。" in text  # 4 x ¥95
    assert "周五手语直播" in text and "鼓楼站小黄车" in text and "网店" in text
    assert f'{HASH}-320.jpg' in text and 'alt="红色盘扣"' in text
    assert "：你卖出了 4 件。你赚了 ¥380。" in text
    # The chart's figures are also in a real table.
    today = utcnow().astimezone(local_zone())
    shown = f"{today.year}年{today.month}月"
    assert f'<tr><th scope="row">{shown}</th><td>¥380</td></tr>' in text
    assert text.count("<span>¥380</span>") == 1  # the bar's own label
    # Everything is still on hold: nothing can be paid now, and the page says when.
    assert "现在可以付给你 ¥0。" in text
    assert f"¥380 从 {_on_hold_until()} 起可以付给你。" in text
    api = client.get(f"/api/income/makers/{month['ids']['maker']}").get_json()
    assert api["earned"] == 38000 and api["available"] == 0 and api["balance"] == 38000
    assert [p["amount"] for p in api["on_the_way"]] == [38000]
    places = {(p["channel"], p["name"]): p["amount"] for p in api["places"]}
    assert places == {("live", "周五手语直播"): 19000, ("stall", "鼓楼站小黄车"): 9500,
                      ("online", ""): 9500}
    assert api["products"][0]["quantity"] == 4


def test_no_payout_before_the_hold_ends(app, month, db_session):
    maker_id = month["ids"]["maker"]
    with db_session() as session:
        assert payouts.payable(session, maker_id) == 0
        with pytest.raises(Conflict):
            payouts.pay_maker(session=session, maker_id=maker_id, amount=1,
                              method=PayoutMethod.BANK, reference="TOO-EARLY",
                              by_user_id=month["ids"]["operator"])
        later = utcnow() + timedelta(days=7, minutes=5)
        assert ledger.balances(session, maker_id, later) == (38000, 38000)
        assert payouts.makers_due(session, later) == [(maker_id, 38000)]


def test_refund_while_on_hold_never_makes_available_money_negative(app, month, db_session):
    maker_id = month["ids"]["maker"]
    with db_session() as session:
        from shop.models import Order

        order = session.get(Order, month["ids"]["online_order"])
        refund_order(session=session, order=order, amount=4000, reason="少了一颗扣",
                     restock=False, by_user_id=month["ids"]["operator"])
        assert ledger.order_gap(session, order.id) == 0
        # ¥40 of the ¥100 line comes back: ¥38 from the maker, ¥2 from the fee.
        assert ledger.balances(session, maker_id) == (0, 38000 - 3800)
        later = utcnow() + timedelta(days=7, minutes=5)
        assert ledger.balances(session, maker_id, later) == (34200, 34200)
        reversal = session.exec(select(LedgerEntry).where(
            LedgerEntry.refund_id.is_not(None), LedgerEntry.maker_id == maker_id)).one()
        assert reversal.amount == -3800


def test_dashboard_lists_payouts_with_full_date(client, app, month, db_session):
    app.config["INCOME_HOLD_DAYS"] = 0
    with db_session() as session:
        ledger.adjust(session=session, maker_id=month["ids"]["maker"], amount=2000,
                      reason="市集补贴", by_user_id=month["ids"]["operator"], key="month-adj")
        payouts.pay_maker(session=session, maker_id=month["ids"]["maker"], amount=1500,
                          method=PayoutMethod.WALLET, reference="WX-20261201",
                          by_user_id=month["ids"]["operator"])
    login(client, month["emails"]["maker"])
    text = client.get("/income").get_data(as_text=True)
    today = format_date(utcnow().astimezone(local_zone()).date(), format="long",
                        locale="zh_Hans_CN")
    assert f"我们在 {today} 用手机钱包付给你 ¥15。" in text
    assert "现在可以付给你 ¥5。" in text  # the ¥20 correction was available at once


def test_impact_report_counts_streams_stalls_and_districts(client, month, db_session):
    login(client, month["emails"]["operator"])
    rows = client.get("/operator/impact.csv").get_data(as_text=True).splitlines()
    assert "sales_yuan,400.00" in rows          # ¥100 online + ¥200 live + ¥100 stall
    assert "online_sales_yuan,300.00" in rows and "stall_sales_yuan,100.00" in rows
    assert "items_sold,4" in rows and "live_streams,1" in rows
    assert "makers_earning,1" in rows
    assert "median_monthly_income_yuan,380.00" in rows
    assert any(r.startswith("周五手语直播,") and r.endswith(",200.00") for r in rows)
    page = client.get("/operator/impact").get_data(as_text=True)
    assert "周五手语直播" in page and "¥380.00" in page


def test_a_streams_sales_in_the_impact_report_are_net_of_refunds(client, month, db_session):
    from shop.models import Order

    with db_session() as session:
        refund_order(session=session, order=session.get(Order, month["ids"]["live_order"]),
                     amount=5000, reason="一个扣子坏了", restock=False,
                     by_user_id=month["ids"]["operator"])
    login(client, month["emails"]["operator"])
    rows = client.get("/operator/impact.csv").get_data(as_text=True).splitlines()
    assert any(r.startswith("周五手语直播,") and r.endswith(",150.00") for r in rows)
    assert "online_sales_yuan,250.00" in rows


@pytest.mark.parametrize("query, field, words", [
    ("from=2026-12-31&to=2026-01-01", "to", "结束日期"),
    ("from=2020-01-01&to=2026-01-01", "to", "一年"),
    ("from=yesterday&to=2026-01-01", "from", "年-月-日"),
])
def test_impact_report_bad_period_is_a_form_error(client, month, query, field, words):
    login(client, month["emails"]["operator"])
    page = client.get(f"/operator/impact?{query}")
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "<title>错误：" in text
    assert 'class="error-summary"' in text and f'href="#{field}"' in text
    assert words in text
    assert 'aria-invalid="true"' in text
    typed = dict(part.split("=") for part in query.split("&"))
    assert f'value="{typed["from"]}"' in text and f'value="{typed["to"]}"' in text
    csv_file = client.get(f"/operator/impact.csv?{query}")
    assert csv_file.status_code == 400 and words in csv_file.get_data(as_text=True)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fen=st.integers(min_value=-10**13, max_value=10**13),
       locale=st.sampled_from(["zh_Hans_CN", "en"]))
def test_plain_money_reads_as_babel_writes_it(monkeypatch, fen, locale):
    """The dashboard's quick money text is exactly Babel's, in both languages."""
    from decimal import Decimal

    from babel.numbers import format_currency

    from income import views as income_views

    monkeypatch.setattr(income_views, "current_locale_name", lambda: locale)
    pattern = "¤#,##0" if fen % 100 == 0 else "¤#,##0.00"
    assert income_views.plain_money(fen) == format_currency(
        Decimal(fen) / 100, "CNY", format=pattern, locale=locale, currency_digits=False)


def test_a_demo_maker_reads_their_month(app, runner, client):
    """Done when: a maker in the demo data signs in and reads their month in plain words."""
    import re

    from core.demo import DEMO_PASSWORD

    assert runner.invoke(args=["demo"]).exit_code == 0
    login(client, "knot1@demo.gongfang.cn", DEMO_PASSWORD)
    text = client.get("/income").get_data(as_text=True)
    earned = re.search(r"这个月你赚了 ¥([\d,.]+)。", text)
    assert earned and earned.group(1) not in ("0", "0.00")
    assert "网店" in text or "直播" in text
