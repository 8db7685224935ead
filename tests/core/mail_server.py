"""A real SMTP server (aiosmtpd) for fault tests: stopped and started again on the same
port, and able to hold one message at a chosen step of the conversation while a test
kills the sender."""

from __future__ import annotations

import asyncio
import socket
import threading
from email import message_from_bytes
from email.message import Message


class HeldMail:
    """Hold the n-th message (1-based) `when` it is "received" (the server has it, the
    sender has not heard back) or "before" the server has it; `reached` is set then."""

    def __init__(self, number: int, when: str) -> None:
        self.number, self.when = number, when
        self.reached, self.go_on = threading.Event(), threading.Event()


class MailServer:
    """aiosmtpd on 127.0.0.1:`port` that keeps every message it accepts in `messages`."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.host = "127.0.0.1"
        self.messages: list[Message] = []
        self.hold: HeldMail | None = None
        self._controller = None
        self._seen = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self._seen += 1
        hold = self.hold if self.hold and self.hold.number == self._seen else None
        loop = asyncio.get_running_loop()
        if hold and hold.when == "before":
            hold.reached.set()
            await loop.run_in_executor(None, hold.go_on.wait)
            return "451 try again later"
        self.messages.append(message_from_bytes(envelope.original_content))
        if hold:
            # Stored, as a real server commits a message before it answers 250.
            hold.reached.set()
            await loop.run_in_executor(None, hold.go_on.wait)
        return "250 Message accepted for delivery"

    def start(self) -> MailServer:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self.hold:
            self.hold.go_on.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Message]:
        """The messages accepted for `address`."""
        return [m for m in self.messages if m["To"] == address]
