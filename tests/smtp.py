"""A real SMTP server inside the tests (aiosmtpd): what the worker sends through Django's SMTP backend lands here.

    with SmtpServer() as smtp:          # listens on 127.0.0.1, a free port
        ... EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}" ...
        smtp.wait_for(lambda msgs: len(msgs) >= 1, timeout=60)
        smtp.messages[0]["Message-ID"]
"""

import asyncio
import email
import socket
import threading
import time
from email.message import Message

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, server: "SmtpServer") -> None:
        self.server = server

    async def handle_DATA(self, _server, _session, envelope) -> str:
        if self.server.delay:
            await asyncio.sleep(self.server.delay)  # widen the window in which a message is "in flight"
        message = email.message_from_bytes(envelope.content)
        with self.server.lock:
            self.server.messages.append(message)
            self.server.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.messages: list[Message] = []
        self.recipients: list[list[str]] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def mailers(self) -> dict:
        """Django's MAILERS setting pointing at this server (for in-process tests)."""
        return {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                            "OPTIONS": {"host": "127.0.0.1", "port": self.port, "timeout": 10}}}

    def snapshot(self) -> list[Message]:
        with self.lock:
            return list(self.messages)

    def wait_for(self, condition, *, timeout: float) -> list[Message]:
        """Poll until condition(messages) holds; fail with what arrived when it does not within `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.snapshot()
            if condition(messages):
                return messages
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s with {len(messages)} message(s) received")
            time.sleep(0.1)

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
