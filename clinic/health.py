"""Health checks for load balancers and orchestrators.

- ``/health/live``: the process answers (no database, no broker). 200, always. A failing
  liveness check means "restart this process".
- ``/health/ready``: the process can serve requests: the database answers. 503 when it does
  not. The broker (Celery's Redis or RabbitMQ) is checked and reported in the body, but never
  fails readiness: booking and every page work without it (reminders wait in the database
  until it is back), so taking every web node out of the load balancer when only the broker is
  down would turn a delay in reminders into an outage.
- ``/health/``: the same as ``/health/ready`` (what load balancers were pointed at before).
"""

import logging

from django.db import connection
from django.http import JsonResponse
from kombu import Connection

from .celery import app as celery_app

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health: database unreachable")
        return False


def _broker_ok() -> bool:
    try:
        with Connection(
            celery_app.conf.broker_url,
            transport_options=celery_app.conf.broker_transport_options,
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return True
    except Exception:
        logger.warning("health: broker unreachable", exc_info=True)
        return False


def _answer(body: dict, status: int) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def live(request):
    """200 while the process can answer at all."""
    return _answer({"status": "ok"}, 200)


def ready(request):
    """200 when the database answers, else 503; the broker's state is reported, not required."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ok = checks["database"]
    return _answer({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)
