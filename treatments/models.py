"""Clinical records: treatment plans, encounters (consultation, toxin session, therapy visit,
surgery, follow-up), injection maps, the toxin lot register and gradings.

An encounter is one clinical contact. Its common part (patient, clinician, time, note, status)
lives in ``Encounter`` so that the chart's timeline is one query on one table; what depends on
the kind lives in a detail row whose primary key *is* the encounter's id (so
``/toxin-sessions/42/`` and encounter 42 are the same record) and in that detail's child rows.

Signed encounters are read-only: the services refuse changes (``RecordSigned``), and on
PostgreSQL triggers (migration 0002) refuse UPDATE/DELETE of a signed encounter and any insert,
update or delete of its detail and child rows, so that not even a bug or a raw query can rewrite
a signed note. Corrections are addenda.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from clinic.models import INTERVAL_DAYS_MAX, INTERVAL_DAYS_MIN, bounded, decimal_bounded

# --- Catalogues --------------------------------------------------------------------------------


class Product(models.TextChoices):
    """Botulinum toxin products. Units are product-specific: never summed or compared across
    products (docs/domain.md), so every unit figure travels with its product."""

    ONABOTULINUMTOXIN_A = "onabotulinumtoxinA", "onabotulinumtoxinA (Botox)"
    ABOBOTULINUMTOXIN_A = "abobotulinumtoxinA", "abobotulinumtoxinA (Dysport)"
    INCOBOTULINUMTOXIN_A = "incobotulinumtoxinA", "incobotulinumtoxinA (Xeomin)"
    PRABOTULINUMTOXIN_A = "prabotulinumtoxinA", "prabotulinumtoxinA (Jeuveau)"
    DAXIBOTULINUMTOXIN_A = "daxibotulinumtoxinA", "daxibotulinumtoxinA (Daxxify)"
    RIMABOTULINUMTOXIN_B = "rimabotulinumtoxinB", "rimabotulinumtoxinB (Myobloc)"


# Units per injection row above which the entry is taken for a typing slip (e.g. 250 for 2.5),
# not a dose. These are plausibility bounds per product (its units differ ~1:1 to ~1:50 from
# onabotulinumtoxinA), not dose advice: the clinic's dose limits (ToxinDoseLimit) give warnings.
UNITS_PER_ROW_CEILING: dict[str, Decimal] = {
    Product.ONABOTULINUMTOXIN_A: Decimal(200),
    Product.ABOBOTULINUMTOXIN_A: Decimal(600),
    Product.INCOBOTULINUMTOXIN_A: Decimal(200),
    Product.PRABOTULINUMTOXIN_A: Decimal(200),
    Product.DAXIBOTULINUMTOXIN_A: Decimal(200),
    Product.RIMABOTULINUMTOXIN_B: Decimal(10000),
}


class Muscle(models.TextChoices):
    """Muscles injected or operated on for synkinesis, brow to neck (the order maps are shown in)."""

    FRONTALIS = "frontalis", "Frontalis"
    CORRUGATOR = "corrugator", "Corrugator"
    PROCERUS = "procerus", "Procerus"
    ORBICULARIS_OCULI_PRETARSAL = "orbicularis_oculi_pretarsal", "Orbicularis oculi (pretarsal)"
    ORBICULARIS_OCULI_ORBITAL = "orbicularis_oculi_orbital", "Orbicularis oculi (orbital)"
    NASALIS = "nasalis", "Nasalis"
    LEVATOR_LABII_SUPERIORIS = "levator_labii_superioris", "Levator labii superioris"
    ZYGOMATICUS_MAJOR = "zygomaticus_major", "Zygomaticus major"
    ZYGOMATICUS_MINOR = "zygomaticus_minor", "Zygomaticus minor"
    RISORIUS = "risorius", "Risorius"
    BUCCINATOR = "buccinator", "Buccinator"
    ORBICULARIS_ORIS = "orbicularis_oris", "Orbicularis oris"
    DEPRESSOR_ANGULI_ORIS = "depressor_anguli_oris", "Depressor anguli oris (DAO)"
    DEPRESSOR_LABII_INFERIORIS = "depressor_labii_inferioris", "Depressor labii inferioris (DLI)"
    MENTALIS = "mentalis", "Mentalis"
    PLATYSMA = "platysma", "Platysma"


MUSCLE_ORDER = {value: index for index, value in enumerate(Muscle.values)}


class Side(models.TextChoices):
    """Relative to the patient."""

    LEFT = "left", "Left"
    RIGHT = "right", "Right"


# The face diagram's vertical midline (x, normalised): the patient's right is the viewer's left.
DIAGRAM_MIDLINE = Decimal("0.5")


class SurgerySide(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    BILATERAL = "bilateral", "Bilateral"


class Modality(models.TextChoices):
    THERAPY = "therapy", "Neuromuscular retraining therapy (NMRT)"
    TOXIN = "toxin", "Botulinum toxin"
    SURGERY = "surgery", "Surgery"


class Severity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


# --- Treatment plans ---------------------------------------------------------------------------


class TreatmentPlan(models.Model):
    """The plan agreed with the patient after the consultation; plans evolve, history is kept."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ON_HOLD = "on_hold", "On hold"
        COMPLETED = "completed", "Completed"

    class Lifestyle(models.TextChoices):
        QUICK_RESULTS = "quick_results", "Needs quick results"
        CAN_INVEST_TIME = "can_invest_time", "Can invest time (e.g. months of therapy)"

    class SurgeryComfort(models.TextChoices):
        COMFORTABLE = "comfortable", "Comfortable with surgery"
        HESITANT = "hesitant", "Hesitant"
        DECLINES = "declines", "Declines surgery"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="treatment_plans")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT)
    goals = models.TextField()
    # A list of Modality values: plans are often a combination.
    modalities = models.JSONField(default=list)
    # The factors behind the choice.
    severity = models.CharField(max_length=16, choices=Severity, blank=True)
    lifestyle = models.CharField(max_length=16, choices=Lifestyle, blank=True)
    surgery_comfort = models.CharField(max_length=16, choices=SurgeryComfort, blank=True)
    previous_experience = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    # One more each time what the patient agrees to changes (goals, modalities, the factors,
    # the stages' content): an agreement is to one version (PlanAgreement.plan_version).
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # "The current plan" must be unambiguous on the chart and for linking encounters.
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status="active"),
                name="treatments_plan_one_active_per_patient",
            ),
        ]
        indexes = [
            # The chart's "current plan" and the plan list per patient.
            models.Index(fields=["patient", "status"], name="treatments_plan_patient_status"),
            # Every plan, newest first (the API's list).
            models.Index(fields=["-created_at", "-id"], name="treatments_plan_time"),
        ]

    def __str__(self) -> str:
        return f"Plan {self.pk} ({self.get_status_display()})"

    @property
    def audit_label(self) -> str:
        return f"treatment plan {self.pk}"

    @property
    def modality_labels(self) -> list[str]:
        labels = dict(Modality.choices)
        return [labels.get(m, m) for m in self.modalities]

    @property
    def current_agreement(self) -> "PlanAgreement | None":
        """The patient's agreement to this version, or None ("Not yet agreed"). Reads the
        prefetched ``agreements`` (treatments.selectors.plan_agreements)."""
        for agreement in self.agreements.all():
            if agreement.plan_version == self.version:
                return agreement
        return None


