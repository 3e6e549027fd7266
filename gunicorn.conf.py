"""Gunicorn settings for production; every value can be overridden from the environment."""

import multiprocessing
import os
from types import SimpleNamespace

from gunicorn import glogging

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak can never take the site down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
# Spread the restarts. Workers share the load evenly, so with a jitter of 200 they all reached
# max_requests within seconds of each other; on a busy 2-core machine the HTTP benchmark then
# saw no request answered for 10-15 s while the whole pool was replaced and re-imported the app.
max_requests_jitter = max_requests // 4
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
# Paths only: query strings may hold search terms (names), which must not reach the logs. The
# logger below enforces it for every field, whatever format is set here.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


class Logger(glogging.Logger):
    """gunicorn's logger, minus query strings and link tokens, with the client's real address.

    The access log's address (``%(h)s``) is the client's as the application sees it
    (clinic.network.client_ip: X-Forwarded-For only from TRUSTED_PROXIES), not the proxy's.
    Every field is redacted (clinic.logging.redact): request line, path, query, referer and any
    header or environ field; and so are the error log's messages (gunicorn names the request's
    URI, query included, when a request fails outside Django).
    """

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        redact = _redactor()
        # Every field: the request line, path and referer, and the header and environ fields
        # (%({referer}i)s, %({query_string}e)s, ...) an operator might add to the format.
        atoms = {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
        atoms["q"] = atoms["{query_string}e"] = ""
        atoms["h"] = _client_address(environ) or atoms["h"]
        return atoms

    def _redacted(self, msg, args):
        text = (msg % args) if args else str(msg)
        return _redactor()(text)

    def critical(self, msg, *args, **kwargs):
        super().critical(self._redacted(msg, args), **kwargs)

    def error(self, msg, *args, **kwargs):
        super().error(self._redacted(msg, args), **kwargs)

    def warning(self, msg, *args, **kwargs):
        super().warning(self._redacted(msg, args), **kwargs)

    def info(self, msg, *args, **kwargs):
        super().info(self._redacted(msg, args), **kwargs)

    def debug(self, msg, *args, **kwargs):
        super().debug(self._redacted(msg, args), **kwargs)

    def exception(self, msg, *args, **kwargs):
        super().exception(self._redacted(msg, args), **kwargs)


def _redactor():
    try:
        from clinic.logging import redact
    except Exception:  # the master process, before anything of the app is importable
        import re

        return lambda text: re.sub(r"\?\S*", "", text)
    return redact


def _client_address(environ) -> str | None:
    """The client's address by the application's own rule; None before Django is set up."""
    try:
        from django.conf import settings

        if not settings.configured:
            return None
        from clinic.network import client_ip

        return client_ip(SimpleNamespace(META=environ))
    except Exception:
        return None


logger_class = Logger


def post_worker_init(worker):
    """Leave what the worker loaded at start-up out of every later garbage collection.

    A worker keeps about 130,000 objects from start-up (the code, the URLconf, the models) for
    its whole life. A full collection walks them all: 60-90 ms on a 2-core machine, every 10 to
    20 requests of a busy endpoint, which was most of the slow tail of the two-week availability
    search (docs/performance.md). Frozen once the URLconf (and with it every view) is imported,
    they are never walked again; what requests create is collected as before.
    """
    import gc
    from importlib import import_module

    from django.conf import settings

    import_module(settings.ROOT_URLCONF)
    gc.collect()
    gc.freeze()
