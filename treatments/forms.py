"""Forms of the clinical pages. Field names are the services' data keys, so a valid form is
handed to the same service the API calls, and the service's field errors land on the field."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from clinic.configuration import field_limits
from clinic.validators import validate_clinic_year
from scheduling.models import Appointment

from . import instruments, selectors
from .models import (
    Complication,
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
    Modality,
    Muscle,
    PlanStage,
    Procedure,
    Product,
    Severity,
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
    ToxinSession,
    TreatmentPlan,
)

TEXT = 20000
MAX_ROWS = 60


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def _text(label=None, rows=3, max_length=TEXT, **kw):
    return forms.CharField(
        label=label, required=False, max_length=max_length, widget=forms.Textarea(attrs={"rows": rows}), **kw
    )


def _choice(choices, blank="—", required=True, **kw):
    return forms.ChoiceField(choices=[("", blank), *choices], required=required, **kw)


def _local_now():
    return timezone.localtime().replace(second=0, microsecond=0)


# --- Rows --------------------------------------------------------------------------------------


class RowFormSet(forms.BaseFormSet):
    """A table of rows that may grow and shrink in the browser (static/js/treatments.js).

    Blank rows are ignored, deleted rows dropped; ``rows()`` is what the service gets, and
    ``row_forms`` maps the service's per-row errors back to the rows on the page.
    """

    def rows(self) -> list[dict]:
        self.row_forms = []
        rows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            self.row_forms.append(form)
            rows.append({k: v for k, v in data.items() if k != "DELETE"})
        return rows

    def add_row_errors(self, errors) -> None:
        if isinstance(errors, list) and all(isinstance(e, dict) for e in errors):
            for form, row_errors in zip(getattr(self, "row_forms", []), errors, strict=False):
                for field, messages in row_errors.items():
                    for message in messages:
                        form.add_error(field if field in form.fields else None, message)
        else:
            messages = errors if isinstance(errors, list) else [errors]
            self._non_form_errors = self.error_class([*self.non_form_errors(), *map(str, messages)])


def rows_formset(form_class, extra=1):
    return forms.formset_factory(
        form_class, formset=RowFormSet, extra=extra, can_delete=True, max_num=MAX_ROWS, validate_max=True
    )


class InjectionForm(forms.Form):
    muscle = _choice(Muscle.choices)
    side = _choice(Side.choices)
    units = forms.DecimalField(
        max_digits=7,
        decimal_places=2,
        **field_limits(Injection, "units"),
        widget=forms.NumberInput(attrs={"step": "0.5", "inputmode": "decimal", "data-units": ""}),
    )
    points = forms.IntegerField(
        **field_limits(Injection, "points"), initial=1, widget=forms.NumberInput(attrs={"data-points": ""})
    )
    # The row's point on the face diagram (static/js/face_chart.js fills these in).
    diagram_x = forms.DecimalField(
        max_digits=4,
        decimal_places=3,
        required=False,
        **field_limits(Injection, "diagram_x"),
        widget=forms.HiddenInput(attrs={"data-diagram-x": ""}),
    )
    diagram_y = forms.DecimalField(
        max_digits=4,
        decimal_places=3,
        required=False,
        **field_limits(Injection, "diagram_y"),
        widget=forms.HiddenInput(attrs={"data-diagram-y": ""}),
    )


class ExerciseForm(forms.Form):
    exercise = forms.CharField(max_length=200)
    repetitions = forms.IntegerField(**field_limits(HomeExercise, "repetitions"))
    hold_seconds = forms.IntegerField(
        label="Hold (s)", **field_limits(HomeExercise, "hold_seconds"), initial=0
    )
    times_per_day = forms.IntegerField(
        label="Times a day", **field_limits(HomeExercise, "times_per_day"), initial=1
    )
    instructions = forms.CharField(
        label="How to do it (the patient reads this)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    notes = forms.CharField(max_length=300, required=False)


class PatternForm(forms.Form):
    trigger = _choice(SynkinesisPattern.Trigger.choices, label="Trigger movement")
    region = _choice(SynkinesisPattern.Region.choices, label="Involuntary region")
    severity = _choice(Severity.choices, required=False)


class RecommendationForm(forms.Form):
    muscle = _choice(Muscle.choices)
    side = _choice(Side.choices)
    note = forms.CharField(max_length=300, required=False)


class ProcedureForm(forms.Form):
    kind = _choice(Procedure.Kind.choices, label="Procedure")
    muscle = _choice(Muscle.choices, required=False, label="Muscle (myectomy)")
    branches_divided = forms.CharField(max_length=300, required=False)
    branches_preserved = forms.CharField(max_length=300, required=False)
    gold_weight_grams = forms.DecimalField(
        label="Gold weight (g)",
        max_digits=3,
        decimal_places=1,
        **field_limits(Procedure, "gold_weight_grams"),
        required=False,
    )
    implant_lot = forms.CharField(max_length=64, required=False)
    detail = forms.CharField(max_length=500, required=False)
    approach = _choice(DaoApproach.choices, required=False, label="Approach (DAO excision)")
    function_test_smile = _choice(FunctionTestResult.choices, required=False, label="Function test: smile")
    function_test_eye_closure = _choice(
        FunctionTestResult.choices, required=False, label="Function test: eye closure"
    )
    donor_muscle = _choice(DonorMuscle.choices, required=False, label="Donor muscle (transfer)")
    donor_nerve = _choice(DonorNerve.choices, required=False, label="Donor nerve (transfer)")


class StimulatedBranchForm(forms.Form):
    branch = _choice(FacialBranch.choices)
    response = _choice(StimulationResponse.choices, label="Response to stimulation")
    action = _choice(StimulatedBranch.Action.choices, label="Divided or preserved")


class ComplicationForm(forms.Form):
    description = forms.CharField(max_length=500)
    grade = _choice(Complication.ClavienDindo.choices, label="Clavien-Dindo")


class FollowUpPlanForm(forms.Form):
    label = forms.CharField(max_length=50)
    after_days = forms.IntegerField(label="After (days)", **field_limits(FollowUpPlanItem, "after_days"))


class StageForm(forms.Form):
    id = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=2**63 - 1)
    modality = _choice(Modality.choices)
    description = forms.CharField(max_length=500)
    target_start = forms.DateField(validators=[validate_clinic_year], required=False, widget=DateInput)
    target_end = forms.DateField(validators=[validate_clinic_year], required=False, widget=DateInput)
    status = forms.ChoiceField(choices=PlanStage.Status.choices, initial=PlanStage.Status.PLANNED)


InjectionFormSet = rows_formset(InjectionForm, extra=2)
ExerciseFormSet = rows_formset(ExerciseForm)
PatternFormSet = rows_formset(PatternForm)
RecommendationFormSet = rows_formset(RecommendationForm)
ProcedureFormSet = rows_formset(ProcedureForm)
StimulatedBranchFormSet = rows_formset(StimulatedBranchForm)
ComplicationFormSet = rows_formset(ComplicationForm)
FollowUpPlanFormSet = rows_formset(FollowUpPlanForm, extra=0)
StageFormSet = rows_formset(StageForm)


# --- Encounters --------------------------------------------------------------------------------


class AppointmentChoice(forms.ModelChoiceField):
    def label_from_instance(self, appointment):
        start = timezone.localtime(appointment.starts_at)
        return f"{start:%d %b %Y %H:%M} · {appointment.appointment_type} · {appointment.provider}"


class StageChoice(forms.ModelChoiceField):
    def label_from_instance(self, stage):
        return f"Plan {stage.plan_id}: {stage}"


class EncounterForm(forms.Form):
    """What every encounter has. Subclasses add their kind's fields."""

    occurred_at = forms.DateTimeField(label="Date and time", widget=DateTimeLocal)
    appointment = AppointmentChoice(
        queryset=Appointment.objects.none(), required=False, empty_label="No appointment"
    )
    plan_stage = StageChoice(
        queryset=PlanStage.objects.none(), required=False, empty_label="Not part of a plan stage"
    )
    note = _text(rows=4)

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient
        now = timezone.now()
        # Visits of the last two months and today's: the ones a note is written for.
        self.fields["appointment"].queryset = (
            Appointment.objects.filter(
                patient=patient,
                starts_at__gte=now - timedelta(days=60),
                starts_at__lte=now + timedelta(days=1),
            )
            .select_related("appointment_type", "provider__user")
            .order_by("-starts_at")
        )
        self.fields["plan_stage"].queryset = selectors.plan_stages_for_patient(patient_id=patient.pk)
        if "occurred_at" in self.fields and not self.is_bound and not self.initial.get("occurred_at"):
            self.initial["occurred_at"] = _local_now()

    def service_data(self) -> dict:
        return dict(self.cleaned_data)


