"""The processes of the HTTP benchmark: the production server, the sign-in, the load generators.

The server is gunicorn with the project's gunicorn.conf.py and production settings (DEBUG off,
HTTPS settings on), as the Procfile starts it, plus BENCHMARK_ENDPOINTS=1. Requests carry
``X-Forwarded-Proto: https`` as they would from the TLS-terminating proxy in front of a real
deployment (gunicorn trusts it from 127.0.0.1), so secure cookies, HSTS and the HTTPS redirect
stay as in production.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings

PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "replay.lua"


class BenchError(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(*, port: int, workers: int | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DEBUG": "0",
            "BENCHMARK_ENDPOINTS": "1",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            # Secure cookies, HSTS and the HTTPS redirect stay on: requests come "through the proxy".
            "SECURE_SSL_REDIRECT": env.get("SECURE_SSL_REDIRECT", "1"),
            # Staff with a second factor would need it to sign in; the benchmark user has none.
            "REQUIRE_MFA": "0",
            # Never send real messages from a benchmark (bookings plan confirmations).
            "SMS_BACKEND": "console",
            "EMAIL_URL": "consolemail://",
        }
    )
    hosts = {h.strip() for h in env.get("ALLOWED_HOSTS", "").split(",") if h.strip()}
    env["ALLOWED_HOSTS"] = ",".join(sorted(hosts | {"127.0.0.1", "localhost"}))
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    return env


@dataclass
class Server:
    """gunicorn, started and stopped by the benchmark."""

    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls, *, workers: int | None, log_path: Path, timeout: float = 90, app: str = "clinic.wsgi"
    ) -> "Server":
        port = free_port()
        env = server_environment(port=port, workers=workers)
        log = open(log_path, "wb")  # noqa: SIM115 (kept open for the server's lifetime)
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [
                sys.executable,
                "-m",
                "gunicorn",
                app,
                "-c",
                str(settings.BASE_DIR / "gunicorn.conf.py"),
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = cls(port=port, process=process, log_path=log_path)
        server.wait_healthy(timeout)
        return server

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                status, _, body = request(self.url, "GET", "/health/")
                if status == 200:
                    return
                last = f"{status} {body[:200]!r}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.3)
        self.stop()
        raise BenchError(f"gunicorn did not become healthy in {timeout:.0f} s ({last}); see {self.log_path}")

    def worker_pids(self) -> list[int]:
        try:
            return [
                int(p)
                for p in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
                .read_text()
                .split()
            ]
        except OSError:
            return []

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def request(base_url: str, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None):
    """One HTTP request: (status, headers as a list of pairs, body)."""
    host_port = base_url.removeprefix("http://")
    connection = http.client.HTTPConnection(host_port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={**PROXY_HEADERS, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def _cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    jar = SimpleCookie()
    for name, value in headers:
        if name.lower() == "set-cookie":
            jar.load(value)
    return {key: morsel.value for key, morsel in jar.items()}


def sign_in(base_url: str, *, username: str, password: str) -> dict[str, str]:
    """Sign in through the login page as a browser does; returns the session cookie header."""
    origin = base_url.replace("http://", "https://")
    status, headers, body = request(base_url, "GET", "/login/")
    if status != 200:
        raise BenchError(f"GET /login/ answered {status}")
    cookies = _cookies(headers)
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if "csrftoken" not in cookies or match is None:
        raise BenchError("the login page gave no CSRF token")
    form = urlencode(
        {"csrfmiddlewaretoken": match.group(1).decode(), "username": username, "password": password}
    )
    status, headers, _ = request(
        base_url,
        "POST",
        "/login/",
        body=form.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken']}",
            "Origin": origin,
            "Referer": f"{origin}/login/",
        },
    )
    session = _cookies(headers).get(settings.SESSION_COOKIE_NAME)
    if status != 302 or not session:
        raise BenchError(f"signing in as {username} failed (status {status})")
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}


def api_token(base_url: str, *, username: str, password: str) -> dict[str, str]:
    status, _, body = request(
        base_url,
        "POST",
        "/api/v1/auth/token/",
        body=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    if status != 200:
        raise BenchError(f"the token endpoint answered {status}: {body[:200]!r}")
    return {"Authorization": f"Token {json.loads(body)['token']}"}


# --- load generators --------------------------------------------------------------------------


def write_inputs(directory: Path, name: str, requests: list, headers: dict[str, str]) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    requests_path = directory / f"{name}.requests"
    headers_path = directory / f"{name}.headers"
    with open(requests_path, "w", encoding="utf-8") as out:
        for method, path, body in requests:
            if "\t" in path or "\n" in path or (body and ("\t" in body or "\n" in body)):
                raise BenchError(f"a prepared request of {name} contains a tab or a newline")
            out.write(f"{method}\t{path}\t{body}\n" if body is not None else f"{method}\t{path}\n")
    all_headers = {**PROXY_HEADERS, **headers}
    if any(m == "POST" for m, _, _ in requests):
        all_headers["Content-Type"] = "application/json"
    headers_path.write_text("".join(f"{k}: {v}\n" for k, v in all_headers.items()), encoding="utf-8")
    return requests_path, headers_path


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError("wrk is not installed (Debian: apt-get install wrk; bin/bench installs it)")
    return path


def run_wrk(
    *,
    url: str,
    requests_path: Path,
    headers_path: Path,
    seconds: float,
    connections: int,
    threads: int,
    once: bool,
) -> dict:
    """wrk with a fixed number of connections (a closed system): the saturation throughput."""
    threads = max(1, min(threads, connections))
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(requests_path),
        "BENCH_HEADERS": str(headers_path),
        "BENCH_THREADS": str(threads),
        "BENCH_ONCE": "1" if once else "0",
    }
    command = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPT),
        url + "/",
    ]
    done = subprocess.run(  # noqa: S603 (wrk and our own script)
        command, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    result = json.loads(line.removeprefix("BENCH_JSON "))
    if result.get("statuses") == []:  # Lua's empty table comes out as a JSON list
        result["statuses"] = {}
    result["command"] = " ".join([*command[:-1], "<server>/"])
    return result


def run_constant_rate(
    *, url: str, requests_path: Path, headers_path: Path, rate: float, seconds: float, once: bool
) -> dict:
    """bench.loadgen in its own process: a fixed arrival rate (an open system)."""
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--url",
        url,
        "--requests",
        str(requests_path),
        "--headers",
        str(headers_path),
        "--rate",
        f"{rate:.3f}",
        "--duration",
        f"{seconds:.3f}",
    ] + (["--once"] if once else [])
    done = subprocess.run(  # noqa: S603
        command, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"the load generator failed ({done.returncode}): {done.stderr.strip()}")
    result = json.loads(done.stdout)
    result["command"] = f"python -m bench.loadgen --rate {rate:.3f} --duration {seconds:.3f}" + (
        " --once" if once else ""
    )
    return result
