"""The clinic's code map: products, procedures and muscles mapped to dm+d, RxNorm or SNOMED CT by
the practice manager (settings page and API), checked (check digit, concept, terminology), audited,
and exported beside the local codes, in a fixed number of queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.errors import Invalid
from clinic.models import AuditEvent, ClinicSettings
from insight import fhir, fhir_codes
from insight.models import CodeMapping, verhoeff_valid
from insight.terminology import code_mapping_clear, code_mapping_set
from tests.insight.fhir_validation import problems
from tests.treatments.factories import ToxinLotFactory, record_surgery, record_toxin

pytestmark = pytest.mark.django_db

URL = "/api/v1/code-mappings/"


def sctid(body: str) -> str:
    """``body`` with the check digit that makes it pass the Verhoeff check (a test fixture, not a
    real concept)."""
    return next(body + digit for digit in "0123456789" if verhoeff_valid(body + digit))


def test_the_verhoeff_check_accepts_published_identifiers_and_catches_slips():
    # Identifiers the export already ships (fhir_codes), each with its check digit.
    for code in ("280816001", "78421000", "442695005", "716186003", "111088007"):
        assert verhoeff_valid(code), code
    # One wrong digit, and two neighbours swapped: both caught.
    assert not verhoeff_valid("280816002")
    assert not verhoeff_valid("208816001")


def _set(actor, **kw):
    data = {
        "source": "muscle",
        "local_code": "depressor_anguli_oris",
        "target": "snomed",
        "code": sctid("9912345"),
        "display": "Test structure",
        "checked_against": "test release",
        **kw,
    }
    return code_mapping_set(actor=actor, **data)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source": "drug"}, "source"),
        ({"local_code": "biceps"}, "local_code"),
        ({"target": "dmd"}, "target"),  # a muscle is a SNOMED CT body structure
        ({"source": "toxin-product", "local_code": "onabotulinumtoxinA", "target": "snomed"}, "target"),
        ({"code": "99123451"}, "code"),  # wrong check digit
        ({"code": "12a45"}, "code"),
        ({"code": "0123"}, "code"),
        ({"display": " "}, "display"),
        ({"checked_against": ""}, "checked_against"),
    ],
)
def test_a_mapping_that_cannot_be_right_is_refused_field_by_field(manager_user, change, field):
    if change.get("code") == "99123451":
        assert not verhoeff_valid("99123451")
    with pytest.raises(Invalid) as exc:
        _set(manager_user, **change)
    assert exc.value.code == "invalid"
    assert field in exc.value.fields
    assert not CodeMapping.objects.exists()


def test_rxnorm_codes_have_no_check_digit_and_a_mapping_is_replaced_not_doubled(manager_user):
    first = _set(
        manager_user, source="toxin-product", local_code="onabotulinumtoxinA", target="rxnorm", code="12345"
    )
    second = _set(
        manager_user, source="toxin-product", local_code="onabotulinumtoxinA", target="rxnorm", code="67890"
    )
    assert first.pk == second.pk
    assert CodeMapping.objects.get().code == "67890"
    assert second.history.count() == 2
    events = AuditEvent.objects.filter(action="code_mapping.set").order_by("id")
    assert [e.changes["to"]["code"] for e in events] == ["12345", "67890"]
    code_mapping_clear(mapping=second, actor=manager_user)
    assert not CodeMapping.objects.exists()
    assert AuditEvent.objects.filter(action="code_mapping.cleared").count() == 1


def _export(patient):
    return fhir.patient_everything(patient=patient).resources


def test_mapped_codes_are_exported_first_beside_the_local_ones_in_the_same_number_of_queries(
    manager_user, surgeon_user, patient, recall_types
):
    record_toxin(
        patient,
        surgeon_user,
        lot=ToxinLotFactory(product="onabotulinumtoxinA"),
        injections=[{"muscle": "depressor_anguli_oris", "side": "left", "units": Decimal("4"), "points": 1}],
    )
    record_surgery(
        patient,
        surgeon_user,
        started_at=timezone.now() - timezone.timedelta(days=30),
        procedures=[{"kind": "selective_myectomy", "muscle": "depressor_anguli_oris"}],
    )
    with CaptureQueriesContext(connection) as before:
        unmapped = _export(patient)
    administration = next(r for r in unmapped if r["resourceType"] == "MedicationAdministration")
    assert [c["system"] for c in administration["dosage"]["site"]["coding"]] == [
        fhir_codes.local_system("muscle")
    ]

    muscle = sctid("9912345")
    procedure = sctid("9954321")
    _set(manager_user, code=muscle, display="Test structure")
    _set(
        manager_user,
        source="procedure",
        local_code="selective_myectomy",
        code=procedure,
        display="Test procedure",
    )
    _set(
        manager_user,
        source="toxin-product",
        local_code="onabotulinumtoxinA",
        target="dmd",
        code=sctid("99887766"),
        display="Test product",
    )
    with CaptureQueriesContext(connection) as after:
        mapped = _export(patient)
    assert len(after) == len(before)

    administration = next(r for r in mapped if r["resourceType"] == "MedicationAdministration")
    site = administration["dosage"]["site"]["coding"]
    assert site[0] == {"system": fhir_codes.SNOMED, "code": muscle, "display": "Test structure"}
    assert site[1]["system"] == fhir_codes.local_system("muscle")
    medication = administration["contained"][0]["code"]["coding"]
    assert medication[0]["system"] == fhir_codes.DMD
    assert medication[1]["system"] == fhir_codes.local_system("toxin-product")
    surgery = next(r for r in mapped if r["resourceType"] == "Procedure")
    assert surgery["code"]["coding"][0] == {
        "system": fhir_codes.SNOMED,
        "code": procedure,
        "display": "Test procedure",
    }
    assert surgery["bodySite"][0]["coding"][0]["code"] == muscle
    # With RxNorm chosen, the dm+d product code is not sent.
    ClinicSettings.objects.update_or_create(pk=1, defaults={"medicines_terminology": "rxnorm"})
    administration = next(r for r in _export(patient) if r["resourceType"] == "MedicationAdministration")
    assert [c["system"] for c in administration["contained"][0]["code"]["coding"]] == [
        fhir_codes.local_system("toxin-product")
    ]
    bundle = fhir.bundle(resources=mapped, base_url="https://clinic.example/api/v1/fhir")
    assert problems(bundle) == []


def test_the_api_lets_the_manager_map_and_unmap_and_refuses_others_and_bad_codes(manager, front_desk):
    body = {
        "source": "procedure",
        "local_code": "dao_excision",
        "target": "snomed",
        "code": sctid("9911111"),
        "display": "Test procedure",
        "checked_against": "test release",
    }
    assert front_desk.post(URL, body, format="json").status_code == 403
    assert front_desk.get(URL).status_code == 200

    good = body["code"]
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)  # one digit off: the check catches every such slip
    bad = manager.post(URL, {**body, "code": wrong}, format="json")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid"
    assert "code" in bad.json()["fields"]

    created = manager.post(URL, body, format="json")
    assert created.status_code == 201, created.content
    row = created.json()
    assert row["code"] == body["code"]
    assert [r["id"] for r in manager.get(URL).json()] == [row["id"]]
    assert front_desk.delete(f"{URL}{row['id']}/").status_code == 403
    assert manager.delete(f"{URL}{row['id']}/").status_code == 204
    assert manager.get(URL).json() == []


def test_the_settings_page_maps_and_unmaps(login_as, manager_user):
    client = login_as(manager_user)
    page = client.get(reverse("clinic:settings"))
    assert page.status_code == 200
    assert b"Standard codes in record exports" in page.content
    code = sctid("9922222")
    response = client.post(
        reverse("insight:code_mapping_add"),
        {
            "concept": "muscle:mentalis",
            "target": "snomed",
            "code": code,
            "display": "Test structure",
            "checked_against": "test release",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert code.encode() in response.content
    row = CodeMapping.objects.get()
    assert (row.source, row.local_code, row.updated_by) == ("muscle", "mentalis", manager_user)

    refused = client.post(
        reverse("insight:code_mapping_add"),
        {"concept": "muscle:mentalis", "target": "dmd", "code": code, "display": "x", "checked_against": "y"},
        follow=True,
    )
    assert b"Code mapping not saved" in refused.content
    assert CodeMapping.objects.get().target == "snomed"

    client.post(reverse("insight:code_mapping_remove", args=[row.pk]))
    assert not CodeMapping.objects.exists()
