"""The events bus, the same tests on both backends (in-process and Redis streams)."""

from __future__ import annotations

import json
import time

import pytest

from core.events import Event
from core.events.base import parse_id
from tests.conftest import wait_for

CHANNEL = "live:42"
HOSTILE = {
    "title": "line one\nline two\r\nevent: pin\ndata: forged\n\nid: 1-1",
    "html": "</script><script>alert(1)</script><!--",
    "controls": "\x00\x07\x1b[31m\u2028\u2029\x7f",
    "chinese": "盘扣 · 直播",
    "nested": [{"a": "\n\n"}, 1, None, True],
}


def _key(event_id: str) -> tuple[int, int]:
    parsed = parse_id(event_id)
    assert parsed is not None, event_id
    return parsed


def _publish(bus, count, channel=CHANNEL):
    return [bus.publish(channel, "price", {"n": n}) for n in range(count)]


def test_publish_gives_ordered_ids_and_since_resumes_after_any_of_them(make_bus):
    bus = make_bus()
    events = _publish(bus, 5)

    assert [e.data["n"] for e in events] == [0, 1, 2, 3, 4]
    assert all(e.kind == "price" for e in events)
    keys = [_key(e.id) for e in events]
    assert keys == sorted(keys) and len(set(keys)) == 5
    assert bus.latest_id(CHANNEL) == events[-1].id
    assert bus.since(CHANNEL, events[0].id) == events[1:]
    assert bus.since(CHANNEL, events[2].id) == events[3:]
    assert bus.since(CHANNEL, events[-1].id) == []


def test_channels_are_apart(make_bus):
    bus = make_bus()
    first = bus.publish("live:1", "pin", {"product": 1})
    bus.publish("live:2", "pin", {"product": 2})

    assert bus.latest_id("live:1") == first.id
    assert bus.since("live:1", first.id) == []


def test_an_empty_channel_has_no_latest_id_and_nothing_resumes(make_bus):
    bus = make_bus()
    assert bus.latest_id(CHANNEL) is None
    assert bus.since(CHANNEL, "1-1") is None


@pytest.mark.parametrize("forged", [
    "", " ", "abc", "1", "1-", "-1", "1-2-3", "1_2", "１-２", "1-1\nevent: pin", "1.0-1",
    "9" * 30 + "-1", "0x10-1", "'; DROP TABLE",
])
def test_malformed_ids_cannot_be_resumed_from(make_bus, forged):
    bus = make_bus()
    _publish(bus, 3)
    assert bus.since(CHANNEL, forged) is None


def test_ids_ahead_unknown_or_from_another_bus_cannot_be_resumed_from(make_bus):
    bus = make_bus()
    events = _publish(bus, 3)
    first, seq = _key(events[0].id)
    last, last_seq = _key(events[-1].id)
    other = make_bus(prefix=getattr(bus, "prefix", "") + "other:")
    # Redis ids are <milliseconds>-<n>: published in the same millisecond as ours, the
    # other stream's first id could be one of ours (CI saw it), not a foreign one.
    time.sleep(0.005)
    foreign = other.publish(CHANNEL, "price", {"n": "elsewhere"})

    assert bus.since(CHANNEL, f"{last}-{last_seq + 1}") is None  # ahead
    assert bus.since(CHANNEL, f"{last + 10**6}-0") is None  # far ahead
    assert bus.since(CHANNEL, "1-1") is None  # never existed here
    assert bus.since(CHANNEL, foreign.id) is None  # another process's epoch / another stream
    assert other.since(CHANNEL, events[0].id) is None


def test_history_is_bounded_and_older_ids_get_none(make_bus):
    # Redis trims with MAXLEN ~ (whole nodes of 100 entries): enough events that the
    # first ones are surely gone.
    bus = make_bus(history=10)
    events = _publish(bus, 300)

    assert bus.since(CHANNEL, events[0].id) is None
    assert bus.since(CHANNEL, events[150].id) is None
    assert bus.since(CHANNEL, events[-11].id) == events[-10:]


def test_memory_history_keeps_exactly_its_bound():
    from core.events import MemoryBus

    bus = MemoryBus(history=10)
    events = _publish(bus, 30)
    # The id just before the oldest kept event still resumes: nothing was lost after it.
    assert bus.since(CHANNEL, events[-11].id) == events[-10:]
    assert bus.since(CHANNEL, events[-12].id) is None


def test_memory_ids_from_another_epoch_cannot_be_resumed_from():
    from core.events import MemoryBus

    before_restart, after_restart = MemoryBus(), MemoryBus()
    old = _publish(before_restart, 3)
    _publish(after_restart, 3)
    assert before_restart.epoch != after_restart.epoch
    assert after_restart.since(CHANNEL, old[0].id) is None


