"""Made-to-order weeks are ISO weeks in the shop's zone (Asia/Shanghai), not UTC's."""

from __future__ import annotations

from datetime import UTC, date, datetime

from catalog import made_to_order


def test_the_week_and_ship_date_follow_shanghai_time(monkeypatch):
    # Sunday 7 March 2027, 17:30 in UTC is already Monday 8 March, 01:30 in Shanghai.
    monkeypatch.setattr(made_to_order, "utcnow",
                        lambda: datetime(2027, 3, 7, 17, 30, tzinfo=UTC))
    today = made_to_order.shop_today()
    assert today == date(2027, 3, 8)
    assert made_to_order.week_start(today) == date(2027, 3, 8)
    assert made_to_order.week_start(date(2027, 3, 14)) == date(2027, 3, 8)  # its Sunday
    # This week: from today; next week: from its Monday.
    assert made_to_order.ships_on(lead_time_days=7, week=date(2027, 3, 8),
                                  today=date(2027, 3, 10)) == date(2027, 3, 17)
    assert made_to_order.ships_on(lead_time_days=7, week=date(2027, 3, 15),
                                  today=date(2027, 3, 10)) == date(2027, 3, 22)
