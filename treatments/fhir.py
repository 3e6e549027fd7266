"""FHIR R4 export of a patient's record: the resources other systems (hospital EPRs, registries,
research exports) can read without knowing this clinic's schema.

Mapping (R4, also valid R4B):
- Patient <- patients.Patient (MRN as identifier).
- Appointment <- scheduling.Appointment.
- Encounter <- treatments.Encounter (every kind; the kind is Encounter.type).
- Procedure <- treatments.Procedure (one per procedure of a surgery).
- MedicationAdministration <- treatments.Injection (one per row of an injection map), the toxin
  as a contained Medication whose ``batch`` is the vial's lot and expiry.
- Observation <- treatments.Assessment: the instrument is the code, every raw item a component
  (the stored items, never only a total), the computed scores components too.
- CarePlan <- treatments.TreatmentPlan with one activity per stage.

Codes that are the clinic's own (instrument, muscle, procedure kind) use systems under
``CODE_SYSTEM_BASE``: there is no standard code for "Sunnybrook raw item rest_eye".

Reads are one query per resource type whatever the record's size (see ``patient_everything``).
"""

from dataclasses import dataclass

from django.db.models import Prefetch

from patients.models import Patient
from scheduling.models import Appointment

from . import instruments
from .models import (
    Assessment,
    Encounter,
    Injection,
    Procedure,
    Product,
    TreatmentPlan,
)

CODE_SYSTEM_BASE = "urn:clinic:fhir:codesystem"
MRN_SYSTEM = "urn:clinic:mrn"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
UNITS_SYSTEM = "urn:clinic:fhir:codesystem:toxin-units"

APPOINTMENT_STATUS = {
    Appointment.Status.BOOKED: "booked",
    Appointment.Status.CONFIRMED: "booked",
    Appointment.Status.CHECKED_IN: "checked-in",
    Appointment.Status.COMPLETED: "fulfilled",
    Appointment.Status.CANCELLED: "cancelled",
    Appointment.Status.NO_SHOW: "noshow",
}
PLAN_STATUS = {"draft": "draft", "active": "active", "on_hold": "on-hold", "completed": "completed"}
STAGE_STATUS = {
    "planned": "not-started",
    "in_progress": "in-progress",
    "done": "completed",
    "skipped": "cancelled",
}
GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def _code(system: str, code: str, display: str = "") -> dict:
    coding = {"system": f"{CODE_SYSTEM_BASE}:{system}", "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": display or code}


def _ref(resource_type: str, pk) -> dict:
    return {"reference": f"{resource_type}/{pk}"}


def _person(user) -> dict:
    name = user.get_full_name() or user.get_username()
    return {"display": f"{user.title} {name}".strip() if getattr(user, "title", "") else name}


def _instant(value) -> str:
    return value.isoformat()


# --- Resources ---------------------------------------------------------------------------------


def patient_resource(patient: Patient) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "identifier": [{"use": "usual", "system": MRN_SYSTEM, "value": patient.mrn}],
        "active": patient.status == Patient.Status.ACTIVE,
        "name": [{"use": "official", "family": patient.last_name, "given": [patient.first_name]}],
        "gender": GENDER.get(patient.sex, "unknown"),
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if patient.preferred_name:
        resource["name"].append({"use": "usual", "given": [patient.preferred_name]})
    telecom = []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if patient.mobile:
        telecom.append({"system": "phone", "use": "mobile", "value": str(patient.mobile)})
    if telecom:
        resource["telecom"] = telecom
    lines = [line for line in (patient.address_line1, patient.address_line2) if line]
    address = {k: v for k, v in (("city", patient.city), ("postalCode", patient.postcode)) if v}
    if lines:
        address["line"] = lines
    if patient.country:
        address["country"] = patient.country
    if address:
        resource["address"] = [address]
    return resource