class PlanStage(models.Model):
    """One step of a plan, e.g. "3 months NMRT", then "toxin every 12-16 weeks"."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="stages")
    position = models.PositiveSmallIntegerField(default=0)
    modality = models.CharField(max_length=16, choices=Modality)
    description = models.CharField(max_length=500)
    target_start = models.DateField(null=True, blank=True)
    target_end = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.PLANNED)
    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_end__isnull=True)
                | Q(target_start__isnull=True)
                | Q(target_end__gte=F("target_start")),
                name="treatments_planstage_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.get_modality_display()}: {self.description}"


class PlanAgreement(models.Model):
    """The patient's agreement to one version of a plan: how (a signature drawn on the tablet,
    the patient's own link, or said aloud before a named member of staff), when and who.
    Recorded once per version and never changed; a new version needs a new agreement, and the
    agreements to earlier versions stay as the plan's history (docs/treatments.md)."""

    class Method(models.TextChoices):
        TABLET = "tablet", "tablet signature"
        LINK = "link", "the patient's link"
        VERBAL = "verbal", "verbal, witnessed"

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="agreements")
    plan_version = models.PositiveIntegerField()
    method = models.CharField(max_length=8, choices=Method)
    agreed_at = models.DateTimeField(default=timezone.now)
    # The member of staff who recorded it (none when the patient agreed through the link).
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A verbal agreement's witness: a member of staff, named.
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The name the patient signed under (tablet) or gave (link).
    signer_name = models.CharField(max_length=200, blank=True)
    signature_png = models.BinaryField(null=True, blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["signature_png"])

    class Meta:
        ordering = ["-agreed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "plan_version"], name="treatments_plan_agreement_once"),
            models.CheckConstraint(
                condition=~Q(method="verbal") | Q(witness__isnull=False),
                name="treatments_plan_agreement_verbal_witnessed",
            ),
        ]

    def __str__(self) -> str:
        return f"Agreement to plan {self.plan_id} v{self.plan_version} ({self.method})"

    @property
    def audit_label(self) -> str:
        return f"agreement to treatment plan {self.plan_id} version {self.plan_version}"


# --- Encounters --------------------------------------------------------------------------------


