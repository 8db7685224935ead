"""A stall's day (小黄车): operators set up stalls, which are also checkout's pick-up
points; the till shows today; closing the day records the cash counted and the
difference; the day sheet, the month and their CSVs agree; the impact report's days."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta

import pytest
from sqlmodel import func, select

from accounts.models import Role
from core.audit import AuditEntry
from core.db import utcnow
from core.errors import Conflict
from income import stall_days
from income.models import SalesPoint, SalesPointMember, StallDayClose, StallPayment, StallSale
from income.sales_points import TillLine, add_member, create_sales_point, record_sale
from shop.models import Order
from tests.factories import login, make_user
from tests.income.helpers import maker_shop
from tests.shop.helpers import checkout_until_check


@pytest.fixture
def stall(app, db_session):
    """A stall run by two sellers, another stall, an operator, goods at ¥100 each."""
    with db_session() as session:
        shop = maker_shop(session, shares=(10000,), price=10000, stock=50, quick=True)
        sellers = [make_user(session, roles=(Role.SHOPPER,)) for _ in range(2)]
        outsider = make_user(session, roles=(Role.SHOPPER,))
        operator = make_user(session, roles=(Role.OPERATOR,))
        point = create_sales_point(session=session, slug="tianyi", name="天一广场小黄车")
        other = create_sales_point(session=session, slug="laowaitan", name="老外滩小黄车")
        for seller in sellers:
            add_member(session=session, sales_point=point, user_id=seller.id)
        add_member(session=session, sales_point=other, user_id=outsider.id)
        return {"point": point.id, "other": other.id, "variant": shop["variant"].id,
                "sellers": [s.email for s in sellers], "seller_ids": [s.id for s in sellers],
                "outsider": outsider.email, "operator": operator.email}


def _count(db_session, model, *where) -> int:
    with db_session() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_operator_sets_up_stalls_that_checkout_offers(client, stall, db_session):
    login(client, stall["operator"])
    new = {"name": "天一广场小黄车二号", "name_en": "Tianyi Square cart",
           "place": "天一广场 3 号口", "district": "海曙区", "opening_days": ["6", "7"],
           "opens_at": "10:00", "closes_at": "16:00", "is_pickup_point": "y", "is_active": "y"}
    made = client.post("/operator/sales-points/new", data=new)
    assert made.status_code == 302
    point_id = int(made.location.rsplit("/", 1)[1])
    with db_session() as session:
        point = session.get(SalesPoint, point_id)
        assert (point.place, point.opening_days, point.is_pickup_point) == (
            "天一广场 3 号口", "67", True)
        museum = session.exec(select(SalesPoint).where(
            SalesPoint.slug == "museum-ningbo")).one()  # seeded from the old fixed list
    # The museum stops being a pick-up point; the team gets a seller, then loses them.
    edited = {"name": museum.name, "opening_days": list(museum.opening_days),
              "is_active": "y"}
    assert client.post(f"/operator/sales-points/{museum.id}", data=edited).status_code == 302
    assert client.post(f"/operator/sales-points/{point_id}/members",
                       data={"email": stall["outsider"]}).status_code == 302
    assert _count(db_session, SalesPointMember, SalesPointMember.sales_point_id == point_id) == 1
    page = client.get(f"/operator/sales-points/{point_id}").get_data(as_text=True)
    assert "周六、周日 10:00-16:00" in client.get("/operator/sales-points").get_data(
        as_text=True) and "移出团队" in page
    with db_session() as session:
        member = session.exec(select(SalesPointMember).where(
            SalesPointMember.sales_point_id == point_id)).one()
        actions = set(session.exec(select(AuditEntry.action).where(
            AuditEntry.subject_type == "sales_point")).all())
    assert client.post(f"/operator/sales-points/{point_id}/members/{member.user_id}/remove"
                       ).status_code == 302
    assert _count(db_session, SalesPointMember, SalesPointMember.sales_point_id == point_id) == 0
    assert {"sales_point.create", "sales_point.update", "sales_point.member_add"} <= actions

    # Bad input: a clear message by the field, nothing changed.
    for bad, message in (({**new, "name": ""}, "请填写摊位名称"),
                         ({**new, "closes_at": "09:00"}, "关门时间必须晚于开门时间"),
                         ({**new, "opens_at": "25:00"}, "请按“时:分”填写时间"),
                         ({**new, "opening_days": []}, "请至少选择一个营业日")):
        page = client.post(f"/operator/sales-points/{point_id}", data=bad)
        assert page.status_code == 400
        text = page.get_data(as_text=True)
        assert "<title>错误：" in text and message in text
    with db_session() as session:
        assert session.get(SalesPoint, point_id).name == "天一广场小黄车二号"

    # Checkout offers the table's open pick-up points: the new stall, not the museum.
    shopper = client.application.test_client()
    keys = checkout_until_check(shopper, stall["variant"], 1)  # picks metro-gulou
    pickup = shopper.get("/checkout/pickup").get_data(as_text=True)
    assert 'value="metro-gulou"' in pickup and f'value="{point.slug}"' in pickup
    assert 'value="museum-ningbo"' not in pickup and "周六、周日 10:00-16:00" in pickup
    shopper.get("/language/en")  # in English: the English name, the hours in English
    assert "Tianyi Square cart (Saturday, Sunday 10:00-16:00)" in shopper.get(
        "/checkout/pickup").get_data(as_text=True)
    shopper.get("/language/zh_Hans_CN")
    assert shopper.post("/checkout/pickup", data={"point": "museum-ningbo"}).status_code == 400
    assert shopper.post("/checkout/pickup", data={"point": point.slug}).status_code == 302
    placed = shopper.post("/checkout/place", data=keys)
    assert placed.status_code == 302, placed.get_data(as_text=True)[:500]
    with db_session() as session:
        order = session.exec(select(Order).order_by(Order.id.desc())).first()
        assert (order.pickup_point, order.pickup_point_name) == (point.slug, "天一广场小黄车二号")


def test_a_non_operator_cannot_touch_stalls(client, stall, db_session):
    login(client, stall["sellers"][0])
    before = _count(db_session, SalesPoint)
    assert client.get("/operator/sales-points/new").status_code == 403
    assert client.post("/operator/sales-points/new", data={
        "name": "假摊位", "opening_days": ["1"]}).status_code == 403
    assert client.post(f"/operator/sales-points/{stall['point']}", data={
        "name": "改名", "opening_days": ["1"]}).status_code == 403
    assert _count(db_session, SalesPoint) == before
    with db_session() as session:
        assert session.get(SalesPoint, stall["point"]).name == "天一广场小黄车"


def test_the_stall_s_day_from_till_to_close_sheet_month_and_impact(client, stall, db_session):
    with db_session() as session:  # yesterday's cash sale: not today's
        record_sale(session=session, sales_point=session.get(SalesPoint, stall["point"]),
                    lines=[TillLine(stall["variant"], 1)], payment_method=StallPayment.CASH,
                    by_user_id=stall["seller_ids"][0], idempotency_key="yesterday-1",
                    now=utcnow() - timedelta(days=1))
    login(client, stall["sellers"][0])
    till = f"/stall/{stall['point']}"
    for key, quantity, payment in (("k-1", 2, "cash"), ("k-2", 1, "qr")):
        assert client.post(till, data={f"qty-{stall['variant']}": str(quantity),
                                       "payment": payment, "key": key}).status_code == 302
    page = client.get(till).get_data(as_text=True)
    assert "今天 2 笔销售，共 ¥300。" in page and "收银台会和它记录的现金比较：¥200。" in page

    closed = client.post(f"{till}/close", data={"close-cash_counted": "195.50",
                                                "close-note": "找零多给了 4.5 元"})
    assert closed.status_code == 302
    with db_session() as session:
        close = session.exec(select(StallDayClose)).one()
        assert (close.sales_count, close.total_amount, close.cash_recorded_amount,
                close.cash_counted_amount, close.difference_amount) == (2, 30000, 20000,
                                                                        19550, -450)
        assert session.exec(select(AuditEntry).where(
            AuditEntry.action == "stall_day.close")).one().details["difference"] == -450
    # After the close the till takes no more sales today.
    refused = client.post(till, data={f"qty-{stall['variant']}": "1", "payment": "cash",
                                      "key": "k-3"})
    assert refused.status_code == 400 and "今天已经日结" in refused.get_data(as_text=True)
    assert _count(db_session, StallSale) == 3

    day = close.business_day.isoformat()
    sheet = client.get(f"{till}/day?day={day}").get_data(as_text=True)
    assert "2 笔销售，共 ¥300。" in sheet and "少 ¥4.50" in sheet and "找零多给了 4.5 元" in sheet
    lines = _rows(client.get(f"{till}/day.csv?day={day}"))
    assert sum(int(r["quantity"]) for r in lines) == 3
    assert sum(float(r["line_total_yuan"]) for r in lines) == 300.0
    month = {r["date"]: r for r in _rows(client.get(f"{till}/month.csv?month={day[:7]}"))}
    assert list(_rows(client.get(f"{till}/month.csv?month={day[:7]}"))[0]) == [
        "date", "stall", "sales_count", "total_yuan", "cash_recorded_yuan", "other_yuan",
        "cash_counted_yuan", "difference_yuan", "closed", "closed_by", "note"]
    assert {k: month[day][k] for k in ("sales_count", "total_yuan", "cash_counted_yuan",
                                       "difference_yuan", "closed")} == {
        "sales_count": "2", "total_yuan": "300.00", "cash_counted_yuan": "195.50",
        "difference_yuan": "-4.50", "closed": "yes"}
    yesterday = (close.business_day - timedelta(days=1)).isoformat()
    if yesterday[:7] == day[:7]:
        assert month[yesterday]["closed"] == "no" and month[yesterday]["total_yuan"] == "100.00"
    assert "未日结" in client.get(f"{till}/month?month={day[:7]}").get_data(as_text=True) \
        or yesterday[:7] != day[:7]

    # The city's days in the impact report: today is the best day.
    login(client, stall["operator"])
    report = client.get(f"/operator/impact?from={yesterday}&to={day}").get_data(as_text=True)
    assert "最好的一天是" in report and "共 2 笔销售，共 ¥300.00" in report
    impact = client.get(f"/operator/impact.csv?from={yesterday}&to={day}").get_data(
        as_text=True)
    assert f"{day},2,300.00" in impact and f"{yesterday},1,100.00" in impact


def test_bad_closes_are_refused_and_record_nothing(client, app, stall, db_session):
    login(client, stall["sellers"][0])
    close = f"/stall/{stall['point']}/close"
    out_of_range = "必须在 ¥0 到 ¥100,000 之间"
    for cash, message in (("-1", out_of_range), ("abc", "必须是元数"),
                          ("100000.01", out_of_range), ("99999999999", out_of_range),
                          ("", "请填写你点出的现金")):
        page = client.post(close, data={"close-cash_counted": cash})
        assert page.status_code == 400
        text = page.get_data(as_text=True)
        assert "<title>错误：" in text and message in text and f'value="{cash}"' in text
    # Someone else's stall: not found, as for its till.
    assert client.post(f"/stall/{stall['other']}/close",
                       data={"close-cash_counted": "0"}).status_code == 404
    # An operator reaches the page but only the team closes the day.
    operator = app.test_client()
    login(operator, stall["operator"])
    page = operator.post(close, data={"close-cash_counted": "0"})
    assert page.status_code == 400 and "只有这个摊位的成员可以日结" in page.get_data(as_text=True)
    # A forged (missing) CSRF token.
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.post(close, data={"close-cash_counted": "0"})
    assert page.status_code == 400 and "表单已经过期" in page.get_data(as_text=True)
    app.config["WTF_CSRF_ENABLED"] = False
    assert _count(db_session, StallDayClose) == 0
    # Closing twice: the second is refused with a message, the first stays.
    assert client.post(close, data={"close-cash_counted": "0"}).status_code == 302
    again = client.post(close, data={"close-cash_counted": "5"})
    assert again.status_code == 400 and "不能再日结一次" in again.get_data(as_text=True)
    with db_session() as session:
        assert session.exec(select(StallDayClose.cash_counted_amount)).all() == [0]


def test_two_team_members_closing_at_once_one_wins(app, stall):
    from core.db import db

    day = stall_days.business_day()
    barrier = threading.Barrier(2)
    results = []

    def close_as(user_id):
        try:
            barrier.wait(timeout=10)
            with app.app_context(), db.transaction() as session:
                point = session.get(SalesPoint, stall["point"])
                stall_days.close_day(session=session, sales_point=point, day=day,
                                     cash_counted=100, note="", by_user_id=user_id)
            results.append("closed")
        except Conflict:
            results.append("refused")

    threads = [threading.Thread(target=close_as, args=(uid,)) for uid in stall["seller_ids"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["closed", "refused"]
    with app.app_context(), db.transaction(write=False) as session:
        assert len(session.exec(select(StallDayClose)).all()) == 1
