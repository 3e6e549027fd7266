"""Toxin sessions (injection maps), the lot register and the clinic's dose limits."""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction

from clinic.audit import acting_user, attribute, audit_record, changed_fields
from clinic.configuration import field_bounds
from clinic.errors import Invalid
from clinic.models import ClinicSettings
from scheduling.models import AppointmentType, Provider, Recall
from scheduling.reminders.services import questionnaire_request_schedule
from scheduling.services import patient_lock, recall_open, recall_supersede

from ..common import format_units, local_date
from ..exceptions import (
    DiagramPointIncomplete,
    DiagramSideMismatch,
    LotExpired,
    LotInUse,
    LotProductMismatch,
    LotWithdrawn,
    ReasonRequired,
)
from ..insights import patient_reinjection_timing
from ..interval import may_override, toxin_schedule
from ..models import (
    DIAGRAM_MIDLINE,
    UNITS_PER_ROW_CEILING,
    Encounter,
    Injection,
    Muscle,
    Product,
    Side,
    ToxinDoseLimit,
    ToxinLot,
    ToxinSession,
)
from ..selectors import lot_recipients
from .care_recalls import open_toxin_care_recalls
from .encounters import Child, Draft, KindSpec

logger = logging.getLogger(__name__)


# Points per injection row, as the model field bounds them.
POINTS = field_bounds(Injection, "points")
# A point on the face diagram, normalised on each axis, as the model fields bound it.
DIAGRAM = field_bounds(Injection, "diagram_x")


def previous_toxin_encounter(*, patient_id: int, occurred_at, exclude_pk=None) -> Encounter | None:
    """The patient's last toxin session at or before ``occurred_at`` (drafts count: the toxin
    was given whether or not the note is signed yet)."""
    qs = Encounter.objects.filter(
        patient_id=patient_id, kind=Encounter.Kind.TOXIN, occurred_at__lte=occurred_at
    )
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.order_by("-occurred_at", "-id").first()


def _validate_diagram_points(rows: list[Injection]) -> None:
    """Each row's point on the face diagram, when it has one: both coordinates, inside the model
    field's bounds (0..1), on the half of the face of the row's side (front view: the patient's
    right on the viewer's left, so a right row has x <= 0.5 and a left row x >= 0.5; the midline
    belongs to both). A point outside the muscle's drawn region is allowed (anatomy varies)."""
    bounds: list[dict] = []
    incomplete: list[dict] = []
    wrong_half: list[dict] = []
    for row in rows:
        x, y = row.diagram_x, row.diagram_y
        bounds.append(
            {
                name: [f"Must be from {DIAGRAM[0]} to {DIAGRAM[1]}."]
                for name, value in (("diagram_x", x), ("diagram_y", y))
                if value is not None and not DIAGRAM[0] <= value <= DIAGRAM[1]
            }
        )
        missing = {
            name: ["A point on the face diagram needs both x and y."]
            for name, value in (("diagram_x", x), ("diagram_y", y))
            if value is None and (x, y) != (None, None)
        }
        incomplete.append(missing)
        mismatch: dict[str, list[str]] = {}
        if x is not None and (
            (row.side == Side.RIGHT and x > DIAGRAM_MIDLINE)
            or (row.side == Side.LEFT and x < DIAGRAM_MIDLINE)
        ):
            other = Side.LEFT if row.side == Side.RIGHT else Side.RIGHT
            mismatch["diagram_x"] = [
                f"The point is on the patient's {other} half of the face, but the row is for the "
                f"{row.side} side."
            ]
        wrong_half.append(mismatch)
    if any(bounds):
        raise Invalid(fields={"injections": bounds})
    if any(incomplete):
        raise DiagramPointIncomplete(fields={"injections": incomplete})
    if any(wrong_half):
        raise DiagramSideMismatch(fields={"injections": wrong_half})


