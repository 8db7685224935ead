"""The month page links only to months with a history: none before the maker's first
ledger entry or account, none after the current month. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from accounts.models import User
from core.db import utcnow
from income.models import LedgerEntry
from income.queries import (
    first_month,
    month_links,
    next_month,
    previous_month,
    this_month,
)
from tests.factories import login
from tests.income.helpers import maker_shop, paid_order


def _links(html: str) -> dict[str, str]:
    """{label: month} of the income page's month links."""
    actions = re.search(r'<nav class="income-actions".*?</nav>', html, re.S).group(0)
    return {label: month for month, label in
            re.findall(r'<a class="button" href="\?month=([\d-]+)">([^<]+)</a>', actions)}


@pytest.fixture
def maker(app, db_session):
    """A maker whose account is two months old and who sold something today."""
    with db_session() as session:
        shop = maker_shop(session, shares=(10000,), price=5000)
        user = shop["makers"][0]
        user.created_at = utcnow() - timedelta(days=62)
        session.add(user)
        ids = {"maker": user.id, "variant": shop["variant"].id}
        email = user.email
    with db_session() as session:
        paid_order(session, [(ids["variant"], 1)])
    return {"id": ids["maker"], "email": email}


def test_no_link_past_this_month_and_none_before_the_account(client, maker, app, db_session):
    login(client, maker["email"])
    now = this_month()
    with app.app_context(), db_session(write=False) as session:
        start = first_month(session, session.get(User, maker["id"]))
    assert start.first < previous_month(now).first  # at least two months of history
    # This month: back one month, never forward.
    links = _links(client.get("/income").get_data(as_text=True))
    assert list(links.values()) == [previous_month(now).month_key]
    assert not any("下一个月" in label for label in links)
    # The first month: forward only (and back to this month).
    html = client.get(f"/income?month={start.month_key}").get_data(as_text=True)
    links = _links(html)
    assert next_month(start).month_key in links.values()
    assert previous_month(start).month_key not in links.values()
    assert not any("上一个月" in label for label in links)
    # A month in between has both; the month just before this one links to it once.
    before = previous_month(now)
    links = _links(client.get(f"/income?month={before.month_key}").get_data(as_text=True))
    assert sorted(links.values()) == sorted([previous_month(before).month_key,
                                             now.month_key])
    # A typed month beyond either end links only back into the history.
    future = next_month(next_month(now))
    links = _links(client.get(f"/income?month={future.month_key}").get_data(as_text=True))
    assert list(links.values()) == [now.month_key]
    client.get("/language/en")
    links = _links(client.get("/income").get_data(as_text=True))
    assert [label.split(":")[0] for label in links] == ["Previous month"]


def test_a_new_maker_without_sales_has_no_month_links(client, app, db_session):
    with db_session() as session:
        shop = maker_shop(session, shares=(10000,))
        email = shop["makers"][0].email
    login(client, email)
    assert _links(client.get("/income").get_data(as_text=True)) == {}


def test_the_first_ledger_entry_and_the_current_month_are_the_ends(app, maker, db_session):
    """Read three months from now: the links stop at the month of the maker's first
    entry (earlier than the account here) and at the month `now` is in."""
    later = utcnow() + timedelta(days=92)
    with app.app_context(), db_session() as session:
        user = session.get(User, maker["id"])
        first_entry = session.exec(select(LedgerEntry.occurred_at).where(
            LedgerEntry.maker_id == user.id)).first()
        user.created_at = utcnow() + timedelta(days=40)  # the entry came first
        session.add(user)
        session.flush()
        start, current = first_month(session, user), this_month(later)
        assert start == this_month(first_entry)
        assert month_links(session, user, start, later) == (None, next_month(start))
        assert month_links(session, user, current, later) == (previous_month(current), None)
        middle = next_month(start)
        assert month_links(session, user, middle, later) == (start, next_month(middle))
