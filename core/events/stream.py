"""One Server-Sent Events response: what a reader missed (or a snapshot), then live events.

The view calls `event_stream_response` inside its request. Everything that needs the
app, the request or the database happens there, before it returns; the body that
streams afterwards holds only the subscription and plain values, so the request's
database session is closed while the stream stays open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from flask import Response

from core import metrics
from core.events.base import EventBus, EventsUnavailable, Subscription, encode_data, parse_id

logger = logging.getLogger(__name__)

RETRY_MILLISECONDS = 3000
HEARTBEAT = ": heartbeat\n\n"
# No id, and an empty one: the browser forgets its last id, so when it reconnects it
# sends none and gets a snapshot.
RESYNC = "id\nevent: resync\ndata: {}\n\n"


def snapshot_message(event_id: str | None, data: dict) -> str:
    """The `snapshot` message; without an id (a channel with no events yet) it carries an
    empty one, so the browser does not resend a forged or stale id next time."""
    id_line = f"id: {event_id}\n" if event_id else "id\n"
    return f"{id_line}event: snapshot\ndata: {encode_data(data)}\n\n"


def open_stream(events: EventBus, channel: str, *, last_event_id: str | None,
                snapshot: Callable[[], dict], on_close: Callable[[], None] | None,
                heartbeat_seconds: float, stream_seconds: float) -> Response:
    """Subscribe, then decide resume or snapshot (in the request); the response streams."""
    subscription = events.subscribe(channel)
    try:
        opening, up_to = _opening(events, channel, last_event_id, snapshot)
    except BaseException:
        subscription.close()
        if on_close is not None:
            on_close()
        raise
    body = EventStream(subscription, opening, up_to=up_to, on_close=on_close,
                       heartbeat_seconds=heartbeat_seconds, stream_seconds=stream_seconds)
    response = Response(body, mimetype="text/event-stream")
    response.headers["Content-Type"] = "text/event-stream; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _opening(events: EventBus, channel: str, last_event_id: str | None,
             snapshot: Callable[[], dict]) -> tuple[list[str], str | None]:
    """The messages the body starts with (the missed events, or one snapshot), and the
    id they bring the reader up to: live events up to it are not sent again."""
    try:
        latest = events.latest_id(channel)
        missed = events.since(channel, last_event_id) if last_event_id else None
    except EventsUnavailable as exc:
        # The database still answers: a snapshot now, live events once Redis is back.
        logger.warning("events: %s; %s gets a snapshot", exc, channel)
        latest, missed = None, None
    if missed is not None:
        return [event.sse for event in missed], missed[-1].id if missed else last_event_id
    # The id was read after subscribing and before the snapshot: anything newer reaches
    # the queue, and at worst arrives twice (the client upserts by the keys in data).
    return [snapshot_message(latest, snapshot())], latest


class EventStream:
    """The response body: an iterable whose close() always gives the subscription back,
    even when the server closes it before the first message (a generator's finally
    would not run then)."""

    def __init__(self, subscription: Subscription, opening: list[str], *,
                 up_to: str | None, on_close: Callable[[], None] | None, heartbeat_seconds: float,
                 stream_seconds: float) -> None:
        self.subscription = subscription
        self._opening = opening
        self._up_to = up_to
        self._on_close = on_close
        self._heartbeat = heartbeat_seconds
        self._lifetime = stream_seconds
        self._messages: Iterator[bytes] | None = None
        self._closed = False
        metrics.stream_opened()

    def __iter__(self) -> Iterator[bytes]:
        self._messages = self._generate()
        return self._messages

    def _generate(self) -> Iterator[bytes]:
        try:
            yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
            newest = parse_id(self._up_to)
            for message in self._opening:
                yield message.encode()
            self._opening = []
            ends = time.monotonic() + self._lifetime
            beat = time.monotonic() + self._heartbeat
            while True:
                now = time.monotonic()
                if now >= ends:
                    return
                if self.subscription.overflowed:
                    yield RESYNC.encode()
                    return
                if now >= beat:
                    yield HEARTBEAT.encode()
                    beat = now + self._heartbeat
                event = self.subscription.get(timeout=min(beat, ends) - now)
                if event is None:
                    continue
                position = parse_id(event.id)
                if newest is not None and position is not None and position <= newest:
                    continue  # sent already, in the missed events or the snapshot
                newest = position or newest
                yield event.sse.encode()
                # Something was just sent: the connection is not idle.
                beat = time.monotonic() + self._heartbeat
        finally:
            self._release()

    def close(self) -> None:
        """Unsubscribe and call on_close, once (client gone, stream over, server stop)."""
        if self._messages is not None:
            self._messages.close()  # runs the generator's finally, if it had started
        self._release()

    def _release(self) -> None:
        if self._closed:
            return
        self._closed = True
        metrics.stream_closed()
        try:
            self.subscription.close()
        finally:
            if self._on_close is not None:
                try:
                    self._on_close()
                except Exception:
                    logger.exception("events: on_close of a stream on %s failed",
                                     self.subscription.channel)
