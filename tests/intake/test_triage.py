"""The front desk's triage of consultation requests: possible duplicates, accept (a patient and
a booked consultation, once), decline (one email to the requester through a real SMTP server),
referrals, and the API's answers and codes."""

import threading
from datetime import date

import pytest
from django.db import connection

from clinic.models import AuditEvent
from intake import services
from intake.exceptions import RequestNotOpen
from intake.models import ConsultationRequest
from patients.models import Patient
from scheduling.models import Appointment
from tests.factories import PatientFactory, UserFactory
from tests.intake.conftest import submit
from tests.scheduling.conftest import local
from tests.smtp import SmtpSink, free_port

API = "/api/v1/consultation-requests/"


@pytest.fixture
def desk(db):
    return UserFactory(username="desk", roles=["front_desk"])


@pytest.fixture
def desk_api(desk):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(desk)
    return client


def _accept_body(clinic, hour=10, **extra):
    return {
        "appointment_type": clinic.consultation.pk,
        "provider": clinic.surgeon.pk,
        "starts_at": local(2027, 3, 2, hour).isoformat(),
        **extra,
    }


# --- duplicates ------------------------------------------------------------------------------


def test_possible_duplicates_come_from_the_registry(clinic, new_request):
    same = PatientFactory(first_name="Ada", last_name="Lovelace", date_of_birth=date(1980, 4, 12))
    typo = PatientFactory(first_name="Adah", last_name="Lovelance", date_of_birth=date(1980, 4, 12))
    by_email = PatientFactory(first_name="Augusta", last_name="King", email="ada@example.org")
    PatientFactory(first_name="Ada", last_name="Lovelace", date_of_birth=date(1981, 1, 1))  # not her
    from intake.selectors import request_duplicates

    found = {c.patient.pk: c.matched_on for c in request_duplicates(new_request)}
    assert found == {
        same.pk: ("name_and_date_of_birth",),
        typo.pk: ("similar_name_and_date_of_birth",),
        by_email.pk: ("email",),
    }


def test_the_api_shows_the_duplicates(clinic, new_request, desk_api):
    same = PatientFactory(first_name="Ada", last_name="Lovelace", date_of_birth=date(1980, 4, 12))
    body = desk_api.get(f"{API}{new_request.pk}/").json()
    assert [d["id"] for d in body["duplicates"]] == [same.pk]
    assert body["status"] == "new"
    assert AuditEvent.objects.filter(action="consultation_request.viewed").count() == 1


# --- accept ----------------------------------------------------------------------------------


