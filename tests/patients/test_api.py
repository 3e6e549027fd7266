"""The patients API: wiring, permissions, field-level access, bad input, audit, query counts."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.models import AuditEvent
from patients.models import MessagingConsent, Patient
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory
from tests.patients.factories import ConsentFactory, valid_patient_data

pytestmark = pytest.mark.django_db

URL = "/api/v1/patients/"


def _detail(patient, suffix=""):
    return f"{URL}{patient.pk}/{suffix}"


def test_anonymous_gets_401(anon_api):
    assert anon_api.get(URL).status_code == 401


def test_list_shows_active_patients_alphabetically(front_desk):
    PatientFactory(last_name="Zeller")
    PatientFactory(last_name="Abbott")
    PatientFactory(last_name="Gone", status="inactive", inactive_reason="deceased")
    body = front_desk.get(URL).json()
    assert [p["last_name"] for p in body["results"]] == ["Abbott", "Zeller"]
    inactive = front_desk.get(URL + "?status=inactive").json()
    assert [p["last_name"] for p in inactive["results"]] == ["Gone"]


def test_list_with_search_returns_the_best_matches(front_desk):
    PatientFactory(first_name="Ada", last_name="Lovelace", mobile="+447700100123")
    PatientFactory(first_name="Charles", last_name="Babbage")
    body = front_desk.get(URL, {"search": "07700 100123"}).json()
    assert [p["last_name"] for p in body["results"]] == ["Lovelace"]


def test_unknown_status_filter_is_a_400(front_desk):
    response = front_desk.get(URL + "?status=zombie")
    assert response.status_code == 400
    assert "status" in response.json()["fields"]


def test_list_query_count_does_not_grow_with_page_size(front_desk):
    PatientFactory.create_batch(3)
    front_desk.get(URL)  # loads the user's permissions once; they are cached on the user
    with CaptureQueriesContext(connection) as small:
        assert front_desk.get(URL + "?page_size=2").status_code == 200
    PatientFactory.create_batch(20)
    with CaptureQueriesContext(connection) as large:
        assert len(front_desk.get(URL + "?page_size=20").json()["results"]) == 20
    assert len(large) == len(small) == 2  # count + page


def test_search_query_count_does_not_grow_with_results(front_desk, django_assert_max_num_queries):
    PatientFactory.create_batch(15, last_name="Walker")
    # One of them asks whether a page's worth sound like "walker" (patients.search._common_name).
    with django_assert_max_num_queries(5):
        assert len(front_desk.get(URL, {"search": "walker"}).json()["results"]) == 15


def test_search_pages_follow_the_ranking(front_desk):
    PatientFactory.create_batch(12, last_name="Walker")
    PatientFactory(first_name="Walker", last_name="Zed")
    ranked = [p["id"] for p in front_desk.get(URL, {"search": "walker", "page_size": 100}).json()["results"]]
    first = front_desk.get(URL, {"search": "walker", "page_size": 5}).json()
    third = front_desk.get(URL, {"search": "walker", "page_size": 5, "page": 3}).json()
    assert first["count"] == third["count"] == len(ranked) == 13
    assert [p["id"] for p in first["results"]] == ranked[:5]
    assert [p["id"] for p in third["results"]] == ranked[10:]
    assert first["results"][0]["mobile"]  # full rows for the page


def test_search_of_inactive_patients_keeps_only_them(front_desk):
    active = PatientFactory(last_name="Walker")
    gone = PatientFactory(last_name="Walker", status="inactive", inactive_reason="moved_away")

    def ids(status):
        body = front_desk.get(URL, {"search": "walker", "status": status}).json()
        return [p["id"] for p in body["results"]]

    assert ids("inactive") == [gone.pk]
    assert ids("active") == [active.pk]
    assert sorted(ids("all")) == sorted([active.pk, gone.pk])


def test_front_desk_never_receives_clinical_fields(front_desk):
    patient = PatientFactory(allergies="Penicillin", on_anticoagulants=True)
    for body in (front_desk.get(_detail(patient)).json(), front_desk.get(URL).json()["results"][0]):
        assert not set(Patient.CLINICAL_FIELDS) & set(body)
        assert body["mrn"] == patient.mrn


@pytest.mark.parametrize("role", ["surgeon", "injector", "therapist"])
def test_clinical_roles_receive_clinical_fields(request, role):
    client = request.getfixturevalue(role)
    patient = PatientFactory(allergies="Penicillin", on_anticoagulants=True)
    body = client.get(_detail(patient)).json()
    assert set(Patient.CLINICAL_FIELDS) <= set(body)
    assert (body["allergies"], body["on_anticoagulants"]) == ("Penicillin", True)


def test_manager_does_not_receive_clinical_fields(manager):
    body = manager.get(_detail(PatientFactory())).json()
    assert "allergies" not in body


def test_front_desk_cannot_write_clinical_fields(front_desk):
    patient = PatientFactory(allergies="")
    response = front_desk.patch(_detail(patient), {"allergies": "Latex", "city": "x" * 101}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"allergies", "city"}
    patient.refresh_from_db()
    assert patient.allergies == ""


def test_create_registers_and_returns_201(front_desk):
    response = front_desk.post(URL, valid_patient_data(), format="json")
    assert response.status_code == 201
    body = response.json()
    patient = Patient.objects.get(pk=body["id"])
    assert body["mrn"] == patient.mrn
    assert body["mobile"] == "+447700100123"


def test_create_answers_409_with_candidates_until_confirmed(front_desk):
    existing = PatientFactory(email="ada.lovelace@example.com")
    response = front_desk.post(URL, valid_patient_data(), format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "possible_duplicate"
    assert body["candidates"][0]["id"] == existing.pk
    assert body["candidates"][0]["matched_on"] == ["email"]
    assert Patient.objects.count() == 1
    confirmed = front_desk.post(URL, valid_patient_data(confirm_not_duplicate=True), format="json")
    assert confirmed.status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mobile", "12345"),
        ("mobile", "+44 113 243 1234"),
        ("email", "ada@"),
        ("date_of_birth", "tomorrow"),  # resolved when the test runs: a suite can cross midnight
        ("date_of_birth", "12/31/1970"),
        ("sex", "robot"),
        ("first_name", "A" * 101),
        ("first_name", "Ada\x00"),
        ("first_name", ""),
        ("country", "United Kingdom"),
        ("language", 12345678901234567890),
        ("emergency_contact_phone", "call me"),
    ],
)
def test_bad_input_gets_400_naming_the_field_and_saves_nothing(front_desk, field, value):
    if value == "tomorrow":
        value = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = front_desk.post(URL, valid_patient_data(**{field: value}), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"]
    assert Patient.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("affected_side", "middle"), ("palsy_cause", "magic"), ("palsy_onset_date", "1960-01-01")],
)
def test_bad_clinical_input_gets_400(surgeon, field, value):
    response = surgeon.post(URL, valid_patient_data(**{field: value}), format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_retrieve_is_audited(surgeon, surgeon_user):
    patient = PatientFactory()
    surgeon.get(_detail(patient))
    event = AuditEvent.objects.get(action="patient.viewed")
    assert (event.actor, event.patient_id, event.changes) == (surgeon_user, patient.pk, {"via": "api"})
    assert event.source == "api"


def test_partial_update_saves_and_is_audited(front_desk):
    patient = PatientFactory(city="Leeds")
    response = front_desk.patch(_detail(patient), {"city": "York"}, format="json")
    assert response.status_code == 200
    assert response.json()["city"] == "York"
    assert AuditEvent.objects.get(action="patient.updated").changes == {"city": ["Leeds", "York"]}


def test_read_only_fields_cannot_be_changed(front_desk):
    patient = PatientFactory()
    front_desk.patch(_detail(patient), {"mrn": "FN99999999", "status": "inactive"}, format="json")
    patient.refresh_from_db()
    assert (patient.mrn, patient.status) != ("FN99999999", "inactive")


@pytest.mark.parametrize("method", ["delete", "put"])
def test_no_delete_and_no_full_replace(front_desk, method):
    patient = PatientFactory()
    assert getattr(front_desk, method)(_detail(patient)).status_code == 405
    assert Patient.objects.filter(pk=patient.pk).exists()


@pytest.mark.parametrize("pk", ["99999999999999999999999", "0", "12abc"])
def test_unknown_or_absurd_ids_are_404(front_desk, pk):
    assert front_desk.get(f"{URL}{pk}/").status_code == 404


def test_deactivate_is_for_managers(front_desk, manager):
    patient = PatientFactory()
    assert front_desk.post(_detail(patient, "deactivate/"), {"reason": "deceased"}).status_code == 403
    response = manager.post(_detail(patient, "deactivate/"), {"reason": "deceased"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["inactive_reason"]) == ("inactive", "deceased")


def test_deactivate_rejects_merge_as_a_reason_and_twice(manager):
    patient = PatientFactory()
    assert manager.post(_detail(patient, "deactivate/"), {"reason": "merged"}).json()["fields"]["reason"]
    manager.post(_detail(patient, "deactivate/"), {"reason": "moved_away"})
    again = manager.post(_detail(patient, "deactivate/"), {"reason": "deceased"})
    assert again.status_code == 409
    assert again.json()["code"] == "already_inactive"


def test_reactivate(manager):
    patient = PatientFactory(status="inactive", inactive_reason="moved_away")
    assert manager.post(_detail(patient, "reactivate/")).json()["status"] == "active"


def test_merge_is_for_managers_and_moves_appointments(front_desk, manager):
    survivor, duplicate = PatientFactory(), PatientFactory()
    appointment = AppointmentFactory(patient=duplicate)
    assert front_desk.post(_detail(survivor, "merge/"), {"duplicate": duplicate.pk}).status_code == 403
    response = manager.post(_detail(survivor, "merge/"), {"duplicate": duplicate.pk}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["moved"] == {"scheduling.appointment": 1}
    assert body["survivor"]["id"] == survivor.pk
    assert Appointment.objects.get(pk=appointment.pk).patient_id == survivor.pk


@pytest.mark.parametrize("duplicate", [0, 2**63, "abc", None])
def test_merge_rejects_a_bad_duplicate_id(manager, duplicate):
    survivor = PatientFactory()
    response = manager.post(_detail(survivor, "merge/"), {"duplicate": duplicate}, format="json")
    assert response.status_code == 400
    assert "duplicate" in response.json()["fields"]


def test_merge_with_an_unknown_duplicate_is_a_400(manager):
    response = manager.post(_detail(PatientFactory(), "merge/"), {"duplicate": 987654}, format="json")
    assert response.status_code == 400


def test_merge_into_itself_is_a_409(manager):
    patient = PatientFactory()
    response = manager.post(_detail(patient, "merge/"), {"duplicate": patient.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "merge_not_allowed"


def test_consents_list_and_record(front_desk):
    patient = PatientFactory(mobile="+447700100123")
    ConsentFactory(patient=patient, purpose="questionnaires")
    created = front_desk.post(
        _detail(patient, "consents/"),
        {"channel": "sms", "purpose": "recalls", "granted": False, "method": "sms_reply", "note": "STOP"},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["address"] == "+447700100123"
    listed = front_desk.get(_detail(patient, "consents/")).json()
    assert [row["purpose"] for row in listed["results"]] == ["recalls", "questionnaires"]
    current = {
        (c["channel"], c["purpose"]): c for c in front_desk.get(_detail(patient, "consents/current/")).json()
    }
    assert current[("sms", "questionnaires")]["granted"] is True
    assert current[("sms", "recalls")]["state"] == "withdrawn"


def test_consent_grant_without_an_address_is_a_400(front_desk):
    patient = PatientFactory(email="")
    response = front_desk.post(
        _detail(patient, "consents/"),
        {"channel": "email", "purpose": "recalls", "granted": True, "method": "written"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "no_address"
    assert not MessagingConsent.objects.exists()


def test_consent_with_a_merge_method_is_refused(front_desk):
    patient = PatientFactory()
    response = front_desk.post(
        _detail(patient, "consents/"),
        {"channel": "sms", "purpose": "recalls", "granted": True, "method": "merge"},
        format="json",
    )
    assert response.status_code == 400
    assert "method" in response.json()["fields"]


def test_schema_describes_the_patient_endpoints(client, front_desk_user):
    client.force_login(front_desk_user)
    schema = client.get("/api/schema/").content
    for path in (b"/api/v1/patients/{id}/merge/", b"/api/v1/patients/{id}/consents/current/"):
        assert path in schema


def test_date_of_birth_is_returned_as_iso(front_desk):
    patient = PatientFactory(date_of_birth=date(1970, 3, 12))
    assert front_desk.get(_detail(patient)).json()["date_of_birth"] == "1970-03-12"
