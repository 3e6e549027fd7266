"""FHIR R4B export of a patient's record: the resources other systems (hospital EPRs, registries,
research exports) can read without knowing this clinic's schema.

Mapping (R4B 4.3.0; every resource is also valid R4):
- Patient <- patients.Patient (MRN as identifier); the GP as ``generalPractitioner`` (contained
  Practitioner and Organization built from the GP fields), the emergency contact in ``contact``.
- Condition <- the facial palsy history on the patient record (side, cause, onset).
- AllergyIntolerance <- each entry of the patient's allergy list; MedicationStatement <- each
  entry of the medication list (and the anticoagulant flag).
- Practitioner and PractitionerRole <- the staff user behind every clinician, rater and author.
- Appointment <- scheduling.Appointment.
- Encounter <- treatments.Encounter (every kind; the kind is Encounter.type), its status from the
  record's real state (see ``encounter_status``), its reason the palsy Condition.
- Procedure <- treatments.Procedure (one per procedure of a surgery).
- MedicationAdministration <- treatments.Injection (one per row of an injection map), the toxin
  as a contained Medication whose ``batch`` is the vial's lot and expiry.
- Observation <- treatments.Assessment: the instrument is the code, every raw item a component
  (the stored items, never only a total), the computed scores components too.
- CarePlan <- treatments.TreatmentPlan with one activity per stage.
- Consent <- consents.PatientConsent (built in consents.fhir).
- Media <- photos.MediaItem (built in photos.fhir), ready photographs and videos only.

Codes come from standard terminologies where a checked code exists (insight.fhir_codes,
documented in docs/fhir.md); the clinic's own codes (instrument items, muscles, ...) only where
there is none. Laterality is a SNOMED CT qualifier, never packed into a local code.

Reads are one query per resource type whatever the record's size (see ``patient_everything``).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q

from consents.fhir import consent_resources
from patients.models import Patient
from photos.fhir import media_resource, patient_media, ready_media
from scheduling import clock
from scheduling.models import Appointment
from treatments import instruments
from treatments.models import (
    Assessment,
    Encounter,
    Injection,
    Procedure,
    Product,
    TreatmentPlan,
)

from . import fhir_codes as codes
from .terminology import Terminology, terminology_load

CODE_SYSTEM_BASE = codes.LOCAL_BASE
MRN_SYSTEM = "urn:clinic:mrn"
ACT_CODE = codes.ACT_CODE
FHIR_VERSION = "4.3.0"
# When what the server answers (CapabilityStatement) last changed: change it with the routes.
CAPABILITY_STATEMENT_DATE = "2026-12-07"

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


def _coding(system: str, code: str, display: str = "") -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _code(system: str, code: str, display: str = "", *, standard: dict | None = None) -> dict:
    """A CodeableConcept in one of the clinic's local code systems (fhir_codes.LOCAL_SYSTEMS),
    after its ``standard`` coding where there is one."""
    local = _coding(codes.local_system(system), code, display)
    return {"coding": [standard, local] if standard else [local], "text": display or code}


def _ref(resource_type: str, pk) -> dict:
    return {"reference": f"{resource_type}/{pk}"}


def _practitioner_ref(user) -> dict:
    """A reference to the Practitioner of a staff user, with their name for readers that do not
    follow references."""
    return {"reference": f"Practitioner/{user.pk}", "display": user.display_name}


def _instant(value) -> str:
    return value.isoformat()


def _laterality(side: str) -> dict:
    code, display = codes.LATERALITY[side]
    return {
        "url": codes.EXT_LATERALITY,
        "valueCodeableConcept": {"coding": [_coding(codes.SNOMED, code, display)]},
    }


def _site(
    system: str, code: str, display: str, side: str | None, terminology: Terminology | None = None
) -> dict:
    """A body site: the structure's code (SNOMED CT where the clinic has mapped it, always the
    local one) and, where the record has a side, its SNOMED CT laterality qualifier in an
    extension (the structure code itself stays unlateralised)."""
    standard = terminology.standard(system, code, "snomed") if terminology else None
    site = {"coding": [*([standard] if standard else []), _coding(codes.local_system(system), code, display)]}
    if side:
        site["extension"] = [_laterality(side)]
        site["text"] = f"{display}, {codes.LATERALITY[side][1].lower()}"
    else:
        site["text"] = display
    return site


# --- Resources ---------------------------------------------------------------------------------


def _split_list(text: str) -> list[str]:
    """The entries of a free-text list on the patient record (one a line, or comma/semicolon
    separated), as written."""
    return [entry.strip(" .") for entry in re.split(r"[\n;,]+", text or "") if entry.strip(" .")]


NO_KNOWN_ALLERGY = re.compile(r"^(nka|nkda|none( known)?|no known( drug)? allerg(y|ies))$", re.IGNORECASE)


def _gp_resources(patient: Patient) -> tuple[list[dict], list[dict]]:
    """(contained resources, generalPractitioner references) for the patient's GP fields."""
    contained, refs = [], []
    if patient.gp_practice:
        contained.append({"resourceType": "Organization", "id": "gp-practice", "name": patient.gp_practice})
        refs.append({"reference": "#gp-practice", "display": patient.gp_practice})
    if patient.gp_name:
        contained.append({"resourceType": "Practitioner", "id": "gp", "name": [{"text": patient.gp_name}]})
        refs.append({"reference": "#gp", "display": patient.gp_name})
    return contained, refs


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
    contained, gp_refs = _gp_resources(patient)
    if contained:
        resource["contained"] = contained
    if patient.preferred_name:
        resource["name"].append({"use": "usual", "given": [patient.preferred_name]})
    telecom = []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if patient.mobile:
        telecom.append({"system": "phone", "use": "mobile", "value": str(patient.mobile)})
    if telecom:
        resource["telecom"] = telecom
    if patient.inactive_reason == Patient.InactiveReason.DECEASED:
        resource["deceasedBoolean"] = True
    lines = [line for line in (patient.address_line1, patient.address_line2) if line]
    address = {k: v for k, v in (("city", patient.city), ("postalCode", patient.postcode)) if v}
    if lines:
        address["line"] = lines
    if patient.country:
        address["country"] = patient.country
    if address:
        resource["address"] = [address]
    if patient.emergency_contact_name or patient.emergency_contact_phone:
        contact = {
            "relationship": [
                {
                    "coding": [_coding(codes.CONTACT_RELATIONSHIP, "C", "Emergency Contact")],
                    "text": "Emergency contact",
                }
            ]
        }
        if patient.emergency_contact_name:
            contact["name"] = {"text": patient.emergency_contact_name}
        if patient.emergency_contact_phone:
            contact["telecom"] = [{"system": "phone", "value": str(patient.emergency_contact_phone)}]
        resource["contact"] = [contact]
    if gp_refs:
        resource["generalPractitioner"] = gp_refs
    if patient.language:
        resource["communication"] = [
            {"language": {"coding": [_coding("urn:ietf:bcp:47", patient.language)]}, "preferred": True}
        ]
    return resource


