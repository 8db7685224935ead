"""event_stream_response served for real (Werkzeug's threaded server) and read over HTTP,
on both backends and both databases; and the stream body on its own (dedupe, overflow)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.events import MemoryBus, event_stream_response
from core.events.stream import RESYNC, EventStream, snapshot_message
from tests.conftest import wait_for
from tests.core.sse_client import SSEClient
from tests.core.test_events import HOSTILE

CHANNEL = "live:7"


@pytest.fixture(params=["memory", "redis"])
def stream_app(request, app_config):
    """The app with a test view that streams a channel; `.closed` counts on_close calls
    and `.snapshots` the snapshots made."""
    app_config.update({"EVENTS_HEARTBEAT_SECONDS": 0.2, "EVENTS_STREAM_SECONDS": 30})
    if request.param == "redis":
        app_config["REDIS_URL"] = request.getfixturevalue("redis_url")
        app_config["EVENTS_REDIS_PREFIX"] = request.getfixturevalue("redis_events_prefix")
    else:
        app_config["REDIS_URL"] = None
    app = request.getfixturevalue("app")
    app.closed, app.snapshots = [], []

    @app.get("/test-events/<channel>")
    def stream(channel):
        from flask import request as web_request

        from core.db import get_session

        def snapshot():
            # The snapshot is made in the request, with the database at hand.
            value = get_session().execute(sa.text("SELECT 1")).scalar_one()
            app.snapshots.append(channel)
            return {"from_database": value, "channel": channel}

        return event_stream_response(
            channel, last_event_id=web_request.headers.get("Last-Event-ID"),
            snapshot=snapshot, on_close=lambda: app.closed.append(channel))

    yield app
    app.extensions["events"].close()


@pytest.fixture
def events(stream_app):
    """The test app's events bus."""
    return stream_app.extensions["events"]


def _connect(server, last_event_id=None, channel=CHANNEL):
    return SSEClient(server.url, f"/test-events/{channel}", last_event_id=last_event_id)


def test_without_last_event_id_a_snapshot_comes_first_then_live_events(
        stream_app, events, live_server):
    events.publish(CHANNEL, "pin", {"product": 1})
    latest = events.publish(CHANNEL, "price", {"product": 1, "fen": 1990})
    client = _connect(live_server)
    try:
        assert client.response.status == 200
        headers = client.response.headers
        assert headers["Content-Type"] == "text/event-stream; charset=utf-8"
        assert headers["Cache-Control"] == "no-cache"
        assert headers["X-Accel-Buffering"] == "no"
        assert client.next().retry == "3000"

        snapshot = client.next_message()
        assert (snapshot.event, snapshot.id) == ("snapshot", latest.id)
        assert snapshot.data == {"from_database": 1, "channel": CHANNEL}
        assert events.connected(CHANNEL) == 1

        live = events.publish(CHANNEL, "stock", {"product": 1, "left": 3})
        message = client.next_message()
        assert (message.id, message.event, message.data) == (live.id, "stock", live.data)
    finally:
        client.close()


def test_a_good_last_event_id_gets_what_was_missed_and_no_snapshot(
        stream_app, events, live_server):
    seen, *missed = [events.publish(CHANNEL, "ticker", {"n": n}) for n in range(3)]
    client = _connect(live_server, last_event_id=seen.id)
    try:
        for event in missed:
            message = client.next_message()
            assert (message.id, message.event, message.data) == (event.id, "ticker", event.data)
        live = events.publish(CHANNEL, "caption", {"text": "大家好"})
        assert client.next_message().id == live.id
        assert stream_app.snapshots == []
    finally:
        client.close()


@pytest.mark.parametrize("forged", ["forged", "1-1", "99999999999999-0", "<script>"])
def test_a_forged_last_event_id_gets_a_snapshot(stream_app, events, live_server, forged):
    latest = events.publish(CHANNEL, "pin", {"product": 2})
    client = _connect(live_server, last_event_id=forged)
    try:
        message = client.next_message()
        assert (message.event, message.id) == ("snapshot", latest.id)
        assert message.data["from_database"] == 1
    finally:
        client.close()


def test_a_channel_with_no_events_yet_gets_a_snapshot_with_an_empty_id(
        stream_app, events, live_server):
    client = _connect(live_server, last_event_id="1-1")
    try:
        message = client.next_message()
        # An empty id makes the browser forget the one it sent, so it sends none next time.
        assert (message.event, message.id) == ("snapshot", "")
        first = events.publish(CHANNEL, "status", {"live": True})
        assert client.next_message().id == first.id
    finally:
        client.close()


