"""Gradings entered inside the consultation form: one page, one submit, one transaction, errors
shown on the grading items they concern."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.models import AuditEvent
from treatments.models import Assessment, Encounter

from .factories import SUNNYBROOK_NORMAL
from .test_pages import local

pytestmark = pytest.mark.django_db


def _consultation(**extra) -> dict:
    return {
        "occurred_at": local(timezone.now() - timedelta(minutes=30)),
        "history_of_palsy": "Bell's palsy 2019",
        "symptoms": "Eye closes when smiling",
        "severity": "moderate",
        **extra,
    }


def _sunnybrook(items=SUNNYBROOK_NORMAL) -> dict:
    return {f"sunnybrook-item_{key}": value for key, value in items.items()}


def test_the_form_offers_every_grading_instrument(client, surgeon_user, patient):
    client.force_login(surgeon_user)
    html = client.get(f"/clinical/consultation/new/?patient={patient.pk}").content.decode()
    for name in ("Sunnybrook", "House-Brackmann", "SAQ"):
        assert name in html
    assert 'name="sunnybrook-item_rest_eye"' in html
    assert 'name="house_brackmann-item_grade"' in html


def test_a_consultation_and_its_gradings_are_saved_with_one_submit(client, surgeon_user, patient):
    client.force_login(surgeon_user)
    response = client.post(
        f"/clinical/consultation/new/?patient={patient.pk}",
        {**_consultation(), **_sunnybrook(), "house_brackmann-item_grade": "3"},
    )
    assert response.status_code == 302
    consultation = Encounter.objects.get(patient=patient, kind="consultation")
    gradings = {a.instrument: a for a in Assessment.objects.filter(patient=patient)}
    assert set(gradings) == {"sunnybrook", "house_brackmann"}  # the SAQ, left empty, is not
    for assessment in gradings.values():
        assert assessment.encounter_id == consultation.pk
        assert assessment.assessed_at == consultation.occurred_at
        assert assessment.rater == surgeon_user
    assert gradings["sunnybrook"].scores["composite"] == 100
    assert gradings["house_brackmann"].scores["grade"] == 3
    assert AuditEvent.objects.filter(action__startswith="assessment.").count() == 2


def test_an_incomplete_grading_saves_nothing_and_marks_the_missing_items(client, surgeon_user, patient):
    client.force_login(surgeon_user)
    items = dict(SUNNYBROOK_NORMAL)
    del items["voluntary_snarl"]
    response = client.post(
        f"/clinical/consultation/new/?patient={patient.pk}",
        {**_consultation(), **_sunnybrook(items), "house_brackmann-item_grade": "2"},
    )
    assert response.status_code == 400
    assert not Encounter.objects.filter(patient=patient).exists()
    assert not Assessment.objects.exists()
    sunnybrook = next(g for g in response.context["gradings"] if g["instrument"].code == "sunnybrook")
    assert list(sunnybrook["form"].errors) == ["item_voluntary_snarl"]
    assert sunnybrook["open"] is True
    html = response.content.decode()
    assert "Needed to complete the Sunnybrook Facial Grading System grading" in html
    assert 'value="Eye closes when smiling"' in html or "Eye closes when smiling" in html  # kept


def test_a_grading_the_service_refuses_rolls_back_the_consultation(client, surgeon_user, patient):
    client.force_login(surgeon_user)
    response = client.post(
        f"/clinical/consultation/new/?patient={patient.pk}",
        {**_consultation(), "house_brackmann-item_grade": "9"},  # not a House-Brackmann grade
    )
    assert response.status_code == 400
    assert not Encounter.objects.exists() and not Assessment.objects.exists()
    grading = next(g for g in response.context["gradings"] if g["instrument"].code == "house_brackmann")
    assert "item_grade" in grading["form"].errors


def test_the_service_rolls_back_everything_when_a_grading_is_refused(patient, surgeon_user):
    from clinic.errors import Invalid
    from treatments.services.consultations import consultation_record_with_gradings

    with pytest.raises(Invalid) as excinfo:
        consultation_record_with_gradings(
            patient=patient,
            actor=surgeon_user,
            data={"occurred_at": timezone.now() - timedelta(minutes=5), "symptoms": "x"},
            gradings={"sunnybrook": SUNNYBROOK_NORMAL, "house_brackmann": {"grade": 0}},
        )
    assert excinfo.value.code == "gradings_invalid"
    assert "grade" in excinfo.value.fields["gradings"]["house_brackmann"]["items"]
    assert not Encounter.objects.exists() and not Assessment.objects.exists()