class Encounter(models.Model):
    class Kind(models.TextChoices):
        CONSULTATION = "consultation", "Consultation"
        TOXIN = "toxin", "Toxin session"
        THERAPY = "therapy", "Therapy visit"
        SURGERY = "surgery", "Surgery"
        FOLLOW_UP = "follow_up", "Follow-up"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="encounters")
    kind = models.CharField(max_length=16, choices=Kind)
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="encounters"
    )
    plan_stage = models.ForeignKey(
        PlanStage, null=True, blank=True, on_delete=models.PROTECT, related_name="encounters"
    )
    occurred_at = models.DateTimeField()
    note = models.TextField(blank=True)
    # One line for the timeline, written by the service from the detail record, so the chart
    # lists encounters of every kind from this table alone.
    summary = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=8, choices=Status, default=Status.DRAFT)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            # Signed means signed by someone at some time; a draft carries no signature.
            models.CheckConstraint(
                condition=(Q(status="signed") & Q(signed_at__isnull=False) & Q(signed_by__isnull=False))
                | (Q(status="draft") & Q(signed_at__isnull=True) & Q(signed_by__isnull=True)),
                name="treatments_encounter_signature_matches_status",
            ),
        ]
        indexes = [
            # The chart timeline: a patient's encounters, newest first.
            models.Index(fields=["patient", "-occurred_at"], name="treatments_enc_patient_time"),
            # The reinjection rule and the toxin form: the patient's previous toxin sessions.
            models.Index(fields=["patient", "kind", "-occurred_at"], name="treatments_enc_patient_kind"),
            # A clinician's unsigned drafts.
            models.Index(fields=["clinician", "status"], name="treatments_enc_clin_status"),
            # Every encounter, newest first (the API's lists of encounters and of each kind).
            models.Index(fields=["-occurred_at", "-id"], name="treatments_enc_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"

    @property
    def audit_label(self) -> str:
        return f"{self.kind} encounter {self.pk}"

    @property
    def is_signed(self) -> bool:
        return self.status == self.Status.SIGNED


class Addendum(models.Model):
    """A correction or addition to a signed encounter: who, when, what. Append-only."""

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    text = models.TextField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "addenda"
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="treatments_addendum_text_not_blank"),
        ]

    def __str__(self) -> str:
        return f"Addendum {self.pk} to encounter {self.encounter_id}"

    @property
    def audit_label(self) -> str:
        return f"addendum {self.pk}"


class Cosignature(models.Model):
    """A second clinician's countersignature of a signed encounter: who, when, a note.

    Append-only (the service only adds; on PostgreSQL a trigger refuses UPDATE and DELETE). The
    encounter's author stays its clinician; a co-signature never changes who wrote the note.
    """

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="cosignatures")
    cosigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cosigned_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["cosigned_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["encounter", "cosigned_by"], name="treatments_cosignature_once_per_clinician"
            ),
        ]

    def __str__(self) -> str:
        return f"Co-signature {self.pk} of encounter {self.encounter_id}"

    @property
    def audit_label(self) -> str:
        return f"co-signature {self.pk}"