class ToxinSpec(KindSpec):
    kind = Encounter.Kind.TOXIN
    model = ToxinSession
    capability = "clinic.record_toxin"
    fields = (
        "product",
        "lot",
        "dilution_ml",
        "response_onset_days",
        "response_duration_weeks",
        "response_ptosis",
        "response_oral_incompetence",
        "response_smile_weakness",
        "response_other",
    )
    children = (Child("injections", Injection, "session"),)
    extra = ("override_reason",)

    def _rows(self, draft: Draft) -> list[Injection]:
        if "injections" in draft.rows:
            return draft.rows["injections"]
        if draft.creating:
            return []
        return list(Injection.objects.filter(session_id=draft.detail.pk))

    def validate(self, draft: Draft, actor) -> None:
        session = draft.detail
        self._validate_rows(session.product, self._rows(draft))
        kept_lot_id = None
        if not draft.creating:
            kept_lot_id = ToxinSession.objects.filter(pk=session.pk).values_list("lot_id", flat=True).first()
        self._validate_lot(session, local_date(draft.encounter.occurred_at), kept_lot_id=kept_lot_id)
        self._check_interval(draft, actor)

    @staticmethod
    def _validate_rows(product: str, rows: list[Injection]) -> None:
        if not rows:
            raise Invalid(fields={"injections": ["An injection map needs at least one row."]})
        ceiling = UNITS_PER_ROW_CEILING[product]
        errors: list[dict] = []
        seen: set[tuple[str, str]] = set()
        for row in rows:
            row_errors: dict[str, list[str]] = {}
            if row.muscle not in Muscle.values:
                row_errors["muscle"] = ["Not a muscle of the list."]
            if row.side not in Side.values:
                row_errors["side"] = ["Must be left or right."]
            if row.units is None or row.units <= 0:
                row_errors["units"] = ["Must be more than 0."]
            elif row.units > ceiling:
                row_errors["units"] = [
                    f"More than {format_units(ceiling)} units of {Product(product).label} in one row: "
                    "check for a typing slip."
                ]
            if row.points is None or not POINTS[0] <= row.points <= POINTS[1]:
                row_errors["points"] = [f"Must be from {POINTS[0]} to {POINTS[1]}."]
            if (row.muscle, row.side) in seen:
                row_errors["muscle"] = [
                    "This muscle and side is already in the map: put the units in one row."
                ]
            seen.add((row.muscle, row.side))
            errors.append(row_errors)
        if any(errors):
            raise Invalid(fields={"injections": errors})
        _validate_diagram_points(rows)

    @staticmethod
    def _validate_lot(session: ToxinSession, session_date, *, kept_lot_id: int | None = None) -> None:
        """The lot is one of the session's product, unexpired on the session date and, when newly
        chosen, not withdrawn (a draft keeps the lot it already names: the vial was given)."""
        lot = session.lot
        if lot.product != session.product:
            raise LotProductMismatch(
                fields={
                    "lot": [
                        f"Lot {lot.lot_number} is {lot.get_product_display()}, "
                        f"not {Product(session.product).label}."
                    ]
                }
            )
        if not lot.is_active and lot.pk != kept_lot_id:
            raise LotWithdrawn(
                fields={"lot": [f"Lot {lot.lot_number} has been withdrawn from use; choose another lot."]}
            )
        if lot.is_expired_on(session_date):
            raise LotExpired(
                fields={
                    "lot": [
                        f"Lot {lot.lot_number} expired on {lot.expiry_date:%d %b %Y}, before the session."
                    ]
                }
            )

    @staticmethod
    def _check_interval(draft: Draft, actor) -> None:
        """The minimum reinjection interval, asked of its one owner (``treatments.interval``)."""
        encounter, session = draft.encounter, draft.detail
        # Serialise with every other session and toxin booking of this patient until commit.
        patient_lock(encounter.patient_id)
        day = local_date(encounter.occurred_at)
        schedule = toxin_schedule(
            patient_id=encounter.patient_id,
            exclude_encounter_id=encounter.pk,
            exclude_appointment_id=encounter.appointment_id,
            session_day=day,
        )
        previous = schedule.previous_session(day)
        session.days_since_previous = (day - previous.on).days if previous else None
        verdict = schedule.check(day, session.product)
        if verdict.allowed:
            session.interval_override_reason, session.interval_overridden_by = "", None
            return
        if "override_reason" in draft.extra:
            reason = (draft.extra["override_reason"] or "").strip()
            given_now = bool(reason)
        else:
            # An override given earlier stands only while the date and product it was given for do.
            reason = session.interval_override_reason if _same_date_and_product(draft, day) else ""
            given_now = False
        allowed = may_override(actor)
        if reason and not given_now and session.interval_overridden_by_id:
            return
        if reason and allowed:
            session.interval_override_reason = reason
            session.interval_overridden_by = actor
            draft.notes["override"] = {
                "reason": reason,
                "days_since_previous": session.days_since_previous,
                "minimum_days": verdict.minimum_days,
                "blocking": verdict.blocker.as_dict(),
                "days_apart": verdict.days_apart,
            }
            return
        hint = (
            "Give a reason to override it."
            if allowed
            else "Only a clinician allowed to override the interval can record this session."
        )
        raise verdict.error(override_allowed=allowed, hint=hint)

    def summarise(self, draft: Draft) -> str:
        rows = self._rows(draft)
        total = sum((r.units for r in rows), start=0)
        points = sum(r.points for r in rows)
        session = draft.detail
        return (
            f"{Product(session.product).label} {format_units(total)} U in {points} points"
            f" · lot {session.lot.lot_number}"
        )

    def after_save(self, draft: Draft, actor) -> None:
        encounter = draft.encounter
        override = draft.notes.get("override")
        if override:
            audit_record(
                actor=actor,
                action="toxin.interval_overridden",
                target=encounter,
                patient_id=encounter.patient_id,
                changes=override,
            )
        if draft.creating:
            open_reinjection_recall(encounter=encounter, actor=actor)
            # Therapy in the toxin's window, and the early review after a first session.
            open_toxin_care_recalls(encounter=encounter, actor=actor)
            # The SAQ about two weeks after each session (docs/domain.md), by the clinic's setting.
            questionnaire_request_schedule(
                patient=encounter.patient,
                anchor_date=local_date(encounter.occurred_at),
                source=f"toxin_session:{encounter.pk}",
            )


