"""Real-time events per channel (a live session), for Server-Sent Events.

One interface, `EventBus`, and three backends: `MemoryBus` in this process (the embedded
default, `make run`), `RedisBus` when REDIS_URL is set (Redis streams, so every worker
and host shares channels and a reader resumes on any of them), and `NchanBus` around
either when LIVE_EDGE_URL is set (events also go to the live edge's Nchan, which holds
the viewers' connections). `init_app` picks; `bus()` is the current app's.

Events announce what a committed change did: services call `publish_after_commit`, so
nothing is announced that was rolled back. A view streams a channel with
`event_stream_response`, which sends what the reader missed since its Last-Event-ID
(or a snapshot when that id cannot be resumed from), then live events and heartbeats.

Only standard threading and queue primitives and redis-py's blocking client are used,
so the same code runs in Werkzeug's threads and under gevent's monkey-patching.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app

from core.events.base import (
    Event,
    EventBus,
    EventsUnavailable,
    Subscription,
    check_channel,
    check_kind,
)
from core.events.memory import MemoryBus
from core.events.stream import open_stream

__all__ = ["Event", "EventBus", "EventsUnavailable", "MemoryBus", "Subscription", "bus",
           "event_stream_response", "init_app", "publish_after_commit"]

logger = logging.getLogger(__name__)

def __getattr__(name: str):
    # RedisBus imports redis, which the in-process backend must not need.
    if name == "RedisBus":
        from core.events.redis_bus import RedisBus

        return RedisBus
    raise AttributeError(name)


def init_app(app: Flask) -> None:
    """Choose the app's bus (Redis when REDIS_URL is set) and keep it in app.extensions.

    Settings (core/config.py): EVENTS_HISTORY, EVENTS_REDIS_PREFIX, and for the streams
    EVENTS_HEARTBEAT_SECONDS and EVENTS_STREAM_SECONDS.
    """
    history = int(app.config["EVENTS_HISTORY"])
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        try:
            from core.events.redis_bus import RedisBus
        except ImportError as exc:  # pragma: no cover - the dev extra installs redis
            from core.config import ConfigError

            raise ConfigError("REDIS_URL is set but the redis package is missing: "
                              "pip install '.[redis]'") from exc
        app.extensions["events"] = RedisBus(redis_url, prefix=app.config["EVENTS_REDIS_PREFIX"],
                                            history=history)
    else:
        app.extensions["events"] = MemoryBus(history=history)
    if app.config.get("LIVE_EDGE_URL"):
        from core.events.nchan import NchanBus, edge_secret

        app.extensions["events"] = NchanBus(app.extensions["events"], app.config["LIVE_EDGE_URL"],
                                            edge_secret(app.config))


def bus() -> EventBus:
    """The current app's events bus."""
    return current_app.extensions["events"]


def publish_after_commit(session, channel: str, kind: str, data: dict) -> None:
    """Publish once `session` commits, never if it rolls back.

    The channel and kind are checked now, so a mistake fails the request that made it.
    If the backend is down when the commit has happened, the event is lost: the change
    stays saved and one line is logged; readers catch up at their next snapshot.
    """
    from core.db import after_commit

    check_channel(channel)
    check_kind(kind)
    events = bus()

    def publish() -> None:
        from core import metrics

        try:
            events.publish(channel, kind, data)
        except EventsUnavailable as exc:
            metrics.event_published(kind, lost=True)
            logger.warning("events: %s not published on %s: %s", kind, channel, exc)
        else:
            metrics.event_published(kind)

    after_commit(session, publish)


def event_stream_response(channel: str, *, last_event_id: str | None,
                          snapshot: Callable[[], dict],
                          on_close: Callable[[], None] | None = None) -> Response:
    """An SSE response for `channel`, made inside a view (see core/events/stream.py).

    Starts with the events after `last_event_id`, or with `snapshot()` (called now, in
    the request) when that id cannot be resumed from; then live events, a heartbeat
    every EVENTS_HEARTBEAT_SECONDS, and the end after EVENTS_STREAM_SECONDS (the browser
    reconnects with its last id). `on_close` runs once when the stream ends.
    """
    config = current_app.config
    return open_stream(bus(), channel, last_event_id=last_event_id, snapshot=snapshot,
                       on_close=on_close,
                       heartbeat_seconds=float(config["EVENTS_HEARTBEAT_SECONDS"]),
                       stream_seconds=float(config["EVENTS_STREAM_SECONDS"]))
