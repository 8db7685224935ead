"""Real-time events: one bus interface, two backends, and the Server-Sent Events response.

A channel (one live room) carries events in order, each with an id "<a>-<b>" that a
browser sends back as `Last-Event-ID` when it reconnects, to be given what it missed.
- MemoryBus: this process only (`make run`, one process). Ids begin with a number of
  this bus's own, so an id from before a restart (or from another process) is known
  not to be resumable: that browser gets a fresh snapshot instead.
- RedisBus (when REDIS_URL is set): Redis Streams, so every process and host sees the
  same events and the same history, and a browser resumes on any of them. One reader
  thread per process reads every watched channel and hands events to its subscribers.

Code uses only threading and queue primitives, so under gevent (the web workers,
README) they are cooperative, and in the tests' threaded server they are threads.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import Flask, Response, current_app

logger = logging.getLogger(__name__)

KIND = re.compile(r"[a-z][a-z_]{0,39}")
EVENT_ID = re.compile(r"(\d{1,20})-(\d{1,20})")
QUEUE_BOUND = 1000
HEARTBEAT = object()  # what Subscription.get returns when nothing came in time


@dataclass(frozen=True)
class Event:
    """One event of a channel."""

    id: str
    kind: str
    data: dict

    def key(self) -> tuple[int, int]:
        """Its place in the channel's order."""
        return parse_id(self.id)


def parse_id(text: str | None) -> tuple[int, int] | None:
    """An event id as a pair of numbers, or None when it is not one (a forged id)."""
    match = EVENT_ID.fullmatch(text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def _check(kind: str, data: dict) -> str:
    if not KIND.fullmatch(kind or ""):
        raise ValueError(f"event kind must match {KIND.pattern}: {kind!r}")
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class Subscription:
    """A listener's queue on one channel; `get` waits for the next event."""

    def __init__(self, bus: EventBus, channel: str) -> None:
        self.bus = bus
        self.channel = channel
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_BOUND)
        self.overflowed = False

    def deliver(self, event: Event) -> None:
        """Hand one event over; a listener too slow to keep up is told to start again."""
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self.overflowed = True

    def get(self, timeout: float) -> Event | None:
        """The next event, or None after `timeout` seconds."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Stop listening."""
        self.bus._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class EventBus:
    """What every backend does; subscribers are kept here, the history by the backend."""

    def __init__(self, history: int) -> None:
        self.history = history
        self._subscribers: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()

    def publish(self, channel: str, kind: str, data: dict) -> Event:
        """Add an event to the channel, for every listener in every process."""
        raise NotImplementedError

    def latest_id(self, channel: str) -> str | None:
        """The id of the channel's last event, if it has one."""
        raise NotImplementedError

    def since(self, channel: str, last_id: str | None) -> list[Event] | None:
        """The events after `last_id`, oldest first; None when it cannot be resumed
        from (malformed, from another epoch, ahead of the latest, older than kept)."""
        raise NotImplementedError

    def connected(self, channel: str) -> int:
        """How many listeners the channel has, in every process sharing this bus."""
        return self.local_count(channel)

    def local_count(self, channel: str) -> int:
        """How many listeners the channel has in this process."""
        with self._lock:
            return len(self._subscribers.get(channel, ()))

    def subscribe(self, channel: str) -> Subscription:
        """Start listening now: every event published from here on is delivered."""
        subscription = Subscription(self, channel)
        with self._lock:
            self._subscribers.setdefault(channel, set()).add(subscription)
        self._watch(channel)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            listeners = self._subscribers.get(subscription.channel)
            if listeners is not None:
                listeners.discard(subscription)
                if not listeners:
                    del self._subscribers[subscription.channel]

    def _deliver(self, channel: str, event: Event) -> None:
        with self._lock:
            listeners = list(self._subscribers.get(channel, ()))
        for listener in listeners:
            listener.deliver(event)

    def _watch(self, channel: str) -> None:
        """A backend hook: the channel has a listener in this process."""

    def close(self) -> None:
        """Stop background work (tests, app teardown)."""


class MemoryBus(EventBus):
    """Events for one process, with a bounded history per channel."""

    def __init__(self, history: int = 500) -> None:
        super().__init__(history)
        # Milliseconds at start: an id from before a restart has another epoch.
        self.epoch = time.time_ns() // 1_000_000
        self._sequences: dict[str, int] = {}
        self._kept: dict[str, deque[Event]] = {}

    def publish(self, channel: str, kind: str, data: dict) -> Event:
        _check(kind, data)
        with self._lock:
            number = self._sequences[channel] = self._sequences.get(channel, 0) + 1
            event = Event(f"{self.epoch}-{number}", kind, data)
            self._kept.setdefault(channel, deque(maxlen=self.history)).append(event)
        self._deliver(channel, event)
        return event

    def latest_id(self, channel: str) -> str | None:
        with self._lock:
            kept = self._kept.get(channel)
            return kept[-1].id if kept else None

    def since(self, channel: str, last_id: str | None) -> list[Event] | None:
        wanted = parse_id(last_id)
        if wanted is None or wanted[0] != self.epoch:
            return None
        with self._lock:
            kept = list(self._kept.get(channel, ()))
        if not kept or wanted > kept[-1].key():
            return None  # ahead of anything published here: forged, or another process's
        if wanted < kept[0].key():
            # Older than what is kept: resumable only if nothing was dropped between
            # (ids within a channel are consecutive).
            return kept if kept[0].key()[1] == wanted[1] + 1 else None
        return [event for event in kept if event.key() > wanted]


