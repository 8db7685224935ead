"""The Redis bus across OS processes, and while Redis is down or comes back."""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.events import EventsUnavailable
from core.events.redis_bus import RedisBus
from tests.conftest import wait_for
from tests.core.sse_client import SSEClient

ROOT = Path(__file__).resolve().parents[2]
CHANNEL = "live:99"


class Listener:
    """`python -m tests.core.event_processes listen ...` and the lines it prints."""

    def __init__(self, url: str, prefix: str, subscriptions: int = 1) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.core.event_processes", "listen", url, prefix,
             CHANNEL, str(subscriptions)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.line() == "ready"

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def line(self, timeout: float = 30) -> str:
        """The next printed line."""
        return self.lines.get(timeout=timeout)

    def event(self, timeout: float = 30) -> dict:
        """The next event it received."""
        return json.loads(self.line(timeout))

    def kill(self) -> None:
        """Die at once, as a crashed worker does (no clean-up of its counts)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """End it cleanly (its standard input closes) or, failing that, kill it."""
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass  # it has died already
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process.stdout.close()


@pytest.fixture
def listeners(redis_url, redis_events_prefix):
    """Start listener processes; every one is stopped at the end."""
    started = []

    def start(subscriptions: int = 1) -> Listener:
        listener = Listener(redis_url, redis_events_prefix, subscriptions)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.stop()


@pytest.fixture
def redis_bus(redis_url, redis_events_prefix):
    """A RedisBus in this process, with counts refreshed and judged stale quickly."""
    bus = RedisBus(redis_url, prefix=redis_events_prefix, refresh_seconds=0.3,
                   stale_seconds=1)
    yield bus
    bus.close()


def test_an_event_published_here_reaches_a_subscriber_in_another_process(
        redis_bus, listeners):
    listener = listeners()
    for n in range(3):
        event = redis_bus.publish(CHANNEL, "price", {"n": n, "text": "盘扣\n</script>"})
        assert listener.event() == {"id": event.id, "kind": "price", "data": event.data}


def test_a_reader_that_moves_to_another_process_resumes_without_a_gap(
        redis_bus, listeners):
    """A viewer's stream was in the other process, which dies while events keep coming;
    they reconnect here with the last id they had and miss nothing."""
    listener = listeners()
    published = []
    stop = threading.Event()

    def publish_steadily():
        n = 0
        while not stop.is_set() and n < 2000:
            published.append(redis_bus.publish(CHANNEL, "ticker", {"n": n}).id)
            n += 1
            time.sleep(0.005)

    publisher = threading.Thread(target=publish_steadily)
    publisher.start()
    try:
        seen_there = [listener.event()["id"] for _ in range(20)]
        listener.kill()
        time.sleep(0.2)  # events the viewer misses while it reconnects

        with redis_bus.subscribe(CHANNEL) as subscription:
            missed = redis_bus.since(CHANNEL, seen_there[-1])
            assert missed is not None
            seen_here = [event.id for event in missed]
            while len(seen_here) < len(missed) + 20:
                event = subscription.get(timeout=10)
                assert event is not None
                if event.id not in seen_here:
                    seen_here.append(event.id)
    finally:
        stop.set()
        publisher.join(timeout=30)

    seen = seen_there + seen_here
    assert seen == published[:len(seen)]


def test_connected_counts_every_process_and_forgets_a_dead_one(redis_bus, listeners):
    local = [redis_bus.subscribe(CHANNEL) for _ in range(2)]
    other = listeners(subscriptions=3)
    assert wait_for(lambda: redis_bus.connected(CHANNEL) == 5, timeout=15)

    other.kill()
    # Its field stays in the hash until the key expires, but it is no longer refreshed.
    assert wait_for(lambda: redis_bus.connected(CHANNEL) == 2, timeout=15)
    for subscription in local:
        subscription.close()
    assert redis_bus.connected(CHANNEL) == 0


def test_a_process_that_stops_cleanly_takes_its_count_away(redis_bus, listeners):
    other = listeners(subscriptions=2)
    assert wait_for(lambda: redis_bus.connected(CHANNEL) == 2, timeout=15)
    other.stop()
    assert redis_bus.connected(CHANNEL) == 0


# --- Redis down ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_with_redis_down_publish_fails_clearly_and_subscriptions_wait(caplog):
    caplog.set_level(logging.INFO, logger="core.events.redis_bus")
    bus = RedisBus(f"redis://127.0.0.1:{_free_port()}/0", timeout_seconds=0.5)
    try:
        with pytest.raises(EventsUnavailable, match="cannot be reached"):
            bus.publish(CHANNEL, "pin", {"product": 1})
        with pytest.raises(EventsUnavailable):
            bus.latest_id(CHANNEL)
        with pytest.raises(EventsUnavailable):
            bus.since(CHANNEL, "1-1")

        subscription = bus.subscribe(CHANNEL)
        assert subscription.get(timeout=2) is None
        assert bus.connected(CHANNEL) == 1  # what this process knows
        time.sleep(2)  # several tries of the reader
        assert bus._reader.is_alive()
        down = [r for r in caplog.records if "cannot be reached" in r.getMessage()]
        assert len(down) == 1 and down[0].levelno == logging.WARNING
        assert not down[0].exc_info  # one clear line, no traceback
        subscription.close()
    finally:
        bus.close()
    assert not bus._reader.is_alive()


def test_with_redis_down_a_stream_sends_a_snapshot_and_heartbeats(app_config):
    app_config.update({"REDIS_URL": f"redis://127.0.0.1:{_free_port()}/0",
                       "EVENTS_HEARTBEAT_SECONDS": 0.2})
    from werkzeug.serving import make_server

    from app import create_app
    from core.events import event_stream_response

    app = create_app(app_config)

    @app.get("/test-events")
    def stream():
        return event_stream_response(CHANNEL, last_event_id="1-1",
                                     snapshot=lambda: {"from": "database"})

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = SSEClient(f"http://127.0.0.1:{server.server_port}", "/test-events")
    try:
        snapshot = client.next_message()
        assert (snapshot.event, snapshot.id, snapshot.data) == ("snapshot", "", {"from":
                                                                                "database"})
        assert [client.next().comment for _ in range(3)] == ["heartbeat"] * 3
    finally:
        client.close()
        server.shutdown()
        thread.join(timeout=5)
        app.extensions["events"].close()
        app.extensions["database"].engine.dispose()


def test_when_redis_comes_back_subscribers_carry_on(tmp_path):
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is required (REQUIRE_REDIS=1) to test a restart")
        pytest.skip("redis-server is not installed")
    port = _free_port()
    command = [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(tmp_path)]

    def start():
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        probe = RedisBus(f"redis://127.0.0.1:{port}/0")
        assert wait_for(lambda: _answers(probe), timeout=15)
        probe.close()
        return process

    server = start()
    bus = RedisBus(f"redis://127.0.0.1:{port}/0", timeout_seconds=0.5)
    try:
        subscription = bus.subscribe(CHANNEL)
        before = bus.publish(CHANNEL, "pin", {"product": 1})
        assert subscription.get(timeout=10) == before

        server.terminate()
        server.wait(timeout=10)
        with pytest.raises(EventsUnavailable):
            bus.publish(CHANNEL, "pin", {"product": 2})
        assert subscription.get(timeout=1) is None

        server = start()  # empty: nothing was saved
        after = bus.publish(CHANNEL, "pin", {"product": 3})
        assert subscription.get(timeout=30) == after
        assert bus._reader.is_alive()
        subscription.close()
    finally:
        bus.close()
        server.terminate()
        server.wait(timeout=10)


def _answers(bus: RedisBus) -> bool:
    try:
        bus.latest_id(CHANNEL)
    except EventsUnavailable:
        return False
    return True


def test_a_stream_entry_that_is_not_an_event_is_skipped_not_fatal(redis_bus, caplog):
    import redis

    first = redis_bus.publish(CHANNEL, "pin", {"product": 1})
    with redis_bus.subscribe(CHANNEL) as subscription:
        client = redis.Redis.from_url(redis_bus.url)
        client.xadd(redis_bus.prefix + CHANNEL, {"something": "else"})
        client.xadd(redis_bus.prefix + CHANNEL, {"kind": "Bad Kind", "data": "{}"})
        client.xadd(redis_bus.prefix + CHANNEL, {"kind": "pin", "data": "not json"})
        client.close()
        second = redis_bus.publish(CHANNEL, "pin", {"product": 2})
        assert subscription.get(timeout=10) == second
        assert redis_bus._reader.is_alive()
    assert redis_bus.since(CHANNEL, first.id) == [second]
    assert any("not an event" in r.getMessage() for r in caplog.records)