TOXIN = ToxinSpec()


def _same_date_and_product(draft: Draft, day) -> bool:
    """Whether an edited draft keeps the date and product its stored override was given for."""
    if draft.creating:
        return False
    stored = (
        Encounter.objects.filter(pk=draft.encounter.pk)
        .values_list("occurred_at", "toxin_session__product")
        .first()
    )
    return stored is not None and local_date(stored[0]) == day and stored[1] == draft.detail.product


def open_reinjection_recall(*, encounter: Encounter, actor) -> Recall | None:
    """Tell scheduling when this patient is due back for toxin.

    Only for the patient's latest session: a session entered afterwards for an earlier date
    (a backfilled record) has been superseded by the later one.
    """
    later = Encounter.objects.filter(
        patient_id=encounter.patient_id, kind=Encounter.Kind.TOXIN, occurred_at__gt=encounter.occurred_at
    ).exists()
    if later:
        return None
    if not AppointmentType.objects.filter(code="toxin").exists():
        logger.warning("No 'toxin' appointment type: no reinjection recall for encounter %s", encounter.pk)
        return None
    settings = ClinicSettings.load()
    anchor = local_date(encounter.occurred_at)
    # The earliest safe date from the rule's owner: this session's product's interval, and
    # clear of every other session or toxin booking of the patient.
    schedule = toxin_schedule(patient_id=encounter.patient_id)
    earliest = schedule.earliest_from(anchor + timedelta(days=1))
    # Timed to this patient's own duration of effect, never inside the minimum interval.
    timing = patient_reinjection_timing(
        patient_id=encounter.patient_id,
        min_interval_days=(earliest - anchor).days,
        until=encounter.occurred_at,
    )
    due = max(timing.due_date, earliest) if timing else earliest
    overdue = due + timedelta(weeks=settings.recall_overdue_weeks_after_due)
    source = f"toxin_session:{encounter.pk}"
    # This session is what the previous reinjection recall was waiting for.
    recall_supersede(patient=encounter.patient, kind=Recall.Kind.REINJECTION, keep_source=source, actor=actor)
    return recall_open(
        patient=encounter.patient,
        kind=Recall.Kind.REINJECTION,
        appointment_type_code="toxin",
        anchor_date=anchor,
        earliest_date=earliest,
        due_date=due,
        overdue_date=overdue,
        source=source,
        label="Toxin reinjection",
        preferred_provider=Provider.objects.filter(user_id=encounter.clinician_id, is_active=True).first(),
        actor=actor,
    )


