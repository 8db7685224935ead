"""The live room's services without HTTP, on SQLite and PostgreSQL: pins, live prices in
the checkout, questions and moderation, captions, replay chapters, events after commit."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlmodel import func, select

from core.db import utcnow
from core.errors import Conflict, DomainError
from core.events import bus
from livestream import chat, live_prices, replay, room
from livestream.live_prices import BuyerLimitReached, LivePriceGone, LivePriceRefused, channel
from livestream.models import SessionStatus
from livestream.room_models import LiveCaption, LiveMessage, LivePin, LivePrice, LivePriceClaim
from shop import payments, refunds
from shop.models import OrderLine
from shop.orders import Contact, TotalChanged, WantedLine, place_order
from tests.livestream.room_helpers import make_live_room
from tests.shop.helpers import PICKUP, payment_of, stock_of


def _room(db_session, **kwargs):
    with db_session() as session:
        made = make_live_room(session, **kwargs)
    return made


def _events(app, live_id):
    with app.app_context():
        return [(e.kind, e.data) for e in bus().since(channel(live_id), "0-0") or []] \
            if bus().latest_id(channel(live_id)) else []


def _all_events(app, live_id):
    with app.app_context():
        events = bus()
        latest = events.latest_id(channel(live_id))
        if latest is None:
            return []
        epoch = latest.split("-")[0]
        return [(e.kind, e.data) for e in events.since(channel(live_id), f"{epoch}-0") or []]


# Pins -------------------------------------------------------------------------------------

def test_pinning_shows_one_product_at_a_time_and_announces_it_after_the_commit(app, db_session):
    made = _room(db_session)
    (first, _v1), (second, _v2) = made["items"]
    live = made["live"]
    with app.app_context(), db_session() as session:
        room.pin_product(session=session, live=session.get(type(live), live.id),
                         product_id=first.id, by_user_id=made["presenter"].id)
        assert _all_events(app, live.id) == []  # nothing before the commit
    with app.app_context(), db_session() as session:
        room.pin_product(session=session, live=session.get(type(live), live.id),
                         product_id=second.id, by_user_id=made["presenter"].id)
    with db_session() as session:
        pins = session.exec(select(LivePin).order_by(LivePin.id)).all()
        assert [(p.product_id, p.unpinned_at is None) for p in pins] == [
            (first.id, False), (second.id, True)]
        assert room.current_pin(session, live.id).product_id == second.id
    assert [kind for kind, _data in _all_events(app, live.id)] == ["pin", "pin"]
    assert _all_events(app, live.id)[-1][1]["product_id"] == second.id


def test_a_pin_that_rolls_back_is_never_announced(app, db_session):
    made = _room(db_session)
    live = made["live"]
    with pytest.raises(RuntimeError), app.app_context(), db_session() as session:
        room.pin_product(session=session, live=session.get(type(live), live.id),
                         product_id=made["items"][0][0].id, by_user_id=None)
        raise RuntimeError("the request failed")
    assert _all_events(app, live.id) == []
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(LivePin)).one() == 0


def test_pinning_what_is_not_in_the_line_up_or_sold_out_or_not_live_is_refused(
        app, db_session):
    made = _room(db_session, stock=0)
    other = _room(db_session)
    live = made["live"]
    with app.app_context(), db_session() as session:
        current = session.get(type(live), live.id)
        with pytest.raises(DomainError, match="这场直播的商品"):
            room.pin_product(session=session, live=current,
                             product_id=other["items"][0][0].id, by_user_id=None)
        with pytest.raises(Conflict, match="卖完了"):
            room.pin_product(session=session, live=current,
                             product_id=made["items"][0][0].id, by_user_id=None)
        current.status = SessionStatus.ENDED
        with pytest.raises(Conflict, match="不是直播中"):
            room.pin_product(session=session, live=current,
                             product_id=made["items"][0][0].id, by_user_id=None)
        session.rollback()
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(LivePin)).one() == 0


# Live prices -----------------------------------------------------------------------------

def _start(app, db_session, made, **overrides):
    values = dict(variant_id=made["items"][0][1].id, price_amount=3900, quantity_limit=5,
                  per_buyer_limit=2, seconds=300)
    values.update(overrides)
    with app.app_context(), db_session() as session:
        live = session.get(type(made["live"]), made["live"].id)
        price = live_prices.start_live_price(session=session, live=live,
                                             by_user_id=made["presenter"].id, **values)
        return price.id


@pytest.mark.parametrize("overrides, field", [
    ({"price_amount": 5000}, "price"), ({"price_amount": 6000}, "price"),
    ({"price_amount": 0}, "price"), ({"price_amount": -100}, "price"),
    ({"quantity_limit": 0}, "quantity_limit"), ({"quantity_limit": -3}, "quantity_limit"),
    ({"quantity_limit": 11}, "quantity_limit"),  # more than the 10 in stock
    ({"per_buyer_limit": 0}, "per_buyer_limit"), ({"per_buyer_limit": 6}, "per_buyer_limit"),
    ({"seconds": 9}, "minutes"), ({"seconds": 1201}, "minutes"),
])
def test_bad_live_prices_are_refused_with_their_field_and_nothing_kept(
        app, db_session, overrides, field):
    made = _room(db_session)
    with pytest.raises(LivePriceRefused) as refused:
        _start(app, db_session, made, **overrides)
    assert refused.value.field == field
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(LivePrice)).one() == 0


def test_a_live_price_for_another_streams_product_is_refused(app, db_session):
    made = _room(db_session)
    other = _room(db_session)
    with pytest.raises(LivePriceRefused, match="这场直播的商品"):
        _start(app, db_session, made, variant_id=other["items"][0][1].id)


def test_starting_a_live_price_stops_the_one_running(app, db_session):
    made = _room(db_session)
    first = _start(app, db_session, made)
    second = _start(app, db_session, made, price_amount=3500)
    with db_session() as session:
        now = utcnow()
        assert not session.get(LivePrice, first).running(now)
        assert session.get(LivePrice, second).running(now)
    kinds = [(kind, data["id"], data["state"]) for kind, data in _all_events(app,
                                                                            made["live"].id)]
    assert kinds == [("price", first, "running"), ("price", first, "ended"),
                     ("price", second, "running")]


def _buy(app, db_session, made, quantity, *, email="buyer@example.cn", phone=None,
         user_id=None, expected_total=None, variant=None):
    variant = variant or made["items"][0][1]
    with app.test_request_context(), db_session() as session:
        order, _created = place_order(
            session=session, lines=[WantedLine(variant.id, quantity, made["live"].id)],
            contact=Contact("买家", email, phone), delivery=PICKUP, provider="offline",
            idempotency_key=secrets.token_urlsafe(24), hold_minutes=15, user_id=user_id,
            expected_total=expected_total)
        from shop.providers import get_provider

        get_provider("offline").record_payment(session=session, order=order)
        return order.id


def test_a_line_from_the_room_is_charged_the_live_price_and_counted(app, db_session):
    made = _room(db_session)
    price_id = _start(app, db_session, made)
    order_id = _buy(app, db_session, made, 2, expected_total=7800)
    with db_session() as session:
        line = session.exec(select(OrderLine).where(OrderLine.order_id == order_id)).one()
        assert (line.unit_price_amount, line.line_total_amount, line.live_price_id) == (
            3900, 7800, price_id)
        assert session.get(LivePrice, price_id).sold_quantity == 2
        assert sorted(c.buyer_key for c in session.exec(select(LivePriceClaim))) == [
            "email:buyer@example.cn"]
        assert stock_of(session, made["items"][0][1].id) == 8


def test_the_per_buyer_limit_counts_the_account_the_email_and_the_phone(app, db_session):
    made = _room(db_session)
    price_id = _start(app, db_session, made, per_buyer_limit=2, quantity_limit=10)
    _buy(app, db_session, made, 1, email="a@example.cn", phone="138-1234-5678")
    _buy(app, db_session, made, 1, email="A@Example.cn")
    with pytest.raises(BuyerLimitReached):  # a third under the same e-mail
        _buy(app, db_session, made, 1, email="a@example.cn")
    _buy(app, db_session, made, 1, email="b@example.cn", phone="13812345678")
    with pytest.raises(BuyerLimitReached):  # a new e-mail, the same phone
        _buy(app, db_session, made, 1, email="c@example.cn", phone="+86 138 1234 5678")
    with pytest.raises(BuyerLimitReached):  # more than the limit in one line
        _buy(app, db_session, made, 3, email="d@example.cn")
    with db_session() as session:
        assert session.get(LivePrice, price_id).sold_quantity == 3
        assert stock_of(session, made["items"][0][1].id) == 7


def test_when_the_countdown_ends_the_live_price_stops_applying(app, db_session):
    made = _room(db_session)
    price_id = _start(app, db_session, made)
    with db_session() as session:
        price = session.get(LivePrice, price_id)
        price.starts_at, price.ends_at = (utcnow() - timedelta(minutes=10),
                                          utcnow() - timedelta(seconds=1))
        session.add(price)
    # The buyer checked the live-price total: it has changed, so nothing is placed.
    with pytest.raises(TotalChanged):
        _buy(app, db_session, made, 1, expected_total=3900)
    order_id = _buy(app, db_session, made, 1, expected_total=5000)
    with db_session() as session:
        line = session.exec(select(OrderLine).where(OrderLine.order_id == order_id)).one()
        assert (line.unit_price_amount, line.live_price_id) == (5000, None)
        assert session.get(LivePrice, price_id).sold_quantity == 0


def test_a_live_price_sold_out_gives_the_normal_price_and_too_many_is_refused(
        app, db_session):
    made = _room(db_session)
    price_id = _start(app, db_session, made, quantity_limit=3, per_buyer_limit=2)
    _buy(app, db_session, made, 2, email="x@example.cn")
    with pytest.raises(LivePriceGone, match="只剩 1 件"):
        _buy(app, db_session, made, 2, email="y@example.cn")
    _buy(app, db_session, made, 1, email="y@example.cn")
    order_id = _buy(app, db_session, made, 1, email="z@example.cn")
    with db_session() as session:
        assert session.get(LivePrice, price_id).sold_quantity == 3
        line = session.exec(select(OrderLine).where(OrderLine.order_id == order_id)).one()
        assert line.unit_price_amount == 5000


def test_units_of_a_cancelled_or_refunded_order_go_back_only_while_the_price_runs(
        app, db_session):
    made = _room(db_session, stock=20)
    price_id = _start(app, db_session, made, quantity_limit=10, per_buyer_limit=5)
    cancelled = _buy(app, db_session, made, 2, email="p@example.cn")
    refunded = _buy(app, db_session, made, 3, email="q@example.cn")
    late = _buy(app, db_session, made, 1, email="r@example.cn")
    with app.test_request_context(), db_session() as session:
        from shop.models import Order

        payments.cancel_unpaid(session=session, order=session.get(Order, cancelled),
                               by_system="test")
        payment = payment_of(session, refunded)
        payments.mark_paid(session=session, payment=payment, amount=payment.amount,
                           currency="CNY", by_system="test")
        refunds.refund_order(session=session, order=session.get(Order, refunded),
                             amount=payment.amount, reason="不要了", restock=True,
                             by_user_id=made["operator"].id)
    with db_session() as session:
        price = session.get(LivePrice, price_id)
        assert price.sold_quantity == 1  # 6 sold, 5 given back
        claims = {c.buyer_key: c.quantity for c in session.exec(select(LivePriceClaim))}
        assert claims == {"email:p@example.cn": 0, "email:q@example.cn": 0,
                          "email:r@example.cn": 1}
        price.starts_at, price.ends_at = (utcnow() - timedelta(minutes=10),
                                          utcnow() - timedelta(seconds=1))
        session.add(price)
    with app.test_request_context(), db_session() as session:
        from shop.models import Order

        payments.cancel_unpaid(session=session, order=session.get(Order, late),
                               by_system="test")
    with db_session() as session:
        assert session.get(LivePrice, price_id).sold_quantity == 1  # over: kept as history
        assert stock_of(session, made["items"][0][1].id) == 20


# Questions and moderation -----------------------------------------------------------------

def _post(app, db_session, made, body, *, user=None, is_question=True):
    with app.test_request_context(), db_session() as session:
        live = session.get(type(made["live"]), made["live"].id)
        return chat.post_message(session=session, live=live, user=user or made["viewer"],
                                 body=body, is_question=is_question).id


def test_messages_are_plain_text_within_the_length_and_blocked_words(app, db_session):
    made = _room(db_session)
    message_id = _post(app, db_session, made, "<script>alert(1)</script>\x00\x1b 好看吗？\n")
    with db_session() as session:
        assert session.get(LiveMessage, message_id).body == "<script>alert(1)</script> 好看吗？"
    for body, message in (("", "请输入"), ("   \n\t", "请输入"), ("字" * 201, "最多"),
                          ("x" * 100_000, "最多")):
        with pytest.raises(chat.MessageRefused, match=message):
            _post(app, db_session, made, body)
    with app.app_context(), db_session() as session:
        chat.add_blocked_word(session=session, workshop_id=made["workshop"].id, word="Spam",
                              by_user_id=made["presenter"].id)
    with pytest.raises(chat.MessageRefused, match="不允许"):
        _post(app, db_session, made, "buy SPAM here")
    with db_session() as session:
        assert session.exec(select(func.count()).select_from(LiveMessage)).one() == 1


def test_a_flood_is_stopped_with_the_seconds_to_wait(app, db_session):
    made = _room(db_session)
    for n in range(5):
        _post(app, db_session, made, f"第{n}条")
    with pytest.raises(chat.MessageRefused) as refused:
        _post(app, db_session, made, "第六条")
    assert refused.value.retry_after and 1 <= refused.value.retry_after <= 31
    _post(app, db_session, made, "别人的消息", user=made["presenter"])  # others still can


def test_hiding_answering_and_muting(app, db_session):
    made = _room(db_session)
    first = _post(app, db_session, made, "红色有吗？")
    second = _post(app, db_session, made, "难听的话")
    with app.test_request_context(), db_session() as session:
        live = session.get(type(made["live"]), made["live"].id)
        chat.answer_message(session=session, live=live, message_id=first, answer="有的",
                            by_user_id=made["presenter"].id)
        assert chat.hide_message(session=session, live=live, message_id=second,
                                 by_user_id=made["presenter"].id)
        assert not chat.hide_message(session=session, live=live, message_id=second,
                                     by_user_id=made["presenter"].id)
        assert chat.mute_author(session=session, live=live, message_id=second,
                                by_user_id=made["presenter"].id)
        assert not chat.mute_author(session=session, live=live, message_id=second,
                                    by_user_id=made["presenter"].id)
    with pytest.raises(chat.MessageRefused, match="关闭了你"):
        _post(app, db_session, made, "我又来了")
    with db_session() as session:
        assert [m.id for m in chat.visible_messages(session, made["live"].id)] == [first]
        assert session.get(LiveMessage, first).answer == "有的"
    kinds = [(kind, data.get("id")) for kind, data in _all_events(app, made["live"].id)]
    assert kinds == [("message", first), ("message", second), ("message", first),
                     ("message_hidden", second)]


def test_moderating_another_streams_message_is_refused(app, db_session):
    made = _room(db_session)
    other = _room(db_session)
    theirs = _post(app, db_session, other, "别的直播间")
    with app.test_request_context(), db_session() as session:
        live = session.get(type(made["live"]), made["live"].id)
        for action in (chat.hide_message, chat.mute_author):
            with pytest.raises(DomainError):
                action(session=session, live=live, message_id=theirs, by_user_id=1)
        session.rollback()
    with db_session() as session:
        assert session.get(LiveMessage, theirs).hidden_at is None


# Captions and the replay -----------------------------------------------------------------

def test_captions_make_a_webvtt_track_timed_from_the_start(app, db_session):
    made = _room(db_session)
    live = made["live"]
    with db_session() as session:
        start = utcnow() - timedelta(minutes=10)
        current = session.get(type(live), live.id)
        current.started_at = start
        session.add(current)
        for seconds, text in ((5, "大家好"), (7, "a <b> & c --> d"), (30, "再见")):
            session.add(LiveCaption(session_id=live.id, text=text,
                                    created_at=start + timedelta(seconds=seconds)))
    with app.app_context(), db_session() as session:
        vtt = replay.captions_vtt(session=session, live=session.get(type(live), live.id))
    assert vtt.startswith("WEBVTT\n\n1\n00:00:05.000 --> 00:00:07.000\n大家好\n")
    assert "00:00:07.000 --> 00:00:13.000\na &lt;b&gt; &amp; c --&gt; d\n" in vtt
    assert "00:00:30.000 --> 00:00:36.000\n再见\n" in vtt


def test_a_caption_is_sent_once_live_and_refused_empty_or_long(app, db_session):
    made = _room(db_session)
    with app.app_context(), db_session() as session:
        live = session.get(type(made["live"]), made["live"].id)
        room.add_caption(session=session, live=live, text=" 这是\n字幕\x07 ",
                         by_user_id=made["captioner"].id)
        for text in ("", "  ", "字" * 301):
            with pytest.raises(DomainError):
                room.add_caption(session=session, live=live, text=text, by_user_id=None)
    assert _all_events(app, made["live"].id)[-1][0] == "caption"
    assert _all_events(app, made["live"].id)[-1][1]["text"] == "这是 字幕"


def test_chapters_come_from_the_pins_in_order(app, db_session):
    made = _room(db_session)
    live = made["live"]
    (first, _), (second, _) = made["items"]
    with db_session() as session:
        start = utcnow() - timedelta(minutes=30)
        current = session.get(type(live), live.id)
        current.started_at, current.ended_at = start, start + timedelta(minutes=20)
        current.status = SessionStatus.ENDED
        session.add(current)
        session.add(LivePin(session_id=live.id, product_id=first.id,
                            pinned_at=start + timedelta(minutes=1),
                            unpinned_at=start + timedelta(minutes=6)))
        session.add(LivePin(session_id=live.id, product_id=second.id,
                            pinned_at=start + timedelta(minutes=6),
                            unpinned_at=start + timedelta(minutes=20)))
    with db_session() as session:
        chapters = replay.chapters(session=session, live=session.get(type(live), live.id))
    assert [(c.product.id, c.start_seconds, c.seconds) for c in chapters] == [
        (first.id, 60, 300), (second.id, 360, 840)]
