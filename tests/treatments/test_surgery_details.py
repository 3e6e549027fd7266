"""Structured surgery details: the DAO excision approach, the branches stimulated in a selective
neurolysis with their responses and the function test, the donor muscle and nerve of a muscle
transfer. Choices, refused item by item, kept in history, in the API, the form and FHIR."""

from datetime import timedelta

import pytest
from django.utils import timezone

from insight.fhir import procedure_resource
from treatments.models import Encounter, Procedure, StimulatedBranch

from .test_pages import local, management

pytestmark = pytest.mark.django_db

BRANCHES = [
    {"branch": "zygomatic", "response": "eye_closure", "action": "divided"},
    {"branch": "buccal", "response": "smile", "action": "preserved"},
    {"branch": "zygomatic_buccal", "response": "eye_closure_and_smile", "action": "preserved"},
]


def row_errors(body, field, index):
    """A row's errors: the serializer names rows by index ({"0": ...}), the rules as a list."""
    rows = body["fields"][field]
    return rows[str(index)] if isinstance(rows, dict) else rows[index]


def payload(patient, **changes):
    started = timezone.now() - timedelta(hours=4)
    return {
        "patient": patient.pk,
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(minutes=90)).isoformat(),
        "side": "left",
        "anaesthesia": "general",
        "procedures": [
            {"procedure": "dao_excision", "approach": "intraoral"},
            {
                "procedure": "selective_neurolysis",
                "function_test_smile": "preserved",
                "function_test_eye_closure": "weakened",
            },
            {"procedure": "muscle_transfer", "donor_muscle": "gracilis", "donor_nerve": "masseteric"},
        ],
        "stimulated_branches": BRANCHES,
        "follow_up_plan": [],
        **changes,
    }


def test_the_api_records_and_returns_the_structured_details(surgeon, patient, recall_types):
    response = surgeon.post("/api/v1/surgeries/", payload(patient), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    dao, neurolysis, transfer = body["procedures"]
    assert dao["approach"] == "intraoral"
    assert (neurolysis["function_test_smile"], neurolysis["function_test_eye_closure"]) == (
        "preserved",
        "weakened",
    )
    # The divided branch is in the structured rows: the free-text list is not needed.
    assert neurolysis["branches_divided"] == ""
    assert (transfer["donor_muscle"], transfer["donor_nerve"]) == ("gracilis", "masseteric")
    assert body["stimulated_branches"] == BRANCHES
    # History kept for every row.
    assert Procedure.history.filter(approach="intraoral").count() == 1
    assert StimulatedBranch.history.count() == 3


@pytest.mark.parametrize(
    ("procedures", "where"),
    [
        ([{"procedure": "upper_eyelid", "approach": "intraoral"}], ("procedures", 0, "approach")),
        ([{"procedure": "dao_excision", "donor_nerve": "masseteric"}], ("procedures", 0, "donor_nerve")),
        ([{"procedure": "dao_excision", "approach": "nasal"}], ("procedures", 0, "approach")),
        (
            [{"procedure": "dao_excision"}, {"procedure": "brow_lift", "function_test_smile": "preserved"}],
            ("procedures", 1, "function_test_smile"),
        ),
        ([{"procedure": "muscle_transfer", "donor_muscle": "biceps"}], ("procedures", 0, "donor_muscle")),
    ],
)
def test_a_detail_on_the_wrong_procedure_or_outside_its_choices_is_refused(
    surgeon, patient, procedures, where
):
    response = surgeon.post(
        "/api/v1/surgeries/", payload(patient, procedures=procedures, stimulated_branches=[]), format="json"
    )
    assert response.status_code == 400, response.json()
    field, index, name = where
    assert name in row_errors(response.json(), field, index)
    assert not Encounter.objects.filter(patient=patient).exists()


@pytest.mark.parametrize(
    ("branches", "expected"),
    [
        ([{"branch": "temporal_lobe", "response": "smile", "action": "divided"}], "branch"),
        ([{"branch": "buccal", "response": "laugh", "action": "divided"}], "response"),
        ([{"branch": "buccal", "response": "smile", "action": "cut"}], "action"),
    ],
)
def test_each_bad_branch_field_is_named(surgeon, patient, branches, expected):
    response = surgeon.post(
        "/api/v1/surgeries/", payload(patient, stimulated_branches=branches), format="json"
    )
    assert response.status_code == 400
    assert expected in row_errors(response.json(), "stimulated_branches", 0)


def test_branches_without_a_neurolysis_are_refused(surgeon, patient):
    response = surgeon.post(
        "/api/v1/surgeries/",
        payload(patient, procedures=[{"procedure": "dao_excision"}]),
        format="json",
    )
    assert response.status_code == 400
    assert "stimulated_branches" in response.json()["fields"]


def test_the_form_records_them_and_the_record_shows_them(client, surgeon_user, patient, recall_types):
    client.force_login(surgeon_user)
    start = timezone.now() - timedelta(hours=3)
    data = {
        "started_at": local(start),
        "ended_at": local(start + timedelta(minutes=40)),
        "side": "right",
        "anaesthesia": "local",
        **management("procedures", 2),
        "procedures-0-kind": "dao_excision",
        "procedures-0-approach": "external",
        "procedures-1-kind": "selective_neurolysis",
        "procedures-1-function_test_smile": "preserved",
        "procedures-1-function_test_eye_closure": "preserved",
        **management("stimulated_branches", 1),
        "stimulated_branches-0-branch": "zygomatic",
        "stimulated_branches-0-response": "eye_closure",
        "stimulated_branches-0-action": "divided",
        **management("complications", 0),
        **management("follow_up_plan", 0),
    }
    response = client.post(f"/clinical/surgery/new/?patient={patient.pk}", data)
    assert response.status_code == 302, response.context and response.context.get("form").errors
    encounter = Encounter.objects.get(patient=patient)
    assert encounter.surgery.procedures.get(kind="dao_excision").approach == "external"
    assert encounter.surgery.stimulated_branches.get().response == "eye_closure"
    page = client.get(f"/clinical/encounters/{encounter.pk}/")
    assert b"Approach: external (skin)" in page.content
    assert b"Branches stimulated" in page.content
    # A wrong combination comes back as a form error, nothing saved.
    data["procedures-0-kind"] = "brow_lift"
    again = client.post(f"/clinical/surgery/new/?patient={patient.pk}", data)
    assert again.status_code == 200
    assert Encounter.objects.filter(patient=patient).count() == 1


def test_fhir_procedure_carries_the_details_as_notes(surgeon, patient, recall_types):
    response = surgeon.post("/api/v1/surgeries/", payload(patient), format="json")
    encounter = Encounter.objects.get(pk=response.json()["id"])
    notes = [
        [n["text"] for n in procedure_resource(p, encounter).get("note", [])]
        for p in encounter.surgery.procedures.order_by("position")
    ]
    assert "Approach: Intraoral" in notes[0]
    assert "Function test: smile preserved, eye closure weakened" in notes[1]
    assert "Donor muscle: Gracilis (free)" in notes[2] and "Donor nerve: Nerve to masseter" in notes[2]
