"""API views of the treatments app: each parses input, calls a service or selector, serializes.

Access (capabilities, see clinic.roles):
- every clinical endpoint needs ``view_clinical`` to read; writing needs the kind's capability
  (record_toxin, record_therapy, record_surgery, record_consultation);
- the lot register is read by clinicians and lot managers and written by lot managers; the
  patients who received a lot are clinical data (``view_clinical``).
"""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clinic.api import filters as api_filters
from clinic.audit import audit_record
from clinic.errors import Invalid
from clinic.models import ClinicSettings
from clinic.permissions import is_staff_member, require
from patients.models import Patient

from . import consent_needs, programme, selectors, serializers, services
from .exceptions import RecordSigned
from .interval import interval_finding_review
from .models import (
    Addendum,
    Assessment,
    Consultation,
    Cosignature,
    Encounter,
    FollowUp,
    Injection,
    IntervalFinding,
    Product,
    ProgrammeCheckIn,
    Surgery,
    TherapyVisit,
    ToxinDoseLimit,
    ToxinProductInterval,
    ToxinSession,
    TreatmentPlan,
)

IdFilter = api_filters.IdFilter


class EncounterFilter(api_filters.FilterSet):
    patient = IdFilter(field_name="encounter__patient_id")
    clinician = IdFilter(field_name="encounter__clinician_id")
    status = django_filters.ChoiceFilter(field_name="encounter__status", choices=Encounter.Status.choices)
    occurred_after = api_filters.IsoDateTimeFilter(field_name="encounter__occurred_at", lookup_expr="gte")
    occurred_before = api_filters.IsoDateTimeFilter(field_name="encounter__occurred_at", lookup_expr="lt")


def audit_listing(request, action: str) -> None:
    """Lists of clinical records are reads of patient data: who listed whose records."""
    patient = request.query_params.get("patient", "")
    audit_record(
        actor=request.user,
        action=action,
        patient_id=int(patient) if patient.isdigit() and len(patient) < 19 else None,
    )


def _addenda():
    return Prefetch(
        "encounter__addenda", queryset=Addendum.objects.select_related("author").order_by("at", "id")
    )


def _cosignatures():
    return Prefetch(
        "encounter__cosignatures",
        queryset=Cosignature.objects.select_related("cosigned_by").order_by("cosigned_at", "id"),
    )


# An encounter's detail record has the encounter's id as its primary key.
_ENCOUNTER_ID = extend_schema(parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)])


