"""The minimum reinjection interval: the one owner of the rule.

Botulinum toxin given too often raises the risk of neutralising antibodies and a permanent loss
of response (docs/clinical-rules.md, "Reinjection interval"). Two toxin exposures of one patient
must be at least the product's minimum interval apart, unless a clinician allowed to override it
records a reason.

Every path that offers or accepts a toxin date asks this module and nothing else:

- recording and editing a session (``treatments.services.toxin``);
- booking, rescheduling, waitlist offers, patient booking links and availability filtered by a
  patient (``scheduling``, through the hook registered in ``register()``: scheduling never
  imports treatments);
- recall due dates and reminder dates (``open_reinjection_recall``);
- the nightly safety net (``interval_findings_scan``) and the demo data.

What counts as an exposure: every toxin session actually given (draft or signed; the toxin was
injected whether or not the note is signed yet), before *and* after the date asked about, and
every active toxin appointment that has no session recorded from it yet (its product is not
known until the session). Recalls do not count: closing a recall never unlocks a booking.

The interval between two exposures is the larger of their products' intervals; an exposure
whose product is not known yet (a booked appointment) takes the other's; two appointments take
the clinic default. A product without its own interval uses the clinic default.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from clinic.audit import acting_user, attribute
from clinic.models import ClinicSettings
from scheduling import clock
from scheduling.exceptions import OverrideNotPermitted, ReinjectionTooSoon
from scheduling.models import Appointment
from scheduling.rules import register_toxin_interval_rule

from .models import Encounter, Product, ToxinProductInterval

OVERRIDE_PERMISSION = "clinic.override_toxin_interval"


def intervals() -> tuple[dict[str, int], int]:
    """Each product's own minimum interval in days, and the clinic default for the rest."""
    default = ClinicSettings.load().min_reinjection_interval_days
    return dict(ToxinProductInterval.objects.values_list("product", "min_interval_days")), default


def interval_for(product: str | None) -> int:
    own, default = intervals()
    return own.get(product, default) if product else default


@dataclass(frozen=True)
class Exposure:
    """A toxin session given (``encounter_id``) or booked (``appointment_id``)."""

    on: date
    product: str | None = None
    encounter_id: int | None = None
    appointment_id: int | None = None
    overridden: bool = False

    @property
    def is_session(self) -> bool:
        return self.encounter_id is not None

    def describe(self) -> str:
        if self.is_session:
            product = f"{Product(self.product).label} " if self.product else "toxin "
            return f"the {product}session of {self.on:%d %b %Y}"
        return f"the toxin appointment booked for {self.on:%d %b %Y}"

    def as_dict(self) -> dict:
        return {
            "date": self.on.isoformat(),
            "product": self.product,
            "encounter": self.encounter_id,
            "appointment": self.appointment_id,
        }


@dataclass(frozen=True)
class Verdict:
    """The answer for one date: allowed, or which exposure is in the way and the earliest safe date.

    ``earliest`` is the first date on or after the date asked about that keeps the interval to
    every exposure (the same date when it is allowed).
    """

    day: date
    product: str | None
    allowed: bool
    earliest: date
    blocker: Exposure | None = None
    minimum_days: int | None = None
    days_apart: int | None = None

    def message(self) -> str:
        if self.allowed or self.blocker is None:
            return ""
        when = "before" if self.blocker.on > self.day else "after"
        if self.days_apart == 0:
            distance = "on the same day as"
        else:
            distance = f"{self.days_apart} day{'s' if self.days_apart != 1 else ''} {when}"
        return (
            f"{self.day:%d %b %Y} is {distance} {self.blocker.describe()}; the minimum interval is "
            f"{self.minimum_days} days. The earliest safe date is {self.earliest:%d %b %Y}."
        )

    def error(self, *, override_allowed: bool, hint: str = "") -> ReinjectionTooSoon:
        detail = " ".join(part for part in (self.message(), hint) if part)
        return ReinjectionTooSoon(
            detail,
            fields={"override_reason": [detail]},
            earliest=self.earliest.isoformat(),
            blocking=self.blocker.as_dict() if self.blocker else None,
            previous=self.blocker.on.isoformat() if self.blocker else None,
            days_apart=self.days_apart,
            minimum_days=self.minimum_days,
            override_allowed=override_allowed,
        )


