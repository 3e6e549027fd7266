"""Registration: MRNs, the duplicate guard, validation, audit and history."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.models import AuditEvent
from patients.exceptions import PossibleDuplicate
from patients.models import Patient
from patients.services import mrn_for, mrn_is_valid, patient_register
from tests.factories import PatientFactory
from tests.patients.factories import valid_patient_data

pytestmark = pytest.mark.django_db


def test_mrn_has_a_check_digit_that_catches_a_typo():
    mrn = mrn_for(1234)
    assert mrn == "FN00012344"
    assert mrn_is_valid(mrn)
    assert not mrn_is_valid("FN00012345")
    assert not mrn_is_valid("FN00021344")  # two digits swapped


def test_register_gives_a_unique_mrn_from_the_row_id(front_desk_user):
    first = patient_register(data=valid_patient_data(), actor=front_desk_user)
    second = patient_register(
        data=valid_patient_data(first_name="Grace", last_name="Hopper", email="", mobile=""),
        actor=front_desk_user,
    )
    assert first.mrn == mrn_for(first.pk)
    assert second.mrn == mrn_for(second.pk)
    assert mrn_is_valid(first.mrn)


def test_register_normalises_contact_details(front_desk_user):
    patient = patient_register(
        data=valid_patient_data(
            mobile="07700 100123", email=" Ada.Lovelace@Example.COM ", postcode="nw1 1aa"
        ),
        actor=front_desk_user,
    )
    patient.refresh_from_db()
    assert str(patient.mobile) == "+447700100123"
    assert patient.email == "ada.lovelace@example.com"
    assert patient.postcode == "NW1 1AA"
    assert patient.created_by == front_desk_user


def test_register_is_audited_and_the_history_holds_the_real_mrn(front_desk_user):
    patient = patient_register(data=valid_patient_data(), actor=front_desk_user)
    event = AuditEvent.objects.get(action="patient.registered")
    assert event.patient_id == patient.pk
    assert event.actor == front_desk_user
    assert [h.mrn for h in patient.history.all()] == [patient.mrn]


@pytest.mark.parametrize(
    ("existing", "typed", "matched_on"),
    [
        (
            {"last_name": "Lovelace", "date_of_birth": date(1975, 12, 10)},
            {"first_name": "Augusta", "email": "", "mobile": ""},
            "name_and_date_of_birth",
        ),
        ({"mobile": "+447700100123"}, {"last_name": "King", "email": ""}, "mobile"),
        ({"email": "ada.lovelace@example.com"}, {"last_name": "King", "mobile": ""}, "email"),
    ],
)
def test_a_possible_duplicate_is_reported_with_candidates(front_desk_user, existing, typed, matched_on):
    other = PatientFactory(**{"last_name": "Byron", "date_of_birth": date(1950, 1, 1), **existing})
    with pytest.raises(PossibleDuplicate) as caught:
        patient_register(data=valid_patient_data(**typed), actor=front_desk_user)
    candidates = caught.value.extra["candidates"]
    assert [c["id"] for c in candidates] == [other.pk]
    assert matched_on in candidates[0]["matched_on"]
    assert Patient.objects.count() == 1


def test_surname_match_ignores_case(front_desk_user):
    PatientFactory(last_name="LOVELACE", date_of_birth=date(1975, 12, 10))
    with pytest.raises(PossibleDuplicate):
        patient_register(data=valid_patient_data(email="", mobile=""), actor=front_desk_user)


def test_confirming_registers_despite_candidates(front_desk_user):
    other = PatientFactory(mobile="+447700100123")
    patient = patient_register(data=valid_patient_data(), actor=front_desk_user, confirm_not_duplicate=True)
    assert patient.pk != other.pk
    event = AuditEvent.objects.get(action="patient.registered")
    assert event.changes == {"duplicates_confirmed": [other.mrn]}


def test_inactive_records_are_not_duplicate_candidates(front_desk_user):
    PatientFactory(mobile="+447700100123", status="inactive", inactive_reason="deceased")
    patient_register(data=valid_patient_data(), actor=front_desk_user)
    assert Patient.objects.count() == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", "tomorrow"),  # resolved when the test runs: a suite can cross midnight
        ("date_of_birth", date(1899, 12, 31)),
        ("mobile", "12345"),
        ("mobile", "0113 243 1234"),  # a landline cannot receive reminders
        ("email", "not-an-email"),
        ("sex", "robot"),
        ("first_name", "x" * 101),
        ("first_name", "Ada\x00"),
        ("first_name", "1234"),
        ("country", "gbr"),
        ("language", "english!"),
        ("mrn", "FN00000018"),
        ("status", "inactive"),
    ],
)
def test_register_rejects_bad_input_with_a_message_for_the_field(front_desk_user, field, value):
    if value == "tomorrow":
        value = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ValidationError) as caught:
        patient_register(data=valid_patient_data(**{field: value}), actor=front_desk_user)
    assert field in caught.value.message_dict
    assert Patient.objects.count() == 0


def test_onset_before_birth_is_rejected(surgeon_user):
    with pytest.raises(ValidationError) as caught:
        patient_register(data=valid_patient_data(palsy_onset_date=date(1970, 1, 1)), actor=surgeon_user)
    assert "palsy_onset_date" in caught.value.message_dict