def has_palsy_condition(patient: Patient) -> bool:
    return bool(patient.affected_side or patient.palsy_cause)


def condition_resource(patient: Patient) -> dict:
    """The facial palsy (the diagnosis the clinic treats) from the patient's palsy history. Its
    id is the patient's: a patient has one palsy history."""
    cause = patient.palsy_cause
    cause_label = patient.get_palsy_cause_display() if cause else ""
    # The most specific checked SNOMED CT disorder: the cause's own (Bell's palsy), else facial
    # palsy; the cause as recorded in the local code beside it.
    code, display = codes.PALSY_CAUSE_SNOMED.get(cause, codes.FACIAL_PALSY)
    codings = [_coding(codes.SNOMED, code, display)]
    if cause:
        codings.append(_coding(codes.local_system("palsy-cause"), cause, cause_label))
    text = f"Facial palsy ({cause_label})" if cause else "Facial palsy"
    resource = {
        "resourceType": "Condition",
        "id": str(patient.pk),
        "clinicalStatus": {"coding": [_coding(codes.CONDITION_CLINICAL, "active", "Active")]},
        "verificationStatus": {"coding": [_coding(codes.CONDITION_VERIFICATION, "confirmed", "Confirmed")]},
        "category": [
            {"coding": [_coding(codes.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]}
        ],
        "code": {"coding": codings, "text": text},
        "subject": _ref("Patient", patient.pk),
        "recordedDate": _instant(patient.created_at),
    }
    if patient.affected_side:
        resource["bodySite"] = [_site("facial-region", "facial_nerve", "Facial nerve", patient.affected_side)]
    if patient.palsy_onset_date:
        resource["onsetDateTime"] = patient.palsy_onset_date.isoformat()
    if patient.palsy_cause_detail:
        resource["note"] = [{"text": patient.palsy_cause_detail}]
    return resource


@dataclass(frozen=True)
class ListDates:
    """When the patient's allergy and medication lists last changed (from the record's history)."""

    allergies: datetime | None = None
    medications: datetime | None = None


def list_dates(patient: Patient) -> ListDates:
    """One query on the patient's history: the time each list took its current text."""
    rows = list(
        Patient.history.filter(id=patient.pk)
        .order_by("-history_date", "-history_id")
        .values_list("history_date", "allergies", "medications")
    )

    def since(index: int, current: str) -> datetime | None:
        moment = None
        for row in rows:
            if row[index] != current:
                break
            moment = row[0]
        return moment

    return ListDates(allergies=since(1, patient.allergies), medications=since(2, patient.medications))


def allergy_resources(patient: Patient, dates: ListDates) -> list[dict]:
    resources = []
    for n, entry in enumerate(_split_list(patient.allergies), start=1):
        code: dict = {"text": entry}
        resource = {
            "resourceType": "AllergyIntolerance",
            "id": f"{patient.pk}-{n}",
            "clinicalStatus": {"coding": [_coding(codes.ALLERGY_CLINICAL, "active", "Active")]},
            "code": code,
            "patient": _ref("Patient", patient.pk),
        }
        if NO_KNOWN_ALLERGY.match(entry):
            # "No known allergies" is a statement, not an allergy to a substance "none".
            code["coding"] = [_coding(codes.SNOMED, *codes.NO_KNOWN_ALLERGY)]
        else:
            words = set(re.findall(r"[a-z]+", entry.lower()))
            for word, (sct, display, category) in codes.ALLERGY_SUBSTANCE_SNOMED.items():
                if word in words:
                    code["coding"] = [_coding(codes.SNOMED, sct, display)]
                    resource["category"] = [category]
                    break
        if dates.allergies:
            resource["recordedDate"] = _instant(dates.allergies)
        resources.append(resource)
    return resources


def medication_statement_resources(patient: Patient, dates: ListDates) -> list[dict]:
    entries = [(str(n), entry) for n, entry in enumerate(_split_list(patient.medications), start=1)]
    if patient.on_anticoagulants:
        entries.append(("anticoagulant", "Anticoagulant (recorded as taken; product not recorded)"))
    resources = []
    for key, entry in entries:
        resource = {
            "resourceType": "MedicationStatement",
            "id": f"{patient.pk}-{key}",
            "status": "active",
            "medicationCodeableConcept": {"text": entry},
            "subject": _ref("Patient", patient.pk),
        }
        if dates.medications:
            resource["dateAsserted"] = _instant(dates.medications)
        resources.append(resource)
    return resources


def practitioner_resource(user) -> dict:
    name = {"family": user.last_name or user.get_username()}
    if user.first_name:
        name["given"] = [user.first_name]
    if user.title:
        name["prefix"] = [user.title]
    name["text"] = user.display_name
    return {"resourceType": "Practitioner", "id": str(user.pk), "active": user.is_active, "name": [name]}


def practitioner_role_resource(user) -> dict:
    """The staff member's roles in the clinic (one PractitionerRole per user, same id)."""
    resource = {
        "resourceType": "PractitionerRole",
        "id": str(user.pk),
        "active": user.is_active,
        "practitioner": _practitioner_ref(user),
    }
    roles = user.role_names
    if roles:
        resource["code"] = [_code("staff-role", role, role.replace("_", " ").capitalize()) for role in roles]
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
            {"actor": _practitioner_ref(appointment.provider.user), "status": "accepted"},
            {"actor": {"display": appointment.room.name}, "status": "accepted"},
        ],
    }


