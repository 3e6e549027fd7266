"""API shapes of clinical records. Validation of shape and ranges lives here; the clinical
rules (intervals, lots, signing) live in the services the views call."""

from clinic.api import fields as strict
from clinic.api import serializers
from clinic.configuration import field_limits
from patients.models import Patient
from scheduling.models import Appointment

from . import instruments, selectors
from .models import (
    Addendum,
    Assessment,
    Complication,
    Consultation,
    Cosignature,
    DaoApproach,
    DonorMuscle,
    DonorNerve,
    Encounter,
    FacialBranch,
    FollowUp,
    FollowUpPlanItem,
    FunctionTestResult,
    HomeExercise,
    Injection,
    InjectorRecommendation,
    IntervalFinding,
    Modality,
    Muscle,
    PlanAgreement,
    PlanStage,
    Procedure,
    Product,
    ProgrammeCheckIn,
    Side,
    StimulatedBranch,
    StimulationResponse,
    Surgery,
    SurgerySide,
    SynkinesisPattern,
    Technique,
    TherapyVisit,
    ToxinDoseLimit,
    ToxinLot,
    ToxinProductInterval,
    ToxinSession,
    TreatmentPlan,
)

TEXT = 20000  # long free text (notes, operative notes): generous, but bounded
MAX_ROWS = 60  # child rows per record: far above any real map or plan, bounds the request


def _text(source=None, max_length=TEXT, **kw):
    if source:
        kw["source"] = source
    return strict.CharField(required=False, allow_blank=True, max_length=max_length, **kw)


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = strict.CharField(source="display_name", read_only=True)


class AddendumSerializer(serializers.ModelSerializer):
    author = UserRefSerializer(read_only=True)
    text = strict.CharField(max_length=TEXT)

    class Meta:
        model = Addendum
        fields = ["id", "author", "at", "text"]
        read_only_fields = ["id", "author", "at"]


class CosignatureSerializer(serializers.ModelSerializer):
    cosigned_by = UserRefSerializer(read_only=True)
    note = _text(max_length=2000)

    class Meta:
        model = Cosignature
        fields = ["id", "cosigned_by", "cosigned_at", "note"]
        read_only_fields = ["id", "cosigned_by", "cosigned_at"]


# --- Encounters --------------------------------------------------------------------------------