def test_hostile_text_arrives_as_one_data_line(stream_app, events, live_server):
    client = _connect(live_server)
    try:
        client.next_message()
        events.publish(CHANNEL, "message", HOSTILE)
        message = client.next_message()
        assert len(message.data_lines) == 1
        assert message.data == HOSTILE
    finally:
        client.close()


def test_an_idle_stream_sends_heartbeats(stream_app, live_server):
    client = _connect(live_server)
    try:
        client.next_message()
        comments = [client.next() for _ in range(3)]
        assert [m.comment for m in comments] == ["heartbeat"] * 3
    finally:
        client.close()


def test_the_stream_ends_after_its_time_and_lets_go(stream_app, events, live_server):
    stream_app.config["EVENTS_STREAM_SECONDS"] = 1
    client = _connect(live_server)
    try:
        messages = []
        while (message := client.next()) is not None:
            messages.append(message)
            assert len(messages) < 100, "the stream did not end"
        assert messages[1].event == "snapshot"
        assert wait_for(lambda: stream_app.closed == [CHANNEL], timeout=10)
        assert events.connected(CHANNEL) == 0
    finally:
        client.close()


def test_a_client_that_goes_away_is_unsubscribed(stream_app, events, live_server):
    staying = _connect(live_server)
    leaving = _connect(live_server)
    try:
        staying.next_message()
        leaving.next_message()
        assert events.connected(CHANNEL) == 2
        leaving.close()
        # The server notices at its next write (a heartbeat, 0.2 s here).
        assert wait_for(lambda: events.connected(CHANNEL) == 1, timeout=10)
        assert stream_app.closed == [CHANNEL]
        event = events.publish(CHANNEL, "pin", {"product": 3})
        assert staying.next_message().id == event.id
    finally:
        staying.close()
    assert wait_for(lambda: events.connected(CHANNEL) == 0, timeout=10)
    assert stream_app.closed == [CHANNEL, CHANNEL]


# --- the body on its own ----------------------------------------------------------------

def _body(bus, opening, closed, **options):
    options = {"heartbeat_seconds": 0.05, "stream_seconds": 5, **options}
    return EventStream(bus.subscribe(CHANNEL), opening, up_to=None,
                       on_close=lambda: closed.append(1), **options)


def test_live_events_already_covered_by_the_snapshot_are_not_sent_twice():
    bus = MemoryBus()
    closed = []
    subscription = bus.subscribe(CHANNEL)
    covered = bus.publish(CHANNEL, "price", {"fen": 100})  # queued, and in the snapshot
    body = EventStream(subscription, [snapshot_message(covered.id, {"p": 1})],
                       up_to=covered.id, on_close=lambda: closed.append(1),
                       heartbeat_seconds=5, stream_seconds=5)
    newer = bus.publish(CHANNEL, "price", {"fen": 200})
    messages = iter(body)
    assert next(messages).startswith(b"retry:")
    assert b"event: snapshot" in next(messages)
    assert next(messages) == newer.sse.encode()
    body.close()
    assert closed == [1] and bus.connected(CHANNEL) == 0


def test_an_overflowed_subscriber_is_sent_resync_and_the_stream_ends():
    bus = MemoryBus(queue_limit=3)
    closed = []
    body = _body(bus, [], closed)
    for n in range(5):
        bus.publish(CHANNEL, "ticker", {"n": n})
    messages = list(body)
    assert messages[0].startswith(b"retry:")
    assert messages[-1] == RESYNC.encode()
    assert b"event: ticker" not in b"".join(messages)
    assert closed == [1] and bus.connected(CHANNEL) == 0


def test_a_body_closed_before_it_was_read_still_unsubscribes_once():
    bus = MemoryBus()
    closed = []
    body = _body(bus, [], closed)
    assert bus.connected(CHANNEL) == 1
    body.close()
    body.close()
    assert closed == [1] and bus.connected(CHANNEL) == 0


def test_a_snapshot_that_fails_leaves_no_subscription(app):
    bus = app.extensions["events"]
    closed = []

    def broken():
        raise RuntimeError("database gone")

    with app.test_request_context("/"), pytest.raises(RuntimeError, match="database gone"):
        event_stream_response(CHANNEL, last_event_id=None, snapshot=broken,
                              on_close=lambda: closed.append(1))
    assert closed == [1] and bus.connected(CHANNEL) == 0
