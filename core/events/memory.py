"""The in-process events bus: the embedded default (`make run`, one process).

Each channel keeps a bounded history and the set of its subscribers' queues. Ids are
"<epoch>-<seq>": the epoch is made when the bus starts, so an id from before a restart,
or from another process, is not resumable and its reader gets a snapshot instead.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque

from core.events.base import (
    QUEUE_LIMIT,
    Event,
    EventBus,
    Subscription,
    check_channel,
    check_kind,
    parse_id,
)

# A channel nobody watches or writes to is forgotten after this long, so a process
# that runs for months does not keep the history of every live session it ever had.
IDLE_CHANNEL_SECONDS = 2 * 24 * 3600
SWEEP_SECONDS = 60


class _Channel:
    __slots__ = ("history", "subscribers", "seq", "touched")

    def __init__(self, history: int) -> None:
        self.history: deque[Event] = deque(maxlen=history)
        self.subscribers: set[Subscription] = set()
        self.seq = 0
        self.touched = time.monotonic()


class MemoryBus(EventBus):
    """Events kept in this process: thread-safe, and no thread of its own."""

    def __init__(self, *, history: int = 500, queue_limit: int = QUEUE_LIMIT,
                 idle_seconds: float = IDLE_CHANNEL_SECONDS) -> None:
        # Milliseconds since 1970 times 1000 plus a random part: two processes started
        # in the same millisecond still get different epochs.
        self.epoch = int(time.time() * 1000) * 1000 + secrets.randbelow(1000)
        self._history = history
        self._queue_limit = queue_limit
        self._idle_seconds = idle_seconds
        self._channels: dict[str, _Channel] = {}
        self._lock = threading.Lock()
        self._swept = time.monotonic()

    def publish(self, channel: str, kind: str, data: dict) -> Event:
        """Add an event to the channel's history and put it in every subscriber's queue."""
        check_channel(channel)
        check_kind(kind)
        with self._lock:
            state = self._channel(channel)
            event = Event(f"{self.epoch}-{state.seq + 1}", kind, data)
            event.sse  # noqa: B018 - serialise once here, and refuse data that is not JSON
            state.seq += 1
            state.history.append(event)
            state.touched = time.monotonic()
            # Under the lock, so two publishers' events reach every queue in id order.
            for subscription in state.subscribers:
                subscription.offer(event)
            self._sweep()
        return event

    def latest_id(self, channel: str) -> str | None:
        """The id of the channel's newest event, or None when it has none."""
        check_channel(channel)
        with self._lock:
            state = self._channels.get(channel)
            return state.history[-1].id if state and state.history else None

    def since(self, channel: str, last_id: str) -> list[Event] | None:
        """Events after `last_id`; None when it is malformed, of another epoch, ahead
        of the newest event, or older than the kept history."""
        check_channel(channel)
        parsed = parse_id(last_id)
        if parsed is None or parsed[0] != self.epoch:
            return None
        seq = parsed[1]
        with self._lock:
            state = self._channels.get(channel)
            if state is None or not state.history:
                return None
            oldest = int(state.history[0].id.rsplit("-", 1)[1])
            # The id just before the oldest kept event still resumes: nothing is missing.
            if not oldest - 1 <= seq <= state.seq:
                return None
            return list(state.history)[seq - oldest + 1:]

    def subscribe(self, channel: str) -> Subscription:
        """A subscription registered before this returns."""
        check_channel(channel)
        subscription = Subscription(channel, self._release, self._queue_limit)
        with self._lock:
            self._channel(channel).subscribers.add(subscription)
        return subscription

    def connected(self, channel: str) -> int:
        """How many subscriptions are open on the channel (this process is all there is)."""
        with self._lock:
            state = self._channels.get(channel)
            return len(state.subscribers) if state else 0

    def _release(self, subscription: Subscription) -> None:
        with self._lock:
            state = self._channels.get(subscription.channel)
            if state is None:
                return
            state.subscribers.discard(subscription)
            state.touched = time.monotonic()
            if not state.subscribers and not state.history:
                del self._channels[subscription.channel]

    def _channel(self, channel: str) -> _Channel:
        state = self._channels.get(channel)
        if state is None:
            state = self._channels[channel] = _Channel(self._history)
        return state

    def _sweep(self) -> None:
        """Forget idle channels, at most once a minute (the lock is held)."""
        now = time.monotonic()
        if now - self._swept < SWEEP_SECONDS:
            return
        self._swept = now
        for name in [name for name, state in self._channels.items()
                     if not state.subscribers and now - state.touched > self._idle_seconds]:
            del self._channels[name]
