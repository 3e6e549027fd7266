"""Everything the clinic holds about one patient, as JSON: the answer to a subject-access
request (GDPR art. 15, HIPAA right of access).

It lives in the top app because it reads every app's records. Each entry below is a model and
the path from it to the patient; tests/security/test_patient_export.py fails when a model that
belongs to a patient is missing here.
"""

from django.core import serializers
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.audit import audit_record
from clinic.models import AuditEvent
from clinic.permissions import is_staff_member
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

from . import models as t

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
    ("treatment_plans", t.TreatmentPlan, "patient_id"),
    ("plan_stages", t.PlanStage, "plan__patient_id"),
    ("encounters", t.Encounter, "patient_id"),
    ("addenda", t.Addendum, "encounter__patient_id"),
    ("consultations", t.Consultation, "encounter__patient_id"),
    ("follow_ups", t.FollowUp, "encounter__patient_id"),
    ("toxin_sessions", t.ToxinSession, "encounter__patient_id"),
    ("injections", t.Injection, "session__encounter__patient_id"),
    ("therapy_visits", t.TherapyVisit, "encounter__patient_id"),
    ("home_exercises", t.HomeExercise, "visit__encounter__patient_id"),
    ("synkinesis_patterns", t.SynkinesisPattern, "visit__encounter__patient_id"),
    ("injector_recommendations", t.InjectorRecommendation, "visit__encounter__patient_id"),
    ("surgeries", t.Surgery, "encounter__patient_id"),
    ("procedures", t.Procedure, "surgery__encounter__patient_id"),
    ("complications", t.Complication, "surgery__encounter__patient_id"),
    ("follow_up_plan_items", t.FollowUpPlanItem, "surgery__encounter__patient_id"),
    ("assessments", t.Assessment, "patient_id"),
    ("interval_findings", t.IntervalFinding, "patient_id"),
    ("audit_events", AuditEvent, "patient_id"),
]

# A subject-access request is answered by the practice (managers) or by the clinicians.
EXPORT_PERMISSIONS = ("clinic.view_clinical", "clinic.view_audit")


def _rows(queryset) -> list[dict]:
    return [
        {"id": row["pk"], **row["fields"]}
        for row in serializers.serialize("python", queryset.order_by("pk"), use_natural_foreign_keys=False)
    ]


def patient_export(*, patient: Patient) -> dict:
    data = {"patient": _rows(Patient.objects.filter(pk=patient.pk))[0]}
    for section, model, lookup in SECTIONS:
        data[section] = _rows(model.objects.filter(**{lookup: patient.pk}))
    return data


class PatientExportView(APIView):
    """Everything held about one patient (subject-access request), as JSON. Audited."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        user = request.user
        if not is_staff_member(user) or not any(user.has_perm(p) for p in EXPORT_PERMISSIONS):
            raise PermissionDenied()
        patient = get_object_or_404(Patient, pk=pk)
        data = patient_export(patient=patient)
        audit_record(actor=user, action="patient.exported", target=patient, patient_id=patient.pk)
        return Response(data)
