"""The public consultation request page: what it stores, what it refuses, the honeypot, CSRF,
and the rate limit per client address (through the proxy's X-Forwarded-For only when the
connection comes from a trusted proxy)."""

import pytest
from django.test import Client

from clinic.models import AuditEvent
from intake.models import ConsultationRequest, SubmissionAttempt
from tests.intake.conftest import FORM

URL = "/request/"


def post(client, data=None, address="203.0.113.5", **extra):
    return client.post(URL, data if data is not None else FORM, REMOTE_ADDR=address, **extra)


@pytest.mark.django_db
def test_the_page_needs_no_login_and_stores_a_request(client):
    page = client.get(URL)
    assert page.status_code == 200
    assert b"Ask for a consultation" in page.content
    response = post(client)
    assert response.status_code == 302
    assert response["Location"] == "/request/thanks/"
    assert client.get(response["Location"]).status_code == 200
    stored = ConsultationRequest.objects.get()
    assert (stored.source, stored.status, stored.consent_to_contact) == ("public", "new", True)
    assert (stored.first_name, stored.affected_side, str(stored.phone)) == ("Ada", "left", "+447700100123")
    assert stored.client_address == "203.0.113.5"
    assert stored.history.count() == 1
    assert AuditEvent.objects.filter(
        action="consultation_request.received", target_id=str(stored.pk)
    ).exists()


@pytest.mark.django_db
def test_consent_to_be_contacted_is_required(client):
    data = {k: v for k, v in FORM.items() if k != "consent_to_contact"}
    response = post(client, data)
    assert response.status_code == 400
    assert b"Tick this box so that the clinic may contact you." in response.content
    assert not ConsultationRequest.objects.exists()


@pytest.mark.django_db
def test_the_honeypot_is_answered_like_a_request_but_nothing_is_stored(client):
    response = post(client, {**FORM, "website": "http://spam.example"})
    assert response.status_code == 302
    assert response["Location"] == "/request/thanks/"
    assert not ConsultationRequest.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"date_of_birth": "not a date"}, "date_of_birth"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"email": "", "phone": ""}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"problem": "x" * 2001}, "problem"),
        ({"problem": ""}, "problem"),
        ({"first_name": "A\x07da"}, "first_name"),
        ({"first_name": "1234"}, "first_name"),
        ({"affected_side": "middle"}, "affected_side"),
        ({"last_name": "L" * 101}, "last_name"),
    ],
)
def test_bad_input_is_a_form_error_never_a_500(client, changes, field):
    response = post(client, {**FORM, **changes})
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert not ConsultationRequest.objects.exists()


@pytest.mark.django_db
def test_a_nul_character_is_refused_before_the_form(client):
    assert post(client, {**FORM, "problem": "a\x00b"}).status_code == 400
    assert not ConsultationRequest.objects.exists()


@pytest.mark.django_db
def test_a_body_over_the_limit_is_refused_with_a_page(client, settings):
    settings.INTAKE_MAX_BODY_BYTES = 2000
    response = post(client, {**FORM, "prior_treatments": "y" * 3000})
    assert response.status_code == 400
    assert b"too long" in response.content
    assert not ConsultationRequest.objects.exists()


@pytest.mark.django_db
def test_a_post_without_the_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)
    assert client.get(URL).status_code == 200
    assert post(client).status_code == 403
    assert not ConsultationRequest.objects.exists()


@pytest.mark.django_db
def test_a_burst_from_one_address_is_throttled_others_are_not(client, settings):
    settings.INTAKE_REQUESTS_PER_ADDRESS = 3
    settings.INTAKE_WINDOW_MINUTES = 60
    for n in range(3):
        assert post(client, {**FORM, "first_name": f"Ada{'a' * n}"}).status_code == 302
    refused = post(client)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert b"Too many requests have been sent from your network" in refused.content
    # What they typed is still on the page, to send later.
    assert b"My left eye closes when I smile" in refused.content
    # Inventing an X-Forwarded-For does not make a new client: no proxy is trusted.
    assert post(client, HTTP_X_FORWARDED_FOR="198.51.100.77").status_code == 429
    # Another address is not affected.
    assert post(client, address="203.0.113.6").status_code == 302
    # Nothing lost: every accepted post is stored, none of the refused ones.
    assert ConsultationRequest.objects.filter(client_address="203.0.113.5").count() == 3
    assert ConsultationRequest.objects.filter(client_address="203.0.113.6").count() == 1
    assert SubmissionAttempt.objects.filter(address="203.0.113.5").count() == 3


@pytest.mark.django_db
def test_behind_the_tls_proxy_each_client_has_its_own_limit(client, settings):
    settings.INTAKE_REQUESTS_PER_ADDRESS = 1
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = "10.0.0.2"
    assert post(client, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 302
    assert post(client, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    # A client writing its own X-Forwarded-For before the proxy's entry gains nothing.
    spoofed = post(client, address=proxy, HTTP_X_FORWARDED_FOR="192.0.2.50, 198.51.100.1")
    assert spoofed.status_code == 429
    assert post(client, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 302
    assert list(ConsultationRequest.objects.order_by("id").values_list("client_address", flat=True)) == [
        "198.51.100.1",
        "198.51.100.2",
    ]


@pytest.mark.django_db
def test_the_window_passes(client, settings, frozen):
    settings.INTAKE_REQUESTS_PER_ADDRESS = 1
    settings.INTAKE_WINDOW_MINUTES = 10
    assert post(client).status_code == 302
    assert post(client).status_code == 429
    frozen.shift(11 * 60)
    assert post(client).status_code == 302
    assert SubmissionAttempt.objects.count() == 1  # the old attempt was pruned


@pytest.mark.django_db
def test_an_address_that_posted_once_does_not_stay_in_the_table(client, settings, frozen):
    settings.INTAKE_WINDOW_MINUTES = 10
    assert post(client, address="203.0.113.7").status_code == 302
    frozen.shift(11 * 60)
    assert post(client, address="203.0.113.8").status_code == 302
    assert list(SubmissionAttempt.objects.values_list("address", flat=True)) == ["203.0.113.8"]
