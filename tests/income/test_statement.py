"""The printed monthly statement names the shop, the maker's workshop(s) and the maker,
in the body (the page header is not printed). On SQLite and PostgreSQL."""

from __future__ import annotations

import re

from accounts import services as account_services
from accounts.models import Role
from income.queries import this_month
from tests.factories import login, make_user, make_workshop
from tests.income.helpers import maker_shop, paid_order


def _named(html: str) -> dict[str, list[str]]:
    """The statement's "who it is from" list: {term: [descriptions]}."""
    block = re.search(r'<dl class="income-statement-from">(.*?)</dl>', html, re.S).group(1)
    named: dict[str, list[str]] = {}
    term = None
    for tag, text in re.findall(r"<(dt|dd)[^>]*>(.*?)</\1>", block, re.S):
        text = re.sub(r"<[^>]+>", "", text).strip()
        if tag == "dt":
            term = text
            named[term] = []
        else:
            named[term].append(text)
    return named


def test_statement_names_the_shop_and_the_workshop(client, app, db_session):
    with db_session() as session:
        shop = maker_shop(session, shares=(10000,), price=8800)
        shop["workshop"].name = "和心盘扣工坊"
        shop["workshop"].name_en = "Hexin Knot Buttons"
        maker = shop["makers"][0]
        second = make_workshop(session, name="文创馆")
        account_services.add_member(session=session, workshop=second, user=maker)
        ids = {"maker": maker.id, "variant": shop["variant"].id}
        email, name = maker.email, maker.display_name
    with db_session() as session:
        paid_order(session, [(ids["variant"], 1)])
    login(client, email)
    address = f"/income/makers/{ids['maker']}/statement/{this_month().month_key}"
    html = client.get(address).get_data(as_text=True)
    assert _named(html) == {"商店": ["工坊直播"], "工坊": ["和心盘扣工坊", "文创馆"],
                            "手艺人": [name]}
    # The page header (with the shop's name) is hidden in print; the body names it.
    assert html.index('class="income-statement-from"') > html.index("<main")
    client.get("/language/en")
    html = client.get(address).get_data(as_text=True)
    assert _named(html) == {"Shop": ["Gongfang Live"],
                            "Workshops": ["Hexin Knot Buttons", "文创馆"], "Maker": [name]}
    assert '<span lang="zh-CN">文创馆</span>' in html  # no English name: marked Chinese


def test_a_maker_on_their_own_has_no_workshop_line(client, db_session):
    with db_session() as session:
        maker = make_user(session, roles=(Role.MAKER,))
        maker_id, email, name = maker.id, maker.email, maker.display_name
    login(client, email)
    html = client.get(f"/income/makers/{maker_id}/statement/{this_month().month_key}"
                      ).get_data(as_text=True)
    assert _named(html) == {"商店": ["工坊直播"], "手艺人": [name]}