def test_accept_registers_and_books_once(clinic, new_request, desk_api):
    response = desk_api.post(f"{API}{new_request.pk}/accept/", _accept_body(clinic), format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "accepted"
    patient = Patient.objects.get(pk=body["patient"])
    assert (patient.first_name, patient.last_name, patient.email) == ("Ada", "Lovelace", "ada@example.org")
    assert str(patient.mobile) == "+447700100123"
    assert patient.affected_side == "left"
    appointment = Appointment.objects.get(pk=body["appointment"])
    assert appointment.patient == patient
    assert appointment.appointment_type == clinic.consultation
    assert appointment.starts_at == local(2027, 3, 2, 10)
    again = desk_api.post(f"{API}{new_request.pk}/accept/", _accept_body(clinic, hour=11), format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "request_not_open"
    assert Patient.objects.count() == 1
    assert Appointment.objects.count() == 1
    new_request.refresh_from_db()
    assert new_request.history.count() == 2
    assert AuditEvent.objects.filter(
        action="consultation_request.accepted", target_id=str(new_request.pk), patient_id=patient.pk
    ).exists()


def test_accept_links_a_matching_patient(clinic, new_request, desk_api):
    existing = PatientFactory(first_name="Ada", last_name="Lovelace", date_of_birth=date(1980, 4, 12))
    # Registering the requester again would be a duplicate: refused unless confirmed.
    refused = desk_api.post(f"{API}{new_request.pk}/accept/", _accept_body(clinic), format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "possible_duplicate"
    assert not Appointment.objects.exists()
    linked = desk_api.post(
        f"{API}{new_request.pk}/accept/", _accept_body(clinic, patient=existing.pk), format="json"
    )
    assert linked.status_code == 200
    assert linked.json()["patient"] == existing.pk
    assert Patient.objects.count() == 1


def test_a_refused_booking_leaves_the_request_open(clinic, new_request, desk_api):
    sunday = {**_accept_body(clinic), "starts_at": local(2027, 3, 7, 10).isoformat()}
    response = desk_api.post(f"{API}{new_request.pk}/accept/", sunday, format="json")
    assert response.status_code in (400, 409)
    assert "code" in response.json()
    new_request.refresh_from_db()
    assert new_request.status == "new"
    assert not Patient.objects.exists()


def test_the_accept_page_books_and_shows_the_day(clinic, new_request, client, desk):
    client.force_login(desk)
    page = client.get(f"/intake/{new_request.pk}/")
    assert page.status_code == 200
    slots = page.context["slots"]
    assert slots, "the page offers free consultation slots"
    response = client.post(
        f"/intake/{new_request.pk}/accept/",
        {"patient": "new", "appointment_type": clinic.consultation.pk, "slot": slots[0]["value"]},
    )
    assert response.status_code == 302, response.context["accept_form"].errors
    assert response["Location"].startswith("/schedule/?date=")
    new_request.refresh_from_db()
    assert new_request.status == "accepted"
    assert new_request.appointment.starts_at == slots[0]["slot"].start
    # A second accept from a stale page is a form error, not a second booking.
    stale = client.post(
        f"/intake/{new_request.pk}/accept/",
        {"patient": "new", "appointment_type": clinic.consultation.pk, "slot": slots[1]["value"]},
    )
    assert stale.status_code == 409
    assert Appointment.objects.count() == 1


def test_a_forged_slot_is_a_form_error(clinic, new_request, client, desk):
    client.force_login(desk)
    for slot in ("x", "1|2|not-a-time", "999999|999999|2027-03-02T10:00:00+00:00", ""):
        response = client.post(
            f"/intake/{new_request.pk}/accept/",
            {"patient": "new", "appointment_type": clinic.consultation.pk, "slot": slot},
        )
        assert response.status_code == 400
    assert not Appointment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_desks_accepting_at_once_book_once(clinic):
    request = submit()
    desk_a = UserFactory(username="desk_a", roles=["front_desk"])
    desk_b = UserFactory(username="desk_b", roles=["front_desk"])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(actor, hour):
        try:
            barrier.wait()
            services.consultation_request_accept(
                request=request,
                actor=actor,
                appointment_type=clinic.consultation,
                provider=clinic.surgeon,
                starts_at=local(2027, 3, 2, hour),
            )
            outcomes.append("accepted")
        except RequestNotOpen:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(a, h)) for a, h in ((desk_a, 10), (desk_b, 14))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["accepted", "refused"]
    assert Appointment.objects.count() == 1
    assert Patient.objects.count() == 1
    request.refresh_from_db()
    assert request.status == "accepted"
    assert request.appointment_id == Appointment.objects.get().pk


# --- decline ---------------------------------------------------------------------------------


@pytest.fixture
def smtp_server(settings):
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    yield sink
    controller.stop()


def test_decline_emails_the_requester_once(
    clinic, new_request, desk_api, smtp_server, django_capture_on_commit_callbacks
):
    from email import message_from_bytes, policy

    with django_capture_on_commit_callbacks(execute=True):
        response = desk_api.post(
            f"{API}{new_request.pk}/decline/",
            {"message": "We do not treat this condition; please see your GP."},
            format="json",
        )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "declined"
    assert len(smtp_server.messages) == 1
    envelope = smtp_server.messages[0]
    assert envelope.rcpt_tos == ["ada@example.org"]
    email = message_from_bytes(envelope.content, policy=policy.default)
    assert "consultation request" in email["Subject"]
    assert "please see your GP" in email.get_body(("plain",)).get_content()
    new_request.refresh_from_db()
    assert new_request.email_status == "sent"
    assert new_request.email_message_id
    # Declining again is refused; sending again sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        again = desk_api.post(f"{API}{new_request.pk}/decline/", {"message": "Again"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "request_not_open"
    assert services.decline_email_send(request_id=new_request.pk) == ""
    assert len(smtp_server.messages) == 1
    assert list(new_request.history.order_by("history_id").values_list("email_status", flat=True)) == [
        "",
        "pending",
        "sent",
    ]


def test_a_failed_email_is_recorded_not_resent(
    clinic, new_request, desk, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1
    with django_capture_on_commit_callbacks(execute=True):
        services.consultation_request_decline(request=new_request, actor=desk, message="Sorry.")
    new_request.refresh_from_db()
    assert new_request.email_status == "failed"
    assert new_request.email_error.startswith("provider_unavailable")


def test_decline_without_an_email_address(clinic, desk, client):
    request = submit(email="")
    client.force_login(desk)
    response = client.post(f"/intake/{request.pk}/decline/", {"message": "Sorry, we cannot help."})
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.email_status) == ("declined", "no_address")


def test_decline_needs_a_message(clinic, new_request, desk_api, client, desk):
    response = desk_api.post(f"{API}{new_request.pk}/decline/", {"message": ""}, format="json")
    assert response.status_code == 400
    client.force_login(desk)
    page = client.post(f"/intake/{new_request.pk}/decline/", {"message": ""})
    assert page.status_code == 400
    new_request.refresh_from_db()
    assert new_request.status == "new"


# --- referrals and the list -------------------------------------------------------------------


def test_a_referral_from_a_clinician(clinic, desk_api, desk):
    body = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "date_of_birth": "1975-12-09",
        "phone": "+447700100456",
        "problem": "Right-sided synkinesis after acoustic neuroma surgery.",
        "affected_side": "right",
        "referrer_name": "Dr Jane Doe, ENT",
        "referrer_contact": "jane.doe@example.org",
    }
    missing = desk_api.post(API, {**body, "referrer_name": ""}, format="json")
    assert missing.status_code == 400
    created = desk_api.post(API, body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["source"], data["status"], data["created_by"]["id"]) == ("referral", "new", desk.pk)
    for forged in ({"status": "accepted"}, {"source": "public"}):
        response = desk_api.post(API, {**body, **forged}, format="json")
        assert response.status_code == 400 or response.json()["status"] == "new"
    listed = desk_api.get(API, {"source": "referral"}).json()
    assert [r["id"] for r in listed["results"]][-1] == data["id"]


def test_the_referral_page(clinic, client, desk):
    client.force_login(desk)
    assert client.get("/intake/referral/").status_code == 200
    response = client.post(
        "/intake/referral/",
        {
            "referrer_name": "Dr Who",
            "first_name": "Rose",
            "last_name": "Tyler",
            "date_of_birth": "1986-04-27",
            "email": "rose@example.org",
            "problem": "Left facial weakness.",
        },
    )
    assert response.status_code == 302
    assert ConsultationRequest.objects.get().source == "referral"


def test_the_list_filters_by_status(clinic, desk_api, new_request):
    submit(first_name="Bea")
    assert desk_api.get(API, {"status": "new"}).json()["count"] == 2
    assert desk_api.get(API, {"status": "declined"}).json()["count"] == 0
    bad = desk_api.get(API, {"status": "nonsense"})
    assert bad.status_code == 400
    assert desk_api.get(f"{API}999999/").status_code == 404


def test_the_queue_page(clinic, client, desk, new_request):
    client.force_login(desk)
    page = client.get("/intake/")
    assert page.status_code == 200
    assert b"Lovelace" in page.content
    assert client.get("/intake/?status=accepted").status_code == 200
    assert client.get("/intake/?status=%00").status_code in (200, 400)


def test_anonymous_callers_reach_no_request(new_request, client, anon_api):
    assert client.get("/intake/").status_code == 302
    assert anon_api.get(API).status_code in (401, 403)


def test_requests_are_protected_from_deletion(clinic, new_request, desk_api):
    from django.db.models import ProtectedError

    desk_api.post(f"{API}{new_request.pk}/accept/", _accept_body(clinic), format="json")
    new_request.refresh_from_db()
    with pytest.raises(ProtectedError):
        new_request.appointment.delete()