class RedisBus(EventBus):
    """Events in Redis Streams, shared by every process and host on one Redis."""

    BLOCK_MS = 500
    COUNT_SECONDS = 5
    STALE_SECONDS = 20
    KEEP_SECONDS = 2 * 86400

    def __init__(self, url: str, *, history: int = 500, prefix: str = "gongfang:events:") -> None:
        import redis

        super().__init__(history)
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3,
                                          health_check_interval=30)
        self.reader_redis = redis.Redis.from_url(url, socket_timeout=10,
                                                 socket_connect_timeout=3)
        self.prefix = prefix
        self.process = f"{os.getpid()}-{time.time_ns()}"
        self._positions: dict[str, str] = {}
        self._reader: threading.Thread | None = None
        self._reader_pid = None
        self._stopped = threading.Event()
        self._counted = 0.0

    def _key(self, channel: str) -> str:
        return f"{self.prefix}{channel}"

    def publish(self, channel: str, kind: str, data: dict) -> Event:
        body = _check(kind, data)
        key = self._key(channel)
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, {"kind": kind, "data": body}, maxlen=self.history,
                      approximate=True)
            pipe.expire(key, self.KEEP_SECONDS)
            event_id = pipe.execute()[0]
        return Event(_text(event_id), kind, data)

    def latest_id(self, channel: str) -> str | None:
        rows = self.redis.xrevrange(self._key(channel), count=1)
        return _text(rows[0][0]) if rows else None

    def since(self, channel: str, last_id: str | None) -> list[Event] | None:
        wanted = parse_id(last_id)
        if wanted is None:
            return None
        key = self._key(channel)
        latest = self.redis.xrevrange(key, count=1)
        if not latest:
            return None
        if wanted > parse_id(_text(latest[0][0])):
            return None
        first = self.redis.xrange(key, count=1)
        if first and wanted < parse_id(_text(first[0][0])):
            return None  # older than what is kept: what came between may be gone
        rows = self.redis.xrange(key, min=f"({last_id}", count=self.history + 1)
        return [_event(row) for row in rows]

    def connected(self, channel: str) -> int:
        self._count_now()
        try:
            fields = self.redis.hgetall(self._key("viewers:" + channel))
        except Exception:
            logger.warning("events: Redis cannot be reached; counting this process only")
            return self.local_count(channel)
        now = time.time()
        total = 0
        for value in fields.values():
            count, _colon, stamp = _text(value).partition(":")
            if count.isdigit() and stamp.replace(".", "", 1).isdigit() \
                    and now - float(stamp) < self.STALE_SECONDS:
                total += int(count)
        return total

    def _count_now(self, force: bool = False) -> None:
        """Write this process's listener counts where the other processes can read them."""
        now = time.time()
        if not force and now - self._counted < 1.0:
            return
        self._counted = now
        with self._lock:
            counts = {channel: len(listeners) for channel, listeners in
                      self._subscribers.items()}
            channels = set(counts) | set(self._positions)
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for channel in channels:
                    key = self._key("viewers:" + channel)
                    pipe.hset(key, self.process, f"{counts.get(channel, 0)}:{now}")
                    pipe.expire(key, self.KEEP_SECONDS)
                pipe.execute()
        except Exception:
            logger.warning("events: Redis cannot be reached; viewer counts not shared")

    def _watch(self, channel: str) -> None:
        with self._lock:
            if channel not in self._positions:
                # Read from the stream's end as it is now: a listener's own history read
                # comes after this, so nothing published in between is lost.
                try:
                    latest = self.redis.xrevrange(self._key(channel), count=1)
                    self._positions[channel] = _text(latest[0][0]) if latest else "0-0"
                except Exception:
                    self._positions[channel] = "$"
        self._count_now(force=True)
        self._start_reader()

    def _start_reader(self) -> None:
        if (self._reader is not None and self._reader.is_alive()
                and self._reader_pid == os.getpid()):
            return
        self._reader_pid = os.getpid()
        self._reader = threading.Thread(target=self._read, name="events-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        backoff = 0.5
        while not self._stopped.is_set():
            with self._lock:
                for channel in [c for c in self._positions if c not in self._subscribers]:
                    del self._positions[channel]  # nobody here listens any more
                streams = {self._key(c): p for c, p in self._positions.items()}
            if not streams:
                self._stopped.wait(0.2)
                continue
            try:
                replies = self.reader_redis.xread(streams, block=self.BLOCK_MS, count=500)
                backoff = 0.5
            except Exception as error:
                logger.warning("events: cannot read from Redis (%s); trying again in %.1f s",
                               type(error).__name__, backoff)
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            for key, rows in replies or []:
                channel = _text(key)[len(self.prefix):]
                for row in rows:
                    event = _event(row)
                    with self._lock:
                        if channel in self._positions:
                            self._positions[channel] = event.id
                    self._deliver(channel, event)
            if time.time() - self._counted > self.COUNT_SECONDS:
                self._count_now(force=True)

    def _unsubscribe(self, subscription: Subscription) -> None:
        super()._unsubscribe(subscription)
        self._count_now(force=True)

    def close(self) -> None:
        self._stopped.set()
        try:
            with self._lock:
                channels = set(self._positions) | set(self._subscribers)
            for channel in channels:
                self.redis.hdel(self._key("viewers:" + channel), self.process)
        except Exception:
            logger.info("events: could not clear this process's counts in Redis")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _event(row) -> Event:
    event_id, fields = row
    fields = {_text(k): _text(v) for k, v in fields.items()}
    return Event(_text(event_id), fields.get("kind", "unknown"),
                 json.loads(fields.get("data") or "{}"))


# --- The app's bus ---------------------------------------------------------------------

def init_app(app: Flask) -> None:
    """Give the app its bus: Redis when REDIS_URL is set, else this process's memory."""
    app.config.setdefault("EVENTS_HISTORY", 500)
    app.config.setdefault("EVENTS_HEARTBEAT_SECONDS", 15)
    app.config.setdefault("EVENTS_STREAM_SECONDS", 900)
    app.config.setdefault("EVENTS_REDIS_PREFIX", "gongfang:events:")
    history = int(app.config["EVENTS_HISTORY"])
    url = app.config.get("EVENTS_REDIS_URL") or app.config.get("REDIS_URL")
    if url:
        app.extensions["events"] = RedisBus(url, history=history,
                                            prefix=app.config["EVENTS_REDIS_PREFIX"])
    else:
        app.extensions["events"] = MemoryBus(history=history)


def bus() -> EventBus:
    """The current app's bus."""
    return current_app.extensions["events"]


def publish_after_commit(session, channel: str, kind: str, data: dict) -> None:
    """Publish once `session` has committed (never what rolled back). A bus that cannot
    be reached then is logged: the saved change stands, and browsers catch up from
    their next snapshot."""
    from core.db import after_commit

    _check(kind, data)
    target = bus()

    def send():
        try:
            target.publish(channel, kind, data)
        except Exception:
            logger.exception("events: could not publish %s on %s", kind, channel)

    after_commit(session, send)


def sse_frame(event: Event) -> str:
    """One event in the Server-Sent Events format (the JSON is one line)."""
    return f"id: {event.id}\nevent: {event.kind}\ndata: {_check(event.kind, event.data)}\n\n"


def event_stream_response(channel: str, *, last_event_id: str | None,
                          snapshot: Callable[[], dict],
                          on_close: Callable[[], None] | None = None) -> Response:
    """A Server-Sent Events response for `channel`, made inside a view.

    It subscribes first, then starts with what the browser missed since
    `last_event_id` or, when that cannot be resumed (none, forged, too old), with a
    `snapshot` event made now (in the request, with its database session). Then live
    events, a heartbeat comment to keep proxies from closing the stream, and an end
    after EVENTS_STREAM_SECONDS (the browser reconnects with its last id).
    """
    config = current_app.config
    heartbeat = float(config["EVENTS_HEARTBEAT_SECONDS"])
    lifetime = float(config["EVENTS_STREAM_SECONDS"])
    events = bus()
    subscription = events.subscribe(channel)
    try:
        missed = events.since(channel, last_event_id) if last_event_id else None
        opening: list[str] = []
        sent = None
        if missed is None:
            position = events.latest_id(channel)
            state = _check("snapshot", snapshot())
            # On a channel with no event yet the snapshot has no id: the browser then
            # reconnects without one and is sent a new snapshot.
            opening.append((f"id: {position}\n" if position else "")
                           + f"event: snapshot\ndata: {state}\n\n")
            sent = parse_id(position)
        else:
            opening.extend(sse_frame(event) for event in missed)
            sent = missed[-1].key() if missed else parse_id(last_event_id)
    except BaseException:
        subscription.close()
        raise

    def stream() -> Iterator[str]:
        last = sent
        ends = time.monotonic() + lifetime
        try:
            yield "retry: 3000\n\n"
            yield from opening
            while True:
                left = ends - time.monotonic()
                if left <= 0:
                    return
                event = subscription.get(timeout=min(heartbeat, left))
                if subscription.overflowed:
                    yield "event: resync\ndata: {}\n\n"
                    return
                if event is None:
                    yield ": heartbeat\n\n"
                    continue
                if last is not None and event.key() <= last:
                    continue  # already sent in the history or the snapshot
                last = event.key()
                yield sse_frame(event)
        finally:
            subscription.close()
            if on_close is not None:
                on_close()

    response = Response(stream(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    response.headers["Content-Type"] = "text/event-stream; charset=utf-8"
    return response
