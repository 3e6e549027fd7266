"""The face diagram's points on injection rows: bounds from the model field, the side convention
(the patient's right on the viewer's left), the API round trip, the pages and the FHIR export."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from clinic.configuration import field_bounds
from clinic.errors import Invalid
from insight import fhir_codes
from tests.factories import PatientFactory
from treatments import face_diagram, forms, serializers
from treatments.exceptions import DiagramPointIncomplete, DiagramSideMismatch
from treatments.models import Injection, Muscle, Side

from .factories import ToxinLotFactory, injection, record_toxin

pytestmark = pytest.mark.django_db


def marked(muscle, side, x, y, units="2.5", points=1) -> dict:
    return {**injection(muscle, side, units, points), "diagram_x": Decimal(x), "diagram_y": Decimal(y)}


def test_every_muscle_has_a_region_on_each_side():
    assert sorted(r.muscle for r in face_diagram.REGIONS) == sorted(Muscle.values)
    assert [side for side, _ in face_diagram.SIDES] == [Side.RIGHT, Side.LEFT]


def test_the_form_and_the_api_take_the_model_fields_bounds():
    for name in ("diagram_x", "diagram_y"):
        low, high = field_bounds(Injection, name)
        assert (low, high) == (Decimal(0), Decimal(1))
        form_field = forms.InjectionForm.base_fields[name]
        assert (form_field.min_value, form_field.max_value) == (low, high)
        api_field = serializers.InjectionSerializer().fields[name]
        assert (api_field.min_value, api_field.max_value) == (low, high)


def test_a_marked_map_is_stored_with_its_points(patient, injector_user):
    session = record_toxin(
        patient,
        injector_user,
        injections=[
            marked("depressor_anguli_oris", "left", "0.64", "0.77"),
            marked("frontalis", "right", "0.3", "0.2"),
            marked("procerus", "left", "0.5", "0.3"),  # the midline belongs to both sides
            injection("mentalis", "right"),  # a row need not be marked
        ],
    )
    points = {(r.muscle, r.side): (r.diagram_x, r.diagram_y) for r in session.injections.all()}
    assert points == {
        ("depressor_anguli_oris", "left"): (Decimal("0.640"), Decimal("0.770")),
        ("frontalis", "right"): (Decimal("0.300"), Decimal("0.200")),
        ("procerus", "left"): (Decimal("0.500"), Decimal("0.300")),
        ("mentalis", "right"): (None, None),
    }


def test_a_point_on_the_other_half_of_the_face_is_refused(patient, injector_user):
    # Front view: x < 0.5 is the patient's right. A left-side row marked there is a slip.
    with pytest.raises(DiagramSideMismatch) as excinfo:
        record_toxin(
            patient,
            injector_user,
            injections=[
                marked("frontalis", "right", "0.2", "0.2"),
                marked("depressor_anguli_oris", "left", "0.36", "0.77"),
            ],
        )
    assert excinfo.value.code == "diagram_side_mismatch"
    errors = excinfo.value.fields["injections"]
    assert errors[0] == {}
    assert "right half" in errors[1]["diagram_x"][0]


def test_half_a_point_is_refused(patient, injector_user):
    row = {**injection("mentalis", "left"), "diagram_x": Decimal("0.6"), "diagram_y": None}
    with pytest.raises(DiagramPointIncomplete) as excinfo:
        record_toxin(patient, injector_user, injections=[row])
    assert excinfo.value.code == "diagram_point_incomplete"
    assert list(excinfo.value.fields["injections"][0]) == ["diagram_y"]


def test_a_point_off_the_diagram_is_refused_by_the_service_too(patient, injector_user):
    with pytest.raises(Invalid) as excinfo:
        record_toxin(patient, injector_user, injections=[marked("mentalis", "left", "1.2", "0.5")])
    assert excinfo.value.code == "invalid"
    assert excinfo.value.fields["injections"][0]["diagram_x"] == ["Must be from 0 to 1."]


def test_the_database_refuses_a_point_on_the_wrong_half(patient, injector_user):
    session = record_toxin(patient, injector_user)
    row = session.injections.filter(side="left").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Injection.objects.filter(pk=row.pk).update(diagram_x=Decimal("0.2"), diagram_y=Decimal("0.5"))


# --- API -----------------------------------------------------------------------------------------


def _payload(patient, lot, injections):
    return {
        "patient": patient.pk,
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "product": lot.product,
        "lot": lot.pk,
        "dilution_ml": "2.5",
        "injections": injections,
    }


def test_api_round_trip_of_the_points(injector, patient):
    lot = ToxinLotFactory()
    rows = [
        {
            "muscle": "depressor_anguli_oris",
            "side": "left",
            "units": "4",
            "diagram_x": "0.64",
            "diagram_y": "0.771",
        },
        {"muscle": "mentalis", "side": "right", "units": "2"},
    ]
    created = injector.post("/api/v1/toxin-sessions/", _payload(patient, lot, rows), format="json")
    assert created.status_code == 201, created.json()
    body = injector.get(f"/api/v1/toxin-sessions/{created.json()['id']}/").json()
    assert [(r["muscle"], r["diagram_x"], r["diagram_y"]) for r in body["injections"]] == [
        ("depressor_anguli_oris", "0.640", "0.771"),
        ("mentalis", None, None),
    ]
    # Written back as read, the map is unchanged.
    again = injector.patch(
        f"/api/v1/toxin-sessions/{created.json()['id']}/", {"injections": body["injections"]}, format="json"
    )
    assert again.status_code == 200, again.json()
    assert again.json()["injections"] == body["injections"]


@pytest.mark.parametrize(
    ("row", "code", "field"),
    [
        ({"diagram_x": "1.5", "diagram_y": "0.5"}, "invalid", "diagram_x"),
        ({"diagram_x": "0.6", "diagram_y": "-0.1"}, "invalid", "diagram_y"),
        ({"diagram_x": "0.6"}, "diagram_point_incomplete", "diagram_y"),
        ({"diagram_x": "0.2", "diagram_y": "0.5"}, "diagram_side_mismatch", "diagram_x"),
    ],
)
def test_api_refuses_bad_points_with_a_code(injector, patient, row, code, field):
    rows = [{"muscle": "mentalis", "side": "left", "units": "2", **row}]
    response = injector.post(
        "/api/v1/toxin-sessions/", _payload(patient, ToxinLotFactory(), rows), format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    errors = body["fields"]["injections"]
    # The serializer names rows by index ("0"); the service's rule lists them.
    assert field in (errors["0"] if isinstance(errors, dict) else errors[0])


# --- Pages ---------------------------------------------------------------------------------------


def test_the_form_draws_the_face_beside_the_table_and_repeats_points_without_javascript(
    injector_user, client
):
    patient = PatientFactory(affected_side="left")
    record_toxin(
        patient,
        injector_user,
        occurred_at=timezone.now() - timedelta(days=100),
        injections=[marked("depressor_anguli_oris", "left", "0.64", "0.77")],
    )
    client.force_login(injector_user)
    page = client.get(f"/clinical/toxin/new/?patient={patient.pk}&repeat=last").content.decode()
    assert page.count("data-region ") == 2 * len(Muscle.values)
    assert 'aria-label="Add Depressor anguli oris (DAO), left"' in page
    assert "data-formset-body" in page and "data-face-diagram" in page
    assert 'name="injections-0-diagram_x" value="0.640"' in page
    assert 'name="injections-0-diagram_y" value="0.770"' in page
    assert 'id="face-previous"' in page


def test_a_refused_point_is_shown_on_its_row(injector_user, client):
    patient = PatientFactory()
    lot = ToxinLotFactory()
    client.force_login(injector_user)
    data = {
        "occurred_at": timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "product": lot.product,
        "lot": lot.pk,
        "dilution_ml": "2.5",
        "note": "",
        "injections-TOTAL_FORMS": "1",
        "injections-INITIAL_FORMS": "0",
        "injections-0-muscle": "mentalis",
        "injections-0-side": "left",
        "injections-0-units": "2",
        "injections-0-points": "1",
        "injections-0-diagram_x": "0.2",
        "injections-0-diagram_y": "0.8",
    }
    response = client.post(f"/clinical/toxin/new/?patient={patient.pk}", data)
    assert response.status_code == 200
    assert "on the patient&#x27;s right half of the face" in response.content.decode()
    assert not Injection.objects.exists()


def test_the_saved_record_draws_one_point_per_marked_row(injector_user, client):
    patient = PatientFactory(affected_side="right")
    session = record_toxin(
        patient,
        injector_user,
        injections=[marked("frontalis", "right", "0.3", "0.2", units="6"), injection("mentalis", "left")],
    )
    client.force_login(injector_user)
    page = client.get(f"/clinical/encounters/{session.pk}/").content.decode()
    assert page.count("data-marker ") == 1
    assert 'transform="translate(120.0 104.0)"' in page
    assert "Frontalis (right): 6 U" in page
    assert ">6 U</text>" in page


# --- FHIR ----------------------------------------------------------------------------------------


def test_fhir_administrations_carry_the_points(surgeon, surgeon_user, patient):
    record_toxin(
        patient,
        surgeon_user,
        injections=[marked("depressor_anguli_oris", "left", "0.64", "0.77"), injection("mentalis", "right")],
    )
    bundle = surgeon.get(f"/api/v1/fhir/Patient/{patient.pk}/$everything").json()
    Bundle.model_validate(bundle)
    sites = {
        e["resource"]["dosage"]["site"]["coding"][0]["code"]: e["resource"]["dosage"]["site"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationAdministration"
    }
    point = [
        x
        for x in sites["depressor_anguli_oris"]["extension"]
        if x["url"] == fhir_codes.EXT_FACE_DIAGRAM_POINT
    ]
    assert point == [
        {
            "url": fhir_codes.EXT_FACE_DIAGRAM_POINT,
            "extension": [{"url": "x", "valueDecimal": 0.64}, {"url": "y", "valueDecimal": 0.77}],
        }
    ]
    assert all(x["url"] != fhir_codes.EXT_FACE_DIAGRAM_POINT for x in sites["mentalis"]["extension"])
