"""Survey test fixtures: a clean rate-limit cache and a real SMTP server (aiosmtpd) on a free port."""

from __future__ import annotations

import email
import re
import socket
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache

LINK_RE = re.compile(r"https?://[^\s\"<>]+/s/[A-Za-z0-9_\-]+/(?:\?score=\d+)?")


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


class Recorder:
    """aiosmtpd handler keeping every accepted message; can refuse the first `fail_first` with a 451."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.rejected = 0
        self.fail_first = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.fail_first > 0:
            self.fail_first -= 1
            self.rejected += 1
            return "451 4.3.0 Temporary local problem, try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server; Django's SMTP backend is pointed at it for the test."""
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    try:
        yield recorder
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def links_in(text: str) -> list[str]:
    return LINK_RE.findall(text)
