"""A real SMTP server (aiosmtpd) on a loopback port, for tests that read what was mailed."""

from __future__ import annotations

import socket
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Recorder:
    def __init__(self, inbox: list, delay: float):
        self.inbox = inbox
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            time.sleep(self.delay)  # keep concurrent delivery runs overlapping
        self.inbox.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


class SmtpServer:
    """Knows its port before it runs, so a test can queue mail while the server is down."""

    def __init__(self, delay: float = 0.0):
        self.port = free_port()
        self.received: list[EmailMessage] = []
        self._delay = delay
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            _Recorder(self.received, self._delay), hostname="127.0.0.1", port=self.port
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def config(self) -> dict:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, "SMTP_FROM": "portal@example.edu.cn"}

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received