class EncounterDetailSerializer(serializers.ModelSerializer):
    """The common part of every encounter, flattened beside the kind's own fields.

    Input: the encounter fields arrive nested under ``encounter`` in validated_data (their
    source is ``encounter.x``); ``flat_data`` lifts them out for the services.
    """

    id = serializers.IntegerField(source="pk", read_only=True)
    patient = serializers.PrimaryKeyRelatedField(source="encounter.patient", queryset=Patient.objects.all())
    clinician = UserRefSerializer(
        source="encounter.clinician",
        read_only=True,
        help_text="The author: whoever recorded the encounter. Set once, never changed.",
    )
    appointment = serializers.PrimaryKeyRelatedField(
        source="encounter.appointment", queryset=Appointment.objects.all(), required=False, allow_null=True
    )
    plan_stage = serializers.PrimaryKeyRelatedField(
        source="encounter.plan_stage", queryset=PlanStage.objects.all(), required=False, allow_null=True
    )
    occurred_at = serializers.DateTimeField(source="encounter.occurred_at")
    note = _text("encounter.note")
    kind = strict.CharField(source="encounter.kind", read_only=True)
    status = strict.CharField(source="encounter.status", read_only=True)
    summary = strict.CharField(source="encounter.summary", read_only=True)
    signed_at = serializers.DateTimeField(source="encounter.signed_at", read_only=True, allow_null=True)
    signed_by = UserRefSerializer(source="encounter.signed_by", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(source="encounter.created_at", read_only=True)
    addenda = AddendumSerializer(source="encounter.addenda", many=True, read_only=True)
    cosignatures = CosignatureSerializer(source="encounter.cosignatures", many=True, read_only=True)

    ENCOUNTER_FIELDS = [
        "id",
        "patient",
        "kind",
        "clinician",
        "appointment",
        "plan_stage",
        "occurred_at",
        "note",
        "status",
        "summary",
        "signed_at",
        "signed_by",
        "created_at",
        "addenda",
        "cosignatures",
    ]

    def validate(self, attrs):
        patient = attrs.get("encounter", {}).get("patient")
        if (
            self.instance is not None
            and patient is not None
            and patient.pk != self.instance.encounter.patient_id
        ):
            raise serializers.ValidationError({"patient": ["A record cannot move to another patient."]})
        return attrs

    @staticmethod
    def flat_data(validated: dict) -> dict:
        data = dict(validated)
        return {**data.pop("encounter", {}), **data}


class _WholeRows(serializers.ListSerializer):
    """A list of child rows that replaces the stored rows whole: each row is validated as
    complete even inside a PATCH (DRF's partial update would otherwise skip a row's required
    fields, and a row without its side would be stored)."""

    def to_internal_value(self, data):
        rows = super().to_internal_value(data)
        if getattr(self.root, "partial", False):
            required = [
                name for name, field in self.child.fields.items() if field.required and not field.read_only
            ]
            errors = [
                {name: ["This field is required."] for name in required if name not in row} for row in rows
            ]
            if any(errors):
                raise serializers.ValidationError(errors)
        return rows


def _rows(serializer_class, **kw):
    return _WholeRows(child=serializer_class(), max_length=MAX_ROWS, **kw)


class InjectionSerializer(serializers.ModelSerializer):
    muscle = serializers.ChoiceField(choices=Muscle.choices)
    side = serializers.ChoiceField(choices=Side.choices)
    units = serializers.DecimalField(
        max_digits=7,
        decimal_places=2,
        **field_limits(Injection, "units"),
        coerce_to_string=True,
    )
    points = serializers.IntegerField(**field_limits(Injection, "points"), default=1)
    diagram_x = serializers.DecimalField(
        max_digits=4,
        decimal_places=3,
        **field_limits(Injection, "diagram_x"),
        coerce_to_string=True,
        required=False,
        allow_null=True,
        help_text="Where the row was marked on the face diagram, 0 (the viewer's left: the patient's "
        "right) to 1; 0.5 is the midline. A right-side row has x <= 0.5, a left-side row x >= 0.5. "
        "Given with diagram_y, or both null.",
    )
    diagram_y = serializers.DecimalField(
        max_digits=4,
        decimal_places=3,
        **field_limits(Injection, "diagram_y"),
        coerce_to_string=True,
        required=False,
        allow_null=True,
        help_text="Where the row was marked on the face diagram, 0 (top of the forehead) to 1 (bottom "
        "of the neck).",
    )

    class Meta:
        model = Injection
        fields = ["muscle", "side", "units", "points", "diagram_x", "diagram_y"]


class ToxinSessionSerializer(EncounterDetailSerializer):
    injections = _rows(InjectionSerializer, allow_empty=False)
    lot = serializers.PrimaryKeyRelatedField(queryset=ToxinLot.objects.all())
    dilution_ml = serializers.DecimalField(
        max_digits=4, decimal_places=2, **field_limits(ToxinSession, "dilution_ml")
    )
    lot_number = strict.CharField(source="lot.lot_number", read_only=True)
    lot_expiry_date = serializers.DateField(source="lot.expiry_date", read_only=True)
    vial_units = serializers.IntegerField(source="lot.vial_units", read_only=True)
    units_per_0_1_ml = serializers.DecimalField(max_digits=8, decimal_places=2, read_only=True)
    total_units = serializers.SerializerMethodField(help_text="In the session's product's units.")
    warnings = serializers.SerializerMethodField(
        help_text="The clinic's dose limits this map goes beyond, and a missing or out-of-date "
        "botulinum toxin consent on the day (warnings, not refusals)."
    )
    response_onset_days = serializers.IntegerField(
        **field_limits(ToxinSession, "response_onset_days"), required=False, allow_null=True
    )
    response_duration_weeks = serializers.IntegerField(
        **field_limits(ToxinSession, "response_duration_weeks"), required=False, allow_null=True
    )
    response_other = _text(max_length=300)
    override_reason = strict.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Needed (from a clinician allowed to override) inside the minimum reinjection interval.",
    )
    interval_overridden_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ToxinSession
        fields = [
            *EncounterDetailSerializer.ENCOUNTER_FIELDS,
            "product",
            "lot",
            "lot_number",
            "lot_expiry_date",
            "vial_units",
            "dilution_ml",
            "units_per_0_1_ml",
            "injections",
            "total_units",
            "warnings",
            "days_since_previous",
            "override_reason",
            "interval_override_reason",
            "interval_overridden_by",
            "response_onset_days",
            "response_duration_weeks",
            "response_ptosis",
            "response_oral_incompetence",
            "response_smile_weakness",
            "response_other",
        ]
        read_only_fields = ["days_since_previous", "interval_override_reason"]

    def get_total_units(self, session) -> str:
        return f"{selectors.session_total(session):.2f}"

    def get_warnings(self, session) -> list[str]:
        limits = self.context.get("dose_limits")
        if limits is None:
            limits = selectors.dose_limits()
        return selectors.dose_warnings(
            product=session.product, injections=session.injections.all(), limit=limits.get(session.product)
        ) + self.context.get("consent_warnings", {}).get(session.pk, [])


