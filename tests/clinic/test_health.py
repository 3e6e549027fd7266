"""Health checks: /health/live (the process), /health/ready (the database; the broker is
reported, never required), /health/ (the same as ready)."""

import pytest
from django.db import connection

from clinic.celery import app as celery_app


@pytest.fixture
def broker_down():
    original = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        yield
    finally:
        celery_app.conf.broker_url = original


@pytest.fixture
def database_down():
    """The application's connection pointed at a port where no database listens."""
    connection.close()
    original = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = "1"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/health/ready", "/health/"])
def test_ready_is_200_when_database_and_broker_answer(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True, "broker": True}}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/health/ready", "/health/"])
def test_ready_stays_200_when_only_the_broker_is_down(client, broker_down, path):
    """Booking works without the broker: a load balancer must not take the node out."""
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True, "broker": False}}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/health/ready", "/health/"])
def test_ready_is_503_when_the_database_is_down(client, database_down, path):
    response = client.get(path)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"] is False


@pytest.mark.django_db(transaction=True)
def test_live_answers_without_database_or_broker(client, database_down, broker_down):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_health_is_not_redirected_to_https(client, settings):
    """Load balancers probe over plain HTTP inside the network."""
    settings.SECURE_SSL_REDIRECT = True
    for path in ("/health/", "/health/live", "/health/ready"):
        assert client.get(path).status_code == 200, path
