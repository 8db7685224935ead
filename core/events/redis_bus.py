"""The Redis events bus (REDIS_URL set): every process and host sees the same channels.

Each channel is a Redis stream, `<prefix><channel>`, trimmed to about EVENTS_HISTORY
entries and gone two days after its last event; the stream's entry id is the event id,
so a reader that reconnects to any process resumes where it was.

One reader thread per process (started on the first subscription, again after a fork)
reads every watched stream with one blocking XREAD and puts each event into the local
subscribers' queues. A channel starts being read at the stream's last id at the moment
it is first subscribed to, so nothing between a subscriber's history read and the
reader's first read is lost (the stream drops what it has already sent, by id).

"Viewers now": each process writes its count per channel into the hash
`<prefix>viewers:<channel>` as "<count> <redis time>", every few seconds and soon after
a change; fields older than `stale_seconds` (a process that died) are not counted. Times
are Redis's own clock, so hosts whose clocks disagree still agree on what is stale.

Redis going away never stops the process: publish raises EventsUnavailable (see
`publish_after_commit`), the reader logs one line and retries with back-off, and
subscriptions simply wait (their streams keep sending heartbeats) until it returns.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time

from core.events.base import (
    QUEUE_LIMIT,
    Event,
    EventBus,
    EventsUnavailable,
    Subscription,
    check_channel,
    check_kind,
    encode_data,
    parse_id,
)

logger = logging.getLogger(__name__)

KEEP_SECONDS = 2 * 24 * 3600
BLOCK_MILLISECONDS = 500
READ_COUNT = 500
MAX_BACKOFF_SECONDS = 10.0

# Counts are stamped and judged on Redis's clock (TIME), not each host's.
_WRITE_COUNT = """
local now = redis.call('TIME')[1]
if ARGV[2] == '0' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. now)
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return 1
"""
_SUM_COUNTS = """
local now = tonumber(redis.call('TIME')[1])
local stale = tonumber(ARGV[1])
local total = 0
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  if flat[i] ~= ARGV[2] then
    local count, stamp = string.match(flat[i + 1], '^(%d+) (%d+)$')
    if count and now - tonumber(stamp) <= stale then total = total + tonumber(count) end
  end