class HomeExerciseSerializer(serializers.ModelSerializer):
    exercise = strict.CharField(max_length=200)
    repetitions = serializers.IntegerField(**field_limits(HomeExercise, "repetitions"))
    hold_seconds = serializers.IntegerField(**field_limits(HomeExercise, "hold_seconds"), default=0)
    times_per_day = serializers.IntegerField(**field_limits(HomeExercise, "times_per_day"), default=1)
    instructions = _text(max_length=1000)
    notes = _text(max_length=300)

    class Meta:
        model = HomeExercise
        fields = ["exercise", "repetitions", "hold_seconds", "times_per_day", "instructions", "notes"]


class SynkinesisPatternSerializer(serializers.ModelSerializer):
    class Meta:
        model = SynkinesisPattern
        fields = ["trigger", "region", "severity"]


class RecommendationSerializer(serializers.ModelSerializer):
    muscle = serializers.ChoiceField(choices=Muscle.choices)
    side = serializers.ChoiceField(choices=Side.choices)
    note = _text(max_length=300)

    class Meta:
        model = InjectorRecommendation
        fields = ["muscle", "side", "note"]


class TherapyVisitSerializer(EncounterDetailSerializer):
    techniques = serializers.ListField(
        child=serializers.ChoiceField(choices=Technique.choices),
        max_length=len(Technique.values),
        required=False,
    )
    duration_minutes = serializers.IntegerField(
        **field_limits(TherapyVisit, "duration_minutes"), required=False, allow_null=True
    )
    adherence_note = _text(max_length=300)
    goals = _text()
    progress = _text()
    course_visits = serializers.IntegerField(
        **field_limits(TherapyVisit, "course_visits"), required=False, allow_null=True
    )
    course_every_weeks = serializers.IntegerField(
        **field_limits(TherapyVisit, "course_every_weeks"), required=False, allow_null=True
    )
    exercises = _rows(HomeExerciseSerializer, required=False)
    patterns = _rows(SynkinesisPatternSerializer, required=False)
    recommendations = _rows(RecommendationSerializer, required=False)

    class Meta:
        model = TherapyVisit
        fields = [
            *EncounterDetailSerializer.ENCOUNTER_FIELDS,
            "techniques",
            "duration_minutes",
            "adherence",
            "adherence_note",
            "goals",
            "progress",
            "course_visits",
            "course_every_weeks",
            "weekly_checkins",
            "exercises",
            "patterns",
            "recommendations",
        ]


class ProcedureSerializer(serializers.ModelSerializer):
    procedure = serializers.ChoiceField(source="kind", choices=Procedure.Kind.choices)
    muscle = serializers.ChoiceField(choices=Muscle.choices, required=False, allow_blank=True)
    branches_divided = _text(max_length=300)
    branches_preserved = _text(max_length=300)
    gold_weight_grams = serializers.DecimalField(
        max_digits=3,
        decimal_places=1,
        **field_limits(Procedure, "gold_weight_grams"),
        required=False,
        allow_null=True,
    )
    implant_lot = _text(max_length=64)
    detail = _text(max_length=500)
    approach = serializers.ChoiceField(
        choices=DaoApproach.choices, required=False, allow_blank=True, help_text="DAO excision only."
    )
    function_test_smile = serializers.ChoiceField(
        choices=FunctionTestResult.choices,
        required=False,
        allow_blank=True,
        help_text="Selective neurolysis only.",
    )
    function_test_eye_closure = serializers.ChoiceField(
        choices=FunctionTestResult.choices,
        required=False,
        allow_blank=True,
        help_text="Selective neurolysis only.",
    )
    donor_muscle = serializers.ChoiceField(
        choices=DonorMuscle.choices, required=False, allow_blank=True, help_text="Muscle transfer only."
    )
    donor_nerve = serializers.ChoiceField(
        choices=DonorNerve.choices, required=False, allow_blank=True, help_text="Muscle transfer only."
    )

    class Meta:
        model = Procedure
        fields = [
            "procedure",
            "muscle",
            "branches_divided",
            "branches_preserved",
            "gold_weight_grams",
            "implant_lot",
            "detail",
            "approach",
            "function_test_smile",
            "function_test_eye_closure",
            "donor_muscle",
            "donor_nerve",
        ]


