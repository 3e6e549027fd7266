"""Who wrote an encounter: the author is the user who records it, set once and never changed;
only the author signs; another clinician co-signs as an explicit, audited, append-only act."""

import pytest
from django.db import IntegrityError, transaction

from clinic.audit import AuditEvent
from clinic.errors import Invalid
from treatments import services
from treatments.exceptions import (
    AlreadyCosigned,
    CosignByAuthor,
    CosignNotAllowed,
    NotTheClinician,
    RecordNotSigned,
)
from treatments.models import Cosignature, Encounter

from .factories import ToxinLotFactory, injection, record_consultation, record_toxin
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


# --- Co-signing --------------------------------------------------------------------------------


@pytest.fixture
def signed_session(patient, injector_user):
    session = record_toxin(patient, injector_user)
    services.encounter_sign(encounter=session.encounter, actor=injector_user)
    return session


def test_another_clinician_cosigns_a_signed_record(signed_session, surgeon_user, injector_user):
    cosignature = services.encounter_cosign(
        encounter=signed_session.encounter, actor=surgeon_user, note="Doses reviewed"
    )
    assert (cosignature.cosigned_by, cosignature.note) == (surgeon_user, "Doses reviewed")
    assert cosignature.cosigned_at is not None
    encounter = Encounter.objects.get(pk=signed_session.pk)
    assert (encounter.clinician, encounter.signed_by) == (injector_user, injector_user)
    event = AuditEvent.objects.get(action="encounter.cosigned")
    assert event.actor == surgeon_user
    assert event.target_id == str(signed_session.pk)
    assert event.patient_id == signed_session.encounter.patient_id
    assert event.changes == {"cosignature": cosignature.pk, "note": "Doses reviewed"}


def test_a_draft_cannot_be_cosigned(patient, injector_user, surgeon_user):
    session = record_toxin(patient, injector_user)
    with pytest.raises(RecordNotSigned):
        services.encounter_cosign(encounter=session.encounter, actor=surgeon_user, note="")
    assert not Cosignature.objects.exists()


def test_the_author_cannot_cosign(signed_session, injector_user):
    with pytest.raises(CosignByAuthor) as excinfo:
        services.encounter_cosign(encounter=signed_session.encounter, actor=injector_user, note="")
    assert (excinfo.value.code, excinfo.value.status) == ("cosign_by_author", 409)


def test_only_a_clinician_who_may_record_the_kind_cosigns(signed_session, therapist_user, manager_user):
    for user in (therapist_user, manager_user):
        with pytest.raises(CosignNotAllowed) as excinfo:
            services.encounter_cosign(encounter=signed_session.encounter, actor=user, note="")
        assert excinfo.value.status == 403
    assert not Cosignature.objects.exists()


def test_a_clinician_cosigns_once(signed_session, surgeon_user):
    services.encounter_cosign(encounter=signed_session.encounter, actor=surgeon_user, note="")
    with pytest.raises(AlreadyCosigned):
        services.encounter_cosign(encounter=signed_session.encounter, actor=surgeon_user, note="again")
    assert Cosignature.objects.count() == 1


def test_cosignatures_are_append_only_in_the_database(signed_session, surgeon_user):
    cosignature = services.encounter_cosign(encounter=signed_session.encounter, actor=surgeon_user, note="")
    for operation in (
        lambda: Cosignature.objects.filter(pk=cosignature.pk).update(note="rewritten"),
        lambda: Cosignature.objects.filter(pk=cosignature.pk).delete(),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            operation()


def test_api_cosign_answers_the_record_with_its_cosignature(
    surgeon, surgeon_user, injector_user, signed_session
):
    response = surgeon.post(
        f"/api/v1/toxin-sessions/{signed_session.pk}/cosign/", {"note": "Agree"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "signed"
    assert body["clinician"]["id"] == injector_user.pk
    assert [(c["cosigned_by"]["id"], c["note"]) for c in body["cosignatures"]] == [(surgeon_user.pk, "Agree")]
    listed = surgeon.get(f"/api/v1/toxin-sessions/{signed_session.pk}/").json()
    assert listed["cosignatures"][0]["cosigned_by"]["id"] == surgeon_user.pk


@pytest.mark.parametrize(
    ("persona", "status", "code"),
    [("injector", 409, "cosign_by_author"), ("therapist", 403, None)],
)
def test_api_cosign_refusals(request, signed_session, persona, status, code):
    response = request.getfixturevalue(persona).post(
        f"/api/v1/toxin-sessions/{signed_session.pk}/cosign/", {}, format="json"
    )
    assert response.status_code == status
    if code:
        assert response.json()["code"] == code
    assert not Cosignature.objects.exists()


def test_api_cosign_of_a_draft_answers_409(surgeon, injector_user, patient):
    session = record_toxin(patient, injector_user)
    response = surgeon.post(f"/api/v1/toxin-sessions/{session.pk}/cosign/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "record_not_signed"


def test_api_cosign_twice_answers_409(surgeon, signed_session):
    surgeon.post(f"/api/v1/toxin-sessions/{signed_session.pk}/cosign/", {}, format="json")
    response = surgeon.post(f"/api/v1/toxin-sessions/{signed_session.pk}/cosign/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_cosigned"


def test_api_cosign_on_another_kind(surgeon, surgeon_user, patient):
    consultation = record_consultation(patient, surgeon_user)
    services.encounter_sign(encounter=consultation.encounter, actor=surgeon_user)
    response = surgeon.post(f"/api/v1/consultations/{consultation.pk}/cosign/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "cosign_by_author"


def test_cosign_button_on_the_encounter_page(client, surgeon_user, injector_user, signed_session):
    client.force_login(injector_user)
    assert (
        ">Co-sign</button>" not in client.get(f"/clinical/encounters/{signed_session.pk}/").content.decode()
    )
    client.force_login(surgeon_user)
    page = client.get(f"/clinical/encounters/{signed_session.pk}/").content.decode()
    assert ">Co-sign</button>" in page
    response = client.post(f"/clinical/encounters/{signed_session.pk}/cosign/", {"note": "Seen"})
    assert response.status_code == 302
    assert Cosignature.objects.get().cosigned_by == surgeon_user
    page = client.get(f"/clinical/encounters/{signed_session.pk}/").content.decode()
    assert ">Co-sign</button>" not in page
    assert "Co-signed" in page and surgeon_user.display_name in page


def test_cosign_page_refusal_is_shown(client, injector_user, signed_session):
    client.force_login(injector_user)
    response = client.post(f"/clinical/encounters/{signed_session.pk}/cosign/", {"note": ""})
    assert response.status_code == 409
    assert not Cosignature.objects.exists()
