"""The live edge's events backend: every event also goes to Nchan, in nginx, which holds
the viewers' connections (thousands per core, no Python process per viewer).

`NchanBus` wraps the app's own bus (in-process or Redis): the app's own streams and the
control room keep working from it, and each publish is posted to the edge's publisher
location as well, where Nchan keeps a message buffer so a viewer who reconnects with
its Last-Event-ID gets what it missed. The edge being away never fails a request: the
event stays on the app's own bus, one line is logged, and for a few seconds no more
posts are tried; viewers catch up with a snapshot when their stream comes back.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import threading
import time
from urllib.parse import quote, urlsplit

from core.events.base import Event, EventBus, Subscription, check_channel, encode_data

logger = logging.getLogger(__name__)

# After a failed post, the edge is left alone this long: a request that commits while
# the edge is down must not wait for a timeout each time.
RETRY_AFTER_SECONDS = 5.0
COUNT_CACHE_SECONDS = 2.0


def edge_secret(config) -> str:
    """The secret the app and the edge share: LIVE_EDGE_SECRET, or one derived from
    SECRET_KEY (the same on every app host, never the key itself)."""
    if config.get("LIVE_EDGE_SECRET"):
        return str(config["LIVE_EDGE_SECRET"])
    return hmac.new(str(config["SECRET_KEY"]).encode(), b"gongfang live edge",
                    hashlib.sha256).hexdigest()[:40]


class NchanBus(EventBus):
    """The app's bus, with every event also published to the edge's Nchan."""

    def __init__(self, inner: EventBus, edge_url: str, secret: str, *,
                 timeout: float = 2.0) -> None:
        parts = urlsplit(edge_url)
        self.inner = inner
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/")
        self._secret = secret
        self._timeout = timeout
        # Kept-alive connections to the edge, lent to one thread at a time: request
        # threads come and go, the connections stay (and close with the bus).
        self._idle: list[http.client.HTTPConnection] = []
        self._pool_lock = threading.Lock()
        self._closed = False
        self._down_until = 0.0
        self._last_error: str | None = None
        self._counts: dict[str, tuple[float, int]] = {}

    # The edge ----------------------------------------------------------------------
    def _borrow(self) -> http.client.HTTPConnection:
        with self._pool_lock:
            if self._idle:
                return self._idle.pop()
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._host, self._port, timeout=self._timeout)

    def _give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._pool_lock:
            if not self._closed and len(self._idle) < 16:
                self._idle.append(connection)
                return
        connection.close()

    def _request(self, method: str, path: str, body: bytes | None = None,
                 headers: dict | None = None) -> tuple[int, bytes]:
        """One request on a kept-alive connection, retried once on a connection the
        edge closed meanwhile."""
        for attempt in (1, 2):
            connection = self._borrow()
            try:
                connection.request(method, self._base + path, body=body, headers={
                    "X-Edge-Secret": self._secret, "Accept": "application/json",
                    **(headers or {})})
                response = connection.getresponse()
                answer = response.status, response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                if attempt == 2:
                    raise
                continue
            self._give_back(connection)
            return answer
        raise AssertionError("unreachable")

    def edge_up(self) -> bool:
        """False for a few seconds after the edge failed to answer."""
        return time.monotonic() >= self._down_until

    @property
    def last_error(self) -> str | None:
        """Why the edge last failed, for the control room and the log."""
        return self._last_error

    def _went_down(self, reason: str) -> None:
        if self.edge_up():
            logger.warning("live edge: %s; events stay on the app's own bus", reason)
        self._last_error = reason
        self._down_until = time.monotonic() + RETRY_AFTER_SECONDS

    def publish_to_edge(self, channel: str, kind: str, data: dict) -> bool:
        """Post one event to the edge; False (and logged) when it did not take it."""
        if not self.edge_up():
            return False
        try:
            status, body = self._request(
                "POST", f"/_edge/publish/{quote(channel, safe='')}",
                body=encode_data(data).encode(), headers={
                    "X-EventSource-Event": kind,
                    "Content-Type": "application/json; charset=utf-8"})
        except (OSError, http.client.HTTPException) as exc:
            self._went_down(f"cannot reach the edge ({exc.__class__.__name__}: {exc})")
            return False
        if status not in (201, 202):
            self._went_down(f"the edge refused a publish with HTTP {status}")
            return False
        self._last_error = None
        self._remember_count(channel, body)
        return True

    def _remember_count(self, channel: str, body: bytes) -> None:
        try:
            subscribers = int(json.loads(body or b"{}").get("subscribers", 0))
        except (ValueError, TypeError, AttributeError):
            return
        self._counts[channel] = (time.monotonic(), subscribers)

    def edge_subscribers(self, channel: str) -> int:
        """Viewers connected to the channel at the edge (asked at most every 2 s)."""
        check_channel(channel)
        seen = self._counts.get(channel)
        if seen and time.monotonic() - seen[0] < COUNT_CACHE_SECONDS:
            return seen[1]
        if not self.edge_up():
            return 0
        try:
            status, body = self._request("GET", f"/_edge/publish/{quote(channel, safe='')}")
        except (OSError, http.client.HTTPException) as exc:
            self._went_down(f"cannot reach the edge ({exc.__class__.__name__}: {exc})")
            return 0
        if status == 404:  # nothing published and nobody subscribed yet
            self._counts[channel] = (time.monotonic(), 0)
            return 0
        self._remember_count(channel, body)
        return self._counts.get(channel, (0.0, 0))[1]

    def edge_answers(self) -> bool:
        """True when the edge answers its health check now."""
        try:
            status, _body = self._request("GET", "/_edge/health")
        except (OSError, http.client.HTTPException) as exc:
            self._went_down(f"cannot reach the edge ({exc.__class__.__name__}: {exc})")
            return False
        if status != 200:
            self._went_down(f"the edge's health check answered HTTP {status}")
            return False
        self._down_until = 0.0
        self._last_error = None
        return True

    def drop_publisher(self, key: str) -> None:
        """Ask the edge to cut a push made with `key` (a key that was just renewed)."""
        try:
            self._request("GET", f"/_edge/control/drop/publisher?app=ingest&name={quote(key)}")
        except (OSError, http.client.HTTPException) as exc:
            self._went_down(f"cannot reach the edge ({exc.__class__.__name__}: {exc})")

    # The bus -----------------------------------------------------------------------
    def publish(self, channel: str, kind: str, data: dict) -> Event:
        """Publish on the app's own bus, then to the edge."""
        event = self.inner.publish(channel, kind, data)
        self.publish_to_edge(channel, kind, data)
        return event

    def latest_id(self, channel: str) -> str | None:
        return self.inner.latest_id(channel)

    def since(self, channel: str, last_id: str) -> list[Event] | None:
        return self.inner.since(channel, last_id)

    def subscribe(self, channel: str) -> Subscription:
        return self.inner.subscribe(channel)

    def connected(self, channel: str) -> int:
        """Readers of the app's own streams plus the edge's viewers."""
        return self.inner.connected(channel) + self.edge_subscribers(channel)

    def close(self) -> None:
        self.inner.close()
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