class ComplicationSerializer(serializers.ModelSerializer):
    description = strict.CharField(max_length=500)

    class Meta:
        model = Complication
        fields = ["description", "grade"]


class FollowUpPlanItemSerializer(serializers.ModelSerializer):
    label = strict.CharField(max_length=50)
    after_days = serializers.IntegerField(**field_limits(FollowUpPlanItem, "after_days"))

    class Meta:
        model = FollowUpPlanItem
        fields = ["label", "after_days"]


class StimulatedBranchSerializer(serializers.ModelSerializer):
    branch = serializers.ChoiceField(choices=FacialBranch.choices)
    response = serializers.ChoiceField(choices=StimulationResponse.choices)
    action = serializers.ChoiceField(choices=StimulatedBranch.Action.choices)

    class Meta:
        model = StimulatedBranch
        fields = ["branch", "response", "action"]


class SurgerySerializer(EncounterDetailSerializer):
    occurred_at = serializers.DateTimeField(source="encounter.occurred_at", read_only=True)
    side = serializers.ChoiceField(choices=SurgerySide.choices)
    assistants = _text(max_length=300)
    findings = _text()
    operative_note = _text()
    procedures = _rows(ProcedureSerializer, allow_empty=False)
    complications = _rows(ComplicationSerializer, required=False)
    follow_up_plan = _rows(
        FollowUpPlanItemSerializer,
        required=False,
        help_text="Post-operative visits; each opens a recall. Default: 1 week, 6 weeks, 3 months.",
    )
    stimulated_branches = _rows(
        StimulatedBranchSerializer,
        required=False,
        help_text="Selective neurolysis: each branch stimulated, its response, divided or preserved.",
    )
    warnings = serializers.SerializerMethodField(
        help_text="A procedure with no valid signed consent at the time of the operation (warnings, "
        "not refusals)."
    )

    class Meta:
        model = Surgery
        fields = [
            *EncounterDetailSerializer.ENCOUNTER_FIELDS,
            "side",
            "anaesthesia",
            "assistants",
            "started_at",
            "ended_at",
            "procedures",
            "findings",
            "complications",
            "operative_note",
            "follow_up_plan",
            "stimulated_branches",
            "warnings",
        ]

    def get_warnings(self, surgery) -> list[str]:
        return self.context.get("consent_warnings", {}).get(surgery.pk, [])


class ConsultationSerializer(EncounterDetailSerializer):
    history = _text("history_of_palsy")
    examination = _text()
    symptoms = _text()
    goals = _text()
    plan_summary = _text()

    class Meta:
        model = Consultation
        fields = [
            *EncounterDetailSerializer.ENCOUNTER_FIELDS,
            "history",
            "examination",
            "symptoms",
            "severity",
            "goals",
            "plan_summary",
        ]


class FollowUpSerializer(EncounterDetailSerializer):
    treatment = serializers.PrimaryKeyRelatedField(
        queryset=Encounter.objects.all(),
        required=False,
        allow_null=True,
        help_text="The treatment looked at; defaults to the last toxin session or surgery.",
    )
    response_note = _text()

    class Meta:
        model = FollowUp
        fields = [*EncounterDetailSerializer.ENCOUNTER_FIELDS, "treatment", "response", "response_note"]


class EncounterSerializer(serializers.ModelSerializer):
    """Any encounter, as the timeline lists it."""

    clinician = UserRefSerializer(read_only=True)
    addendum_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Encounter
        fields = [
            "id",
            "patient",
            "kind",
            "clinician",
            "appointment",
            "plan_stage",
            "occurred_at",
            "status",
            "summary",
            "signed_at",
            "addendum_count",
        ]
        read_only_fields = fields


# --- Plans -------------------------------------------------------------------------------------


class PlanStageSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    description = strict.CharField(max_length=500)

    class Meta:
        model = PlanStage
        fields = ["id", "modality", "description", "target_start", "target_end", "status"]


class PlanAgreementSerializer(serializers.ModelSerializer):
    recorded_by = UserRefSerializer(read_only=True, allow_null=True)
    witness = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = PlanAgreement
        fields = ["id", "plan_version", "method", "agreed_at", "recorded_by", "witness", "signer_name"]
        read_only_fields = fields