def encounter_status(encounter: Encounter, *, today: date | None = None) -> str:
    """R4B Encounter.status from the record's real state.

    - Signed: the contact happened and its note is final: ``finished``.
    - A draft dated in the future: ``planned``.
    - A draft of the current clinic day: the contact may still be going on: ``in-progress``.
    - A draft of an earlier day: the contact is over, only its write-up is not signed: the
      encounter is ``finished`` and the unsigned note is said by a ``record-status`` tag.
    """
    if encounter.is_signed:
        return "finished"
    today = today or clock.local_today()
    day = clock.local(encounter.occurred_at).date()
    if day > today:
        return "planned"
    if day == today:
        return "in-progress"
    return "finished"


def encounter_resource(encounter: Encounter, *, palsy_condition: bool = False) -> dict:
    resource = {
        "resourceType": "Encounter",
        "id": str(encounter.pk),
        "status": encounter_status(encounter),
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "type": [_code("encounter-kind", encounter.kind, encounter.get_kind_display())],
        "subject": _ref("Patient", encounter.patient_id),
        "participant": [{"individual": _practitioner_ref(encounter.clinician)}],
        "period": {"start": _instant(encounter.occurred_at)},
    }
    if not encounter.is_signed:
        resource["meta"] = {"tag": [_coding(codes.local_system("record-status"), "draft", "Unsigned draft")]}
    surgery = getattr(encounter, "surgery", None) if encounter.kind == Encounter.Kind.SURGERY else None
    if surgery is not None:
        resource["period"] = {"start": _instant(surgery.started_at), "end": _instant(surgery.ended_at)}
    if encounter.appointment_id:
        resource["appointment"] = [_ref("Appointment", encounter.appointment_id)]
    # The reason for the contact is the palsy being treated, not the note's summary.
    if palsy_condition:
        resource["reasonReference"] = [_ref("Condition", encounter.patient_id)]
    return resource