class LotSelect(forms.Select):
    """Options carry their product and vial size, so the page can offer only the chosen
    product's lots and show units per 0.1 mL."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        lot = getattr(value, "instance", None)
        if lot is not None:
            option["attrs"]["data-product"] = lot.product
            option["attrs"]["data-vial-units"] = lot.vial_units
        return option


class LotChoice(forms.ModelChoiceField):
    """Offers the lots of ``queryset`` but takes any lot of the register, so that a lot withdrawn
    or expired since the page was drawn reaches the service, which says why it is refused."""

    widget = LotSelect

    def to_python(self, value):
        if value in self.empty_values:
            return None
        pk = str(value).strip()
        lot = None
        if pk.isascii() and pk.isdigit() and 0 < int(pk) < 2**63:
            lot = ToxinLot.objects.filter(pk=int(pk)).first()
        if lot is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return lot

    def label_from_instance(self, lot):
        return f"{lot.lot_number} · exp. {lot.expiry_date:%d %b %Y} · {lot.vial_units} U vial"


class ToxinSessionForm(EncounterForm):
    product = _choice(Product.choices, widget=forms.Select(attrs={"data-product-picker": ""}))
    lot = LotChoice(queryset=ToxinLot.objects.none(), widget=LotSelect(attrs={"data-lot-picker": ""}))
    dilution_ml = forms.DecimalField(
        label="Saline per vial (mL)",
        max_digits=4,
        decimal_places=2,
        **field_limits(ToxinSession, "dilution_ml"),
        widget=forms.NumberInput(attrs={"step": "0.1", "data-dilution": ""}),
    )
    response_onset_days = forms.IntegerField(
        label="Onset (days)", **field_limits(ToxinSession, "response_onset_days"), required=False
    )
    response_duration_weeks = forms.IntegerField(
        label="Effect lasted (weeks)", **field_limits(ToxinSession, "response_duration_weeks"), required=False
    )
    response_ptosis = forms.BooleanField(label="Ptosis", required=False)
    response_oral_incompetence = forms.BooleanField(label="Oral incompetence", required=False)
    response_smile_weakness = forms.BooleanField(label="Smile weakness", required=False)
    response_other = forms.CharField(label="Other side effects", max_length=300, required=False)
    override_reason = _text("Reason to inject inside the minimum interval", rows=2, max_length=2000)

    def __init__(self, *args, current_lot=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Unexpired lots in use (and, on a draft, the lot it already names, even if withdrawn
        # since). A lot expired on the session date or withdrawn is refused by the service with
        # a clear message.
        lots = selectors.usable_lots()
        if current_lot is not None:
            lots = ToxinLot.objects.filter(pk__in=lots.values("pk")) | ToxinLot.objects.filter(
                pk=current_lot.pk
            )
        self.fields["lot"].queryset = lots.order_by("product", "expiry_date", "lot_number")


class TherapyVisitForm(EncounterForm):
    techniques = forms.MultipleChoiceField(
        choices=Technique.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", **field_limits(TherapyVisit, "duration_minutes"), required=False
    )
    adherence = _choice(
        TherapyVisit.Adherence.choices, required=False, label="Adherence since the last visit"
    )
    adherence_note = forms.CharField(max_length=300, required=False)
    goals = _text()
    progress = _text()
    course_visits = forms.IntegerField(
        label="Further visits in the course",
        **field_limits(TherapyVisit, "course_visits"),
        required=False,
        help_text="Each opens a therapy recall on the worklist. Leave empty for no course.",
    )
    course_every_weeks = forms.IntegerField(
        label="One visit every (weeks)",
        **field_limits(TherapyVisit, "course_every_weeks"),
        required=False,
    )
    weekly_checkins = forms.BooleanField(
        label="Weekly check-ins",
        required=False,
        help_text="Ask the patient each week how the home programme went, until the next visit.",
    )

    def service_data(self) -> dict:
        data = super().service_data()
        data["techniques"] = list(data.get("techniques") or [])
        return data


class SurgeryForm(EncounterForm):
    started_at = forms.DateTimeField(label="Start", widget=DateTimeLocal)
    ended_at = forms.DateTimeField(label="End", widget=DateTimeLocal)
    side = _choice(SurgerySide.choices)
    anaesthesia = _choice(Surgery.Anaesthesia.choices)
    assistants = forms.CharField(max_length=300, required=False)
    findings = _text()
    operative_note = _text(rows=8)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A surgery happens when it starts.
        del self.fields["occurred_at"]


class ConsultationForm(EncounterForm):
    history_of_palsy = _text("History")
    examination = _text()
    symptoms = _text()
    severity = _choice(Severity.choices, required=False, label="Symptom severity")
    goals = _text("Patient's goals")
    plan_summary = _text()


class TreatmentChoice(forms.ModelChoiceField):
    def label_from_instance(self, encounter):
        return f"{timezone.localtime(encounter.occurred_at):%d %b %Y} · {encounter.get_kind_display()}"


class FollowUpForm(EncounterForm):
    treatment = TreatmentChoice(
        queryset=Encounter.objects.none(),
        required=False,
        empty_label="The last treatment",
        label="Treatment followed up",
    )
    response = _choice(FollowUp.Response.choices, required=False, label="Response to the treatment")
    response_note = _text()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["treatment"].queryset = Encounter.objects.filter(
            patient=self.patient,
            kind__in=[Encounter.Kind.TOXIN, Encounter.Kind.SURGERY, Encounter.Kind.THERAPY],
        ).order_by("-occurred_at")


class AddendumForm(forms.Form):
    text = forms.CharField(label="Addendum", max_length=TEXT, widget=forms.Textarea(attrs={"rows": 3}))


# --- Plans, gradings, lots ---------------------------------------------------------------------


class PlanForm(forms.Form):
    status = forms.ChoiceField(choices=TreatmentPlan.Status.choices, initial=TreatmentPlan.Status.DRAFT)
    goals = forms.CharField(max_length=TEXT, widget=forms.Textarea(attrs={"rows": 3}))
    modalities = forms.MultipleChoiceField(choices=Modality.choices, widget=forms.CheckboxSelectMultiple)
    severity = _choice(Severity.choices, required=False)
    lifestyle = _choice(TreatmentPlan.Lifestyle.choices, required=False)
    surgery_comfort = _choice(
        TreatmentPlan.SurgeryComfort.choices, required=False, label="Comfort with surgery"
    )
    previous_experience = _text("Previous treatments and how they worked")
    notes = _text()

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["modalities"] = list(data["modalities"])
        return data


# A scale with more points than this is typed as a number (eFACE's 0-100 and 0-200 analogue
# scales), not offered as radio buttons.
RADIO_SCALE_MAX_POINTS = 11


def _item_field(item: instruments.Item, *, required: bool) -> forms.Field:
    """The form field for one raw item of the registry."""
    if item.is_categorical:
        return forms.ChoiceField(choices=item.choices, widget=forms.RadioSelect, required=required)
    if item.maximum - item.minimum + 1 > RADIO_SCALE_MAX_POINTS:
        anchors = "; ".join(f"{n}: {text}" for n, text in sorted(item.anchors.items()))
        return forms.IntegerField(
            min_value=item.minimum,
            max_value=item.maximum,
            required=required,
            help_text=f"{item.minimum} to {item.maximum}" + (f" ({anchors})" if anchors else ""),
            widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
        )
    return forms.TypedChoiceField(
        choices=item.choices, coerce=int, widget=forms.RadioSelect, required=required, empty_value=None
    )


class AssessmentForm(forms.Form):
    """Built from the instrument registry: one field per raw item."""

    assessed_at = forms.DateTimeField(label="Date and time", widget=DateTimeLocal)
    side = _choice(SurgerySide.choices, required=False, blank="Not applicable")
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, instrument: instruments.Instrument, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        for item in instrument.items:
            field = _item_field(item, required=True)
            field.label = item.label
            self.fields[f"item_{item.key}"] = field
        if not self.is_bound and "assessed_at" not in self.initial:
            self.initial["assessed_at"] = _local_now()

    def item_field(self, key):
        return self[f"item_{key}"]

    def items(self) -> dict:
        return {item.key: self.cleaned_data[f"item_{item.key}"] for item in self.instrument.items}


class GradingForm(forms.Form):
    """One instrument's items inside the consultation form (prefix: the instrument's code).
    Optional as a whole; once started, every item is needed."""

    INCOMPLETE = "Needed to complete the {name} grading (or clear the grading to leave it out)."

    def __init__(self, *args, instrument: instruments.Instrument, **kwargs):
        super().__init__(*args, prefix=instrument.code, **kwargs)
        self.instrument = instrument
        for item in instrument.items:
            field = _item_field(item, required=False)
            field.label = item.label
            self.fields[f"item_{item.key}"] = field

    def item_field(self, key):
        return self[f"item_{key}"]

    def _answered(self) -> dict:
        return {
            item.key: self.cleaned_data.get(f"item_{item.key}")
            for item in self.instrument.items
            if self.cleaned_data.get(f"item_{item.key}") not in (None, "")
        }

    @property
    def started(self) -> bool:
        """Whether any item was answered (on a bound form, from the raw input)."""
        if not self.is_bound:
            return False
        return any(self.data.get(self.add_prefix(f"item_{item.key}")) for item in self.instrument.items)

    def clean(self):
        data = super().clean()
        answered = self._answered()
        if answered and len(answered) < len(self.instrument.items):
            for item in self.instrument.items:
                if item.key not in answered and f"item_{item.key}" not in self.errors:
                    self.add_error(f"item_{item.key}", self.INCOMPLETE.format(name=self.instrument.name))
        return data

    def items(self) -> dict | None:
        """The raw items to record, or None if the grading was left out."""
        answered = self._answered()
        return answered or None

    def add_service_errors(self, fields: dict) -> None:
        """The grading service's errors: per item where it names one, else on the grading."""
        for key, errors in (fields.get("items") or {}).items():
            for message in errors:
                self.add_error(f"item_{key}" if f"item_{key}" in self.fields else None, message)
        for name, errors in fields.items():
            if name != "items":
                for message in errors if isinstance(errors, list) else [errors]:
                    self.add_error(None, message)