# What staff send: the patient's link records its own agreements.
AGREEMENT_METHODS_SENT = [
    (m.value, m.label) for m in (PlanAgreement.Method.TABLET, PlanAgreement.Method.VERBAL)
]


class PlanAgreementInputSerializer(serializers.Serializer):
    """How the patient agreed to the plan's current version. ``tablet``: ``signer_name`` and
    ``signature`` (the signature pad's PNG as a data URL); ``verbal``: ``witness`` (a member of
    staff's id). ``version``, if given, is the version the patient was shown (409 plan_changed
    if it is no longer the current one)."""

    method = serializers.ChoiceField(choices=AGREEMENT_METHODS_SENT)
    version = serializers.IntegerField(required=False, min_value=1, max_value=2_147_483_647)
    witness = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    signer_name = strict.CharField(max_length=200, required=False, allow_blank=True)
    signature = strict.CharField(max_length=300_000, required=False, allow_blank=True)


class TreatmentPlanSerializer(serializers.ModelSerializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    author = UserRefSerializer(read_only=True)
    goals = strict.CharField(max_length=TEXT)
    modalities = serializers.ListField(
        child=serializers.ChoiceField(choices=Modality.choices),
        max_length=len(Modality.values),
        allow_empty=False,
    )
    previous_experience = _text()
    notes = _text()
    stages = _rows(PlanStageSerializer, required=False)
    agreement = PlanAgreementSerializer(
        source="current_agreement",
        read_only=True,
        allow_null=True,
        help_text="The patient's agreement to the current version, or null: not yet agreed.",
    )
    agreements = PlanAgreementSerializer(many=True, read_only=True)

    class Meta:
        model = TreatmentPlan
        fields = [
            "id",
            "patient",
            "author",
            "status",
            "goals",
            "modalities",
            "severity",
            "lifestyle",
            "surgery_comfort",
            "previous_experience",
            "notes",
            "stages",
            "version",
            "agreement",
            "agreements",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "author", "version", "created_at", "updated_at"]
        # "One active plan per patient" is the service's to answer (409 active_plan_exists).
        validators = []

    def validate(self, attrs):
        if (
            self.instance is not None
            and "patient" in attrs
            and attrs["patient"].pk != self.instance.patient_id
        ):
            raise serializers.ValidationError({"patient": ["A plan cannot move to another patient."]})
        return attrs


# --- Gradings ----------------------------------------------------------------------------------


class AssessmentSerializer(serializers.ModelSerializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    instrument = strict.CharField(max_length=32)
    instrument_name = serializers.SerializerMethodField()
    items = serializers.JSONField(
        help_text="Raw items by key, e.g. Sunnybrook rest_eye, voluntary_brow_lift, synkinesis_snarl; "
        "SAQ saq_1..saq_9; House-Brackmann grade. Errors name the item: fields.items.<key>."
    )
    side = serializers.ChoiceField(choices=SurgerySide.choices, required=False, allow_blank=True)
    encounter = serializers.PrimaryKeyRelatedField(
        queryset=Encounter.objects.all(), required=False, allow_null=True
    )
    note = _text(max_length=500)
    rater = UserRefSerializer(read_only=True, allow_null=True, help_text="None when the patient rated")

    class Meta:
        model = Assessment
        fields = [
            "id",
            "patient",
            "instrument",
            "instrument_name",
            "items",
            "scores",
            "formula_version",
            "assessed_at",
            "side",
            "rater",
            "rater_kind",
            "encounter",
            "note",
            "status",
            "status_reason",
            "created_at",
        ]
        read_only_fields = [
            "scores",
            "formula_version",
            "rater_kind",
            "status",
            "status_reason",
            "created_at",
        ]

    def get_instrument_name(self, assessment) -> str:
        definition = instruments.get(assessment.instrument)
        return definition.name if definition else assessment.instrument

    def validate_items(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object of item key to value.")
        if len(value) > 200:
            raise serializers.ValidationError("Too many items.")
        return value


class ReasonSerializer(serializers.Serializer):
    reason = strict.CharField(max_length=300)


class IntervalFindingSerializer(serializers.ModelSerializer):
    class Meta:
        model = IntervalFinding
        fields = [
            "id",
            "patient",
            "earlier",
            "later",
            "days_apart",
            "minimum_days",
            "found_at",
            "status",
            "reviewed_at",
            "reviewed_by",
            "review_note",
        ]
        read_only_fields = fields


class ReviewNoteSerializer(serializers.Serializer):
    note = strict.CharField(max_length=2000)


# --- Lots and dose limits ----------------------------------------------------------------------


class ToxinLotSerializer(serializers.ModelSerializer):
    lot_number = strict.CharField(max_length=64)
    vial_units = serializers.IntegerField(**field_limits(ToxinLot, "vial_units"))
    supplier = _text(max_length=200)
    notes = _text()
    session_count = serializers.IntegerField(read_only=True)
    reason = strict.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="Why the lot is changed: needed once sessions have used it (kept in the audit trail).",
    )

    class Meta:
        model = ToxinLot
        fields = [
            "id",
            "product",
            "lot_number",
            "expiry_date",
            "vial_units",
            "supplier",
            "received_on",
            "is_active",
            "notes",
            "session_count",
            "reason",
        ]
        # Uniqueness is checked by the service on the normalised lot number.
        validators = []


class LotRecipientSerializer(serializers.Serializer):
    patient = serializers.SerializerMethodField()
    sessions = serializers.ListField(child=serializers.DictField(), read_only=True)

    def get_patient(self, entry) -> dict:
        patient = entry["patient"]
        return {"id": patient.pk, "mrn": patient.mrn, "name": patient.display_name}


class ToxinDoseLimitSerializer(serializers.ModelSerializer):
    max_units_per_session = serializers.DecimalField(
        max_digits=7,
        decimal_places=2,
        **field_limits(ToxinDoseLimit, "max_units_per_session"),
        required=False,
        allow_null=True,
    )
    max_units_per_site = serializers.DecimalField(
        max_digits=7,
        decimal_places=2,
        **field_limits(ToxinDoseLimit, "max_units_per_site"),
        required=False,
        allow_null=True,
    )
    note = _text(max_length=300)
    updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Empty while the clinic has set no limit for the product."
    )

    class Meta:
        model = ToxinDoseLimit
        fields = ["product", "max_units_per_session", "max_units_per_site", "note", "updated_at"]
        read_only_fields = ["product", "updated_at"]


class ToxinIntervalInputSerializer(serializers.ModelSerializer):
    """A product's own minimum reinjection interval, in days (the model's bounds)."""

    class Meta:
        model = ToxinProductInterval
        fields = ["min_interval_days"]


class ToxinIntervalSerializer(serializers.Serializer):
    product = serializers.ChoiceField(choices=Product.choices, read_only=True)
    min_interval_days = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The product's own interval; null: the clinic default applies.",
    )
    effective_interval_days = serializers.IntegerField(
        read_only=True, help_text="The interval that applies: the product's own, else the clinic default."
    )
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_by = serializers.ReferenceField(read_only=True, allow_null=True)


