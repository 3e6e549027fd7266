"""A bare Django application: the HTTP benchmark's floor (``bench_http``, docs/performance.md).

No installed apps, no middleware, one URL, one ``SELECT`` per request on the same database as
the application, served by the same gunicorn configuration with the same number of workers. The
application's own figures are given as ratios of this one's, measured in the same run: what a
request costs beyond "Django answers with one row" is the application's doing.

    gunicorn bench.bare -c gunicorn.conf.py     # what the benchmark starts

It configures Django itself and never reads the project's settings; it returns no patient data
(only the id it was asked for, when the row exists).
"""

import os

import environ
from django.conf import settings

# Configured here, never from DJANGO_SETTINGS_MODULE (the benchmark's environment names the
# project's settings; nothing has read them yet in this process).
_database = environ.Env().db("DATABASE_URL")
_database["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))  # as the application's
settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-bare-not-a-secret",  # noqa: S106 (nothing is signed)
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={"default": _database},
    USE_TZ=True,
    LOGGING_CONFIG=None,
)

import django  # noqa: E402 (settings first)
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

from bench.baseline_sql import one_row  # noqa: E402 (the application's baseline_query answers the same)


def one_query(request, pk: int):
    return one_row(pk)


def health(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("bench/bare/<int:pk>/", one_query),
    path("health/", health),
]

django.setup()
application = get_wsgi_application()