# --- Lot register ------------------------------------------------------------------------------


def _normalise_lot(values: dict) -> dict:
    values = dict(values)
    if "lot_number" in values:
        # Lot numbers are read off vials; case and stray spaces are not part of them.
        values["lot_number"] = " ".join(str(values["lot_number"]).split()).upper()
    return values


def _save_lot(lot: ToxinLot, actor) -> None:
    attribute(lot, actor)
    try:
        with transaction.atomic():
            lot.save()
    except IntegrityError as exc:
        if "treatments_toxinlot_unique_lot" in str(exc):
            raise Invalid(
                fields={"lot_number": ["This lot of this product is already in the register."]}
            ) from exc
        raise


@transaction.atomic
def toxin_lot_create(*, actor, data: dict) -> ToxinLot:
    data = _normalise_lot(data)
    data.pop("reason", None)  # a new lot has no sessions: nothing to justify
    lot = ToxinLot(created_by=acting_user(actor), **data)
    _save_lot(lot, actor)
    audit_record(actor=actor, action="toxin_lot.created", target=lot, changes={"lot_number": lot.lot_number})
    return lot


@transaction.atomic
def toxin_lot_update(*, lot: ToxinLot, actor, data: dict) -> ToxinLot:
    """Change a lot. Once sessions have used it, its product stays, its expiry cannot move before
    the last session that used it, and any other change (withdrawal included) needs ``reason``,
    kept in the audit trail."""
    lot = ToxinLot.objects.select_for_update().get(pk=lot.pk)
    data = _normalise_lot(data)
    reason = " ".join(str(data.pop("reason", "") or "").split())
    changes = changed_fields(lot, data)
    used = lot.sessions.exists()
    if used and changes:
        if "product" in changes:
            raise LotInUse(
                fields={"product": ["This lot has been used in sessions; its product cannot change."]}
            )
        if "expiry_date" in changes:
            _check_expiry_covers_sessions(lot, data["expiry_date"])
        if not reason:
            raise ReasonRequired(
                "This lot has been used in sessions: say why it is changed.",
                fields={"reason": ["This lot has been used in sessions: give the reason for the change."]},
            )
    for name, value in data.items():
        setattr(lot, name, value)
    _save_lot(lot, actor)
    if reason:
        changes["reason"] = reason
    action = "toxin_lot.updated"
    if "is_active" in changes:
        action = "toxin_lot.withdrawn" if not lot.is_active else "toxin_lot.reinstated"
    audit_record(actor=actor, action=action, target=lot, changes=changes)
    return lot


def _check_expiry_covers_sessions(lot: ToxinLot, expiry_date) -> None:
    last = lot.sessions.order_by("-encounter__occurred_at").values_list("encounter__occurred_at", flat=True)[
        :1
    ]
    last_date = local_date(last[0]) if last else None
    if last_date is not None and expiry_date < last_date:
        message = (
            f"A session used this lot on {last_date:%d %b %Y}: the expiry date cannot be earlier than that."
        )
        raise LotInUse(message, fields={"expiry_date": [message]}, last_session=last_date.isoformat())


def lot_recall(*, lot: ToxinLot, actor) -> list[dict]:
    """Who received this lot (a recall of the lot): read, and recorded as a read of their data."""
    recipients = lot_recipients(lot=lot)
    audit_record(
        actor=actor,
        action="toxin_lot.recipients_viewed",
        target=lot,
        changes={"patients": [r["patient"].pk for r in recipients]},
    )
    return recipients


@transaction.atomic
def dose_limit_set(*, product: str, actor, data: dict) -> ToxinDoseLimit:
    limit, _ = ToxinDoseLimit.objects.select_for_update().get_or_create(product=product)
    changes = changed_fields(limit, data)
    for name, value in data.items():
        setattr(limit, name, value)
    limit.updated_by = acting_user(actor)
    attribute(limit, actor)
    limit.save()
    audit_record(actor=actor, action="toxin_dose_limit.updated", target=limit, changes=changes)
    return limit
