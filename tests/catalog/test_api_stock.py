"""The JSON API says what can be had, truthfully, on both databases: a digital good has
no stock (null, not 100000); a made-to-order good has its shelf stock and what the
workshop can still make, and when that would ship; ordinary goods as before."""

from __future__ import annotations

from datetime import timedelta

from catalog import made_to_order
from catalog.models import MadeToOrderWeek
from catalog.services import refresh_listing
from tests.factories import make_product, make_user, make_workshop


def test_api_stock_is_null_for_downloads_and_made_to_order_says_what_is_left(app, client):
    from core.db import db

    today = made_to_order.shop_today()
    with app.app_context(), db.transaction() as session:
        maker = make_user(session)
        workshop = make_workshop(session, makers=[maker])
        book = make_product(session, workshop=workshop, makers=[maker], title="有声书",
                            stock=100000)
        buttons = make_product(session, workshop=workshop, makers=[maker], title="定制盘扣",
                               stock=2)
        plain = make_product(session, workshop=workshop, makers=[maker], title="布包", stock=5)
        book.is_digital = True
        buttons.made_to_order, buttons.lead_time_days, buttons.weekly_capacity = True, 7, 10
        session.add(MadeToOrderWeek(product_id=buttons.id, units_ordered=10,
                                    week_start=made_to_order.week_start(today)))
        for product in (book, buttons, plain):
            session.add(product)
            refresh_listing(session=session, product=product)
        slugs = {"book": book.slug, "buttons": buttons.slug, "plain": plain.slug}

    listed = {item["slug"]: item for item in client.get("/api/v1/products").get_json()["items"]}
    book, buttons, plain = (client.get(f"/api/v1/products/{slugs[k]}").get_json()
                            for k in ("book", "buttons", "plain"))
    assert listed[slugs["book"]]["stock_left"] is None and book["stock_left"] is None
    assert book["variants"][0]["stock_left"] is None and book["made_to_order"] is None
    # This week is full: what is made to order now is made next week and ships 7 days on.
    next_week = made_to_order.week_start(today) + timedelta(weeks=1)
    expected = {"lead_time_days": 7, "weekly_capacity": 10, "capacity_left_this_week": 0,
                "capacity_left_next_week": 10,
                "ships_by": (next_week + timedelta(days=7)).isoformat()}
    assert buttons["made_to_order"] == expected == listed[slugs["buttons"]]["made_to_order"]
    assert buttons["stock_left"] == 2 and buttons["variants"][0]["stock_left"] == 2
    assert (plain["stock_left"], plain["variants"][0]["stock_left"],
            plain["made_to_order"]) == (5, 5, None)