def procedure_resource(
    procedure: Procedure, encounter: Encounter, terminology: Terminology | None = None
) -> dict:
    terminology = terminology or terminology_load()
    surgery = procedure.surgery
    if procedure.muscle:
        site = _site("muscle", procedure.muscle, procedure.get_muscle_display(), surgery.side, terminology)
    else:
        site = {
            "extension": [_laterality(surgery.side)],
            "text": f"Face, {surgery.get_side_display().lower()}",
        }
    resource = {
        "resourceType": "Procedure",
        "id": str(procedure.pk),
        "status": "completed",
        "code": _code(
            "procedure",
            procedure.kind,
            procedure.get_kind_display(),
            standard=terminology.standard("procedure", procedure.kind, "snomed"),
        ),
        "subject": _ref("Patient", encounter.patient_id),
        "encounter": _ref("Encounter", encounter.pk),
        "performedPeriod": {"start": _instant(surgery.started_at), "end": _instant(surgery.ended_at)},
        "performer": [{"actor": _practitioner_ref(encounter.clinician)}],
        "bodySite": [site],
    }
    if procedure.kind in codes.PROCEDURE_SNOMED:
        code, display = codes.PROCEDURE_SNOMED[procedure.kind]
        resource["code"]["coding"].insert(0, _coding(codes.SNOMED, code, display))
    notes = [
        text
        for text in (
            procedure.detail,
            procedure.branches_divided and f"Branches divided: {procedure.branches_divided}",
            procedure.branches_preserved and f"Branches preserved: {procedure.branches_preserved}",
            procedure.approach and f"Approach: {procedure.get_approach_display()}",
            (procedure.function_test_smile or procedure.function_test_eye_closure)
            and f"Function test: smile {procedure.function_test_smile or 'not recorded'}, "
            f"eye closure {procedure.function_test_eye_closure or 'not recorded'}",
            procedure.donor_muscle and f"Donor muscle: {procedure.get_donor_muscle_display()}",
            procedure.donor_nerve and f"Donor nerve: {procedure.get_donor_nerve_display()}",
        )
        if text
    ]
    if procedure.gold_weight_grams:
        implant = f"Gold eyelid weight {procedure.gold_weight_grams} g, lot {procedure.implant_lot}"
        resource["focalDevice"] = [{"manipulated": {"display": implant}}]
        notes.append(implant)
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    return resource


def medication_code(product: str, terminology: Terminology) -> dict:
    """The toxin product: the clinic's terminology (dm+d or RxNorm) where a checked or mapped
    code exists, always the local product code and its name."""
    label = Product(product).label
    standard = terminology.medicine(product)
    local = _coding(codes.local_system("toxin-product"), product, label)
    return {"coding": [standard, local] if standard else [local], "text": label}


def _face_diagram_point(injection: Injection) -> dict | None:
    """The injection's point on the face diagram (front view, x from the viewer's left, which is
    the patient's right; y from the top), or None when it was not marked."""
    if injection.diagram_x is None or injection.diagram_y is None:
        return None
    return {
        "url": codes.EXT_FACE_DIAGRAM_POINT,
        "extension": [
            {"url": "x", "valueDecimal": float(injection.diagram_x)},
            {"url": "y", "valueDecimal": float(injection.diagram_y)},
        ],
    }


