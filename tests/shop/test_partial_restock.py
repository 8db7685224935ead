"""A refund puts back in stock exactly the units of each line the operator chose: never
more than were sold, never one unit twice (across several refunds, or two at once);
bad input is refused on the form with nothing changed. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import func, select

from accounts.models import Role
from core.audit import AuditEntry
from core.db import db
from core.errors import Conflict
from income.ledger import order_gap
from shop import refunds
from shop.models import Order, OrderLine, Refund
from tests.factories import login, make_user
from tests.income.helpers import paid_order
from tests.shop.helpers import make_shop, stock_of


@pytest.fixture
def world(client, db_session):
    """A paid order of 3 buttons (¥30.00 each) and 2 bags (¥50.00 each), a second paid
    order, and an operator signed in."""
    with db_session() as session:
        operator = make_user(session, email="restock-op@example.cn", roles=(Role.OPERATOR,))
        shop = make_shop(session, products=2, stock=10, price=3000)
        (_button, button), (bag_product, bag) = shop["items"]
        bag.price_amount = 5000
        session.add(bag)
        session.flush()
        order = paid_order(session, [(button.id, 3), (bag.id, 2)])
        other = paid_order(session, [(button.id, 1)])
        lines = {line.variant_id: line.id for line in session.exec(
            select(OrderLine).where(OrderLine.order_id == order.id))}
        other_line = session.exec(select(OrderLine.id).where(
            OrderLine.order_id == other.id)).one()
        world = {"operator": operator.id, "order": order.id, "number": order.number,
                 "button": button.id, "bag": bag.id, "button_line": lines[button.id],
                 "bag_line": lines[bag.id], "other_line": other_line,
                 "base": f"/operator/orders/{order.number}"}
    assert login(client, "restock-op@example.cn").status_code == 302
    return world


def _state(db_session, world) -> tuple:
    with db_session(write=False) as session:
        session.expire_all()
        order = session.get(Order, world["order"])
        put_back = tuple(session.get(OrderLine, world[f"{kind}_line"]).refunded_quantity
                         for kind in ("button", "bag"))
        return (stock_of(session, world["button"]), stock_of(session, world["bag"]),
                order.refunded_amount, put_back,
                session.exec(select(func.count()).select_from(Refund)).one(),
                session.exec(select(func.count()).select_from(AuditEntry)).one())


def _refund(client, world, amount, **units):
    data = {"refund-amount": amount, "refund-reason": "退货"}
    data.update({f"refund-line_{world[f'{kind}_line']}": value for kind, value in units.items()})
    return client.post(f"{world['base']}/refund", data=data)


def test_refunds_put_back_the_chosen_units_and_never_more(client, db_session, world):
    page = client.get(world["base"]).get_data(as_text=True)
    assert f'name="refund-line_{world["button_line"]}"' in page
    assert f'name="refund-line_{world["bag_line"]}"' in page
    # Stock after selling: 10 - 3 - 1 buttons (two orders), 10 - 2 bags.
    assert _state(db_session, world)[:4] == (6, 8, 0, (0, 0))

    assert _refund(client, world, "30.00", button="1", bag="0").status_code == 302
    assert _state(db_session, world)[:4] == (7, 8, 3000, (1, 0))
    assert _refund(client, world, "80.00", button="2", bag="1").status_code == 302
    assert _state(db_session, world)[:4] == (9, 9, 11000, (3, 1))
    [_first, second] = [e.details for e in _entries(db_session)]
    assert second["lines"] == [{"order_line_id": world["button_line"], "restocked": 2},
                               {"order_line_id": world["bag_line"], "restocked": 1}]
    assert second["restock"] is True

    # The buttons are all back: the page no longer offers them, and a post is refused.
    page = client.get(world["base"]).get_data(as_text=True)
    assert f'name="refund-line_{world["button_line"]}"' not in page
    before = _state(db_session, world)
    refused = _refund(client, world, "10.00", button="1")
    assert refused.status_code == 400
    assert "这一行已经没有可以放回库存的了" in refused.get_data(as_text=True)
    assert _state(db_session, world) == before
    # Money only, the last bag kept by the buyer: the ledger follows the money.
    assert _refund(client, world, "50.00").status_code == 302
    assert _state(db_session, world)[:4] == (9, 9, 16000, (3, 1))
    with db_session(write=False) as session:
        assert order_gap(session, world["order"]) == 0


def _entries(db_session):
    with db_session(write=False) as session:
        return list(session.exec(select(AuditEntry).where(
            AuditEntry.action == "order.refund").order_by(AuditEntry.id)))


ZERO_TO = ("Enter a whole number from 0 to %d", "请输入 0 到 %d 之间的整数")
BAD = [  # (units, amount, status, English message, Chinese message)
    ({"button": "-1"}, "10.00", 400, *(m % 3 for m in ZERO_TO)),
    ({"button": "两"}, "10.00", 400, *(m % 3 for m in ZERO_TO)),
    ({"bag": "1.5"}, "10.00", 400, *(m % 2 for m in ZERO_TO)),
    ({"bag": "3"}, "10.00", 400, *(m % 2 for m in ZERO_TO)),
    ({"other": "1"}, "10.00", 400, "Choose only lines of this order to put back in stock",
     "只能选择这个订单里的商品放回库存"),
    ({"button": "1"}, "190.01", 409, "You can refund at most CN¥190.00 on this order.",
     "这个订单最多能退 ¥190.00。"),
]


def test_bad_refunds_say_why_on_the_form_and_change_nothing(client, db_session, world):
    before = _state(db_session, world)
    for index, (units, amount, status, english, chinese) in enumerate(BAD):
        data = {"refund-amount": amount, "refund-reason": "退货"}
        for kind, value in units.items():
            data[f"refund-line_{world[f'{kind}_line']}"] = value
        client.get("/language/" + ("en" if index % 2 else "zh_Hans_CN"))
        response = client.post(f"{world['base']}/refund", data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == status, (units, amount)
        assert 'class="error-summary"' in html
        assert (english if index % 2 else chinese) in html, (units, html[:2000])
        assert "<title>" + ("Error: " if index % 2 else "错误：") in html
        assert f'value="{amount}"' in html  # what was typed is kept
        assert _state(db_session, world) == before


def test_two_refunds_at_once_put_a_line_back_only_once(app, db_session, world):
    """Both ask for all 3 buttons back (the money would allow both): one is refused."""
    start = threading.Barrier(2)
    outcomes = []

    def refund():
        start.wait()
        try:
            with app.test_request_context(), db.transaction() as session:
                refunds.refund_order(session=session, order=session.get(Order, world["order"]),
                                     amount=3000, reason="同时退款",
                                     restock={world["button_line"]: 3},
                                     by_user_id=world["operator"])
            outcomes.append("refunded")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=refund) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refunded", "refused"]
    stock, _bags, refunded, put_back, count, _audit = _state(db_session, world)
    assert (stock, refunded, put_back, count) == (9, 3000, (3, 0), 1)
    with db_session(write=False) as session:
        assert order_gap(session, world["order"]) == 0