class ToxinSchedule:
    """One patient's toxin exposures and the clinic's intervals: answers for any date."""

    def __init__(self, exposures: Iterable[Exposure], own: dict[str, int], default: int):
        self.exposures = tuple(sorted(exposures, key=lambda e: (e.on, e.encounter_id or 0)))
        self._own, self._default = own, default

    def minimum_between(self, a: str | None, b: str | None) -> int:
        known = [self._own.get(p, self._default) for p in (a, b) if p]
        return max(known) if known else self._default

    def _blocker(self, day: date, product: str | None) -> tuple[Exposure, int, int] | None:
        worst = None
        for exposure in self.exposures:
            minimum = self.minimum_between(product, exposure.product)
            apart = abs((day - exposure.on).days)
            # Of the exposures too close, the closest is the one to name.
            if apart < minimum and (worst is None or apart < worst[2]):
                worst = (exposure, minimum, apart)
        return worst

    def allows(self, day: date, product: str | None = None) -> bool:
        return self._blocker(day, product) is None

    def earliest_from(self, day: date, product: str | None = None) -> date:
        """The first date on or after ``day`` that keeps the interval to every exposure."""
        candidate = day
        # Exposures are sorted by date; moving only forward, a pass that moves nothing ends it.
        moved = True
        while moved:
            moved = False
            for exposure in self.exposures:
                minimum = self.minimum_between(product, exposure.product)
                if abs((candidate - exposure.on).days) < minimum:
                    candidate = exposure.on + timedelta(days=minimum)
                    moved = True
        return candidate

    def check(self, day: date, product: str | None = None) -> Verdict:
        found = self._blocker(day, product)
        if found is None:
            return Verdict(day=day, product=product, allowed=True, earliest=day)
        exposure, minimum, apart = found
        return Verdict(
            day=day,
            product=product,
            allowed=False,
            earliest=self.earliest_from(day, product),
            blocker=exposure,
            minimum_days=minimum,
            days_apart=apart,
        )

    def previous_session(self, day: date) -> Exposure | None:
        """The last session given on or before ``day`` (for the days-since figure)."""
        before = [e for e in self.exposures if e.is_session and e.on <= day]
        return before[-1] if before else None


def toxin_schedule(
    *,
    patient_id: int,
    exclude_encounter_id: int | None = None,
    exclude_appointment_id: int | None = None,
    session_day: date | None = None,
) -> ToxinSchedule:
    """Everything the rule needs about one patient, in two queries.

    ``session_day``: when checking a session, the active toxin appointments on that same date
    are that visit, not another exposure.
    """
    own, default = intervals()
    sessions = (
        Encounter.objects.filter(patient_id=patient_id, kind=Encounter.Kind.TOXIN)
        .exclude(pk=exclude_encounter_id)
        .values_list("pk", "occurred_at", "toxin_session__product", "toxin_session__interval_override_reason")
    )
    exposures = [
        Exposure(
            on=clock.local(occurred_at).date(),
            product=product,
            encounter_id=pk,
            overridden=bool(reason),
        )
        for pk, occurred_at, product, reason in sessions
    ]
    booked = (
        Appointment.objects.filter(
            patient_id=patient_id,
            appointment_type__is_toxin=True,
            status__in=Appointment.ACTIVE_STATUSES,
        )
        .exclude(pk=exclude_appointment_id)
        # A visit whose session is recorded counts once, as the session.
        .exclude(encounters__kind=Encounter.Kind.TOXIN)
        .values_list("pk", "starts_at")
    )
    for pk, starts_at in booked:
        on = clock.local(starts_at).date()
        if session_day is not None and on == session_day:
            continue
        exposures.append(Exposure(on=on, appointment_id=pk))
    return ToxinSchedule(exposures, own, default)


def toxin_interval_check(
    *,
    patient_id: int,
    on: date,
    product: str | None = None,
    exclude_encounter_id: int | None = None,
    exclude_appointment_id: int | None = None,
) -> Verdict:
    """Is a toxin session for this patient, with this product, on this date, safe?"""
    schedule = toxin_schedule(
        patient_id=patient_id,
        exclude_encounter_id=exclude_encounter_id,
        exclude_appointment_id=exclude_appointment_id,
        # A product means a session is being checked: an appointment that day is that visit.
        session_day=on if product else None,
    )
    return schedule.check(on, product)


def may_override(actor) -> bool:
    return acting_user(actor) is not None and actor.has_perm(OVERRIDE_PERMISSION)


def require_safe_or_override(verdict: Verdict, *, actor, reason: str, hint_when_allowed: str) -> str:
    """'' when the date is safe; the reason when a permitted clinician overrides; else the error."""
    if verdict.allowed:
        return ""
    reason = (reason or "").strip()
    allowed = may_override(actor)
    if reason and allowed:
        return reason
    if reason and not allowed:
        raise OverrideNotPermitted(earliest=verdict.earliest.isoformat())
    hint = (
        hint_when_allowed
        if allowed
        else ("Only a clinician allowed to override the interval can choose this date.")
    )
    raise verdict.error(override_allowed=allowed, hint=hint)