def appointment_resource(appointment: Appointment) -> dict:
    return {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "status": APPOINTMENT_STATUS.get(appointment.status, "booked"),
        "appointmentType": {"text": appointment.appointment_type.name},
        "serviceType": [
            _code("appointment-type", appointment.appointment_type.code, appointment.appointment_type.name)
        ],
        "start": _instant(appointment.starts_at),
        "end": _instant(appointment.ends_at),
        "participant": [
            {"actor": _ref("Patient", appointment.patient_id), "status": "accepted"},
            {"actor": _person(appointment.provider.user), "status": "accepted"},
            {"actor": {"display": appointment.room.name}, "status": "accepted"},
        ],
    }


def encounter_resource(encounter: Encounter) -> dict:
    resource = {
        "resourceType": "Encounter",
        "id": str(encounter.pk),
        # A signed note is a finished encounter; a draft is still being written up.
        "status": "finished" if encounter.is_signed else "in-progress",
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "type": [_code("encounter-kind", encounter.kind, encounter.get_kind_display())],
        "subject": _ref("Patient", encounter.patient_id),
        "participant": [{"individual": _person(encounter.clinician)}],
        "period": {"start": _instant(encounter.occurred_at)},
    }
    if encounter.appointment_id:
        resource["appointment"] = [_ref("Appointment", encounter.appointment_id)]
    if encounter.summary:
        resource["reasonCode"] = [{"text": encounter.summary}]
    return resource


def procedure_resource(procedure: Procedure, encounter: Encounter) -> dict:
    surgery = procedure.surgery
    body_site = surgery.get_side_display()
    if procedure.muscle:
        body_site = f"{procedure.get_muscle_display()}, {body_site.lower()}"
    resource = {
        "resourceType": "Procedure",
        "id": str(procedure.pk),
        "status": "completed",
        "code": _code("procedure", procedure.kind, procedure.get_kind_display()),
        "subject": _ref("Patient", encounter.patient_id),
        "encounter": _ref("Encounter", encounter.pk),
        "performedPeriod": {"start": _instant(surgery.started_at), "end": _instant(surgery.ended_at)},
        "performer": [{"actor": _person(encounter.clinician)}],
        "bodySite": [{"text": body_site}],
    }
    notes = [
        text
        for text in (
            procedure.detail,
            procedure.branches_divided and f"Branches divided: {procedure.branches_divided}",
            procedure.branches_preserved and f"Branches preserved: {procedure.branches_preserved}",
            procedure.gold_weight_grams
            and f"Gold weight {procedure.gold_weight_grams} g, lot {procedure.implant_lot}",
        )
        if text
    ]
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    return resource


def medication_administration_resource(injection: Injection, session, encounter: Encounter) -> dict:
    lot = session.lot
    return {
        "resourceType": "MedicationAdministration",
        "id": str(injection.pk),
        # The vial (product, lot, expiry) travels with each administration: a lot recall must
        # find it in any system that imported this bundle.
        "contained": [
            {
                "resourceType": "Medication",
                "id": "toxin",
                "code": _code("toxin-product", session.product, Product(session.product).label),
                "batch": {"lotNumber": lot.lot_number, "expirationDate": lot.expiry_date.isoformat()},
            }
        ],
        "status": "completed",
        "medicationReference": {"reference": "#toxin"},
        "subject": _ref("Patient", encounter.patient_id),
        "context": _ref("Encounter", encounter.pk),
        "effectiveDateTime": _instant(encounter.occurred_at),
        "performer": [{"actor": _person(encounter.clinician)}],
        "dosage": {
            "site": {
                "coding": [
                    {
                        "system": f"{CODE_SYSTEM_BASE}:muscle-side",
                        "code": f"{injection.muscle}:{injection.side}",
                    }
                ],
                "text": f"{injection.get_muscle_display()}, {injection.side}",
            },
            "route": {"text": "Intramuscular"},
            # Units are the product's own units: never comparable across products.
            "dose": {
                "value": float(injection.units),
                "unit": f"U ({Product(session.product).label})",
                "system": UNITS_SYSTEM,
                "code": session.product,
            },
            "text": f"{injection.units} U in {injection.points} point(s)",
        },
    }


def _item_component(key: str, value, definition) -> dict:
    label = key
    if definition is not None:
        item = next((i for i in definition.items if i.key == key), None)
        label = item.label if item else key
    component = {"code": _code(f"instrument-item:{definition.code if definition else 'unknown'}", key, label)}
    if isinstance(value, bool) or not isinstance(value, int):
        component["valueString"] = str(value)
    else:
        component["valueInteger"] = value
    return component


