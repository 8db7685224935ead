"""The audit trail's page and CSV: operators only, newest first, filtered by action,
by who did it and by the shop's days, a page at a time."""

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from accounts.models import Role
from core.audit import AuditEntry, record
from tests.factories import login, make_user

PAGE = "/operator/audit"


@pytest.fixture
def trail(client, db_session):
    """An operator signed in and four entries: two of theirs, another's, the system's."""
    with db_session() as session:
        operator = make_user(session, email="op@example.cn", roles=(Role.OPERATOR,),
                             name="王操作")
        other = make_user(session, roles=(Role.OPERATOR,), name="李审核")
        at = [datetime(2026, 11, 30, 15, 59, tzinfo=UTC),   # 23:59 on 30 Nov in Shanghai
              datetime(2026, 11, 30, 16, 0, tzinfo=UTC),    # 00:00 on 1 Dec in Shanghai
              datetime(2026, 12, 2, 3, 0, tzinfo=UTC),
              datetime(2026, 12, 3, 3, 0, tzinfo=UTC)]
        for when, actor, action, subject in [
                (at[0], operator, "order.refund", "GF-1"),
                (at[1], other, "product.publish", "7"),
                (at[2], None, "order.cancel", "GF-2"),
                (at[3], operator, "order.mark_paid", "GF-3")]:
            entry = record(session, actor=actor, action=action,
                           subject_type="order" if action.startswith("order") else "product",
                           subject_id=subject, details={"amount": 1200, "currency": "CNY"})
            entry.at = when
    assert login(client, "op@example.cn").status_code == 302
    return {"operator": operator.id, "other": other.id}


def _subjects(response) -> list[str]:
    text = response.get_data(as_text=True)
    return [s for s in ("GF-3", "GF-2", "product 7", "GF-1") if s in text]


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_operators_read_the_trail_newest_first(client, trail):
    response = client.get(PAGE)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert _subjects(response) == ["GF-3", "GF-2", "product 7", "GF-1"]
    assert text.index("GF-3") < text.index("GF-2") < text.index("product 7") < text.index("GF-1")
    assert "王操作" in text and "李审核" in text
    assert "<caption" in text and 'scope="col"' in text
    # 03:00 UTC is 11:00 in Shanghai.
    assert "11:00" in text and "Asia/Shanghai" in text


def test_the_page_speaks_chinese_and_english(client, trail):
    chinese = client.get(PAGE).get_data(as_text=True)
    assert '<html lang="zh-CN"' in chinese and "<h1>操作记录</h1>" in chinese
    assert "订单已退款" in chinese
    client.set_cookie("lang", "en")
    english = client.get(PAGE).get_data(as_text=True)
    assert '<html lang="en"' in english and "<h1>Audit trail</h1>" in english
    assert "Order refunded" in english and "The system (automatic)" in english


@pytest.mark.parametrize(("query", "expected"), [
    ("action=order.refund", ["GF-1"]),
    ("actor=system", ["GF-2"]),
    ("date_from=2026-12-01&date_to=2026-12-02", ["GF-2", "product 7"]),
    ("date_to=2026-11-30", ["GF-1"]),
    ("date_from=2026-12-03", ["GF-3"]),
])
def test_filters(client, trail, query, expected):
    response = client.get(f"{PAGE}?{query}")
    assert response.status_code == 200
    assert _subjects(response) == expected


def test_filter_by_actor(client, trail):
    response = client.get(f"{PAGE}?actor={trail['operator']}")
    assert _subjects(response) == ["GF-3", "GF-1"]


@pytest.mark.parametrize(("query", "field"), [
    ("date_from=2026-13-01", "date_from"), ("date_to=yesterday", "date_to"),
    ("date_from=2026-12-03&date_to=2026-12-01", "date_to"),
    ("action=order.burn", "action"), ("actor=99999", "actor"),
])
def test_a_bad_filter_is_a_form_error(client, trail, query, field):
    response = client.get(f"{PAGE}?{query}")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "<title>错误：" in text
    assert 'class="error-summary"' in text and f'href="#{field}"' in text
    assert f'id="{field}-error"' in text
    assert "GF-1" not in text


def test_pages_of_fifty(client, db_session, trail):
    with db_session() as session:
        for n in range(55):
            record(session, actor=None, action="order.expire", subject_type="order",
                   subject_id=f"BULK-{n:02d}")
    first = client.get(f"{PAGE}?action=order.expire").get_data(as_text=True)
    second = client.get(f"{PAGE}?action=order.expire&page=2").get_data(as_text=True)
    assert first.count(">order BULK-") == 50 and second.count(">order BULK-") == 5
    assert "page=2" in first and "action=order.expire" in first


def test_csv_has_the_same_filter(client, trail):
    response = client.get(f"{PAGE}.csv?date_from=2026-12-01")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = _csv(response)
    assert list(rows[0]) == ["id", "at", "actor_id", "actor_name", "action", "subject_type",
                             "subject_id", "details"]
    assert [r["subject_id"] for r in rows] == ["GF-3", "GF-2", "7"]
    assert rows[0]["at"] == "2026-12-03T11:00:00+08:00"
    assert (rows[0]["actor_id"], rows[0]["actor_name"]) == (str(trail["operator"]), "王操作")
    assert rows[1]["actor_id"] == "" and rows[1]["action"] == "order.cancel"
    assert rows[0]["details"] == '{"amount": 1200, "currency": "CNY"}'


def test_a_bad_date_in_the_csv_link_is_the_form_error(client, trail):
    assert client.get(f"{PAGE}.csv?date_from=nope").status_code == 400


@pytest.mark.parametrize("path", [PAGE, f"{PAGE}.csv"])
def test_only_operators(client, db_session, path):
    assert client.get(path).status_code == 302
    assert "/account/login" in client.get(path).headers["Location"]
    with db_session() as session:
        make_user(session, email="maker@example.cn", roles=(Role.MAKER, Role.HOST))
    login(client, "maker@example.cn")
    assert client.get(path).status_code == 403


def test_the_operator_dashboard_links_to_the_trail(client, trail):
    assert f'href="{PAGE}"' in client.get("/operator/").get_data(as_text=True)


def test_reading_writes_nothing(client, db_session, trail):
    client.get(PAGE)
    client.get(f"{PAGE}.csv")
    with db_session(write=False) as session:
        assert len(session.exec(select(AuditEntry)).all()) == 4
