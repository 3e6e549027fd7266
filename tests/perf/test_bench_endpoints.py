"""The benchmark's own endpoints and headers: there only in benchmark mode, and telling the truth."""

import importlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import clear_url_caches

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

QUERY_COUNT = "bench.middleware.QueryCountMiddleware"


def _reload_urls():
    import clinic.urls

    importlib.reload(clinic.urls)
    clear_url_caches()


@pytest.fixture
def benchmark_mode(settings):
    settings.BENCHMARK_ENDPOINTS = True
    settings.MIDDLEWARE = [QUERY_COUNT, *settings.MIDDLEWARE]
    _reload_urls()
    yield
    settings.BENCHMARK_ENDPOINTS = False
    _reload_urls()


@pytest.mark.parametrize(
    "path",
    ["/bench/baseline/plain/", "/bench/baseline/drf/", "/bench/baseline/pk/1/", "/bench/baseline/query/1/"],
)
def test_baselines_are_not_mounted_without_the_flag(client, path):
    assert client.get(path).status_code == 404


def test_no_query_headers_without_the_flag(surgeon):
    response = surgeon.get("/api/v1/patients/")
    assert response.status_code == 200
    assert "X-Query-Count" not in response
    assert "X-Query-Time-Ms" not in response


def test_plain_and_drf_baselines_answer_constant_json_without_queries(client, benchmark_mode):
    for path in ("/bench/baseline/plain/", "/bench/baseline/drf/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "items": [1, 2, 3]}
        assert response["X-Query-Count"] == "0"


def test_pk_baseline_looks_up_one_patient_and_returns_only_the_id(client, benchmark_mode):
    patient = PatientFactory(first_name="Ada", last_name="Lovelace")
    response = client.get(f"/bench/baseline/pk/{patient.pk}/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "items": [1, 2, 3], "id": patient.pk}
    assert response["X-Query-Count"] == "1"
    assert b"Lovelace" not in response.content
    assert client.get(f"/bench/baseline/pk/{patient.pk + 1000}/").status_code == 404


def test_query_baseline_sends_the_bare_apps_one_query_and_returns_only_the_id(client, benchmark_mode):
    from bench.baseline_sql import QUERY

    patient = PatientFactory(last_name="Lovelace")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/bench/baseline/query/{patient.pk}/")
    assert response.status_code == 200 and response.json() == {"status": "ok", "id": patient.pk}
    assert response["X-Query-Count"] == "1"
    assert [q["sql"] for q in ctx.captured_queries] == [QUERY % patient.pk]
    assert b"Lovelace" not in response.content
    assert client.get(f"/bench/baseline/query/{patient.pk + 1000}/").status_code == 404


def test_baselines_refuse_writes(client, benchmark_mode):
    for path in ("/bench/baseline/plain/", "/bench/baseline/drf/"):
        assert client.post(path).status_code == 405


def test_query_count_header_matches_the_queries_made(surgeon, benchmark_mode):
    PatientFactory.create_batch(3)
    with CaptureQueriesContext(connection) as queries:
        response = surgeon.get("/api/v1/patients/?search=smith")
    assert response.status_code == 200
    assert int(response["X-Query-Count"]) == len(queries.captured_queries) > 0
    assert float(response["X-Query-Time-Ms"]) >= 0