class Consultation(models.Model):
    encounter = models.OneToOneField(
        Encounter, primary_key=True, on_delete=models.PROTECT, related_name="consultation"
    )
    history_of_palsy = models.TextField("history", blank=True)
    examination = models.TextField(blank=True)
    symptoms = models.TextField(blank=True)
    severity = models.CharField(max_length=16, choices=Severity, blank=True)
    goals = models.TextField(blank=True)
    plan_summary = models.TextField(blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Consultation {self.pk}"


class FollowUp(models.Model):
    class Response(models.TextChoices):
        MUCH_BETTER = "much_better", "Much better"
        BETTER = "better", "Better"
        UNCHANGED = "unchanged", "Unchanged"
        WORSE = "worse", "Worse"

    encounter = models.OneToOneField(
        Encounter, primary_key=True, on_delete=models.PROTECT, related_name="follow_up"
    )
    # The treatment this follow-up looks at (the last toxin session or surgery, usually).
    treatment = models.ForeignKey(
        Encounter, null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )
    response = models.CharField(max_length=16, choices=Response, blank=True)
    response_note = models.TextField(blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Follow-up {self.pk}"


# --- Toxin -------------------------------------------------------------------------------------


class ToxinLot(models.Model):
    """A vial lot in the clinic's register: answers "which patients received lot X?"."""

    product = models.CharField(max_length=24, choices=Product)
    lot_number = models.CharField(max_length=64)
    expiry_date = models.DateField()
    vial_units = models.PositiveIntegerField(
        help_text="Units per vial, in this product's units.", validators=bounded(1, 100000)
    )
    supplier = models.CharField(max_length=200, blank=True)
    received_on = models.DateField(null=True, blank=True)
    # Withdrawn lots (used up, quarantined) stay in the register but leave the picker.
    is_active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["product", "expiry_date", "lot_number"]
        constraints = [
            models.UniqueConstraint(fields=["product", "lot_number"], name="treatments_toxinlot_unique_lot"),
            models.CheckConstraint(
                condition=Q(vial_units__gt=0) & Q(vial_units__lte=100000),
                name="treatments_toxinlot_vial_units",
            ),
            models.CheckConstraint(condition=~Q(lot_number=""), name="treatments_toxinlot_lot_not_blank"),
        ]
        indexes = [
            # The session form's lot picker: unexpired lots of one product.
            models.Index(fields=["product", "expiry_date"], name="treatments_lot_product_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.lot_number} ({self.get_product_display()}, exp. {self.expiry_date:%Y-%m-%d})"

    @property
    def audit_label(self) -> str:
        return f"toxin lot {self.pk}"

    def is_expired_on(self, day) -> bool:
        # A lot is usable up to and including its expiry date.
        return self.expiry_date < day


class ToxinDoseLimit(models.Model):
    """The clinic's dose limits for one product: exceeding them warns, never refuses.

    Limits are the clinic's own policy (docs/domain.md: never hard-coded medical advice).
    """

    product = models.CharField(max_length=24, choices=Product, unique=True)
    max_units_per_session = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True, validators=decimal_bounded("0.01")
    )
    max_units_per_site = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Per injection point.",
        validators=decimal_bounded("0.01"),
    )
    note = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["product"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(max_units_per_session__isnull=True) | Q(max_units_per_session__gt=0))
                & (Q(max_units_per_site__isnull=True) | Q(max_units_per_site__gt=0)),
                name="treatments_toxindoselimit_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Dose limits for {self.get_product_display()}"

    @property
    def audit_label(self) -> str:
        return f"dose limit {self.product}"


class ToxinProductInterval(models.Model):
    """The clinic's minimum reinjection interval for one product.

    Products without a row use the clinic default (``ClinicSettings.min_reinjection_interval_days``).
    Read only through ``treatments.interval``, the one owner of the reinjection rule.
    """

    product = models.CharField(max_length=24, choices=Product, unique=True)
    min_interval_days = models.PositiveSmallIntegerField(
        "minimum interval (days)",
        validators=bounded(INTERVAL_DAYS_MIN, INTERVAL_DAYS_MAX),
        help_text="Toxin sessions of this product closer than this need a clinician's override.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["product"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_interval_days__gte=INTERVAL_DAYS_MIN)
                & Q(min_interval_days__lte=INTERVAL_DAYS_MAX),
                name="treatments_toxinproductinterval_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_product_display()}: {self.min_interval_days} days"

    @property
    def audit_label(self) -> str:
        return f"reinjection interval {self.product}"


class IntervalFinding(models.Model):
    """Two toxin sessions of one patient closer than the interval with no recorded override.

    Found by the nightly safety net (``interval_findings_scan``): data imported or edited outside
    the normal paths. The clinical lead reviews each one; a finding is never deleted.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        REVIEWED = "reviewed", "Reviewed"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    earlier = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="+")
    later = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="+")
    days_apart = models.PositiveIntegerField()
    minimum_days = models.PositiveSmallIntegerField()
    found_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=8, choices=Status, default=Status.OPEN)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    review_note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["earlier", "later"], name="treatments_intervalfinding_pair"),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(reviewed_by__isnull=True))
                | (Q(status="reviewed") & Q(reviewed_by__isnull=False) & Q(reviewed_at__isnull=False)),
                name="treatments_intervalfinding_review_attributed",
            ),
        ]
        indexes = [models.Index(fields=["status", "-found_at"], name="treatments_intfind_status")]

    def __str__(self) -> str:
        return f"Interval finding {self.pk}: {self.days_apart} < {self.minimum_days} days"

    @property
    def audit_label(self) -> str:
        return f"interval finding {self.pk}"


class ToxinSession(models.Model):
    encounter = models.OneToOneField(
        Encounter, primary_key=True, on_delete=models.PROTECT, related_name="toxin_session"
    )
    product = models.CharField(max_length=24, choices=Product)
    # Must be a lot of ``product`` (service check; on PostgreSQL a trigger too).
    lot = models.ForeignKey(ToxinLot, on_delete=models.PROTECT, related_name="sessions")
    dilution_ml = models.DecimalField(
        "saline per vial (mL)",
        max_digits=4,
        decimal_places=2,
        help_text="Reconstitution: mL saline per vial.",
        validators=decimal_bounded("0.1", "20"),
    )
    # Days since the patient's previous toxin session, when there was one (kept as recorded).
    days_since_previous = models.PositiveIntegerField(null=True, blank=True)
    interval_override_reason = models.TextField(blank=True)
    interval_overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What the patient reports about the previous session, asked at this one.
    response_onset_days = models.PositiveSmallIntegerField(null=True, blank=True, validators=bounded(0, 90))
    response_duration_weeks = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=bounded(0, 104)
    )
    response_ptosis = models.BooleanField(default=False)
    response_oral_incompetence = models.BooleanField(default=False)
    response_smile_weakness = models.BooleanField(default=False)
    response_other = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(dilution_ml__gt=0) & Q(dilution_ml__lte=20),
                name="treatments_toxinsession_dilution",
            ),
            models.CheckConstraint(
                condition=Q(response_onset_days__isnull=True) | Q(response_onset_days__lte=90),
                name="treatments_toxinsession_onset_range",
            ),
            models.CheckConstraint(
                condition=Q(response_duration_weeks__isnull=True) | Q(response_duration_weeks__lte=104),
                name="treatments_toxinsession_duration_range",
            ),
            # Inside the minimum interval, an override carries its reason and who gave it.
            models.CheckConstraint(
                condition=Q(interval_override_reason="") | Q(interval_overridden_by__isnull=False),
                name="treatments_toxinsession_override_attributed",
            ),
        ]

    def __str__(self) -> str:
        return f"Toxin session {self.pk}"

    @property
    def units_per_0_1_ml(self) -> Decimal:
        """Units in 0.1 mL of the reconstituted vial: what the syringe marks mean."""
        return (Decimal(self.lot.vial_units) / (self.dilution_ml * 10)).quantize(Decimal("0.01"))

    @property
    def reported_side_effects(self) -> list[str]:
        effects = []
        if self.response_ptosis:
            effects.append("ptosis")
        if self.response_oral_incompetence:
            effects.append("oral incompetence")
        if self.response_smile_weakness:
            effects.append("smile weakness")
        if self.response_other:
            effects.append(self.response_other)
        return effects

    @property
    def has_reported_response(self) -> bool:
        return (
            self.response_onset_days is not None
            or self.response_duration_weeks is not None
            or bool(self.reported_side_effects)
        )


class Injection(models.Model):
    """One row of an injection map: a muscle on one side, units of the session's product."""

    session = models.ForeignKey(ToxinSession, on_delete=models.PROTECT, related_name="injections")
    position = models.PositiveSmallIntegerField(default=0)
    muscle = models.CharField(max_length=32, choices=Muscle)
    side = models.CharField(max_length=8, choices=Side)
    units = models.DecimalField(max_digits=7, decimal_places=2, validators=decimal_bounded("0.01", "10000"))
    points = models.PositiveSmallIntegerField(default=1, validators=bounded(1, 50))
    # Where the injector marked the row on the face diagram (docs/treatments.md, "Face diagram"):
    # normalised 0..1 on the front-view diagram, x from the viewer's left (the patient's right)
    # to the viewer's right, y from the top of the forehead to the bottom of the neck. Both or
    # neither; a right-side row sits on the viewer's left half (x <= 0.5), a left-side row on the
    # other (x >= 0.5), the midline belonging to both.
    diagram_x = models.DecimalField(
        max_digits=4, decimal_places=3, null=True, blank=True, validators=decimal_bounded("0", "1")
    )
    diagram_y = models.DecimalField(
        max_digits=4, decimal_places=3, null=True, blank=True, validators=decimal_bounded("0", "1")
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["session", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(units__gt=0) & Q(units__lte=10000), name="treatments_injection_units_range"
            ),
            models.CheckConstraint(
                condition=Q(points__gte=1) & Q(points__lte=50), name="treatments_injection_points_range"
            ),
            # One row per muscle and side keeps maps comparable session to session.
            models.UniqueConstraint(
                fields=["session", "muscle", "side"], name="treatments_injection_unique_muscle_side"
            ),
            models.CheckConstraint(
                condition=(Q(diagram_x__isnull=True) & Q(diagram_y__isnull=True))
                | (Q(diagram_x__gte=0) & Q(diagram_x__lte=1) & Q(diagram_y__gte=0) & Q(diagram_y__lte=1)),
                name="treatments_injection_diagram_point",
            ),
            models.CheckConstraint(
                condition=Q(diagram_x__isnull=True)
                | Q(side=Side.RIGHT, diagram_x__lte=DIAGRAM_MIDLINE)
                | Q(side=Side.LEFT, diagram_x__gte=DIAGRAM_MIDLINE),
                name="treatments_injection_diagram_side",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_muscle_display()} {self.side} {self.units} U"

    @property
    def units_per_point(self) -> Decimal:
        return (self.units / self.points).quantize(Decimal("0.01"))


# --- Therapy (NMRT) ----------------------------------------------------------------------------


class Technique(models.TextChoices):
    PATIENT_EDUCATION = "patient_education", "Patient education"
    MIRROR_EXERCISES = "mirror_exercises", "Mirror exercises"
    SEMG_BIOFEEDBACK = "semg_biofeedback", "Surface-EMG biofeedback"
    MASSAGE_STRETCHING = "massage_stretching", "Massage / stretching"
    MIME_THERAPY = "mime_therapy", "Mime therapy"
    TACTILE_STIMULATION = "tactile_stimulation", "Tactile stimulation"


class TherapyVisit(models.Model):
    class Adherence(models.TextChoices):
        NONE = "none", "Not doing the exercises"
        OCCASIONAL = "occasional", "Occasionally"
        MOST_DAYS = "most_days", "Most days"
        DAILY = "daily", "Daily, as prescribed"

    encounter = models.OneToOneField(
        Encounter, primary_key=True, on_delete=models.PROTECT, related_name="therapy_visit"
    )
    # A list of Technique values.
    techniques = models.JSONField(default=list)
    duration_minutes = models.PositiveSmallIntegerField(null=True, blank=True, validators=bounded(1, 480))
    adherence = models.CharField(
        "adherence since the last visit", max_length=16, choices=Adherence, blank=True
    )
    adherence_note = models.CharField(max_length=300, blank=True)
    goals = models.TextField(blank=True)
    progress = models.TextField(blank=True)
    # A therapy course from this visit: this many more visits, one every so many weeks; each
    # opens a therapy recall (treatments.services.care_recalls).
    course_visits = models.PositiveSmallIntegerField(
        "further visits in the course", null=True, blank=True, validators=bounded(1, 20)
    )
    course_every_weeks = models.PositiveSmallIntegerField(
        "one visit every (weeks)", null=True, blank=True, validators=bounded(1, 12)
    )
    # The patient is asked each week how the home programme went (ProgrammeCheckIn), until the
    # next therapy visit (treatments.services.programme).
    weekly_checkins = models.BooleanField("weekly check-ins", default=False)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__isnull=True) | Q(duration_minutes__lte=480),
                name="treatments_therapyvisit_duration_range",
            ),
            models.CheckConstraint(
                condition=(Q(course_visits__isnull=True) & Q(course_every_weeks__isnull=True))
                | (
                    Q(course_visits__gte=1)
                    & Q(course_visits__lte=20)
                    & Q(course_every_weeks__gte=1)
                    & Q(course_every_weeks__lte=12)
                ),
                name="treatments_therapyvisit_course_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"Therapy visit {self.pk}"

    @property
    def technique_labels(self) -> list[str]:
        labels = dict(Technique.choices)
        return [labels.get(t, t) for t in self.techniques]


class HomeExercise(models.Model):
    visit = models.ForeignKey(TherapyVisit, on_delete=models.PROTECT, related_name="exercises")
    position = models.PositiveSmallIntegerField(default=0)
    exercise = models.CharField(max_length=200)
    repetitions = models.PositiveSmallIntegerField(validators=bounded(1, 500))
    hold_seconds = models.PositiveSmallIntegerField(default=0, validators=bounded(0, 600))
    times_per_day = models.PositiveSmallIntegerField(default=1, validators=bounded(1, 24))
    # What the patient reads on their programme page: how to do it, and anything to watch for.
    instructions = models.TextField("how to do it", max_length=1000, blank=True)
    notes = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["visit", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(repetitions__gte=1)
                & Q(repetitions__lte=500)
                & Q(hold_seconds__lte=600)
                & Q(times_per_day__gte=1)
                & Q(times_per_day__lte=24),
                name="treatments_homeexercise_ranges",
            ),
        ]

    def __str__(self) -> str:
        return self.exercise


class ProgrammeCheckIn(models.Model):
    """The patient's weekly "how did it go" about their home programme, answered from the
    programme link: on how many days they did the exercises, how hard they found them, a note.
    ``visit`` is the therapy visit whose programme was current when they answered."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="programme_checkins"
    )
    visit = models.ForeignKey(TherapyVisit, on_delete=models.PROTECT, related_name="checkins")
    days_done = models.PositiveSmallIntegerField("days with the exercises (last 7)", validators=bounded(0, 7))
    difficulty = models.PositiveSmallIntegerField(
        "difficulty (0 easy - 10 very hard)", validators=bounded(0, 10)
    )
    note = models.CharField(max_length=500, blank=True)
    answered_at = models.DateTimeField(default=timezone.now)
    # Where the answer came from: "link:<visit id>" for the patient's programme link.
    source = models.CharField(max_length=40, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-answered_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(days_done__lte=7) & Q(difficulty__lte=10),
                name="treatments_programmecheckin_ranges",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "-answered_at"], name="treatments_checkin_patient"),
        ]

    def __str__(self) -> str:
        return f"Check-in {self.pk}"


class SynkinesisPattern(models.Model):
    """Observed synkinesis: a voluntary movement (trigger) moves another region involuntarily."""

    class Trigger(models.TextChoices):
        BROW_LIFT = "brow_lift", "Brow lift"
        EYE_CLOSURE = "eye_closure", "Eye closure"
        BLINKING = "blinking", "Blinking"
        SMILING = "smiling", "Smiling"
        SNARL = "snarl", "Snarl"
        LIP_PUCKER = "lip_pucker", "Lip pucker / whistling"
        SPEAKING = "speaking", "Speaking"
        EATING = "eating", "Eating"

    class Region(models.TextChoices):
        BROW = "brow", "Brow / forehead"
        EYE = "eye", "Eye narrows or closes"
        TEARING = "tearing", "Eye waters"
        NOSE = "nose", "Nose"
        CHEEK = "cheek", "Cheek"
        MOUTH_CORNER = "mouth_corner", "Mouth corner"
        LIPS = "lips", "Lips"
        CHIN = "chin", "Chin dimpling"
        NECK = "neck", "Neck tightens (platysma)"

    visit = models.ForeignKey(TherapyVisit, on_delete=models.PROTECT, related_name="patterns")
    position = models.PositiveSmallIntegerField(default=0)
    trigger = models.CharField(max_length=16, choices=Trigger)
    region = models.CharField(max_length=16, choices=Region)
    severity = models.CharField(max_length=16, choices=Severity, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["visit", "position", "id"]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} -> {self.get_region_display()}"


class InjectorRecommendation(models.Model):
    """A therapist's suggestion to the injector: shown on the patient's next toxin session form."""

    visit = models.ForeignKey(TherapyVisit, on_delete=models.PROTECT, related_name="recommendations")
    position = models.PositiveSmallIntegerField(default=0)
    muscle = models.CharField(max_length=32, choices=Muscle)
    side = models.CharField(max_length=8, choices=Side)
    note = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["visit", "position", "id"]

    def __str__(self) -> str:
        return f"{self.get_muscle_display()} ({self.side})"


# --- Surgery -----------------------------------------------------------------------------------


class Surgery(models.Model):
    class Anaesthesia(models.TextChoices):
        LOCAL = "local", "Local"
        LOCAL_SEDATION = "local_sedation", "Local with sedation"
        REGIONAL = "regional", "Regional"
        GENERAL = "general", "General"

    encounter = models.OneToOneField(
        Encounter, primary_key=True, on_delete=models.PROTECT, related_name="surgery"
    )
    side = models.CharField(max_length=16, choices=SurgerySide)
    anaesthesia = models.CharField(max_length=16, choices=Anaesthesia)
    # The surgeon is the encounter's clinician; assistants are often not staff users here.
    assistants = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    findings = models.TextField(blank=True)
    operative_note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "surgeries"
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__gt=F("started_at")), name="treatments_surgery_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"Surgery {self.pk}"


class DaoApproach(models.TextChoices):
    INTRAORAL = "intraoral", "Intraoral"
    EXTERNAL = "external", "External (skin)"


class FunctionTestResult(models.TextChoices):
    PRESERVED = "preserved", "Preserved"
    WEAKENED = "weakened", "Weakened"
    ABSENT = "absent", "Absent"


class DonorMuscle(models.TextChoices):
    GRACILIS = "gracilis", "Gracilis (free)"
    LATISSIMUS_DORSI = "latissimus_dorsi", "Latissimus dorsi (free)"
    PECTORALIS_MINOR = "pectoralis_minor", "Pectoralis minor (free)"
    SERRATUS_ANTERIOR = "serratus_anterior", "Serratus anterior (free)"
    TEMPORALIS = "temporalis", "Temporalis (regional)"
    MASSETER = "masseter", "Masseter (regional)"
    OTHER = "other", "Other"


class DonorNerve(models.TextChoices):
    MASSETERIC = "masseteric", "Nerve to masseter"
    CROSS_FACIAL = "cross_facial", "Cross-facial nerve graft"
    DUAL = "dual", "Dual: nerve to masseter and cross-facial graft"
    HYPOGLOSSAL = "hypoglossal", "Hypoglossal"
    SPINAL_ACCESSORY = "spinal_accessory", "Spinal accessory"
    NATIVE = "native", "Its own nerve (regional transfer)"
    OTHER = "other", "Other"


class FacialBranch(models.TextChoices):
    FRONTAL = "frontal", "Frontal (temporal)"
    ZYGOMATIC = "zygomatic", "Zygomatic"
    BUCCAL = "buccal", "Buccal"
    ZYGOMATIC_BUCCAL = "zygomatic_buccal", "Zygomatic-buccal"
    MARGINAL_MANDIBULAR = "marginal_mandibular", "Marginal mandibular"
    CERVICAL = "cervical", "Cervical"


class StimulationResponse(models.TextChoices):
    EYE_CLOSURE = "eye_closure", "Eye closure"
    SMILE = "smile", "Smile"
    EYE_CLOSURE_AND_SMILE = "eye_closure_and_smile", "Eye closure and smile"
    BROW_ELEVATION = "brow_elevation", "Brow elevation"
    LIP_PUCKER = "lip_pucker", "Lip pucker"
    LOWER_LIP_DEPRESSION = "lower_lip_depression", "Lower lip / mouth corner depression"
    PLATYSMA = "platysma", "Platysma"
    NONE = "none", "No response"


class Procedure(models.Model):
    class Kind(models.TextChoices):
        DAO_EXCISION = "dao_excision", "Depressor anguli oris (DAO) excision"
        SELECTIVE_MYECTOMY = "selective_myectomy", "Selective myectomy"
        SELECTIVE_NEUROLYSIS = "selective_neurolysis", "Selective neurolysis / modified selective neurectomy"
        BROW_LIFT = "brow_lift", "Brow lift"
        UPPER_EYELID = "upper_eyelid", "Upper eyelid surgery"
        SYMMETRY = "symmetry", "Symmetry procedure"
        MUSCLE_TRANSFER = "muscle_transfer", "Muscle transfer"
        OTHER = "other", "Other"

    surgery = models.ForeignKey(Surgery, on_delete=models.PROTECT, related_name="procedures")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField("procedure", max_length=24, choices=Kind)
    # Selective myectomy: the muscle resected.
    muscle = models.CharField(max_length=32, choices=Muscle, blank=True)
    # Selective neurolysis: branches identified by stimulation.
    branches_divided = models.CharField(max_length=300, blank=True)
    branches_preserved = models.CharField(max_length=300, blank=True)
    # Upper eyelid loading: weight in grams and the implant's lot.
    gold_weight_grams = models.DecimalField(
        max_digits=3, decimal_places=1, null=True, blank=True, validators=decimal_bounded("0.1", "5")
    )
    implant_lot = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    # DAO excision: from inside the mouth or through the skin.
    approach = models.CharField("approach (DAO excision)", max_length=16, choices=DaoApproach, blank=True)
    # Selective neurolysis: the function test after the division (the branches stimulated are
    # StimulatedBranch rows of the surgery).
    function_test_smile = models.CharField(
        "function test: smile", max_length=16, choices=FunctionTestResult, blank=True
    )
    function_test_eye_closure = models.CharField(
        "function test: eye closure", max_length=16, choices=FunctionTestResult, blank=True
    )
    # Muscle transfer: the muscle moved and the nerve that drives it.
    donor_muscle = models.CharField(max_length=24, choices=DonorMuscle, blank=True)
    donor_nerve = models.CharField(max_length=24, choices=DonorNerve, blank=True)
    history = HistoricalRecords()

    # Which structured details belong to which procedure (checked by the surgery's rules).
    DETAIL_KINDS = {
        "approach": "dao_excision",
        "function_test_smile": "selective_neurolysis",
        "function_test_eye_closure": "selective_neurolysis",
        "donor_muscle": "muscle_transfer",
        "donor_nerve": "muscle_transfer",
    }

    class Meta:
        ordering = ["surgery", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="selective_myectomy") | ~Q(muscle=""),
                name="treatments_procedure_myectomy_names_muscle",
            ),
            # A gold weight belongs to eyelid surgery and is traceable to its lot.
            models.CheckConstraint(
                condition=Q(gold_weight_grams__isnull=True)
                | (
                    Q(kind="upper_eyelid")
                    & Q(gold_weight_grams__gt=0)
                    & Q(gold_weight_grams__lte=5)
                    & ~Q(implant_lot="")
                ),
                name="treatments_procedure_gold_weight_on_eyelid_with_lot",
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class StimulatedBranch(models.Model):
    """Selective neurolysis: a facial nerve branch found by stimulation, what it moved, and
    whether it was divided or preserved."""

    class Action(models.TextChoices):
        DIVIDED = "divided", "Divided"
        PRESERVED = "preserved", "Preserved"

    surgery = models.ForeignKey(Surgery, on_delete=models.PROTECT, related_name="stimulated_branches")
    position = models.PositiveSmallIntegerField(default=0)
    branch = models.CharField(max_length=24, choices=FacialBranch)
    response = models.CharField("response to stimulation", max_length=24, choices=StimulationResponse)
    action = models.CharField(max_length=16, choices=Action)
    history = HistoricalRecords()

    class Meta:
        ordering = ["surgery", "position", "id"]

    def __str__(self) -> str:
        return f"{self.get_branch_display()}: {self.get_response_display()} ({self.get_action_display()})"


class Complication(models.Model):
    class ClavienDindo(models.TextChoices):
        I = "I", "Grade I"  # noqa: E741 (the grade's name)
        II = "II", "Grade II"
        IIIA = "IIIa", "Grade IIIa"
        IIIB = "IIIb", "Grade IIIb"
        IVA = "IVa", "Grade IVa"
        IVB = "IVb", "Grade IVb"
        V = "V", "Grade V"

    surgery = models.ForeignKey(Surgery, on_delete=models.PROTECT, related_name="complications")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=500)
    grade = models.CharField("Clavien-Dindo grade", max_length=4, choices=ClavienDindo)
    history = HistoricalRecords()

    class Meta:
        ordering = ["surgery", "position", "id"]

    def __str__(self) -> str:
        return f"{self.description} ({self.grade})"


class FollowUpPlanItem(models.Model):
    """One post-operative visit in the surgery's follow-up plan; each opens a recall."""

    surgery = models.ForeignKey(Surgery, on_delete=models.PROTECT, related_name="follow_up_plan")
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=50)
    after_days = models.PositiveSmallIntegerField(validators=bounded(1, 730))
    history = HistoricalRecords()

    class Meta:
        ordering = ["surgery", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(after_days__gte=1) & Q(after_days__lte=730),
                name="treatments_followupplanitem_days",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.after_days} days)"


