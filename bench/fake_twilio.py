"""A stand-in for Twilio's Messages API on 127.0.0.1, for the benchmark and the scale-out test.

    python -m bench.fake_twilio [--port 0] [--latency-ms 0]

prints ``listening <port>`` once it accepts connections, answers ``POST
/2010-04-01/Accounts/<sid>/Messages.json`` like Twilio (201 and a message sid), and keeps a
log of what it was asked to send: ``GET /log`` returns ``[{"to", "body", "sid"}, ...]`` and
``GET /stats`` returns ``{"requests", "distinct_to", "connections", "max_in_flight"}`` (the
TCP connections the messages came on; the most requests in progress at the same moment).
``--latency-ms`` holds each answer that long, like a provider across the internet.

Only the standard library, in a process of its own, so that it starts in a blink and never
competes with the code being measured for one interpreter lock. It must not be the bottleneck
of a benchmark: one thread per keep-alive connection, Nagle's algorithm off and each answer
written in one piece (headers and body in two small writes would wait ~40 ms for the client's
delayed ACK on every reused connection).
"""

import argparse
import contextlib
import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many workers' pools connect at once

    def __init__(self, address, latency: float):
        super().__init__(address, _Handler)
        self.latency = latency
        self.lock = threading.Lock()
        self.log: list[dict] = []
        self.connections = 0
        self.in_flight = self.max_in_flight = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024  # headers and body leave in one write (flushed after each request)
    server: _Server

    def do_POST(self):
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        server = self.server
        with server.lock:
            if not getattr(self, "counted", False):  # one handler per TCP connection
                self.counted = True
                server.connections += 1
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        if server.latency:
            time.sleep(server.latency)
        with server.lock:
            server.in_flight -= 1
            sid = f"SM{len(server.log) + 1:032d}"
            server.log.append({"to": form.get("To", [""])[0], "body": form.get("Body", [""])[0], "sid": sid})
        self._reply(201, {"sid": sid, "status": "queued"})

    def do_GET(self):
        with self.server.lock:
            log = list(self.server.log)
            stats = {
                "requests": len(log),
                "distinct_to": len({entry["to"] for entry in log}),
                "connections": self.server.connections,
                "max_in_flight": self.server.max_in_flight,
            }
        if self.path == "/log":
            self._reply(200, log)
        elif self.path == "/stats":
            self._reply(200, stats)
        else:
            self._reply(404, {"code": 20404, "message": "not found"})

    def _reply(self, status: int, payload) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@dataclass
class RunningFake:
    """A fake provider process, seen from the process that started it."""

    base_url: str
    process: subprocess.Popen

    def _get(self, path: str):
        with urllib.request.urlopen(self.base_url + path, timeout=30) as response:  # noqa: S310 (our own 127.0.0.1 URL)
            return json.load(response)

    def stats(self) -> dict:
        return self._get("/stats")

    def log(self) -> list[dict]:
        return self._get("/log")


@contextlib.contextmanager
def running(*, latency_ms: float = 0.0) -> Iterator[RunningFake]:
    """Start the fake provider in a process of its own; stop it afterwards."""
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "bench.fake_twilio", "--latency-ms", str(latency_ms)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().split()
        if line[:1] != ["listening"]:
            raise RuntimeError("the fake Twilio provider did not start")
        yield RunningFake(base_url=f"http://127.0.0.1:{line[1]}", process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = _Server(("127.0.0.1", args.port), latency=args.latency_ms / 1000)
    print(f"listening {server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
