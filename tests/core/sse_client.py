"""A small Server-Sent Events reader over http.client, for the stream tests."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field


@dataclass
class Message:
    """One SSE message as a browser would see it, or a comment line."""

    id: str | None = None
    event: str = "message"
    data_lines: list[str] = field(default_factory=list)
    retry: str | None = None
    comment: str | None = None

    @property
    def data(self):
        """The data as JSON."""
        return json.loads("\n".join(self.data_lines))


class SSEClient:
    """GET an event stream and read it message by message."""

    def __init__(self, base_url: str, path: str, *, last_event_id: str | None = None,
                 timeout: float = 20, headers: dict | None = None) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
        headers = {"Accept": "text/event-stream", **(headers or {})}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()

    def next(self) -> Message | None:
        """The next message or comment; None when the server has ended the stream."""
        message = Message()
        seen = False
        while True:
            raw = self.response.readline()
            if not raw:
                return None
            line = raw.decode("utf-8").rstrip("\n")
            assert "\r" not in line
            if line == "":
                if seen:
                    return message
                continue
            seen = True
            if line.startswith(":"):
                return Message(comment=line[1:].strip())
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                message.data_lines.append(value)
            elif name in {"id", "event", "retry"}:
                setattr(message, name, value)
            else:
                raise AssertionError(f"unknown SSE field {line!r}")

    def next_message(self, skip_comments: bool = True) -> Message | None:
        """The next message that is not a comment (heartbeat) or a retry hint."""
        while True:
            message = self.next()
            if message is None:
                return None
            if message.comment is not None and skip_comments:
                continue
            if message.retry is not None and not message.data_lines:
                continue
            return message

    def close(self) -> None:
        """Hang up, as a browser tab that is closed would."""
        self.response.close()
        self.connection.close()