def observation_resource(assessment: Assessment) -> dict:
    definition = instruments.get(assessment.instrument)
    name = definition.name if definition else assessment.instrument
    components = [_item_component(key, value, definition) for key, value in assessment.items.items()]
    for key, value in assessment.scores.items():
        label = (
            definition.score(key).label if definition and key in {s.key for s in definition.scores} else key
        )
        components.append(
            {
                "code": _code(f"instrument-score:{assessment.instrument}", key, f"{label} score"),
                "valueQuantity": {"value": value},
            }
        )
    resource = {
        "resourceType": "Observation",
        "id": str(assessment.pk),
        "status": "final" if assessment.status == Assessment.Status.RECORDED else "entered-in-error",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "survey",
                    }
                ]
            }
        ],
        "code": _code("instrument", assessment.instrument, name),
        "subject": _ref("Patient", assessment.patient_id),
        "effectiveDateTime": _instant(assessment.assessed_at),
        "component": components,
        "method": {"text": f"Formula {assessment.formula_version}"},
    }
    if definition is not None and definition.trend_score in assessment.scores:
        resource["valueQuantity"] = {"value": assessment.scores[definition.trend_score]}
    if assessment.encounter_id:
        resource["encounter"] = _ref("Encounter", assessment.encounter_id)
    if assessment.rater_id:
        resource["performer"] = [_person(assessment.rater)]
    elif assessment.rater_kind == Assessment.RaterKind.PATIENT:
        resource["performer"] = [_ref("Patient", assessment.patient_id)]
    if assessment.side:
        resource["bodySite"] = {"text": f"Face, {assessment.get_side_display().lower()}"}
    if assessment.note:
        resource["note"] = [{"text": assessment.note}]
    return resource


def care_plan_resource(plan: TreatmentPlan) -> dict:
    resource = {
        "resourceType": "CarePlan",
        "id": str(plan.pk),
        "status": PLAN_STATUS.get(plan.status, "unknown"),
        "intent": "plan",
        "title": "Facial palsy treatment plan",
        "description": plan.goals,
        "subject": _ref("Patient", plan.patient_id),
        "created": _instant(plan.created_at),
        "author": _person(plan.author),
        "category": [
            _code("modality", m, label)
            for m, label in zip(plan.modalities, plan.modality_labels, strict=True)
        ],
    }
    activities = []
    for stage in plan.stages.all():
        detail = {
            "kind": "ServiceRequest",
            "code": _code("modality", stage.modality, stage.get_modality_display()),
            "status": STAGE_STATUS.get(stage.status, "unknown"),
            "description": stage.description,
        }
        period = {}
        if stage.target_start:
            period["start"] = stage.target_start.isoformat()
        if stage.target_end:
            period["end"] = stage.target_end.isoformat()
        if period:
            detail["scheduledPeriod"] = period
        activities.append({"detail": detail})
    if activities:
        resource["activity"] = activities
    if plan.notes:
        resource["note"] = [{"text": plan.notes}]
    return resource


# --- Queries -----------------------------------------------------------------------------------


def _encounters():
    return Encounter.objects.select_related("clinician", "toxin_session__lot", "surgery").prefetch_related(
        Prefetch("toxin_session__injections", queryset=Injection.objects.order_by("position", "id")),
        Prefetch("surgery__procedures", queryset=Procedure.objects.select_related("surgery")),
    )


def _encounter_resources(encounter: Encounter) -> list[dict]:
    resources = [encounter_resource(encounter)]
    if encounter.kind == Encounter.Kind.TOXIN and hasattr(encounter, "toxin_session"):
        resources += [
            medication_administration_resource(i, encounter.toxin_session, encounter)
            for i in encounter.toxin_session.injections.all()
        ]
    if encounter.kind == Encounter.Kind.SURGERY and hasattr(encounter, "surgery"):
        resources += [procedure_resource(p, encounter) for p in encounter.surgery.procedures.all()]
    return resources