def _injection_site(injection: Injection, terminology: Terminology) -> dict:
    site = _site("muscle", injection.muscle, injection.get_muscle_display(), injection.side, terminology)
    point = _face_diagram_point(injection)
    if point is not None:
        site.setdefault("extension", []).append(point)
    return site


def medication_administration_resource(
    injection: Injection, session, encounter: Encounter, *, terminology: Terminology | None = None
) -> dict:
    terminology = terminology or terminology_load()
    lot = session.lot
    label = Product(session.product).label
    toxin_code, toxin_display = codes.PROCEDURE_SNOMED["toxin_injection"]
    route_code, route_display = codes.ROUTE_INTRAMUSCULAR
    return {
        "resourceType": "MedicationAdministration",
        "id": str(injection.pk),
        # The vial (product, lot, expiry) travels with each administration: a lot recall must
        # find it in any system that imported this bundle.
        "contained": [
            {
                "resourceType": "Medication",
                "id": "toxin",
                "code": medication_code(session.product, terminology),
                "batch": {"lotNumber": lot.lot_number, "expirationDate": lot.expiry_date.isoformat()},
            }
        ],
        "status": "completed",
        "category": {"coding": [_coding(codes.SNOMED, toxin_code, toxin_display)]},
        "medicationReference": {"reference": "#toxin"},
        "subject": _ref("Patient", encounter.patient_id),
        "context": _ref("Encounter", encounter.pk),
        "effectiveDateTime": _instant(encounter.occurred_at),
        "performer": [{"actor": _practitioner_ref(encounter.clinician)}],
        "dosage": {
            "site": _injection_site(injection, terminology),
            "route": {"coding": [_coding(codes.SNOMED, route_code, route_display)]},
            # Units are the product's own biological units: UCUM's arbitrary unit, never
            # convertible; the product is the Medication's code.
            "dose": {
                "value": float(injection.units),
                "unit": f"units of {label}",
                "system": codes.UCUM,
                "code": codes.TOXIN_UNIT,
            },
            "text": f"{injection.units} units of {label} in {injection.points} point(s)",
        },
    }


def _item_component(instrument: str, key: str, value, definition) -> dict:
    label = key
    if definition is not None:
        item = next((i for i in definition.items if i.key == key), None)
        label = item.label if item else key
    component = {"code": _code("instrument-item", f"{instrument}.{key}", label)}
    if isinstance(value, bool) or not isinstance(value, int):
        component["valueString"] = str(value)
    else:
        component["valueInteger"] = value
    return component


def _score(value) -> dict:
    return {"value": value, "unit": "score", "system": codes.UCUM, "code": codes.SCORE_UNIT}


def observation_resource(assessment: Assessment) -> dict:
    definition = instruments.get(assessment.instrument)
    name = definition.name if definition else assessment.instrument
    components = [
        _item_component(assessment.instrument, key, value, definition)
        for key, value in assessment.items.items()
    ]
    for key, value in assessment.scores.items():
        label = (
            definition.score(key).label if definition and key in {s.key for s in definition.scores} else key
        )
        components.append(
            {
                "code": _code("instrument-score", f"{assessment.instrument}.{key}", f"{label} score"),
                "valueQuantity": _score(value),
            }
        )
    code = _code("instrument", assessment.instrument, name)
    if assessment.instrument in codes.INSTRUMENT_LOINC:
        code["coding"].insert(0, _coding(codes.LOINC, *codes.INSTRUMENT_LOINC[assessment.instrument]))
    resource = {
        "resourceType": "Observation",
        "id": str(assessment.pk),
        "status": "final" if assessment.status == Assessment.Status.RECORDED else "entered-in-error",
        "category": [{"coding": [_coding(codes.OBSERVATION_CATEGORY, "survey", "Survey")]}],
        "code": code,
        "subject": _ref("Patient", assessment.patient_id),
        "effectiveDateTime": _instant(assessment.assessed_at),
        "component": components,
        "method": {"text": f"Formula {assessment.formula_version}"},
    }
    if definition is not None and definition.trend_score in assessment.scores:
        resource["valueQuantity"] = _score(assessment.scores[definition.trend_score])
    if assessment.encounter_id:
        resource["encounter"] = _ref("Encounter", assessment.encounter_id)
    if assessment.rater_id:
        resource["performer"] = [_practitioner_ref(assessment.rater)]
    elif assessment.rater_kind == Assessment.RaterKind.PATIENT:
        resource["performer"] = [_ref("Patient", assessment.patient_id)]
    if assessment.side:
        resource["bodySite"] = _site("facial-region", "face", "Face", assessment.side)
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
        "author": _practitioner_ref(plan.author),
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


