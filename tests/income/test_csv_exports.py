"""Every CSV the shop serves has one shape (core/csv_export.py): the header row is the
columns' codes in every language, `?headings=local` gives the reader's headings instead,
money in yuan with two decimals, times in Asia/Shanghai ISO 8601, names as the order
lines were sold (in English for an English reader), formulas neutralised; and each
file's numbers are the page's. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from accounts.audit_views import CSV_COLUMNS as AUDIT_COLUMNS
from accounts.models import Role
from catalog.models import Product, ProductVariant
from core.db import utcnow
from income.exports import ENTRY_COLUMNS
from income.models import PayoutBatch
from income.payouts import BATCH_COLUMNS
from livestream.models import LiveSession, SessionStatus
from livestream.report_views import REPORT_COLUMNS
from tests.factories import login, make_product, make_user
from tests.income.helpers import maker_shop, paid_order

ZH, EN = "梅花盘扣套装", "Plum blossom knot buttons"
FORMULA = '=HYPERLINK("http://evil.example","点我")'
EIGHT_HOURS = timedelta(hours=8)


def codes(cols) -> list[str]:
    return [c.code for c in cols]


def read(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))


@pytest.fixture
def sold(app, db_session):
    """A maker's English-named product and one whose name is a formula, bought in an
    ended live stream; then the product is renamed in both languages."""
    app.config["INCOME_HOLD_DAYS"] = 0
    with db_session() as session:
        shop = maker_shop(session, shares=(10000,), price=6800)
        maker = shop["makers"][0]
        shop["product"].title, shop["product"].title_en = ZH, EN
        evil = make_product(session, workshop=shop["workshop"], makers=[maker], title=FORMULA,
                            price=1500)
        stream = LiveSession(slug="csv-stream", title="周五直播", title_en="Friday live",
                             planned_start=utcnow() - timedelta(hours=2),
                             planned_end=utcnow() - timedelta(hours=1),
                             status=SessionStatus.ENDED)
        session.add(stream)
        operator = make_user(session, roles=(Role.OPERATOR,))
        session.flush()
        ids = {"maker": maker.id, "product": shop["product"].id, "stream": stream.slug,
               "variants": [shop["variant"].id, session.exec(select(ProductVariant.id).where(
                   ProductVariant.product_id == evil.id)).one()]}
        emails = {"maker": maker.email, "operator": operator.email}
        stream_id = stream.id
    with db_session() as session:
        paid_order(session, [(ids["variants"][0], 2), (ids["variants"][1], 1)],
                   live_session_id=stream_id)
    with db_session() as session:
        product = session.get(Product, ids["product"])
        product.title, product.title_en = "改名以后", "Renamed since"
    return {"ids": ids, "emails": emails}


def test_maker_income_csv_and_spreadsheet(client, sold):
    ids = sold["ids"]
    login(client, sold["emails"]["maker"])
    client.get("/language/en")
    rows = read(client.get(f"/income/makers/{ids['maker']}/income.csv"))
    header, *entries = rows
    assert header == codes(ENTRY_COLUMNS)
    entry = [dict(zip(header, row, strict=True)) for row in entries]
    # Named as the lines were sold, in English; never the product's name today.
    assert sorted(e["item"] for e in entry) == sorted([EN, "'" + FORMULA])
    assert "Renamed since" not in str(rows) and "改名以后" not in str(rows)
    assert {e["kind"] for e in entry} == {"sale"}
    for e in entry:
        when = datetime.fromisoformat(e["date"])
        assert when.utcoffset() == EIGHT_HOURS and "T" in e["date"]
        assert e["amount_yuan"] == f"{Decimal(e['amount_yuan']):.2f}"
    # The same money as the page: ¥136 + ¥15 less the 5% fee.
    earned = client.get(f"/api/income/makers/{ids['maker']}").get_json()["earned"]
    assert sum(Decimal(e["amount_yuan"]) for e in entry) * 100 == earned == 14345
    page = client.get("/income").get_data(as_text=True)
    assert "<code>amount_yuan</code>" in page and "headings=local" in page
    # For opening by hand: the same file headed in the reader's language.
    client.get("/language/zh_Hans_CN")
    local = read(client.get(f"/income/makers/{ids['maker']}/income.csv?headings=local"))
    assert local[0][:2] == ["日期", "手艺人"] and local[0][6] == "金额（元）"
    assert local[1:] != [] and len(local) == len(rows)
    book = load_workbook(io.BytesIO(client.get(
        f"/income/makers/{ids['maker']}/income.xlsx").data))
    sheet, guide = book.worksheets
    assert [c.value for c in sheet[1]][6] == "金额（元）"
    pairs = [[c.value for c in row] for row in guide.iter_rows()]
    assert [code for _heading, code in pairs[1:]] == codes(ENTRY_COLUMNS)
    assert pairs[1] == ["日期", "date"]


def test_stream_report_batch_and_audit_csvs(client, sold, db_session):
    ids = sold["ids"]
    login(client, sold["emails"]["operator"])
    client.get("/language/en")
    header, *rows = read(client.get(f"/live/{ids['stream']}/report.csv"))
    assert header == codes(REPORT_COLUMNS)
    stream = next(r for r in rows if r[0] == "stream")
    products = {r[1]: r for r in rows if r[0] == "product"}
    assert set(products) == {EN, "'" + FORMULA}
    assert (stream[2], stream[3]) == ("3", "151.00")  # 2 x ¥68 + ¥15, as the page says
    page = client.get(f"/live/{ids['stream']}/report").get_data(as_text=True)
    assert "This stream sold 3 items for CN¥151.00" in page and "Renamed since" not in page
    assert "<code>sales_yuan</code>" in page
    impact = read(client.get("/operator/impact.csv"))
    assert impact[0] == ["figure", "value"]
    stream = next(r for r in impact if r[:1] == ["Friday live"])
    assert datetime.fromisoformat(stream[1]).utcoffset() == EIGHT_HOURS
    assert stream[2] == "151.00" and ["sales_yuan", "151.00"] in impact

    made = client.post("/operator/payout-batches",
                       data={"batch-month": utcnow().strftime("%Y-%m")})
    assert made.status_code == 302
    with db_session() as session:
        batch = session.exec(select(PayoutBatch)).one()
    header, *rows = read(client.get(f"/operator/payout-batches/{batch.id}.csv"))
    assert header == codes(BATCH_COLUMNS)
    assert [(r[1], r[3]) for r in rows] == [(str(ids["maker"]), "143.45")]
    assert "¥143.45" in client.get(f"/operator/payout-batches/{batch.id}").get_data(
        as_text=True)

    header, *rows = read(client.get("/operator/audit.csv"))
    assert header == codes(AUDIT_COLUMNS)
    batch_made = next(r for r in rows if r[4].startswith("payout_batch"))
    assert datetime.fromisoformat(batch_made[1]).utcoffset() == EIGHT_HOURS
    assert read(client.get("/operator/audit.csv?headings=local"))[0][:2] == [
        "Entry number", "When"]
