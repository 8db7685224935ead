"""The events bus, both backends through the same tests (Redis: the real one on
127.0.0.1, keys under a prefix of this test's own), and the Server-Sent Events response
read by a real HTTP client."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time

import pytest
import requests

from core.events import MemoryBus, RedisBus, parse_id, sse_frame


@pytest.fixture(params=["memory", "redis"])
def bus(request):
    if request.param == "memory":
        made = MemoryBus(history=5)
        yield made
        made.close()
        return
    url = request.getfixturevalue("redis_url")
    prefix = f"gf-test-events:{secrets.token_hex(4)}:"
    made = RedisBus(url, history=5, prefix=prefix)
    yield made
    made.close()
    for key in made.redis.scan_iter(match=prefix + "*"):
        made.redis.delete(key)


def _wait(subscription, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = subscription.get(timeout=0.2)
        if event is not None:
            return event
    return None


def test_events_come_in_order_and_resume_after_a_known_id(bus):
    sent = [bus.publish("room-1", "pin", {"product_id": n}) for n in range(3)]
    assert [parse_id(e.id) for e in sent] == sorted(parse_id(e.id) for e in sent)
    assert bus.latest_id("room-1") == sent[-1].id
    missed = bus.since("room-1", sent[0].id)
    assert [(e.kind, e.data) for e in missed] == [("pin", {"product_id": 1}),
                                                 ("pin", {"product_id": 2})]
    assert bus.since("room-1", sent[-1].id) == []
    assert bus.latest_id("room-2") is None


@pytest.mark.parametrize("forged", ["", "abc", "1-2-3", "-1", "99999999999999-1",
                                    "0-0' OR 1=1", "1" * 40 + "-1"])
def test_forged_ids_cannot_be_resumed_from(bus, forged):
    bus.publish("room-1", "pin", {"product_id": 1})
    assert bus.since("room-1", forged) is None


def test_an_id_older_than_the_kept_history_is_resumed_without_a_gap_or_not_at_all(bus):
    first = bus.publish("room-1", "pin", {"n": 0})
    for n in range(1, 300):
        bus.publish("room-1", "pin", {"n": n})
    missed = bus.since("room-1", first.id)
    # Redis trims its streams roughly (a node at a time), so it may keep more than asked:
    # either every event after the id comes back, or none and the caller sends a snapshot.
    assert missed is None or [e.data["n"] for e in missed] == list(range(1, 300))
    if isinstance(bus, MemoryBus):
        assert missed is None


def test_an_id_from_another_bus_or_process_cannot_be_resumed_from_memory():
    first, second = MemoryBus(), MemoryBus()
    time.sleep(0.002)
    other = MemoryBus()
    event = first.publish("room", "pin", {})
    second.publish("room", "pin", {})
    assert other.since("room", event.id) is None


def test_subscribers_get_live_events_and_stop_when_closed(bus):
    with bus.subscribe("room-1") as listener, bus.subscribe("room-2") as elsewhere:
        assert bus.connected("room-1") == 1
        bus.publish("room-1", "caption", {"text": "你好"})
        got = _wait(listener)
        assert got is not None and got.data == {"text": "你好"}
        assert elsewhere.get(timeout=0.3) is None
    assert bus.local_count("room-1") == 0


def test_hostile_text_stays_one_line_of_json():
    event = MemoryBus().publish("room", "message", {
        "body": "line\nbreak\r\n</script><script>alert(1)</script>\x00\u2028"})
    frame = sse_frame(event)
    assert frame.count("\n") == 4 and frame.endswith("\n\n")
    data = frame.split("data: ", 1)[1].rstrip("\n")
    assert json.loads(data)["body"].startswith("line\nbreak")


@pytest.mark.parametrize("kind", ["Pin", "pin\nevent: x", "", "x" * 41, "pin-1"])
def test_event_kinds_are_checked(kind):
    with pytest.raises(ValueError):
        MemoryBus().publish("room", kind, {})


def test_a_listener_that_falls_behind_is_told_to_start_again():
    bus = MemoryBus(history=5)
    listener = bus.subscribe("room")
    for n in range(1100):
        bus.publish("room", "stock", {"n": n})
    assert listener.overflowed


def test_redis_down_publish_fails_clearly_and_listeners_keep_waiting(redis_url):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    bus = RedisBus(closed, prefix="gf-test-down:")
    try:
        import redis

        with pytest.raises(redis.RedisError):
            bus.publish("room", "pin", {})
        with bus.subscribe("room") as listener:
            assert listener.get(timeout=0.5) is None  # a heartbeat's worth of nothing
            assert bus.connected("room") == 1  # counted here, Redis or not
    finally:
        bus.close()


# --- The Server-Sent Events response, read by a real client --------------------------

class _Frames:
    """The frames of one event stream, read as they come."""

    def __init__(self, response):
        self.chunks = response.iter_content(chunk_size=None, decode_unicode=True)
        self.buffer = ""

    def read(self, count):
        frames = []
        while len(frames) < count:
            while "\n\n" not in self.buffer:
                self.buffer += next(self.chunks)
            frame, self.buffer = self.buffer.split("\n\n", 1)
            frames.append(frame)
        return frames


def _read_frames(response, count):
    return _Frames(response).read(count)


def _fields(frame):
    result = {}
    for line in frame.split("\n"):
        if line.startswith(":"):
            result.setdefault("comment", line)
            continue
        name, _sep, value = line.partition(": ")
        result[name] = value
    return result


@pytest.fixture
def stream_app(app_config):
    """An app whose streams beat every half second and end after four seconds."""
    from app import create_app
    from core.events import bus, event_stream_response

    app_config.update(EVENTS_HEARTBEAT_SECONDS=0.5, EVENTS_STREAM_SECONDS=4)
    application = create_app(app_config)

    @application.get("/_test/stream")
    def stream():
        from flask import request

        return event_stream_response("room-x", last_event_id=request.headers.get(
            "Last-Event-ID"), snapshot=lambda: {"state": "now"})

    application.test_bus = bus
    yield application
    application.extensions["events"].close()
    application.extensions["database"].engine.dispose()


@pytest.fixture
def stream_server(stream_app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, stream_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(timeout=5)


def test_a_stream_starts_with_a_snapshot_then_live_events_and_heartbeats(stream_app,
                                                                       stream_server):
    events = stream_app.extensions["events"]
    first = events.publish("room-x", "pin", {"product_id": 1})
    with requests.get(f"{stream_server.url}/_test/stream", stream=True, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Cache-Control"] == "no-cache"
        reader = _Frames(response)
        retry, snapshot = (_fields(f) for f in reader.read(2))
        assert retry == {"retry": "3000"}
        assert snapshot["event"] == "snapshot" and snapshot["id"] == first.id
        assert json.loads(snapshot["data"]) == {"state": "now"}
        published = events.publish("room-x", "caption", {"text": "大家好"})
        frames = []
        while not any(f.get("event") == "caption" for f in frames):
            frames += [_fields(f) for f in reader.read(1)]
        assert frames[-1]["id"] == published.id
        frames += [_fields(f) for f in reader.read(1)]  # nothing more: a heartbeat
        assert frames[-1] == {"comment": ": heartbeat"}


def test_a_stream_resumes_from_a_known_id_and_snapshots_a_forged_one(stream_app,
                                                                    stream_server):
    events = stream_app.extensions["events"]
    first = events.publish("room-x", "pin", {"product_id": 1})
    events.publish("room-x", "pin", {"product_id": 2})
    with requests.get(f"{stream_server.url}/_test/stream", stream=True, timeout=10,
                      headers={"Last-Event-ID": first.id}) as response:
        frames = [_fields(f) for f in _read_frames(response, 2)]
        assert frames[1]["event"] == "pin" and json.loads(frames[1]["data"]) == {
            "product_id": 2}
    with requests.get(f"{stream_server.url}/_test/stream", stream=True, timeout=10,
                      headers={"Last-Event-ID": "9999999999999-999"}) as response:
        frames = [_fields(f) for f in _read_frames(response, 2)]
        assert frames[1]["event"] == "snapshot"


def test_a_stream_ends_by_itself_and_a_gone_client_stops_being_counted(stream_app,
                                                                      stream_server):
    events = stream_app.extensions["events"]
    started = time.monotonic()
    with requests.get(f"{stream_server.url}/_test/stream", stream=True, timeout=10) as response:
        body = "".join(response.iter_content(chunk_size=None, decode_unicode=True))
    assert time.monotonic() - started < 9 and ": heartbeat" in body
    deadline = time.monotonic() + 5
    while events.local_count("room-x") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert events.local_count("room-x") == 0
    response = requests.get(f"{stream_server.url}/_test/stream", stream=True, timeout=10)
    _read_frames(response, 2)
    assert events.local_count("room-x") == 1
    response.close()
    deadline = time.monotonic() + 5  # the next heartbeat finds the socket closed
    while events.local_count("room-x") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert events.local_count("room-x") == 0