def register() -> None:
    """Give scheduling the rule (scheduling never imports treatments)."""
    register_toxin_interval_rule(
        lambda *, patient_id, exclude_appointment_id=None: toxin_schedule(
            patient_id=patient_id, exclude_appointment_id=exclude_appointment_id
        )
    )


# --- The safety net ------------------------------------------------------------------------------


def _pairs_too_close(rows: list[tuple], own: dict[str, int], default: int):
    """Pairs of one patient's sessions closer than their interval with no override on either.

    ``rows``: (encounter id, local date, product, overridden), sorted by date. Each session is
    compared with the later ones until they are further apart than any interval could be.
    """
    widest = max([default, *own.values()])
    schedule = ToxinSchedule((), own, default)
    for i, (earlier_id, earlier_on, earlier_product, earlier_overridden) in enumerate(rows):
        for later_id, later_on, later_product, later_overridden in rows[i + 1 :]:
            apart = (later_on - earlier_on).days
            if apart >= widest:
                break
            minimum = schedule.minimum_between(earlier_product, later_product)
            if apart < minimum and not (earlier_overridden or later_overridden):
                yield earlier_id, later_id, apart, minimum


def interval_findings_scan(*, actor=None, patient_id: int | None = None) -> list[int]:
    """Find toxin sessions closer than the interval without a recorded override (nightly).

    Such pairs cannot come from the normal paths, which refuse them; they come from imports,
    edits outside the application or rules changed later. Each pair is listed once for the
    clinical lead (``IntervalFinding``) with an audit entry. Returns the new findings' ids.
    ``patient_id`` limits the scan to one patient (after a merge).
    """
    from clinic.audit import audit_record

    from .models import IntervalFinding

    own, default = intervals()
    sessions_of = Encounter.objects.filter(kind=Encounter.Kind.TOXIN)
    if patient_id is not None:
        sessions_of = sessions_of.filter(patient_id=patient_id)
    rows = sessions_of.order_by("patient_id", "occurred_at", "id").values_list(
        "patient_id",
        "pk",
        "occurred_at",
        "toxin_session__product",
        "toxin_session__interval_override_reason",
    )
    created: list[int] = []

    def flush(patient_id, sessions):
        for earlier_id, later_id, apart, minimum in _pairs_too_close(sessions, own, default):
            finding, new = IntervalFinding.objects.get_or_create(
                earlier_id=earlier_id,
                later_id=later_id,
                defaults={"patient_id": patient_id, "days_apart": apart, "minimum_days": minimum},
            )
            if new:
                created.append(finding.pk)
                audit_record(
                    actor=actor,
                    action="interval_finding.opened",
                    target=finding,
                    patient_id=patient_id,
                    changes={
                        "earlier": earlier_id,
                        "later": later_id,
                        "days_apart": apart,
                        "minimum": minimum,
                    },
                )

    current, sessions = None, []
    for patient_id, pk, occurred_at, product, reason in rows.iterator(chunk_size=5000):
        if patient_id != current:
            if len(sessions) > 1:
                flush(current, sessions)
            current, sessions = patient_id, []
        sessions.append((pk, clock.local(occurred_at).date(), product, bool(reason)))
    if len(sessions) > 1:
        flush(current, sessions)
    return created


def interval_finding_review(*, finding, actor, note: str):
    """The clinical lead records what was found and done about a pair; audited."""
    from django.db import transaction
    from django.utils import timezone

    from clinic.audit import audit_record
    from clinic.errors import Invalid, InvalidTransition

    from .models import IntervalFinding

    note = (note or "").strip()
    if not note:
        raise Invalid(fields={"note": ["Say what was found and done."]})
    with transaction.atomic():
        finding = IntervalFinding.objects.select_for_update().get(pk=finding.pk)
        if finding.status != IntervalFinding.Status.OPEN:
            raise InvalidTransition("This finding has already been reviewed.", status=finding.status)
        finding.status = IntervalFinding.Status.REVIEWED
        finding.reviewed_at = timezone.now()
        finding.reviewed_by = actor
        finding.review_note = note[:2000]
        attribute(finding, actor)
        finding.save()
        audit_record(
            actor=actor,
            action="interval_finding.reviewed",
            target=finding,
            patient_id=finding.patient_id,
            changes={"note": finding.review_note},
        )
    return finding