class EnteredInErrorForm(forms.Form):
    reason = forms.CharField(max_length=300)


class LotForm(forms.Form):
    product = _choice(Product.choices)
    lot_number = forms.CharField(max_length=64)
    expiry_date = forms.DateField(validators=[validate_clinic_year], widget=DateInput)
    vial_units = forms.IntegerField(label="Units per vial", **field_limits(ToxinLot, "vial_units"))
    supplier = forms.CharField(max_length=200, required=False)
    received_on = forms.DateField(validators=[validate_clinic_year], required=False, widget=DateInput)
    is_active = forms.BooleanField(label="In use (offered on the session form)", required=False, initial=True)
    notes = _text(rows=2)


class LotEditForm(LotForm):
    reason = forms.CharField(
        label="Reason for the change",
        max_length=300,
        required=False,
        help_text="Needed once sessions have used this lot; kept in the audit trail.",
    )


class CosignForm(forms.Form):
    note = forms.CharField(label="Co-signature note", max_length=2000, required=False)


class DoseLimitForm(forms.Form):
    max_units_per_session = forms.DecimalField(
        max_digits=7,
        decimal_places=2,
        **field_limits(ToxinDoseLimit, "max_units_per_session"),
        required=False,
        label="Max units per session",
    )
    max_units_per_site = forms.DecimalField(
        max_digits=7,
        decimal_places=2,
        **field_limits(ToxinDoseLimit, "max_units_per_site"),
        required=False,
        label="Max units per site",
    )
    note = forms.CharField(max_length=300, required=False)
