"""Income pages: the maker's month in plain words, exports, statements, privacy."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlmodel import func, select

from accounts import services as account_services
from accounts.models import Role
from core.scheduler import run_job
from income.models import LedgerEntry, MonthlyStatement
from tests.factories import login, make_user
from tests.income.helpers import maker_shop, paid_order


@pytest.fixture
def world(app, db_session):
    """Two workshops, each with a coordinator and a maker who sold something."""
    with db_session() as session:
        a = maker_shop(session, shares=(6000, 4000), price=12800)
        b = maker_shop(session, shares=(10000,), price=5000)
        coordinator = make_user(session, roles=(Role.MAKER,))
        account_services.add_member(session=session, workshop=a["workshop"], user=coordinator,
                                    is_coordinator=True)
        operator = make_user(session, roles=(Role.OPERATOR,))
        stranger = make_user(session, roles=(Role.SHOPPER,))
    # One paid order per transaction: two order mails queued in one transaction wait
    # 30 s on SQLite's lock in core.mail's after-commit delivery (reported to the lead).
    with db_session() as session:
        paid_order(session, [(a["variant"].id, 2)])
    with db_session() as session:
        paid_order(session, [(b["variant"].id, 1)])
    return {"a": a, "b": b, "coordinator": coordinator, "operator": operator,
            "stranger": stranger,
            "ids": {k: v.id for k, v in (("a0", a["makers"][0]), ("a1", a["makers"][1]),
                                         ("b0", b["makers"][0]))},
            "emails": {"a0": a["makers"][0].email, "b0": b["makers"][0].email,
                       "coordinator": coordinator.email, "operator": operator.email,
                       "stranger": stranger.email},
            "workshops": {"a": a["workshop"].id, "b": b["workshop"].id}}


def test_maker_reads_their_month_in_plain_words(client, world):
    login(client, world["emails"]["a0"])
    page = client.get("/income")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # 2 x ¥128 = ¥256; 5% platform fee leaves ¥243.20; 60% of it is ¥145.92.
    assert "这个月你赚了 ¥145.92" in text
    assert "比上月多 ¥145.92" in text
    assert "▲" in text  # up is said with an arrow and words, never colour alone
    assert "网店" in text or "Online" in text
    assert "年" in text and "日" in text  # money on its way, with the full date
    assert 'role="img"' in text  # a photo (or a labelled placeholder) beside each product


def test_csv_and_spreadsheet_downloads(client, world):
    login(client, world["emails"]["a0"])
    maker_id = world["ids"]["a0"]
    csv_file = client.get(f"/income/makers/{maker_id}/income.csv")
    assert csv_file.status_code == 200
    body = csv_file.get_data(as_text=True)
    assert "amount_yuan" in body and "145.92" in body
    xlsx = client.get(f"/income/makers/{maker_id}/income.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    # The spreadsheet is for people: their language, and numbers a sheet can add up.
    assert [c.value for c in sheet[1]] == ["日期", "手艺人", "类型", "在哪里卖出的", "商品",
                                           "数量", "金额（元）", "币种", "原因"]
    sale = next(row for row in sheet.iter_rows(min_row=2) if row[2].value == "卖出")
    assert sale[3].value == "网店" and sale[5].value == 2
    assert isinstance(sale[6].value, float) and f"{sale[6].value:.2f}" == "145.92"
    assert sale[6].number_format == "#,##0.00"
    assert isinstance(sale[0].value, datetime)


@pytest.mark.parametrize("query", [
    "from=2026-12-31&to=2026-01-01",   # wrong way round
    "from=2020-01-01&to=2026-01-01",   # years long
    "from=yesterday&to=today",         # not dates
])
def test_bad_date_ranges_are_refused_clearly(client, world, query):
    login(client, world["emails"]["a0"])
    page = client.get(f"/income/makers/{world['ids']['a0']}/income.csv?{query}")
    assert page.status_code == 400
    assert "日期" in page.get_data(as_text=True) or "一年" in page.get_data(as_text=True)
    workshop = client.get(f"/income/workshops/{world['workshops']['a']}/income.csv?{query}")
    assert workshop.status_code == 404  # a0 is a member of workshop a, not its coordinator


def test_printable_statement_and_monthly_job(app, client, world, db_session):
    login(client, world["emails"]["a0"])
    from income.queries import this_month

    period = this_month()
    page = client.get(f"/income/makers/{world['ids']['a0']}/statement/{period.month_key}")
    assert page.status_code == 200
    # The month as people say it, not as a date code.
    said = f"{period.first.year}年{period.first.month}月"
    html = page.get_data(as_text=True)
    assert f"<h1>{said} 月度账单</h1>" in html and f"{said} 你赚了 ¥145.92。" in html
    assert client.get(f"/income/makers/{world['ids']['a0']}/statement/2026-13").status_code == 400
    from datetime import timedelta

    from core.db import utcnow
    from income.jobs import monthly_income_statements

    with app.app_context():
        made = monthly_income_statements(utcnow() + timedelta(days=40))
        again = monthly_income_statements(utcnow() + timedelta(days=40))
    assert made == 3 and again == 0
    with db_session() as session:
        row = session.exec(select(MonthlyStatement).where(
            MonthlyStatement.maker_id == world["ids"]["a0"])).one()
        assert row.earned_amount == 14592 and row.closing_amount == 14592
    # The statement is a record; the balance is still the sum of every entry, the
    # correction after it included.
    from income import ledger

    with db_session() as session:
        maker_id = world["ids"]["a0"]
        operator_id = session.exec(select(LedgerEntry.id)).first()  # any id will do
        later = utcnow() + timedelta(days=45)
        ledger.adjust(session=session, maker_id=maker_id, amount=8, reason="测试",
                      by_user_id=None, key=f"t-{operator_id}")
        available, owed = ledger.balances(session, maker_id, later)
        assert owed == ledger.total_balance(session, maker_id) == 14600
        assert available == 14600
    assert run_job(app, "monthly_income_statements") == 0  # nothing ended yet this month


def test_coordinator_sees_every_member_and_totals(client, world):
    login(client, world["emails"]["coordinator"])
    wrong = client.get(f"/income/workshops/{world['workshops']['a']}/income.csv"
                       "?from=2026-12-31&to=2026-01-01")
    assert wrong.status_code == 400 and "结束日期" in wrong.get_data(as_text=True)
    page = client.get(f"/income/workshops/{world['workshops']['a']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "¥145.92" in text and "¥97.28" in text and "¥243.20" in text
    api = client.get(f"/api/income/workshops/{world['workshops']['a']}").get_json()
    assert api["earned"] == 24320
    assert client.get(f"/income/makers/{world['ids']['a1']}").status_code == 200


CROSS = [
    "/income/makers/{b0}", "/income/makers/{b0}/income.csv", "/income/makers/{b0}/income.xlsx",
    "/income/makers/{b0}/statement/2026-11", "/api/income/makers/{b0}",
    "/income/workshops/{wb}", "/income/workshops/{wb}/income.csv", "/api/income/workshops/{wb}",
]


@pytest.mark.parametrize("who", ["a0", "coordinator", "stranger"])
def test_nobody_sees_someone_else_s_money(client, world, who):
    login(client, world["emails"][who])
    for template in CROSS:
        url = template.format(b0=world["ids"]["b0"], wb=world["workshops"]["b"])
        response = client.get(url)
        assert response.status_code in (403, 404), url
        if url.startswith("/api/"):
            assert response.is_json
    for url in ("/operator/payouts", "/operator/impact", "/operator/impact.csv",
                "/operator/platform-fee", "/operator/sales-points",
                "/operator/payout-batches/1", "/operator/payout-batches/1.csv"):
        assert client.get(url).status_code == 403, url
    for url in ("/operator/payouts/pay", "/operator/payouts/adjust",
                "/operator/payout-batches", "/operator/payout-batches/1"):
        assert client.post(url, data={}).status_code == 403, url


def test_a_member_is_not_a_coordinator(client, world):
    """A maker sees their own money only, not their workshop's nor a fellow member's."""
    login(client, world["emails"]["a0"])
    for url in (f"/income/makers/{world['ids']['a1']}",
                f"/api/income/makers/{world['ids']['a1']}",
                f"/income/makers/{world['ids']['a1']}/income.csv",
                f"/income/workshops/{world['workshops']['a']}",
                f"/api/income/workshops/{world['workshops']['a']}",
                f"/income/workshops/{world['workshops']['a']}/income.csv"):
        response = client.get(url)
        assert response.status_code == 404, url
    assert client.get(f"/income/makers/{world['ids']['a0']}").status_code == 200


def test_operator_sees_everyone(client, world):
    login(client, world["emails"]["operator"])
    for template in CROSS[:5] + ["/income/workshops/{wb}"]:
        url = template.format(b0=world["ids"]["b0"], wb=world["workshops"]["b"])
        assert client.get(url).status_code == 200, url


def test_signed_out_is_sent_to_log_in(client, world):
    assert client.get("/income").status_code in (302, 401)
    assert client.get(f"/api/income/makers/{world['ids']['b0']}").status_code in (302, 401)


def test_impact_report(client, world, db_session):
    from accounts.models import Workshop

    with db_session() as session:
        for key, district in (("a", "海曙区"), ("b", "江北区")):
            workshop = session.get(Workshop, world["workshops"][key])
            workshop.district = district
            session.add(workshop)
    login(client, world["emails"]["operator"])
    page = client.get("/operator/impact")
    assert page.status_code == 200
    csv_text = client.get("/operator/impact.csv").get_data(as_text=True)
    assert "sales_yuan,306.00" in csv_text  # ¥256 + ¥50
    assert "items_sold,3" in csv_text
    assert "makers_earning,3" in csv_text
    # Makers earned ¥145.92, ¥97.28 and ¥47.50 this month.
    assert "median_monthly_income_yuan,97.28" in csv_text
    assert "average_monthly_income_yuan,96.90" in csv_text
    rows = csv_text.splitlines()
    assert "海曙区,243.20,2" in rows and "江北区,47.50,1" in rows
    assert any(r.endswith(",海曙区,243.20,2") for r in rows)  # by workshop
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(LedgerEntry)).one() == 5