# The usual plan (docs/domain.md): 1 week, 6 weeks, 3 months.
DEFAULT_POST_OP_PLAN = [("1 week", 7), ("6 weeks", 42), ("3 months", 91)]


# --- Gradings ----------------------------------------------------------------------------------


class Assessment(models.Model):
    """One grading: the raw items, who rated, when, which side, and the scores they give.

    Items are stored as entered; scores are computed by ``treatments.instruments`` and stored
    with the formula version that produced them, so trends can be queried and recomputed.
    """

    class RaterKind(models.TextChoices):
        CLINICIAN = "clinician", "Clinician"
        PATIENT = "patient", "Patient-reported"

    class Status(models.TextChoices):
        RECORDED = "recorded", "Recorded"
        ENTERED_IN_ERROR = "entered_in_error", "Entered in error"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="assessments")
    # A code from the instrument registry (not a choices field: adding an instrument is data
    # and a scoring function, no migration).
    instrument = models.CharField(max_length=32)
    items = models.JSONField()
    scores = models.JSONField()
    formula_version = models.CharField(max_length=32)
    assessed_at = models.DateTimeField()
    side = models.CharField(max_length=16, choices=SurgerySide, blank=True)
    rater_kind = models.CharField(max_length=16, choices=RaterKind, default=RaterKind.CLINICIAN)
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    encounter = models.ForeignKey(
        Encounter, null=True, blank=True, on_delete=models.PROTECT, related_name="assessments"
    )
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.RECORDED)
    status_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-assessed_at", "-id"]
        constraints = [
            # A clinician's grading names the clinician; a patient's own questionnaire has none.
            models.CheckConstraint(
                condition=Q(rater_kind="patient") | Q(rater__isnull=False),
                name="treatments_assessment_clinician_rater_named",
            ),
            models.CheckConstraint(
                condition=Q(status="recorded") | ~Q(status_reason=""),
                name="treatments_assessment_error_has_reason",
            ),
        ]
        indexes = [
            # The grading trend: a patient's assessments of one instrument over time.
            models.Index(fields=["patient", "instrument", "assessed_at"], name="treatments_assess_trend"),
            # Every assessment, newest first (the API's list).
            models.Index(fields=["-assessed_at", "-id"], name="treatments_assess_time"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.assessed_at:%Y-%m-%d}"

    @property
    def audit_label(self) -> str:
        return f"assessment {self.pk}"


class InstrumentItemWording(models.Model):
    """The wording of one item of a licensed instrument, loaded by the clinic under its licence.

    The registry (``treatments.instruments``) ships item ids and neutral labels only; the
    questionnaire links and the forms show this text where it exists.
    """

    instrument = models.CharField(max_length=32)
    item_key = models.CharField(max_length=64)
    text = models.CharField(max_length=500)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instrument", "item_key"], name="treatments_item_wording_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument}.{self.item_key}"
