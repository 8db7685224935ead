"""The impact report and the makers' income read live-stream sales from one source, the
ledger's live-stream entries in the period: an order bought in a stream shows in both,
even when the stream went on air in an earlier month than the order was paid in (the
demo's case, where the report said 0 streams). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from accounts.models import Role
from core.db import utcnow
from income.models import Channel, LedgerEntry
from income.queries import impact, month_split, previous_month, this_month
from livestream.models import LiveSession, SessionStatus
from shop.models import OrderLine
from tests.factories import login, make_user
from tests.income.helpers import maker_shop, paid_order


@pytest.fixture
def stream_sale(app, db_session):
    """A stream that was on air 40 days ago (an earlier month); an order bought in it is
    paid today, and another order is bought online."""
    with db_session() as session:
        shop = maker_shop(session, shares=(6000, 4000), price=8800)
        start = utcnow() - timedelta(days=40)
        stream = LiveSession(slug="replay-buy", title="盘扣的故事", title_en="Knot stories",
                             planned_start=start, planned_end=start + timedelta(hours=1),
                             started_at=start, ended_at=start + timedelta(minutes=50),
                             status=SessionStatus.ENDED)
        session.add(stream)
        operator = make_user(session, roles=(Role.OPERATOR,))
        session.flush()
        ids = {"stream": stream.id, "variant": shop["variant"].id,
               "makers": [m.id for m in shop["makers"]]}
        emails = {"maker": shop["makers"][0].email, "operator": operator.email}
    with db_session() as session:
        ids["live_order"] = paid_order(session, [(ids["variant"], 2)],
                                       live_session_id=ids["stream"]).id
    with db_session() as session:
        paid_order(session, [(ids["variant"], 1)])
    return {"ids": ids, "emails": emails}


def test_a_stream_order_shows_in_the_income_and_the_impact_report(client, app, stream_sale,
                                                                   db_session):
    ids = stream_sale["ids"]
    with db_session(write=False) as session:
        # The order line carries the stream; its ledger entries are live-stream entries.
        assert session.exec(select(OrderLine.live_session_id).where(
            OrderLine.order_id == ids["live_order"])).all() == [ids["stream"]]
        live_entries = int(session.exec(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.order_id == ids["live_order"],
            LedgerEntry.channel == Channel.LIVE)).one())
    assert live_entries == 2 * 8800

    # The maker's month lists the stream as a place.
    login(client, stream_sale["emails"]["maker"])
    api = client.get(f"/api/income/makers/{ids['makers'][0]}").get_json()
    live_places = [p for p in api["places"] if p["channel"] == "live"]
    assert [p["name"] for p in live_places] == ["盘扣的故事"]

    # The impact report for the same month: the same stream, the same sales.
    period = this_month()
    with app.app_context(), db_session(write=False) as session:
        report = impact(session, period)
        assert [(s.title, s.amount, s.sold, s.held) for s in report["streams"]] == [
            ("盘扣的故事", 2 * 8800, True, False)]
        assert report["streams_selling"] == 1 and report["streams_held"] == 0
        # Every maker's live income from it plus the platform's fee is its sales.
        makers_live = sum(p["amount"] for p in live_places)
        other = client.get(f"/api/income/makers/{ids['makers'][1]}")
        assert other.status_code == 404  # a maker sees only their own
        fee_and_others = int(session.exec(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.live_session_id == ids["stream"],
            LedgerEntry.maker_id.is_distinct_from(ids["makers"][0]))).one())
        assert makers_live + fee_and_others == report["streams"][0].amount
        assert month_split(session, ids["makers"][0], period).share == api["share"]
    login(client, stream_sale["emails"]["operator"])
    rows = client.get("/operator/impact.csv").get_data(as_text=True).splitlines()
    assert "live_streams,1" in rows and "live_streams_held,0" in rows
    assert any(r.startswith("盘扣的故事,") and r.endswith(",176.00") for r in rows)
    client.get("/language/en")
    page = client.get("/operator/impact").get_data(as_text=True)
    assert "Knot stories" in page and "¥176.00" in page


def test_the_month_the_stream_was_on_air_lists_it_held_with_no_sales(app, stream_sale,
                                                                       db_session):
    with app.app_context(), db_session(write=False) as session:
        start = session.get(LiveSession, stream_sale["ids"]["stream"]).started_at
        month = this_month(start)
        assert month != this_month() and previous_month(this_month()).first >= month.first
        report = impact(session, month)
    assert [(s.title, s.amount, s.sold, s.held) for s in report["streams"]] == [
        ("盘扣的故事", 0, False, True)]
    assert report["streams_selling"] == 0 and report["streams_held"] == 1