def _users():
    return get_user_model().objects.prefetch_related("groups")


def _encounters():
    return Encounter.objects.select_related("clinician", "toxin_session__lot", "surgery").prefetch_related(
        Prefetch("toxin_session__injections", queryset=Injection.objects.order_by("position", "id")),
        Prefetch("surgery__procedures", queryset=Procedure.objects.select_related("surgery")),
    )


def _encounter_resources(
    encounter: Encounter, *, palsy_condition: bool, terminology: Terminology
) -> list[dict]:
    resources = [encounter_resource(encounter, palsy_condition=palsy_condition)]
    if encounter.kind == Encounter.Kind.TOXIN and hasattr(encounter, "toxin_session"):
        resources += [
            medication_administration_resource(i, encounter.toxin_session, encounter, terminology=terminology)
            for i in encounter.toxin_session.injections.all()
        ]
    if encounter.kind == Encounter.Kind.SURGERY and hasattr(encounter, "surgery"):
        procedures = encounter.surgery.procedures.all()
        resources += [procedure_resource(p, encounter, terminology) for p in procedures]
    return resources


@dataclass
class Everything:
    patient: Patient
    resources: list[dict]


def _patient_level(patient: Patient) -> list[dict]:
    """The resources built from the patient record itself: Condition, allergies, medications."""
    resources = [condition_resource(patient)] if has_palsy_condition(patient) else []
    if patient.allergies or patient.medications or patient.on_anticoagulants:
        dates = list_dates(patient)
        resources += allergy_resources(patient, dates)
        resources += medication_statement_resources(patient, dates)
    return resources


def patient_everything(*, patient: Patient) -> Everything:
    """Every resource of one patient: a fixed number of queries (one per table)."""
    terminology = terminology_load()
    palsy = has_palsy_condition(patient)
    resources = [patient_resource(patient), *_patient_level(patient)]
    staff_ids: set[int] = set()
    appointments = list(
        Appointment.objects.filter(patient=patient)
        .select_related("appointment_type", "provider__user", "room")
        .order_by("starts_at", "id")
    )
    resources += [appointment_resource(a) for a in appointments]
    staff_ids |= {a.provider.user_id for a in appointments}
    for encounter in _encounters().filter(patient=patient).order_by("occurred_at", "id"):
        resources += _encounter_resources(encounter, palsy_condition=palsy, terminology=terminology)
        staff_ids.add(encounter.clinician_id)
    assessments = list(
        Assessment.objects.filter(patient=patient).select_related("rater").order_by("assessed_at", "id")
    )
    resources += [observation_resource(a) for a in assessments]
    staff_ids |= {a.rater_id for a in assessments if a.rater_id}
    plans = list(
        TreatmentPlan.objects.filter(patient=patient)
        .select_related("author")
        .prefetch_related("stages")
        .order_by("created_at", "id")
    )
    resources += [care_plan_resource(p) for p in plans]
    staff_ids |= {p.author_id for p in plans}
    # Procedure consents (consents.fhir) and photographs (photos.fhir): one query each.
    resources += consent_resources(patient_id=patient.pk)
    resources += patient_media(patient)
    # Every clinician the record names, once: who they are and their roles.
    for user in _users().filter(pk__in=staff_ids).order_by("pk"):
        resources += [practitioner_resource(user), practitioner_role_resource(user)]
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


