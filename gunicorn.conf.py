"""Gunicorn settings for production; every value can be overridden from the environment."""

import multiprocessing
import os

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
# Paths only: query strings may hold search terms (names), which must not reach the logs.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


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