def test_a_subscription_gets_live_events_in_order_from_when_it_was_made(make_bus):
    bus = make_bus()
    before = bus.publish(CHANNEL, "pin", {"n": "before"})
    with bus.subscribe(CHANNEL) as subscription:
        published = _publish(bus, 3)
        received = [subscription.get(timeout=5) for _ in published]
        assert received == published
        assert before not in received
        assert subscription.get(timeout=0.3) is None


def test_many_subscriptions_each_get_every_event(make_bus):
    bus = make_bus()
    subscriptions = [bus.subscribe(CHANNEL) for _ in range(20)]
    published = _publish(bus, 3)
    for subscription in subscriptions:
        assert [subscription.get(timeout=5) for _ in published] == published
        subscription.close()


def test_unsubscribe_stops_delivery_and_the_count(make_bus):
    bus = make_bus()
    staying = bus.subscribe(CHANNEL)
    leaving = bus.subscribe(CHANNEL)
    assert bus.connected(CHANNEL) == 2

    leaving.close()
    leaving.close()  # twice is harmless
    assert leaving.closed
    assert bus.connected(CHANNEL) == 1
    event = bus.publish(CHANNEL, "status", {"live": True})
    assert staying.get(timeout=5) == event
    assert leaving.get(timeout=0.3) is None

    staying.close()
    assert bus.connected(CHANNEL) == 0
    assert bus.connected("live:nobody") == 0


def test_a_slow_subscriber_is_marked_overflowed_instead_of_losing_events_quietly(make_bus):
    bus = make_bus(queue_limit=5)
    with bus.subscribe(CHANNEL) as slow, bus.subscribe(CHANNEL) as fast:
        received = []
        for n in range(8):
            event = bus.publish(CHANNEL, "ticker", {"n": n})
            received.append(fast.get(timeout=5))
            assert received[-1] == event
        assert wait_for(lambda: slow.overflowed, timeout=10)
        assert not fast.overflowed
        assert slow.get(timeout=0.1) is None


@pytest.mark.parametrize("kind", ["", "Pin", "pin\nevent: x", "pin-2", "价格", "a" * 41, None])
def test_kinds_outside_lowercase_letters_and_underscores_are_refused(make_bus, kind):
    bus = make_bus()
    with pytest.raises(ValueError, match="kind"):
        bus.publish(CHANNEL, kind, {})
    assert bus.latest_id(CHANNEL) is None


@pytest.mark.parametrize("channel", ["", "live 1", "live\n1", "live/1", "x" * 121])
def test_channel_names_are_checked(make_bus, channel):
    bus = make_bus()
    with pytest.raises(ValueError, match="channel"):
        bus.publish(channel, "pin", {})
    with pytest.raises(ValueError, match="channel"):
        bus.subscribe(channel)


@pytest.mark.parametrize("data", [["not", "a", "dict"], {"when": object()}, {"x": float("nan")}])
def test_data_that_is_not_a_json_object_is_refused(make_bus, data):
    bus = make_bus()
    with pytest.raises((TypeError, ValueError)):
        bus.publish(CHANNEL, "pin", data)
    assert bus.latest_id(CHANNEL) is None


def _one_message(sse: str) -> dict:
    assert sse.endswith("\n\n") and "\r" not in sse
    lines = sse[:-2].split("\n")
    fields = dict(line.split(": ", 1) for line in lines)
    assert len(lines) == len(fields) == 3, lines
    return fields


def test_hostile_text_stays_one_data_line_and_round_trips(make_bus):
    bus = make_bus()
    before = bus.publish(CHANNEL, "status", {})
    with bus.subscribe(CHANNEL) as subscription:
        published = bus.publish(CHANNEL, "message", HOSTILE)
        live = subscription.get(timeout=5)
    stored = bus.since(CHANNEL, before.id)[0]

    for event in (published, live, stored):
        assert event.data == HOSTILE
        fields = _one_message(event.sse)
        assert fields["id"] == published.id and fields["event"] == "message"
        assert json.loads(fields["data"]) == HOSTILE
        for raw in ("<", ">", "\u2028", "\u2029", "\x00", "\x1b"):
            assert raw not in fields["data"]


def test_an_event_made_by_hand_with_a_bad_kind_cannot_become_a_message():
    with pytest.raises(ValueError, match="kind"):
        Event("1-1", "pin\ndata: x", {}).sse  # noqa: B018