@extend_schema_view(
    retrieve=_ENCOUNTER_ID,
    update=_ENCOUNTER_ID,
    partial_update=_ENCOUNTER_ID,
    sign=_ENCOUNTER_ID,
    cosign=_ENCOUNTER_ID,
    addenda=_ENCOUNTER_ID,
)
class EncounterKindViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Create, read and edit drafts; sign (the author only); co-sign and add addenda once signed.
    Records are never deleted. The author (``clinician``) is the user who creates the record."""

    spec: services.KindSpec
    model = None
    filterset_class = EncounterFilter
    related: tuple[str, ...] = ()
    prefetch: tuple = ()

    def get_permissions(self):
        # Reading needs view_clinical; writing, the capability of the kind (record_toxin, ...).
        return [require("clinic.view_clinical", write=(self.spec.capability,))()]

    def get_queryset(self):
        return (
            self.model.objects.select_related(
                "encounter",
                "encounter__clinician",
                "encounter__signed_by",
                *self.related,
            )
            .prefetch_related(_addenda(), _cosignatures(), *self.prefetch)
            .order_by("-encounter__occurred_at", "-pk")
        )

    def get_serializer_class(self):
        if self.action == "addenda":
            return serializers.AddendumSerializer
        return self.serializer_class

    # Toxin sessions and surgeries answer with the procedure consent warnings too.
    consent_warnings = False

    def _context_for(self, details) -> dict:
        context = self.get_serializer_context()
        if self.consent_warnings:
            context["consent_warnings"] = consent_needs.warnings_for_details(details)
        return context

    def list(self, request, *args, **kwargs):
        audit_listing(request, f"{self.spec.kind}.listed")
        if not self.consent_warnings:
            return super().list(request, *args, **kwargs)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        serializer = self.get_serializer(page, many=True, context=self._context_for(page))
        return self.get_paginated_response(serializer.data)

    def retrieve(self, request, *args, **kwargs):
        detail = self.get_object()
        audit_record(
            actor=request.user,
            action=f"{self.spec.kind}.viewed",
            target=detail.encounter,
            patient_id=detail.encounter.patient_id,
        )
        return Response(self.get_serializer(detail, context=self._context_for([detail])).data)

    def _respond(self, pk, code=status.HTTP_200_OK):
        detail = self.get_queryset().get(pk=pk)
        return Response(self.serializer_class(detail, context=self._context_for([detail])).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.flat_data(serializer.validated_data)
        patient = data.pop("patient")
        detail = services.encounter_record(self.spec, patient=patient, actor=request.user, data=data)
        return self._respond(detail.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        detail = self.get_object()
        # A signed record answers 409 whatever the payload: there is nothing to validate.
        if detail.encounter.is_signed:
            raise RecordSigned()
        serializer = self.get_serializer(detail, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = serializer.flat_data(serializer.validated_data)
        data.pop("patient", None)
        services.encounter_update(self.spec, detail=detail, actor=request.user, data=data)
        return self._respond(detail.pk)

    @extend_schema(request=None)  # answers the signed record
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        detail = self.get_object()
        services.encounter_sign(encounter=detail.encounter, actor=request.user)
        return self._respond(detail.pk)

    @extend_schema(request=serializers.CosignatureSerializer)  # answers the co-signed record
    @action(detail=True, methods=["post"])
    def cosign(self, request, pk=None):
        """Countersign a signed record: another clinician who may record this kind (not the author)."""
        detail = self.get_object()
        serializer = serializers.CosignatureSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.encounter_cosign(
            encounter=detail.encounter, actor=request.user, note=serializer.validated_data.get("note", "")
        )
        return self._respond(detail.pk)

    @extend_schema(methods=["GET"], responses=serializers.AddendumSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=serializers.AddendumSerializer,
        responses={201: serializers.AddendumSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def addenda(self, request, pk=None):
        if request.method == "GET":
            # A list: the record is found whatever the filters, and its addenda are listed when
            # the record matches them (an empty list otherwise, not a 404), as the schema says.
            detail = get_object_or_404(self.get_queryset(), pk=pk)
            self.check_object_permissions(request, detail)
            if not self.filter_queryset(self.get_queryset()).filter(pk=detail.pk).exists():
                return Response([])
            return Response(serializers.AddendumSerializer(detail.encounter.addenda.all(), many=True).data)
        detail = self.get_object()
        serializer = serializers.AddendumSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        addendum = services.encounter_add_addendum(
            encounter=detail.encounter, actor=request.user, text=serializer.validated_data["text"]
        )
        return Response(serializers.AddendumSerializer(addendum).data, status=status.HTTP_201_CREATED)


class ToxinSessionViewSet(EncounterKindViewSet):
    """Toxin sessions with their injection maps (``injections``), in the product's units."""

    spec = services.TOXIN
    model = ToxinSession
    consent_warnings = True
    serializer_class = serializers.ToxinSessionSerializer
    related = ("lot", "interval_overridden_by")
    prefetch = (Prefetch("injections", queryset=Injection.objects.order_by("position", "id")),)

    def get_serializer_context(self):
        # Dose limits read once per request, not once per session listed.
        return {**super().get_serializer_context(), "dose_limits": selectors.dose_limits()}


class TherapyVisitViewSet(EncounterKindViewSet):
    spec = services.THERAPY
    model = TherapyVisit
    serializer_class = serializers.TherapyVisitSerializer
    prefetch = ("exercises", "patterns", "recommendations")


class SurgeryViewSet(EncounterKindViewSet):
    spec = services.SURGERY
    model = Surgery
    consent_warnings = True
    serializer_class = serializers.SurgerySerializer
    prefetch = ("procedures", "complications", "follow_up_plan", "stimulated_branches")


class ConsultationViewSet(EncounterKindViewSet):
    spec = services.CONSULTATION
    model = Consultation
    serializer_class = serializers.ConsultationSerializer


class FollowUpViewSet(EncounterKindViewSet):
    spec = services.FOLLOW_UP
    model = FollowUp
    serializer_class = serializers.FollowUpSerializer


class EncounterListFilter(api_filters.FilterSet):
    patient = IdFilter(field_name="patient_id")
    kind = django_filters.ChoiceFilter(choices=Encounter.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Encounter.Status.choices)


class EncounterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every encounter of every kind, as the chart's timeline lists them (read-only)."""

    permission_classes = [require("clinic.view_clinical")]
    serializer_class = serializers.EncounterSerializer
    filterset_class = EncounterListFilter
    queryset = selectors.encounters_listed()

    def list(self, request, *args, **kwargs):
        audit_listing(request, "encounter.listed")
        return super().list(request, *args, **kwargs)


class TreatmentPlanFilter(api_filters.FilterSet):
    patient = IdFilter(field_name="patient_id")
    status = django_filters.ChoiceFilter(choices=TreatmentPlan.Status.choices)


class TreatmentPlanViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Treatment plans and their ordered stages. Plans evolve (history is kept); not deleted."""

    permission_classes = [require("clinic.view_clinical", write=("clinic.record_consultation",))]
    serializer_class = serializers.TreatmentPlanSerializer
    filterset_class = TreatmentPlanFilter
    queryset = (
        TreatmentPlan.objects.select_related("author")
        .prefetch_related("stages", selectors.plan_agreements())
        .order_by("-created_at", "-id")
    )

    def list(self, request, *args, **kwargs):
        audit_listing(request, "treatment_plan.listed")
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        plan = self.get_object()
        audit_record(
            actor=request.user, action="treatment_plan.viewed", target=plan, patient_id=plan.patient_id
        )
        return Response(self.get_serializer(plan).data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        plan = services.plan_create(patient=data.pop("patient"), actor=request.user, data=data)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=plan.pk)).data, status=status.HTTP_201_CREATED
        )

    def update(self, request, *args, **kwargs):
        plan = self.get_object()
        serializer = self.get_serializer(plan, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("patient", None)
        services.plan_update(plan=plan, actor=request.user, data=data)
        return Response(self.get_serializer(self.get_queryset().get(pk=plan.pk)).data)

    @extend_schema(
        request=serializers.PlanAgreementInputSerializer,
        responses={201: serializers.TreatmentPlanSerializer},
    )
    @action(detail=True, methods=["post"], url_path="agreement")
    def agreement(self, request, pk=None):
        """Record the patient's agreement to the plan's current version (tablet signature or
        verbal with a named witness). 409 plan_already_agreed, plan_changed, plan_closed."""
        plan = self.get_object()
        given = serializers.PlanAgreementInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        services.plan_agree(
            plan=plan,
            actor=request.user,
            method=data["method"],
            version=data.get("version"),
            witness_id=data.get("witness"),
            signer_name=data.get("signer_name", ""),
            signature=data.get("signature", ""),
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=plan.pk)).data, status=status.HTTP_201_CREATED
        )


class AssessmentFilter(api_filters.FilterSet):
    patient = IdFilter(field_name="patient_id")
    instrument = django_filters.CharFilter(max_length=32)


class AssessmentViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Gradings (Sunnybrook, House-Brackmann, SAQ, ...): raw items in, scores out.

    A missing, unknown or out-of-range item gives 400 with ``fields.items.<item key>``. Gradings
    are not edited: one recorded by mistake is marked ``entered-in-error`` with a reason.
    """

    permission_classes = [require("clinic.view_clinical", write=("clinic.record_consultation",))]
    serializer_class = serializers.AssessmentSerializer
    filterset_class = AssessmentFilter
    queryset = Assessment.objects.select_related("rater").order_by("-assessed_at", "-id")

    def list(self, request, *args, **kwargs):
        audit_listing(request, "assessment.listed")
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        assessment = self.get_object()
        audit_record(
            actor=request.user,
            action="assessment.viewed",
            target=assessment,
            patient_id=assessment.patient_id,
        )
        return Response(self.get_serializer(assessment).data)

    def get_serializer_class(self):
        if self.action == "entered_in_error":
            return serializers.ReasonSerializer
        return self.serializer_class

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        assessment = services.assessment_record(
            patient=data["patient"],
            instrument=data["instrument"],
            items=data["items"],
            assessed_at=data["assessed_at"],
            actor=request.user,
            side=data.get("side"),
            encounter=data.get("encounter"),
            note=data.get("note", ""),
        )
        return Response(serializers.AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.ReasonSerializer, responses=serializers.AssessmentSerializer)
    @action(detail=True, methods=["post"], url_path="entered-in-error")
    def entered_in_error(self, request, pk=None):
        assessment = self.get_object()
        serializer = serializers.ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assessment = services.assessment_mark_entered_in_error(
            assessment=assessment, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return Response(serializers.AssessmentSerializer(assessment).data)


class IntervalFindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Toxin sessions found closer than the interval without an override (the nightly safety net)."""

    permission_classes = [require("clinic.review_interval_findings")]
    serializer_class = serializers.IntervalFindingSerializer
    queryset = IntervalFinding.objects.order_by("status", "-found_at", "-id")
    filterset_fields = ["status"]

    def list(self, request, *args, **kwargs):
        audit_listing(request, "interval_finding.listed")
        return super().list(request, *args, **kwargs)

    @extend_schema(request=serializers.ReviewNoteSerializer, responses=serializers.IntervalFindingSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        finding = self.get_object()
        serializer = serializers.ReviewNoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        finding = interval_finding_review(
            finding=finding, actor=request.user, note=serializer.validated_data["note"]
        )
        return Response(serializers.IntervalFindingSerializer(finding).data)


class HomeProgrammeViewSet(viewsets.GenericViewSet):
    """A patient's current home exercise programme (read-only): the exercises of their latest
    signed therapy visit and what that visit changed. ``id`` is the patient's id."""

    permission_classes = [require("clinic.view_clinical")]
    serializer_class = serializers.HomeProgrammeSerializer
    pagination_class = None

    @extend_schema(parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="Patient id")])
    def retrieve(self, request, pk=None):
        patient = get_object_or_404(Patient.objects.only("pk"), pk=_patient_pk(pk))
        current = programme.programme_current(patient_id=patient.pk)
        audit_record(
            actor=request.user, action="home_programme.viewed", target=patient, patient_id=patient.pk
        )
        data = {
            "patient": patient.pk,
            "visit": current.visit.pk if current.visit is not None else None,
            "set_at": current.set_on,
            "therapist": current.therapist_name,
            "weekly_checkins": bool(current.visit and current.visit.weekly_checkins),
            "exercises": [
                {
                    "exercise": e.exercise,
                    "instructions": e.instructions,
                    "repetitions": e.repetitions,
                    "hold_seconds": e.hold_seconds,
                    "times_per_day": e.times_per_day,
                    "notes": e.notes,
                    "dose": programme.dose_text(e),
                }
                for e in current.exercises
            ],
            "changes": current.diff.as_dict(),
        }
        return Response(serializers.HomeProgrammeSerializer(data).data)


