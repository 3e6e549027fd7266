"""A real reverse proxy in front of a real gunicorn, for the tests that must see what a
deployment sees: Debian's nginx listening on 127.0.0.1, passing the client's address in
X-Forwarded-For (as docs/operations.md asks), to gunicorn with production settings on the test
database. Clients connect from other loopback addresses (127.0.0.2, 127.0.0.3, ...: the whole
127.0.0.0/8 is local on Linux), so each is a distinct client to nginx.

The fixture `proxied_clinic` gives the proxy's URL, `http(source)` for a requests session from a
given client address, and the paths of every log the two servers write.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from bench.management.commands.race_booking import _database_url, _free_port

NGINX_CONF = """
daemon off;
worker_processes 1;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log info;
events {{ worker_connections 64; }}
http {{
    # The format docs/operations.md recommends: the path without its query string.
    log_format clinic '$remote_addr "$request_method $uri" $status $body_bytes_sent';
    access_log {tmp}/nginx-access.log clinic;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("nginx is not installed: .ci/run installs it, and these tests must run in CI")
    pytest.skip("nginx is not installed (apt-get install nginx-light); CI installs it and runs this test")


class _FromAddress(HTTPAdapter):
    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


@dataclass
class ProxiedClinic:
    base: str  # through nginx
    upstream: str  # gunicorn itself, as a client that bypasses the proxy would reach it
    tmp: Path
    gunicorn_log: Path
    access_log: Path
    nginx_access_log: Path
    nginx_error_log: Path

    def http(self, source: str) -> requests.Session:
        session = requests.Session()
        session.mount("http://", _FromAddress(source))
        return session

    def logs(self) -> dict[str, str]:
        paths = (self.gunicorn_log, self.access_log, self.nginx_access_log, self.nginx_error_log)
        return {p.name: p.read_text(errors="replace") if p.exists() else "" for p in paths}


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def proxied_clinic(tmp_path):
    nginx = nginx_binary()
    upstream, port = _free_port(), _free_port()
    gunicorn_log = tmp_path / "gunicorn.log"
    access_log = tmp_path / "gunicorn-access.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "MESSAGES_DISPATCH_ON_CHANGE": "0",
        "REQUIRE_MFA": "0",
        "LOG_LEVEL": "DEBUG",
        "GUNICORN_ACCESSLOG": str(access_log),
        # nginx connects from 127.0.0.1: only its X-Forwarded-For is believed.
        "TRUSTED_PROXIES": "127.0.0.1",
    }
    with gunicorn_log.open("wb") as log:
        app = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "clinic.wsgi",
                "-c",
                str(settings.BASE_DIR / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{upstream}",
                "--workers",
                "2",
                "--log-level",
                "debug",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp_path, port=port, upstream=upstream))
    with (tmp_path / "nginx-stderr.log").open("wb") as log:
        proxy = subprocess.Popen(
            [nginx, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "nginx-error.log")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    clinic = ProxiedClinic(
        base=f"http://127.0.0.1:{port}",
        upstream=f"http://127.0.0.1:{upstream}",
        tmp=tmp_path,
        gunicorn_log=gunicorn_log,
        access_log=access_log,
        nginx_access_log=tmp_path / "nginx-access.log",
        nginx_error_log=tmp_path / "nginx-error.log",
    )
    try:
        _wait_ready(clinic, app, proxy)
        yield clinic
    finally:
        _stop(proxy)
        _stop(app)


def _wait_ready(clinic: ProxiedClinic, app, proxy) -> None:
    deadline = time.monotonic() + 90
    answered = 0
    with clinic.http("127.0.0.1") as http:
        while time.monotonic() < deadline:
            for name, process in (("gunicorn", app), ("nginx", proxy)):
                if process.poll() is not None:
                    logs = clinic.logs() | {"stderr": (clinic.tmp / "nginx-stderr.log").read_text()}
                    pytest.fail(
                        f"{name} exited:\n" + "\n".join(f"{k}:\n{v[-2000:]}" for k, v in logs.items())
                    )
            try:
                if http.get(f"{clinic.base}/health/live", timeout=5).status_code == 200:
                    answered += 1
                    if answered >= 4:  # both workers have loaded the application
                        return
                    continue
            except requests.RequestException:
                pass
            time.sleep(0.2)
    pytest.fail("nginx and gunicorn did not answer")


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def web_login(http: requests.Session, base: str, username: str, password: str) -> requests.Response:
    page = http.get(f"{base}/login/", timeout=30)
    return http.post(
        f"{base}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": csrf_token(page.text)},
        allow_redirects=False,
        timeout=30,
    )
