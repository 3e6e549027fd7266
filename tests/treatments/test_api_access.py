"""Who may use which clinical endpoint, and list endpoints whose query count does not grow."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import PatientFactory
from treatments import services

from .factories import (
    SUNNYBROOK_NORMAL,
    ToxinLotFactory,
    record_consultation,
    record_surgery,
    record_therapy,
    record_toxin,
)

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "treatment-plans",
    "encounters",
    "consultations",
    "follow-ups",
    "toxin-sessions",
    "therapy-visits",
    "surgeries",
    "assessments",
    "toxin-lots",
    "toxin-dose-limits",
]
CLINICAL = [e for e in ENDPOINTS if e not in ("toxin-lots", "toxin-dose-limits")]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_front_desk_gets_no_clinical_endpoint(front_desk, endpoint):
    assert front_desk.get(f"/api/v1/{endpoint}/").status_code == 403
    assert front_desk.post(f"/api/v1/{endpoint}/", {}, format="json").status_code in (403, 405)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_gets_401(anon_api, endpoint):
    assert anon_api.get(f"/api/v1/{endpoint}/").status_code == 401


@pytest.mark.parametrize("endpoint", CLINICAL)
def test_manager_has_no_clinical_access(manager, endpoint):
    assert manager.get(f"/api/v1/{endpoint}/").status_code == 403


@pytest.mark.parametrize("endpoint", ["toxin-lots", "toxin-dose-limits"])
def test_manager_reads_the_lot_register(manager, endpoint):
    assert manager.get(f"/api/v1/{endpoint}/").status_code == 200


@pytest.mark.parametrize("role", ["surgeon", "injector", "therapist"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_clinicians_read_every_clinical_endpoint(request, role, endpoint):
    assert request.getfixturevalue(role).get(f"/api/v1/{endpoint}/").status_code == 200


# Who may write where: an empty payload answers 400 past the permission check, 403 before it.
WRITE_MATRIX = {
    "toxin-sessions": {"surgeon": 400, "injector": 400, "therapist": 403, "manager": 403},
    "therapy-visits": {"surgeon": 403, "injector": 403, "therapist": 400, "manager": 403},
    "surgeries": {"surgeon": 400, "injector": 403, "therapist": 403, "manager": 403},
    "consultations": {"surgeon": 400, "injector": 400, "therapist": 400, "manager": 403},
    "follow-ups": {"surgeon": 400, "injector": 400, "therapist": 400, "manager": 403},
    "treatment-plans": {"surgeon": 400, "injector": 400, "therapist": 400, "manager": 403},
    "assessments": {"surgeon": 400, "injector": 400, "therapist": 400, "manager": 403},
    "toxin-lots": {"surgeon": 403, "injector": 403, "therapist": 403, "manager": 400},
}


@pytest.mark.parametrize(
    ("endpoint", "role", "expected"),
    [(e, r, code) for e, roles in WRITE_MATRIX.items() for r, code in roles.items()],
)
def test_write_access_follows_capabilities(request, endpoint, role, expected):
    response = request.getfixturevalue(role).post(f"/api/v1/{endpoint}/", {}, format="json")
    assert response.status_code == expected


def test_therapist_cannot_sign_or_amend_a_toxin_session(therapist, injector_user, patient):
    session = record_toxin(patient, injector_user)
    assert therapist.post(f"/api/v1/toxin-sessions/{session.pk}/sign/").status_code == 403
    assert therapist.post(f"/api/v1/toxin-sessions/{session.pk}/addenda/", {"text": "x"}).status_code == 403


# --- Query counts ------------------------------------------------------------------------------


def _plan(patient, user):
    return services.plan_create(
        patient=patient,
        actor=user,
        data={
            "goals": "Better smile",
            "modalities": ["toxin"],
            "stages": [{"modality": "toxin", "description": "x"}],
        },
    )


def _assessment(patient, user):
    return services.assessment_record(
        patient=patient,
        instrument="sunnybrook",
        items=SUNNYBROOK_NORMAL,
        assessed_at=timezone.now(),
        actor=user,
    )


def _follow_up(patient, user):
    return services.follow_up_record(
        patient=patient,
        actor=user,
        data={"occurred_at": timezone.now() - timedelta(hours=1), "response": "better"},
    )


def _signed_toxin_with_addendum(patient, user):
    session = record_toxin(patient, user)
    services.encounter_sign(encounter=session.encounter, actor=user)
    services.encounter_add_addendum(encounter=session.encounter, actor=user, text="Checked")
    return session


BUILDERS = {
    "toxin-sessions": ("injector", _signed_toxin_with_addendum),
    "therapy-visits": ("therapist", record_therapy),
    "surgeries": ("surgeon", record_surgery),
    "consultations": ("surgeon", record_consultation),
    "follow-ups": ("surgeon", _follow_up),
    "encounters": ("injector", _signed_toxin_with_addendum),
    "treatment-plans": ("surgeon", _plan),
    "assessments": ("surgeon", _assessment),
}


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("endpoint", list(BUILDERS))
def test_list_query_count_does_not_grow_with_rows(request, endpoint):
    role, build = BUILDERS[endpoint]
    client, user = request.getfixturevalue(role), request.getfixturevalue(f"{role}_user")
    build(PatientFactory(), user)
    client.get(f"/api/v1/{endpoint}/")  # warm the user's permission cache
    one = _count(client, f"/api/v1/{endpoint}/")
    for _ in range(19):
        build(PatientFactory(), user)
    twenty = _count(client, f"/api/v1/{endpoint}/")
    assert len(client.get(f"/api/v1/{endpoint}/").json()["results"]) == 20
    assert twenty == one


def test_lot_list_and_recall_query_counts_do_not_grow(injector, injector_user):
    lot = ToxinLotFactory()
    record_toxin(PatientFactory(), injector_user, lot=lot)
    injector.get("/api/v1/toxin-lots/")
    injector.get(f"/api/v1/toxin-lots/{lot.pk}/patients/")  # warm caches (permissions, content types)
    one = (
        _count(injector, "/api/v1/toxin-lots/"),
        _count(injector, f"/api/v1/toxin-lots/{lot.pk}/patients/"),
    )
    for _ in range(19):
        ToxinLotFactory()
        record_toxin(PatientFactory(), injector_user, lot=lot)
    twenty = (
        _count(injector, "/api/v1/toxin-lots/"),
        _count(injector, f"/api/v1/toxin-lots/{lot.pk}/patients/"),
    )
    assert len(injector.get(f"/api/v1/toxin-lots/{lot.pk}/patients/").json()) == 20
    assert twenty == one


@pytest.mark.parametrize("value", ["abc", "99999999999999999999999", "-1", "1.5"])
@pytest.mark.parametrize("endpoint", ["encounters", "toxin-sessions", "assessments", "treatment-plans"])
def test_bad_filter_values_answer_400_not_500(surgeon, endpoint, value):
    response = surgeon.get(f"/api/v1/{endpoint}/?patient={value}")
    assert response.status_code == 400
    assert "patient" in response.json()["fields"]


def test_dose_limit_list_query_count_is_fixed(injector):
    injector.get("/api/v1/toxin-dose-limits/")
    assert _count(injector, "/api/v1/toxin-dose-limits/") == _count(injector, "/api/v1/toxin-dose-limits/")