def _patient_pk(value) -> int:
    text = str(value or "")
    if not text.isdigit() or len(text) > 18:
        raise exceptions.NotFound()
    return int(text)


class ProgrammeCheckInFilter(api_filters.FilterSet):
    patient = IdFilter(field_name="patient_id")
    visit = IdFilter(field_name="visit_id")
    answered_after = api_filters.IsoDateTimeFilter(field_name="answered_at", lookup_expr="gte")


class ProgrammeCheckInViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Patients' weekly check-ins about their home programme (read-only; patients answer them
    from their programme link), newest first."""

    permission_classes = [require("clinic.view_clinical")]
    serializer_class = serializers.ProgrammeCheckInSerializer
    filterset_class = ProgrammeCheckInFilter
    queryset = ProgrammeCheckIn.objects.order_by("-answered_at", "-id")

    def list(self, request, *args, **kwargs):
        audit_listing(request, "programme_checkin.listed")
        return super().list(request, *args, **kwargs)


class LotRegisterPermission(BasePermission):
    """Read: clinicians or lot managers. Write: lot managers. Plus per-action extras."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not is_staff_member(user):
            return False
        if request.method in SAFE_METHODS:
            allowed = user.has_perm("clinic.view_clinical") or user.has_perm("clinic.manage_lots")
        else:
            allowed = user.has_perm("clinic.manage_lots")
        extra = getattr(view, "action_permissions", {}).get(getattr(view, "action", None), ())
        return allowed and user.has_perms(extra)


class ToxinLotFilter(api_filters.FilterSet):
    product = django_filters.ChoiceFilter(choices=Product.choices)
    is_active = api_filters.BooleanFilter()
    usable_on = api_filters.DateFilter(field_name="expiry_date", lookup_expr="gte")


class ToxinLotViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The clinic's toxin lot register. ``{id}/patients/`` answers a lot recall."""

    permission_classes = [LotRegisterPermission]
    action_permissions = {"patients": ("clinic.view_clinical",)}
    serializer_class = serializers.ToxinLotSerializer
    filterset_class = ToxinLotFilter
    queryset = selectors.lots_with_usage().order_by("product", "expiry_date", "lot_number")
    ordering_fields = ["expiry_date", "lot_number"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lot = services.toxin_lot_create(actor=request.user, data=serializer.validated_data)
        return Response(
            self.get_serializer(self.get_queryset().get(pk=lot.pk)).data, status=status.HTTP_201_CREATED
        )

    def update(self, request, *args, **kwargs):
        lot = self.get_object()
        serializer = self.get_serializer(lot, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        services.toxin_lot_update(lot=lot, actor=request.user, data=serializer.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=lot.pk)).data)

    @extend_schema(responses=serializers.LotRecipientSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def patients(self, request, pk=None):
        """Every patient who received this lot, with the session dates (a lot recall)."""
        recipients = services.lot_recall(lot=self.get_object(), actor=request.user)
        return Response(serializers.LotRecipientSerializer(recipients, many=True).data)


class ToxinDoseLimitViewSet(viewsets.GenericViewSet):
    """The clinic's dose limits per product (warnings on the session form; never refusals)."""

    permission_classes = [LotRegisterPermission]
    serializer_class = serializers.ToxinDoseLimitSerializer
    pagination_class = None  # one row per product: a handful
    lookup_field = "product"
    queryset = ToxinDoseLimit.objects.all()

    def _rows(self):
        limits = selectors.dose_limits()
        return [limits.get(p) or ToxinDoseLimit(product=p) for p in Product.values]

    def list(self, request):
        return Response(self.get_serializer(self._rows(), many=True).data)

    def retrieve(self, request, product=None):
        if product not in Product.values:
            raise Invalid(fields={"product": ["Unknown product."]})
        return Response(self.get_serializer(next(r for r in self._rows() if r.product == product)).data)

    def update(self, request, product=None, partial=False):
        if product not in Product.values:
            raise Invalid(fields={"product": ["Unknown product."]})
        serializer = self.get_serializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        limit = services.dose_limit_set(product=product, actor=request.user, data=serializer.validated_data)
        return Response(self.get_serializer(limit).data)

    def partial_update(self, request, product=None):
        return self.update(request, product=product, partial=True)


_PRODUCT = extend_schema(
    parameters=[OpenApiParameter("product", str, OpenApiParameter.PATH, enum=Product.values)]
)


@extend_schema_view(retrieve=_PRODUCT, update=_PRODUCT, destroy=_PRODUCT)
class ToxinIntervalViewSet(viewsets.GenericViewSet):
    """The minimum reinjection interval of each toxin product. A product without its own uses the
    clinic default (``/clinic-settings/``). Staff read them; the practice manager
    (``manage_settings``) sets (PUT) and clears (DELETE) them, and every change is audited."""

    permission_classes = [require(write=("clinic.manage_settings",))]
    serializer_class = serializers.ToxinIntervalSerializer
    pagination_class = None  # one row per product: a handful
    lookup_field = "product"
    queryset = ToxinProductInterval.objects.none()

    def _rows(self) -> list[dict]:
        default = ClinicSettings.load().min_reinjection_interval_days
        own = {row.product: row for row in ToxinProductInterval.objects.select_related("updated_by")}
        rows = []
        for product in Product.values:
            row = own.get(product)
            rows.append(
                {
                    "product": product,
                    "min_interval_days": row.min_interval_days if row else None,
                    "effective_interval_days": row.min_interval_days if row else default,
                    "updated_at": row.updated_at if row else None,
                    "updated_by": row.updated_by if row else None,
                }
            )
        return rows

    def _row(self, product: str) -> dict:
        if product not in Product.values:
            raise exceptions.NotFound("No such product.")
        return next(r for r in self._rows() if r["product"] == product)

    def list(self, request):
        return Response(self.get_serializer(self._rows(), many=True).data)

    def retrieve(self, request, product=None):
        return Response(self.get_serializer(self._row(product)).data)

    @extend_schema(request=serializers.ToxinIntervalInputSerializer)
    def update(self, request, product=None):
        self._row(product)
        given = serializers.ToxinIntervalInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        services.toxin_interval_set(
            product=product, actor=request.user, days=given.validated_data["min_interval_days"]
        )
        return Response(self.get_serializer(self._row(product)).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, product=None):
        """Remove the product's own interval: the clinic default applies again."""
        self._row(product)
        services.toxin_interval_clear(product=product, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the /api/v1/ router."""
    router.register("treatment-plans", TreatmentPlanViewSet, basename="treatment-plan")
    router.register("encounters", EncounterViewSet, basename="encounter")
    router.register("consultations", ConsultationViewSet, basename="consultation")
    router.register("follow-ups", FollowUpViewSet, basename="follow-up")
    router.register("toxin-sessions", ToxinSessionViewSet, basename="toxin-session")
    router.register("therapy-visits", TherapyVisitViewSet, basename="therapy-visit")
    router.register("surgeries", SurgeryViewSet, basename="surgery")
    router.register("assessments", AssessmentViewSet, basename="assessment")
    router.register("toxin-lots", ToxinLotViewSet, basename="toxin-lot")
    router.register("toxin-dose-limits", ToxinDoseLimitViewSet, basename="toxin-dose-limit")
    router.register("interval-findings", IntervalFindingViewSet, basename="interval-finding")
    router.register("toxin-intervals", ToxinIntervalViewSet, basename="toxin-interval")
    router.register("home-programmes", HomeProgrammeViewSet, basename="home-programme")
    router.register("programme-checkins", ProgrammeCheckInViewSet, basename="programme-checkin")
