"""What both events backends share: the event, the subscription, ids and their checks."""

from __future__ import annotations

import json
import queue
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

# Kinds become an SSE `event:` line and channels a Redis key: neither may carry a
# newline or anything a client could mistake for another field.
KIND = re.compile(r"[a-z_]{1,40}")
CHANNEL = re.compile(r"[A-Za-z0-9_.:-]{1,120}")
EVENT_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
# A subscriber this far behind is told to start again (a snapshot) rather than being
# sent a stream with a hole in it.
QUEUE_LIMIT = 1000


class EventsUnavailable(RuntimeError):
    """The events backend cannot be reached (Redis is down); nothing was published."""


def check_kind(kind: str) -> str:
    """`kind` if it is a valid event kind ([a-z_]+), else ValueError."""
    if not isinstance(kind, str) or not KIND.fullmatch(kind):
        raise ValueError(f"event kind must match [a-z_]+, got {kind!r}")
    return kind


def check_channel(channel: str) -> str:
    """`channel` if it is a valid channel name, else ValueError."""
    if not isinstance(channel, str) or not CHANNEL.fullmatch(channel):
        raise ValueError(f"event channel must match [A-Za-z0-9_.:-]+, got {channel!r}")
    return channel


def parse_id(event_id: object) -> tuple[int, int] | None:
    """The two numbers of an "<int>-<int>" id, or None when it is not one (forged)."""
    if not isinstance(event_id, str):
        return None
    match = EVENT_ID.fullmatch(event_id)
    return (int(match[1]), int(match[2])) if match else None


def encode_data(data: dict) -> str:
    """`data` as one line of JSON that is safe anywhere: no raw newline or control
    character (JSON escapes them), and no <, >, & or line separators either, so the text
    cannot end a <script> or an HTML comment even if someone pastes it into a page."""
    if not isinstance(data, dict):
        raise TypeError(f"event data must be a dict, got {type(data).__name__}")
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # Outside strings JSON has none of these characters, so the escapes are exact.
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


@dataclass(frozen=True)
class Event:
    """One thing that happened on a channel; ids are ordered within the channel."""

    id: str
    kind: str
    data: dict

    @cached_property
    def sse(self) -> str:
        """The event as an SSE message, made once however many viewers it goes to."""
        return f"id: {self.id}\nevent: {check_kind(self.kind)}\ndata: {encode_data(self.data)}\n\n"


class Subscription:
    """Live events of one channel for one reader, from the moment it was made."""

    def __init__(self, channel: str, release: Callable[[Subscription], None],
                 limit: int = QUEUE_LIMIT) -> None:
        self.channel = channel
        self.overflowed = False
        self._release = release
        self._limit = limit
        # Looked up now, not at import: under gevent the patched queue is the one to use.
        self._queue = queue.SimpleQueue()
        self._closed = False

    def offer(self, event: Event) -> None:
        """Queue `event` (the bus calls this); past the limit, mark the overflow."""
        if self.overflowed or self._closed:
            return
        if self._queue.qsize() >= self._limit:
            self.overflowed = True
            return
        self._queue.put(event)

    def get(self, timeout: float) -> Event | None:
        """The next live event, or None after `timeout` seconds (or once overflowed)."""
        if self.overflowed:
            return None
        try:
            return self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    @property
    def closed(self) -> bool:
        """True once the subscription has been given back."""
        return self._closed

    def close(self) -> None:
        """Stop receiving; safe to call more than once."""
        if not self._closed:
            self._closed = True
            self._release(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class EventBus:
    """Publish events on channels, read what was missed, subscribe to what comes."""

    def publish(self, channel: str, kind: str, data: dict) -> Event:
        """Add an event to the channel's history and send it to every subscriber."""
        raise NotImplementedError

    def latest_id(self, channel: str) -> str | None:
        """The id of the channel's newest kept event, or None when it has none."""
        raise NotImplementedError

    def since(self, channel: str, last_id: str) -> list[Event] | None:
        """Events after `last_id`, oldest first; None when it cannot be resumed from."""
        raise NotImplementedError

    def subscribe(self, channel: str) -> Subscription:
        """A subscription registered at once: every event published after this returns
        reaches it."""
        raise NotImplementedError

    def connected(self, channel: str) -> int:
        """How many subscriptions are open on the channel, in every process."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop background work (tests, app teardown)."""