end
return total
"""


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisBus(EventBus):
    """Events in Redis streams, shared by every process that uses the same prefix."""

    def __init__(self, url: str, *, prefix: str = "gongfang:events:", history: int = 500,
                 queue_limit: int = QUEUE_LIMIT, refresh_seconds: float = 5.0,
                 stale_seconds: int = 15, timeout_seconds: float = 2.0) -> None:
        import redis  # only this backend needs the package (the `redis` extra)

        self._redis = redis
        self.url = url
        self.prefix = prefix
        self._history = history
        self._queue_limit = queue_limit
        self._refresh_seconds = refresh_seconds
        self._stale_seconds = stale_seconds
        self._timeout = timeout_seconds
        self._client = redis.Redis.from_url(url, socket_timeout=timeout_seconds,
                                            socket_connect_timeout=timeout_seconds)
        self._write_count = self._client.register_script(_WRITE_COUNT)
        self._sum_counts = self._client.register_script(_SUM_COUNTS)
        self._closed = threading.Event()
        self._start_process_state()

    def _start_process_state(self) -> None:
        """What belongs to one process: redone in a child after a fork."""
        self._pid = os.getpid()
        self._token = f"{socket.gethostname()}:{self._pid}:{secrets.token_hex(4)}"
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscription]] = {}
        self._positions: dict[str, str] = {}
        self._counts_written: dict[str, int] = {}
        self._counts_due = 0.0
        self._wake = threading.Event()
        self._reader: threading.Thread | None = None

    # --- writing and reading history -------------------------------------------------

    def _key(self, channel: str) -> str:
        return self.prefix + check_channel(channel)

    def publish(self, channel: str, kind: str, data: dict) -> Event:
        """XADD the event (trimmed history, key kept two days); EventsUnavailable when
        Redis cannot be reached."""
        key = self._key(channel)
        check_kind(kind)
        encoded = encode_data(data)
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.xadd(key, {"kind": kind, "data": encoded}, maxlen=self._history,
                      approximate=True)
            pipe.expire(key, KEEP_SECONDS)
            entry_id, _ = pipe.execute()
        except self._redis.RedisError as exc:
            raise EventsUnavailable(f"Redis at {self._safe_url()} cannot be reached: "
                                    f"{exc}") from exc
        return Event(_text(entry_id), kind, data)

    def latest_id(self, channel: str) -> str | None:
        """The newest entry's id in the channel's stream, or None when it has none."""
        key = self._key(channel)
        entries = self._call(self._client.xrevrange, key, "+", "-", count=1)
        return _text(entries[0][0]) if entries else None

    def since(self, channel: str, last_id: str) -> list[Event] | None:
        """Events after `last_id`, which must still be in the stream: an id that is
        malformed, trimmed away, ahead, or from a stream since expired gives None."""
        key = self._key(channel)
        if parse_id(last_id) is None:
            return None
        entries = self._call(self._client.xrange, key, last_id, "+")
        if not entries or _text(entries[0][0]) != last_id:
            return None
        return self._events(entries[1:])

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except self._redis.RedisError as exc:
            raise EventsUnavailable(f"Redis at {self._safe_url()} cannot be reached: "
                                    f"{exc}") from exc

    def _safe_url(self) -> str:
        # Never a password in a log line.
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"

    def _events(self, entries) -> list[Event]:
        """Stream entries as events; one that is not ours (written by hand, another
        version) is logged and skipped, never allowed to stop the reader on it."""
        events = []
        for entry_id, fields in entries:
            try:
                fields = {_text(k): _text(v) for k, v in fields.items()}
                event = Event(_text(entry_id), fields["kind"], json.loads(fields["data"]))
                event.sse  # noqa: B018 - checks it, and is made once for all local viewers
            except (KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
                logger.warning("events: skipped stream entry %s that is not an event: %r",
                               _text(entry_id), exc)
                continue
            events.append(event)
        return events

    # --- subscriptions ---------------------------------------------------------------

    def subscribe(self, channel: str) -> Subscription:
        """Register a local subscription; the reader thread fans events out to it."""
        key = self._key(channel)
        self._ensure_reader()
        subscription = Subscription(channel, self._release, self._queue_limit)
        start = None
        while True:
            with self._lock:
                if channel in self._subscribers or start is not None:
                    if channel not in self._subscribers:
                        self._subscribers[channel] = set()
                        self._positions[channel] = start
                    self._subscribers[channel].add(subscription)
                    break
            # Outside the lock (a network call). Any position read before registering is
            # early enough: what comes after it reaches the queue, what came before is in
            # the history the caller reads next.
            start = self._stream_position(key)
        self._wake.set()
        return subscription

    def _stream_position(self, key: str) -> str:
        try:
            entries = self._client.xrevrange(key, "+", "-", count=1)
        except self._redis.RedisError:
            # Redis is down: start from now by the clock. Stream ids are Redis's
            # milliseconds, so what is added once it is back comes after this.
            return self._stream_position_now()
        return _text(entries[0][0]) if entries else "0-0"

    @staticmethod
    def _stream_position_now() -> str:
        return f"{int(time.time() * 1000)}-0"

    def _release(self, subscription: Subscription) -> None:
        with self._lock:
            subscribers = self._subscribers.get(subscription.channel)
            if subscribers is None:
                return
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.channel]
                del self._positions[subscription.channel]
        self._wake.set()

    def connected(self, channel: str) -> int:
        """This process's open subscriptions plus the fresh counts of the others."""
        key = self.prefix + "viewers:" + check_channel(channel)
        with self._lock:
            local = len(self._subscribers.get(channel, ()))
        try:
            others = int(self._sum_counts(keys=[key], args=[self._stale_seconds,
                                                             self._token]))
        except self._redis.RedisError:
            others = 0  # Redis is down: this process's own viewers are all we know
        return local + others

    # --- the reader thread -----------------------------------------------------------

    def _ensure_reader(self) -> None:
        if os.getpid() != self._pid:
            # A forked child has none of its parent's threads, and its subscriptions
            # (none yet) are its own.
            self._start_process_state()
        if self._closed.is_set():
            raise RuntimeError("events bus is closed")
        with self._lock:
            if self._reader is None or not self._reader.is_alive():
                self._reader = threading.Thread(target=self._read_forever,
                                                name="events-redis-reader", daemon=True)
                self._reader.start()

    def _read_forever(self) -> None:
        reader = self._redis.Redis.from_url(
            self.url, socket_connect_timeout=self._timeout,
            socket_timeout=BLOCK_MILLISECONDS / 1000 + self._timeout)
        backoff = 0.0
        while not self._closed.is_set():
            try:
                self._write_counts()
                self._read_once(reader)
            except Exception as exc:  # the thread must outlive any failure
                backoff = min(MAX_BACKOFF_SECONDS, max(0.5, backoff * 2))
                if backoff == 0.5:
                    if isinstance(exc, self._redis.RedisError):
                        logger.warning("events: Redis at %s cannot be reached (%s); live "
                                       "events wait and retry", self._safe_url(), exc)
                    else:
                        logger.exception("events: the Redis reader failed; it retries")
                self._closed.wait(backoff)
                continue
            if backoff:
                logger.info("events: Redis at %s is back; live events flow again",
                            self._safe_url())
                backoff = 0.0
        try:
            reader.close()
        except self._redis.RedisError:
            pass

    def _read_once(self, reader) -> None:
        with self._lock:
            positions = dict(self._positions)
        if not positions:
            self._wake.wait(BLOCK_MILLISECONDS / 1000)
            self._wake.clear()
            return
        self._wake.clear()
        streams = {self.prefix + channel: position for channel, position in positions.items()}
        replies = reader.xread(streams, count=READ_COUNT, block=BLOCK_MILLISECONDS)
        for key, entries in replies or ():
            channel = _text(key)[len(self.prefix):]
            if not entries:
                continue
            events = self._events(entries)
            last_id = _text(entries[-1][0])
            with self._lock:
                if channel not in self._positions:
                    continue  # everyone left while we waited
                for event in events:
                    for subscription in self._subscribers[channel]:
                        subscription.offer(event)
                # A channel watched again meanwhile may start later: keep the later one.
                if parse_id(last_id) > parse_id(self._positions[channel]):
                    self._positions[channel] = last_id

    def _write_counts(self) -> None:
        """Write this process's changed counts now, and all of them every refresh."""
        now = time.monotonic()
        with self._lock:
            counts = {channel: len(subs) for channel, subs in self._subscribers.items()}
        due = now >= self._counts_due
        changes = {channel: count for channel, count in counts.items()
                   if due or self._counts_written.get(channel) != count}
        for channel in self._counts_written:
            if channel not in counts:
                changes[channel] = 0
        if not changes:
            return
        pipe = self._client.pipeline(transaction=False)
        for channel, count in changes.items():
            self._write_count(keys=[self.prefix + "viewers:" + channel],
                              args=[self._token, count, self._stale_seconds * 4], client=pipe)
        pipe.execute()
        for channel, count in changes.items():
            if count:
                self._counts_written[channel] = count
            else:
                self._counts_written.pop(channel, None)
        if due:
            self._counts_due = now + self._refresh_seconds

    def close(self) -> None:
        """Stop the reader and take this process's counts out of Redis."""
        self._closed.set()
        self._wake.set()
        reader = self._reader
        if reader is not None and reader.is_alive() and reader is not threading.current_thread():
            reader.join(timeout=BLOCK_MILLISECONDS / 1000 + self._timeout + 1)
        try:
            pipe = self._client.pipeline(transaction=False)
            for channel in self._counts_written:
                pipe.hdel(self.prefix + "viewers:" + channel, self._token)
            pipe.execute()
        except self._redis.RedisError:
            pass  # they go stale by themselves
        self._client.close()
