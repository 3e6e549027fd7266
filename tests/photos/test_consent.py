"""Photo consent: dated, versioned, withdrawable; the teaching export honours it."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.errors import Invalid
from photos import selectors, services
from photos.models import MediaItem
from tests.factories import PatientFactory
from tests.photos.conftest import ready_item
from tests.photos.media import plain_jpeg


def _set_with_photo(patient, actor, *, identifiable=True, view="smile"):
    photo_set = services.photo_set_create(patient=patient, actor=actor, taken_at=timezone.now())
    item = ready_item(photo_set, actor, plain_jpeg(), view=view)
    MediaItem.objects.filter(pk=item.pk).update(identifiable=identifiable)
    return item


def test_each_consent_is_a_new_version_and_withdrawal_ends_it(patient, surgeon_user):
    first = services.photo_consent_record(
        patient=patient, actor=surgeon_user, level="teaching_with_face", given_on=timezone.localdate()
    )
    second = services.photo_consent_record(
        patient=patient, actor=surgeon_user, level="teaching_no_face", given_on=timezone.localdate()
    )
    assert (first.version, second.version) == (1, 2)
    assert selectors.current_consent(patient_id=patient.pk) == second

    services.photo_consent_withdraw(consent=second, actor=surgeon_user, reason="Changed her mind")
    # Withdrawing the latest does not bring back the one it replaced.
    assert selectors.current_consent(patient_id=patient.pk) is None
    with pytest.raises(Invalid):
        services.photo_consent_record(
            patient=patient,
            actor=surgeon_user,
            level="clinical",
            given_on=timezone.localdate() + timedelta(days=2),
        )


def test_the_teaching_export_leaves_out_what_lacks_consent(surgeon_user, client):
    with_face = PatientFactory()
    no_face = PatientFactory()
    withdrawn = PatientFactory()
    clinical_only = PatientFactory()
    nothing = PatientFactory()
    today = timezone.localdate()
    services.photo_consent_record(
        patient=with_face, actor=surgeon_user, level="teaching_with_face", given_on=today
    )
    services.photo_consent_record(
        patient=no_face, actor=surgeon_user, level="teaching_no_face", given_on=today
    )
    gone = services.photo_consent_record(
        patient=withdrawn, actor=surgeon_user, level="teaching_with_face", given_on=today
    )
    services.photo_consent_withdraw(consent=gone, actor=surgeon_user)
    services.photo_consent_record(patient=clinical_only, actor=surgeon_user, level="clinical", given_on=today)

    keep = [
        _set_with_photo(with_face, surgeon_user),
        _set_with_photo(no_face, surgeon_user, identifiable=False, view="lip_pucker"),
    ]
    _set_with_photo(no_face, surgeon_user, identifiable=True)  # the face shows: not for this level
    _set_with_photo(withdrawn, surgeon_user)
    _set_with_photo(clinical_only, surgeon_user)
    _set_with_photo(nothing, surgeon_user)

    assert sorted(i.pk for i in selectors.teaching_items()) == sorted(i.pk for i in keep)

    client.force_login(surgeon_user)
    response = client.get(reverse("photos:teaching_export"))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert len(names) == 2 and sorted(n.split("-", 1)[1] for n in names) == ["lip_pucker.jpg", "smile.jpg"]


def test_consent_page_records_and_withdraws(patient, surgeon_user, client):
    client.force_login(surgeon_user)
    url = reverse("photos:consent", args=[patient.pk])
    response = client.post(url, {"level": "teaching_no_face", "given_on": timezone.localdate().isoformat()})
    assert response.status_code == 302
    consent = selectors.current_consent(patient_id=patient.pk)
    assert consent.level == "teaching_no_face"
    assert "Teaching, face not shown" in client.get(url).content.decode()
    client.post(reverse("photos:consent_withdraw", args=[consent.pk]), {"reason": "asked"})
    assert selectors.current_consent(patient_id=patient.pk) is None


def test_a_merge_moves_photographs_and_renumbers_the_duplicates_consents(patient, surgeon_user, manager_user):
    import time_machine

    from patients.services import patient_merge

    duplicate = PatientFactory()
    today = timezone.localdate()
    with time_machine.travel(timezone.now() - timedelta(days=300)):
        services.photo_consent_record(
            patient=duplicate,
            actor=surgeon_user,
            level="teaching_no_face",
            given_on=today - timedelta(days=300),
        )
    with time_machine.travel(timezone.now() - timedelta(days=200)):
        services.photo_consent_record(
            patient=patient,
            actor=surgeon_user,
            level="teaching_with_face",
            given_on=today - timedelta(days=200),
        )
    services.photo_consent_record(patient=duplicate, actor=surgeon_user, level="clinical", given_on=today)
    item = _set_with_photo(duplicate, surgeon_user)

    patient_merge(survivor=patient, duplicate=duplicate, actor=manager_user)

    item.refresh_from_db()
    assert item.photo_set.patient_id == patient.pk
    # One numbering, in the order the consents were recorded: the latest is in force.
    versions = list(patient.photo_consents.order_by("version").values_list("version", "level"))
    assert versions == [(1, "teaching_no_face"), (2, "teaching_with_face"), (3, "clinical")]
    assert selectors.current_consent(patient_id=patient.pk).level == "clinical"