def search_bundle(*, resources: list[dict], base_url: str, self_url: str) -> dict:
    """A searchset Bundle of search matches."""
    base_url = base_url.rstrip("/")
    result = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
    }
    if not resources:
        return result  # FHIR JSON has no empty arrays
    return {
        **result,
        "entry": [
            {
                "fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
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
        qs = _encounters().select_related("patient")
        return (
            qs,
            lambda e: encounter_resource(e, palsy_condition=has_palsy_condition(e.patient)),
            lambda e: e.patient_id,
        )
    if resource_type == "Observation":
        return Assessment.objects.select_related("rater"), observation_resource, lambda a: a.patient_id
    if resource_type == "CarePlan":
        qs = TreatmentPlan.objects.select_related("author").prefetch_related("stages")
        return qs, care_plan_resource, lambda p: p.patient_id
    if resource_type == "MedicationAdministration":
        qs = Injection.objects.select_related("session__encounter__clinician", "session__lot")
        return (
            qs,
            lambda i: medication_administration_resource(
                i, i.session, i.session.encounter, terminology=terminology_load()
            ),
            (lambda i: i.session.encounter.patient_id),
        )
    if resource_type == "Procedure":
        qs = Procedure.objects.select_related("surgery__encounter__clinician")
        return (
            qs,
            lambda p: procedure_resource(p, p.surgery.encounter),
            lambda p: p.surgery.encounter.patient_id,
        )
    if resource_type == "Condition":
        qs = Patient.objects.filter(~_no_palsy())
        return qs, condition_resource, lambda p: p.pk
    if resource_type == "Practitioner":
        return _users(), practitioner_resource, lambda u: None
    if resource_type == "PractitionerRole":
        return _users(), practitioner_role_resource, lambda u: None
    if resource_type == "Media":
        return ready_media(), media_resource, lambda i: i.photo_set.patient_id
    return None


def _no_palsy():
    return Q(affected_side="") & Q(palsy_cause="")


READABLE_TYPES = (
    "Patient",
    "Appointment",
    "Encounter",
    "Observation",
    "CarePlan",
    "MedicationAdministration",
    "Procedure",
    "Condition",
    "Practitioner",
    "PractitionerRole",
    "Media",
)


# Types built from the lists on the patient record: id ``{patient}-{entry}``.
LIST_TYPES = ("AllergyIntolerance", "MedicationStatement")


def list_entry_read(*, resource_type: str, patient_pk: int, entry: str) -> dict | None:
    """One AllergyIntolerance or MedicationStatement by its id ``{patient}-{entry}``."""
    patient = Patient.objects.filter(pk=patient_pk).first()
    if patient is None:
        return None
    wanted = f"{patient_pk}-{entry}"
    return next(
        (r for r in _patient_level(patient) if r["resourceType"] == resource_type and r["id"] == wanted),
        None,
    )


def resource_read(*, resource_type: str, pk: int) -> tuple[dict, int | None] | None:
    """One resource by type and id, and the patient it belongs to (None for staff); None if
    there is none."""
    spec = _single(resource_type)
    if spec is None:
        return None
    queryset, build, patient_of = spec
    row = queryset.filter(pk=pk).first()
    if row is None:
        return None
    return build(row), patient_of(row)


# --- Search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateBound:
    """One ``date`` search parameter as an instant comparison: ``prefix`` against [start, end)."""

    prefix: str
    start: datetime
    end: datetime

    def matches(self, moment: datetime) -> bool:
        if self.prefix == "eq":
            return self.start <= moment < self.end
        if self.prefix == "ge":
            return moment >= self.start
        if self.prefix == "gt":
            return moment >= self.end
        if self.prefix == "le":
            return moment < self.end
        return moment < self.start  # lt

    def lookups(self, field: str) -> dict:
        if self.prefix == "eq":
            return {f"{field}__gte": self.start, f"{field}__lt": self.end}
        if self.prefix == "ge":
            return {f"{field}__gte": self.start}
        if self.prefix == "gt":
            return {f"{field}__gte": self.end}
        if self.prefix == "le":
            return {f"{field}__lt": self.end}
        return {f"{field}__lt": self.start}


# Search: resource type -> (the date a row is searched by (ORM path), FHIR's own name for it).
# Every type also answers ``date`` (the name the clinic's clients use for all of them).
SEARCH_DATES = {
    "Appointment": ("starts_at", "date"),
    "Encounter": ("occurred_at", "date"),
    "Observation": ("assessed_at", "date"),
    "CarePlan": ("created_at", "date"),
    "MedicationAdministration": ("session__encounter__occurred_at", "effective-time"),
    "Procedure": ("surgery__started_at", "date"),
    "Condition": ("recordedDate", "recorded-date"),
    "AllergyIntolerance": ("recordedDate", "date"),
    "MedicationStatement": ("dateAsserted", "effective"),
}
SEARCHABLE_TYPES = ("Patient", *SEARCH_DATES)


def _moment(value: str) -> datetime:
    """A FHIR dateTime as an aware datetime (midnight in the clinic's zone for a date)."""
    if "T" not in value:
        return clock.at(date.fromisoformat(value), datetime.min.time())
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _row_moment(resource: dict, element: str) -> datetime | None:
    value = resource.get(element)
    if value is None:
        return None
    moment = _moment(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.clinic_tz())


def search(*, resource_type: str, patient_id: int, dates: list[DateBound]) -> list[dict]:
    """The patient's resources of one type whose date matches every bound, oldest first."""
    if resource_type == "Patient":
        patient = Patient.objects.filter(pk=patient_id).first()
        return [patient_resource(patient)] if patient else []
    field, _ = SEARCH_DATES[resource_type]
    if resource_type in ("Condition", "AllergyIntolerance", "MedicationStatement"):
        patient = Patient.objects.filter(pk=patient_id).first()
        if patient is None:
            return []
        resources = [r for r in _patient_level(patient) if r["resourceType"] == resource_type]
        return [r for r in resources if all(_dated_match(r, field, bound) for bound in dates)]
    lookups: dict = {}
    for bound in dates:
        for key, value in bound.lookups(field).items():
            # Two bounds on one side: the tighter one wins.
            if key in lookups:
                value = max(value, lookups[key]) if key.endswith("gte") else min(value, lookups[key])
            lookups[key] = value
    if resource_type == "Appointment":
        rows = Appointment.objects.select_related("appointment_type", "provider__user", "room").filter(
            patient_id=patient_id, **lookups
        )
        return [appointment_resource(a) for a in rows.order_by("starts_at", "id")]
    if resource_type == "Encounter":
        palsy = Patient.objects.filter(pk=patient_id).exclude(_no_palsy()).exists()
        rows = _encounters().filter(patient_id=patient_id, **lookups).order_by("occurred_at", "id")
        return [encounter_resource(e, palsy_condition=palsy) for e in rows]
    if resource_type == "Observation":
        rows = Assessment.objects.select_related("rater").filter(patient_id=patient_id, **lookups)
        return [observation_resource(a) for a in rows.order_by("assessed_at", "id")]
    if resource_type == "CarePlan":
        rows = TreatmentPlan.objects.select_related("author").prefetch_related("stages")
        rows = rows.filter(patient_id=patient_id, **lookups).order_by("created_at", "id")
        return [care_plan_resource(p) for p in rows]
    if resource_type == "MedicationAdministration":
        terminology = terminology_load()
        rows = Injection.objects.select_related("session__encounter__clinician", "session__lot").filter(
            session__encounter__patient_id=patient_id, **lookups
        )
        return [
            medication_administration_resource(i, i.session, i.session.encounter, terminology=terminology)
            for i in rows.order_by("session__encounter__occurred_at", "position", "id")
        ]
    rows = Procedure.objects.select_related("surgery__encounter__clinician").filter(
        surgery__encounter__patient_id=patient_id, **lookups
    )
    terminology = terminology_load()
    return [
        procedure_resource(p, p.surgery.encounter, terminology)
        for p in rows.order_by("surgery__started_at", "position", "id")
    ]


def _dated_match(resource: dict, element: str, bound: DateBound) -> bool:
    moment = _row_moment(resource, element)
    return moment is not None and bound.matches(moment)


# --- CapabilityStatement -----------------------------------------------------------------------


def capability_statement(*, base_url: str, software: str) -> dict:
    """What this server answers: reads, searches by patient and date, Patient $everything."""

    def search_params(resource_type: str) -> list[dict]:
        if resource_type == "Patient":
            return [{"name": "_id", "type": "token", "documentation": "The patient's id (required)."}]
        _, own = SEARCH_DATES[resource_type]
        params = [
            {"name": "patient", "type": "reference", "documentation": "The patient (required)."},
            {"name": "date", "type": "date", "documentation": "Prefixes eq, ge, gt, le, lt; repeatable."},
        ]
        if own != "date":
            params.append({"name": own, "type": "date", "documentation": "The same as date."})
        return params

    resources = []
    for resource_type in sorted({*READABLE_TYPES, *LIST_TYPES, *SEARCHABLE_TYPES}):
        interactions = []
        if resource_type in READABLE_TYPES or resource_type in LIST_TYPES:
            interactions.append({"code": "read"})
        if resource_type in SEARCHABLE_TYPES:
            interactions.append({"code": "search-type"})
        entry = {"type": resource_type, "interaction": interactions}
        if resource_type in SEARCHABLE_TYPES:
            entry["searchParam"] = search_params(resource_type)
        if resource_type == "Patient":
            entry["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }
            ]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": CAPABILITY_STATEMENT_DATE,
        "kind": "instance",
        "software": {"name": software},
        "implementation": {"description": "Facial palsy clinic record, FHIR R4B export", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read-only. Every request needs a clinician's session or API token.",
                "security": {"description": "Session or API token (Authorization: Token or Bearer)."},
                "resource": resources,
            }
        ],
    }
