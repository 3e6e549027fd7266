"""Everything the clinic holds about one patient, as JSON: the answer to a subject-access
request (GDPR art. 15, HIPAA right of access).

It lives in the top app because it reads every app's records. Each entry below is a model and
the path from it to the patient; tests/security/test_patient_export.py fails when a model that
belongs to a patient is missing here.
"""

from django.core import serializers
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.audit import audit_changes_for, audit_record, may_read_clinical
from clinic.models import AuditEvent
from clinic.permissions import is_staff_member
from clinic.throttling import AuditedRateThrottle
from intake.models import ConsultationRequest
from landmarks.models import FaceLandmarks
from letters.models import Letter, LetterDelivery
from mdt.models import MdtItem, MdtTask
from patients.models import MessagingConsent, Patient
from scheduling.models import (
    Appointment,
    AppointmentEvent,
    Message,
    Recall,
    RecallContact,
    WaitlistEntry,
    WaitlistOffer,
)
from treatments import models as t

# (section, model, lookup from the model to the patient's id). Order is the export's order.
SECTIONS = [
    ("consents", MessagingConsent, "patient_id"),
    ("appointments", Appointment, "patient_id"),
    ("appointment_events", AppointmentEvent, "appointment__patient_id"),
    ("recalls", Recall, "patient_id"),
    ("recall_contacts", RecallContact, "recall__patient_id"),
    ("waitlist_entries", WaitlistEntry, "patient_id"),
    ("waitlist_offers", WaitlistOffer, "entry__patient_id"),
    ("messages", Message, "patient_id"),
    ("consultation_requests", ConsultationRequest, "patient_id"),
    ("treatment_plans", t.TreatmentPlan, "patient_id"),
    ("plan_stages", t.PlanStage, "plan__patient_id"),
    ("plan_agreements", t.PlanAgreement, "plan__patient_id"),
    ("encounters", t.Encounter, "patient_id"),
    ("addenda", t.Addendum, "encounter__patient_id"),
    ("cosignatures", t.Cosignature, "encounter__patient_id"),
    ("consultations", t.Consultation, "encounter__patient_id"),
    ("follow_ups", t.FollowUp, "encounter__patient_id"),
    ("toxin_sessions", t.ToxinSession, "encounter__patient_id"),
    ("injections", t.Injection, "session__encounter__patient_id"),
    ("therapy_visits", t.TherapyVisit, "encounter__patient_id"),
    ("home_exercises", t.HomeExercise, "visit__encounter__patient_id"),
    ("programme_checkins", t.ProgrammeCheckIn, "patient_id"),
    ("synkinesis_patterns", t.SynkinesisPattern, "visit__encounter__patient_id"),
    ("injector_recommendations", t.InjectorRecommendation, "visit__encounter__patient_id"),
    ("surgeries", t.Surgery, "encounter__patient_id"),
    ("procedures", t.Procedure, "surgery__encounter__patient_id"),
    ("complications", t.Complication, "surgery__encounter__patient_id"),
    ("follow_up_plan_items", t.FollowUpPlanItem, "surgery__encounter__patient_id"),
    ("stimulated_branches", t.StimulatedBranch, "surgery__encounter__patient_id"),
    ("interval_findings", t.IntervalFinding, "patient_id"),
    ("assessments", t.Assessment, "patient_id"),
    ("letters", Letter, "patient_id"),
    ("letter_deliveries", LetterDelivery, "letter__patient_id"),
    ("mdt_items", MdtItem, "patient_id"),
    ("mdt_tasks", MdtTask, "item__patient_id"),
    ("face_landmarks", FaceLandmarks, "media_item__photo_set__patient_id"),
    ("audit_events", AuditEvent, "patient_id"),
]

