"""A real SMTP server (aiosmtpd) for tests, and a free local port."""

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """A real SMTP server (aiosmtpd) in this process that keeps what it receives."""

    def __init__(self, *, refuse_rcpt: str | None = None, code: int = 550):
        self.messages: list = []
        self.refuse_rcpt = refuse_rcpt
        self.code = code

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt and address == self.refuse_rcpt:
            return f"{self.code} mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"