@dataclass
class Everything:
    patient: Patient
    resources: list[dict]


def patient_everything(*, patient: Patient) -> Everything:
    """Every resource of one patient: a fixed number of queries (one per table)."""
    resources = [patient_resource(patient)]
    appointments = Appointment.objects.filter(patient=patient).select_related(
        "appointment_type", "provider__user", "room"
    )
    resources += [appointment_resource(a) for a in appointments.order_by("starts_at", "id")]
    for encounter in _encounters().filter(patient=patient).order_by("occurred_at", "id"):
        resources += _encounter_resources(encounter)
    assessments = Assessment.objects.filter(patient=patient).select_related("rater")
    resources += [observation_resource(a) for a in assessments.order_by("assessed_at", "id")]
    plans = TreatmentPlan.objects.filter(patient=patient).select_related("author").prefetch_related("stages")
    resources += [care_plan_resource(p) for p in plans.order_by("created_at", "id")]
    for extra in _EXTRA_RESOURCES.values():
        resources += extra["everything"](patient)
    return Everything(patient=patient, resources=resources)


def bundle(*, resources: list[dict], base_url: str) -> dict:
    """A searchset Bundle: the Patient is the match, everything else is included with it."""
    base_url = base_url.rstrip("/")
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [
            {
                "fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match" if r["resourceType"] == "Patient" else "include"},
            }
            for r in resources
        ],
    }


# One builder per readable resource type: (queryset, builder, patient id of a row).
def _single(resource_type: str):
    if resource_type == "Patient":
        return Patient.objects.all(), patient_resource, lambda p: p.pk
    if resource_type == "Appointment":
        qs = Appointment.objects.select_related("appointment_type", "provider__user", "room")
        return qs, appointment_resource, lambda a: a.patient_id
    if resource_type == "Encounter":
        return _encounters(), encounter_resource, lambda e: e.patient_id
    if resource_type == "Observation":
        return Assessment.objects.select_related("rater"), observation_resource, lambda a: a.patient_id
    if resource_type == "CarePlan":
        qs = TreatmentPlan.objects.select_related("author").prefetch_related("stages")
        return qs, care_plan_resource, lambda p: p.patient_id
    if resource_type == "MedicationAdministration":
        qs = Injection.objects.select_related("session__encounter__clinician", "session__lot")
        return (
            qs,
            lambda i: medication_administration_resource(i, i.session, i.session.encounter),
            (lambda i: i.session.encounter.patient_id),
        )
    if resource_type == "Procedure":
        qs = Procedure.objects.select_related("surgery__encounter__clinician")
        return (
            qs,
            lambda p: procedure_resource(p, p.surgery.encounter),
            lambda p: p.surgery.encounter.patient_id,
        )
    if resource_type in _EXTRA_RESOURCES:
        queryset, build, patient_of = _EXTRA_RESOURCES[resource_type]["single"]
        return queryset(), build, patient_of
    return None


READABLE_TYPES = (
    "Patient",
    "Appointment",
    "Encounter",
    "Observation",
    "CarePlan",
    "MedicationAdministration",
    "Procedure",
)


# Resources that higher apps add (photos' Media), registered from their AppConfig.ready():
# type -> {"everything": patient -> [resources], "single": (queryset fn, builder, patient id of a row)}.
_EXTRA_RESOURCES: dict[str, dict] = {}


def register_resource(resource_type: str, *, everything, single) -> None:
    _EXTRA_RESOURCES[resource_type] = {"everything": everything, "single": single}


def readable_types() -> tuple[str, ...]:
    """Every resource type with a read route: this module's and the registered ones."""
    return READABLE_TYPES + tuple(t for t in _EXTRA_RESOURCES if t not in READABLE_TYPES)


def resource_read(*, resource_type: str, pk: int) -> tuple[dict, int] | None:
    """One resource by type and id, and the patient it belongs to; None if there is none."""
    spec = _single(resource_type)
    if spec is None:
        return None
    queryset, build, patient_of = spec
    row = queryset.filter(pk=pk).first()
    if row is None:
        return None
    return build(row), patient_of(row)
