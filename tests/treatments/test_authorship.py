"""Who wrote an encounter: the author is the user who records it, set once and never changed;
only the author signs."""

import pytest

from clinic.audit import AuditEvent
from clinic.errors import Invalid
from treatments import services
from treatments.exceptions import NotTheClinician
from treatments.models import Encounter

from .factories import ToxinLotFactory, injection, record_toxin
from .test_api_encounters import toxin_payload
from .test_pages import toxin_post

pytestmark = pytest.mark.django_db


# --- The author is the recorder ----------------------------------------------------------------


def test_the_recorder_is_the_author(patient, injector_user):
    session = record_toxin(patient, injector_user)
    assert session.encounter.clinician == injector_user
    assert session.encounter.created_by == injector_user


def test_the_service_takes_no_author_on_recording(patient, injector_user, surgeon_user):
    with pytest.raises(Invalid) as excinfo:
        record_toxin(patient, injector_user, clinician=surgeon_user)
    assert "clinician" in excinfo.value.fields
    assert not Encounter.objects.exists()


def test_the_service_takes_no_author_on_editing(patient, injector_user, surgeon_user):
    session = record_toxin(patient, injector_user)
    with pytest.raises(Invalid) as excinfo:
        services.encounter_update(
            services.TOXIN, detail=session, actor=injector_user, data={"clinician": surgeon_user}
        )
    assert "clinician" in excinfo.value.fields
    assert Encounter.objects.get(pk=session.pk).clinician == injector_user


def test_api_refuses_recording_on_behalf_of_someone_else(injector, injector_user, surgeon_user, patient):
    payload = toxin_payload(patient, ToxinLotFactory(), clinician=surgeon_user.pk)
    response = injector.post("/api/v1/toxin-sessions/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["clinician"]
    assert not Encounter.objects.exists()


def test_api_author_is_the_requesting_user(injector, injector_user, patient):
    response = injector.post(
        "/api/v1/toxin-sessions/", toxin_payload(patient, ToxinLotFactory()), format="json"
    )
    assert response.status_code == 201
    assert response.json()["clinician"]["id"] == injector_user.pk


def test_api_refuses_changing_the_author_of_a_draft(injector, injector_user, surgeon_user, patient):
    session = record_toxin(patient, injector_user)
    response = injector.patch(
        f"/api/v1/toxin-sessions/{session.pk}/", {"clinician": surgeon_user.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid", "unknown_field")
    assert response.json()["fields"]["clinician"]
    assert Encounter.objects.get(pk=session.pk).clinician == injector_user


def test_api_schema_has_the_author_read_only(client, surgeon_user):
    client.force_login(surgeon_user)
    schema = client.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    for name in ("ToxinSessionRequest", "PatchedToxinSessionRequest", "ConsultationRequest"):
        assert "clinician" not in components[name]["properties"], name
    assert "clinician" in components["ToxinSession"]["properties"]


def test_another_clinician_may_edit_a_draft_but_the_author_stays(
    surgeon, surgeon_user, injector_user, patient
):
    session = record_toxin(patient, injector_user)
    response = surgeon.patch(
        f"/api/v1/toxin-sessions/{session.pk}/",
        {"note": "Reviewed with the injector", "injections": [injection("platysma", units="10")]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["clinician"]["id"] == injector_user.pk
    encounter = Encounter.objects.get(pk=session.pk)
    assert (encounter.clinician, encounter.note) == (injector_user, "Reviewed with the injector")
    assert AuditEvent.objects.get(action="toxin.updated", target_id=str(session.pk)).actor == surgeon_user


def test_a_clinician_who_edited_someone_elses_draft_still_cannot_sign_it(surgeon, injector_user, patient):
    session = record_toxin(patient, injector_user)
    surgeon.patch(f"/api/v1/toxin-sessions/{session.pk}/", {"note": "Edited"}, format="json")
    response = surgeon.post(f"/api/v1/toxin-sessions/{session.pk}/sign/")
    assert response.status_code == 403
    assert response.json()["code"] == "not_encounter_clinician"
    assert not Encounter.objects.get(pk=session.pk).is_signed


def test_editing_someone_elses_draft_on_the_page_keeps_the_author(
    client, surgeon_user, injector_user, patient
):
    session = record_toxin(patient, injector_user)
    client.force_login(surgeon_user)
    response = client.post(
        f"/clinical/encounters/{session.pk}/edit/", toxin_post(session.lot, note="By surgeon")
    )
    assert response.status_code == 302
    encounter = Encounter.objects.get(pk=session.pk)
    assert (encounter.clinician, encounter.note) == (injector_user, "By surgeon")
    with pytest.raises(NotTheClinician):
        services.encounter_sign(encounter=encounter, actor=surgeon_user)
