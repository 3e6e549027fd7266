"""A local SMS provider for fault tests: Twilio's Messages API over real HTTP on 127.0.0.1.

It keeps a log of every request and of every message it accepted, and can be told to fail
(HTTP 503) for everyone or for some numbers, and to be slow. An accepted message counts as
delivered the moment it arrives, before the answer goes back: that is how a real provider
behaves, and why a sender that loses the answer must not send the same message again.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FakeSmsProvider:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict] = []  # every request: to, body, answered status
        self.delivered: list[dict] = []  # every accepted message: to, body, sid
        self.down = False  # 503 for every request
        self.down_for: set[str] = set()  # 503 for these numbers, always
        self.delay = 0.0  # seconds before every answer
        self.delay_for: dict[str, float] = {}  # seconds before the answer, per number
        self.held: dict[str, threading.Event] = {}  # answers held back until released
        self.arrivals: dict[str, threading.Event] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeSmsProvider":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def env(self) -> dict[str, str]:
        """The settings that point the Twilio backend here."""
        return {
            "SMS_BACKEND": "twilio",
            "TWILIO_API_BASE": f"http://127.0.0.1:{self.server.server_port}",
            "TWILIO_ACCOUNT_SID": "ACfaults",
            "TWILIO_AUTH_TOKEN": "faults-token",
            "TWILIO_FROM_NUMBER": "+447700900000",
        }

    def hold(self, number: str) -> threading.Event:
        """Take the next message to ``number`` but hold the answer until ``release``; the returned
        event is set once that request has arrived."""
        arrived = threading.Event()
        with self.lock:
            self.held[number] = threading.Event()
            self.arrivals[number] = arrived
        return arrived

    def release(self) -> None:
        with self.lock:
            for gate in self.held.values():
                gate.set()

    def delivered_to(self) -> list[str]:
        with self.lock:
            return [m["to"] for m in self.delivered]

    def requests_to(self) -> list[str]:
        with self.lock:
            return [r["to"] for r in self.requests]

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                to, body = form.get("To", ""), form.get("Body", "")
                with provider.lock:
                    failing = provider.down or to in provider.down_for
                    request = {"to": to, "body": body, "status": 503 if failing else 201}
                    provider.requests.append(request)
                    if not failing:
                        sid = f"SM{len(provider.delivered) + 1:032d}"
                        provider.delivered.append({"to": to, "body": body, "sid": sid})
                    delay = provider.delay_for.get(to, provider.delay)
                    gate = provider.held.get(to)
                    if to in provider.arrivals:
                        provider.arrivals[to].set()
                if gate is not None:
                    gate.wait(timeout=60)
                if delay:
                    time.sleep(delay)
                if failing:
                    self._reply(503, {"code": 20503, "message": "Service Unavailable"})
                else:
                    self._reply(201, {"sid": sid, "status": "queued"})

            def _reply(self, status, payload):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender is gone (killed, or gave up waiting): the message stays taken

            def log_message(self, *args):
                pass

        return Handler