class ProgrammeExerciseSerializer(serializers.Serializer):
    exercise = strict.CharField(read_only=True)
    instructions = strict.CharField(read_only=True)
    repetitions = serializers.IntegerField(read_only=True)
    hold_seconds = serializers.IntegerField(read_only=True)
    times_per_day = serializers.IntegerField(read_only=True)
    notes = strict.CharField(read_only=True)
    dose = strict.CharField(read_only=True, help_text="The dose in words, as the patient reads it.")


class ProgrammeChangeSerializer(serializers.Serializer):
    field = strict.CharField(read_only=True)
    before = strict.CharField(read_only=True)
    after = strict.CharField(read_only=True)


class ProgrammeExerciseChangeSerializer(serializers.Serializer):
    exercise = strict.CharField(read_only=True)
    changes = ProgrammeChangeSerializer(many=True, read_only=True)


class ProgrammeDiffSerializer(serializers.Serializer):
    added = serializers.ListField(child=strict.CharField(), read_only=True)
    removed = serializers.ListField(child=strict.CharField(), read_only=True)
    changed = ProgrammeExerciseChangeSerializer(many=True, read_only=True)


class HomeProgrammeSerializer(serializers.Serializer):
    """A patient's current home programme: their latest signed therapy visit's exercises."""

    patient = serializers.IntegerField(read_only=True)
    visit = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The therapy visit that set it."
    )
    set_at = serializers.DateTimeField(read_only=True, allow_null=True)
    therapist = strict.CharField(read_only=True)
    weekly_checkins = serializers.BooleanField(read_only=True)
    exercises = ProgrammeExerciseSerializer(many=True, read_only=True)
    changes = ProgrammeDiffSerializer(read_only=True, help_text="What the visit changed from the one before.")


class ProgrammeCheckInSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProgrammeCheckIn
        fields = ["id", "patient", "visit", "days_done", "difficulty", "note", "answered_at", "source"]
        read_only_fields = fields