# The sections someone without clinical access (``view_clinical``) receives: the
# administrative record, as the front desk and the practice manager see it elsewhere. Every other
# section is clinical, and so is any section added later until it is listed here.
ADMINISTRATIVE_SECTIONS = frozenset(
    {
        "consents",
        "appointments",
        "appointment_events",
        "recalls",
        "recall_contacts",
        "waitlist_entries",
        "waitlist_offers",
        "messages",
        "consultation_requests",
        "audit_events",  # which fields changed, not their values (clinic.audit.audit_changes_for)
    }
)

# A subject-access request is answered by the practice (managers) or by the clinicians.
EXPORT_PERMISSIONS = ("clinic.view_clinical", "clinic.view_audit")

# Exports of a whole record, counted together against the ``export`` rate.
EXPORT_ACTIONS = ("patient.exported", "fhir.patient_exported")

SCOPE_FULL = "full"
SCOPE_ADMINISTRATIVE = "administrative"


def _rows(queryset) -> list[dict]:
    return [
        {"id": row["pk"], **row["fields"]}
        for row in serializers.serialize("python", queryset.order_by("pk"), use_natural_foreign_keys=False)
    ]


def patient_export(*, patient: Patient, clinical: bool) -> dict:
    """The record held about ``patient``: all of it with ``clinical``, else the demographics and
    the administrative sections, and a statement of what was left out."""
    scope = SCOPE_FULL if clinical else SCOPE_ADMINISTRATIVE
    data: dict = {"scope": scope, "omitted_sections": [], "omitted_fields": []}
    demographics = _rows(Patient.objects.filter(pk=patient.pk))[0]
    if not clinical:
        omitted = [name for name in Patient.CLINICAL_FIELDS if name in demographics]
        data["omitted_fields"] = [f"patient.{name}" for name in omitted]
        demographics = {k: v for k, v in demographics.items() if k not in Patient.CLINICAL_FIELDS}
    data["patient"] = demographics
    for section, model, lookup in SECTIONS:
        if not clinical and section not in ADMINISTRATIVE_SECTIONS:
            data["omitted_sections"].append(section)
            continue
        data[section] = _rows(model.objects.filter(**{lookup: patient.pk}))
    if not clinical:
        for event in data["audit_events"]:  # the chain's link columns go with the row, as stored
            event["changes"] = audit_changes_for(event["changes"], clinical=False)
            event["changes_withheld"] = True
    if data["omitted_sections"] or data["omitted_fields"]:
        data["notice"] = (
            "Administrative record only: clinical sections and fields are omitted for staff without "
            "clinical access, and audit events name the fields that changed without their values."
        )
    return data


THROTTLED = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description="Too many exports by this user (``throttled``; the ``export`` rate, EXPORT_RATE): "
    "wait for the seconds in Retry-After.",
)


class PatientExportView(APIView):
    """Everything held about one patient (subject-access request), as JSON. Audited.

    Clinicians (``view_clinical``) receive the whole record (``scope`` ``full``). The practice
    manager receives the demographics and the administrative record (``scope``
    ``administrative``): ``omitted_sections`` and ``omitted_fields`` say what was left out, and
    audit events carry the names of changed fields with their values withheld. Each user may
    export at the ``export`` rate (EXPORT_RATE, 10 an hour by default), this export and the FHIR
    ``$everything`` together, counted in the audit trail; past it, 429 ``throttled``."""

    throttle_classes = [*APIView.throttle_classes, AuditedRateThrottle]
    throttle_scope = "export"
    throttle_actions = EXPORT_ACTIONS

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 429: THROTTLED})
    def get(self, request, pk: int):
        user = request.user
        if not is_staff_member(user) or not any(user.has_perm(p) for p in EXPORT_PERMISSIONS):
            raise PermissionDenied()
        patient = get_object_or_404(Patient, pk=pk)
        clinical = may_read_clinical(user)
        data = patient_export(patient=patient, clinical=clinical)
        audit_record(
            actor=user,
            action="patient.exported",
            target=patient,
            patient_id=patient.pk,
            changes={"scope": data["scope"]},
        )
        return Response(data)
