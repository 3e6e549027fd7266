"""A clinic to count queries in: built twice, with 2 and then with 8 rows of every kind.

``build_slice(n)`` adds a self-contained slice of the clinic in which every list a page or an
endpoint shows has ``n`` more rows, and every record a detail page shows has ``n`` child rows:

- a chart patient with n appointments (past and upcoming), n consents, n messages, n
  encounters of each kind linked to past visits and plan stages (the first of each signed,
  with n child rows and n addenda; the second a draft with n child rows; the others drafts),
  n gradings and n plans (the active one with n stages);
- n other patients, each with an appointment today with the surgeon and one with a provider
  of the slice, a recall due today (with a contact and a sent message) and a booked one, a
  message, consents, a waiting waitlist entry with an offer this afternoon, and a toxin
  session from the slice's lot;
- n providers (one with n working hours), n rooms, n locations, n appointment types, n
  time-off periods, n toxin lots (one given to n patients), a recall with n contacts and n
  messages, a waitlist entry with n offers, an appointment with n events.

Both slices stay in the database: the second measurement sees 2 + 8 rows. Equal query counts
for the two measurements mean no query is made per row.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone

from clinic.models import AuditEvent
from clinic.roles import Role
from clinic.tokens.services import api_token_issue
from consents.links import consent_link_token
from intake.models import ConsultationRequest
from intake.services import consultation_request_submit
from patients.models import MessagingConsent, Patient
from scheduling import clock
from scheduling.models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Location,
    Message,
    Provider,
    Recall,
    RecallContact,
    Room,
    TimeOff,
    WaitlistEntry,
    WaitlistOffer,
    WorkingHours,
)
from scheduling.reminders.links import Action, link_token
from scheduling.services import recall_open
from tests.consents.helpers import signed as signed_consent
from tests.consents.helpers import start as start_consent
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    RoomFactory,
    UserFactory,
)
from tests.treatments.factories import (
    SUNNYBROOK_NORMAL,
    ToxinLotFactory,
    injection,
    record_consultation,
    record_surgery,
    record_therapy,
    record_toxin,
)
from treatments import services as clinical
from treatments.models import Addendum, IntervalFinding, Muscle, Product, ProgrammeCheckIn, ToxinDoseLimit
from treatments.services.programme import PROGRAMME_ACTION

# A Monday at noon in the clinic: today's calendar has a morning behind it and an afternoon ahead.
CLINIC_NOON = datetime(2027, 3, 15, 12, 0, tzinfo=timezone.get_default_timezone())
PERSONA_ROLES = [r.value for r in Role]
# Sessions of one patient are this far apart: well beyond the minimum reinjection interval.
TOXIN_SPACING = timedelta(days=100)


@dataclass
class Clinic:
    """What every slice shares: one user per role, the clinicians' provider rows, the rooms."""

    users: dict
    providers: dict  # role -> Provider of the persona (surgeon, injector, therapist)
    location: Location
    consult_room: Room
    review: AppointmentType  # a 15-minute visit any clinician may see
    # The types the clinical services open recalls for.
    toxin_type: AppointmentType
    post_op: AppointmentType
    slots: count = field(default_factory=count)  # quarter hours of today, handed out in turn
    future: count = field(default_factory=lambda: count(1))  # days ahead, handed out in turn
    past: count = field(default_factory=lambda: count(1))  # weeks back, handed out in turn
    afternoon: count = field(default_factory=count)  # quarter hours from 16:00 today

    def next_slot(self) -> datetime:
        """A quarter hour today that nobody holds yet, from 08:00."""
        return clock.at(clock.local_today(), time(8, 0)) + timedelta(minutes=15 * next(self.slots))

    def later_today(self) -> datetime:
        """A quarter hour this afternoon, after the booked ones, for offers of freed slots."""
        return clock.at(clock.local_today(), time(16, 0)) + timedelta(minutes=15 * next(self.afternoon))

    def past_week(self) -> datetime:
        """09:00 on a past day that nobody holds yet."""
        return clock.at(clock.local_today() - timedelta(days=7 * next(self.past)), time(9, 0))

    def next_day(self) -> datetime:
        """09:00 on a future day that nobody holds yet."""
        return clock.at(clock.local_today() + timedelta(days=next(self.future)), time(9, 0))


@dataclass
class Slice:
    """One slice of the clinic with ``n`` rows of each kind; its records are what detail routes
    point at."""

    n: int
    patient: Patient
    appointment: Appointment
    encounters: dict  # kind -> the signed encounter with n child rows and n addenda
    drafts: dict  # kind -> a draft encounter with n child rows
    procedure: object  # a procedure of the signed surgery (a FHIR Procedure)
    injection: object  # a row of the signed toxin map (a FHIR MedicationAdministration)
    assessment: object
    plan: object
    lot: object
    interval_finding: object
    code_mapping: object
    recall: Recall
    message: Message
    questionnaire: Message
    waitlist: WaitlistEntry
    provider: Provider
    room: Room
    location: Location
    time_off: TimeOff
    working_hours: WorkingHours
    appointment_type: AppointmentType
    audit_event: object
    tokens: dict  # link action -> a patient link token of this slice
    consent: object = None  # the chart patient's signed procedure consent (of n consents)
    consent_token: str = ""  # its patient link
    consultation_request: object = None  # an open consultation request (of n), like the patient


def build_clinic() -> Clinic:
    users = {role: UserFactory(username=f"perf-{role}", roles=[role]) for role in PERSONA_ROLES}
    location = LocationFactory(name="Perf clinic")
    providers = {}
    for role in (Role.SURGEON, Role.INJECTOR, Role.THERAPIST):
        provider = ProviderFactory(user=users[role], role=role)
        WorkingHours.objects.bulk_create(
            WorkingHours(
                provider=provider, location=location, weekday=d, start_time=time(8), end_time=time(18)
            )
            for d in range(5)
        )
        providers[role] = provider
    for product in Product.values:
        ToxinDoseLimit.objects.create(
            product=product, max_units_per_session=Decimal(400), max_units_per_site=Decimal(10)
        )
    return Clinic(
        users=users,
        providers=providers,
        location=location,
        consult_room=RoomFactory(location=location, name="Perf consult", kind="consultation"),
        review=AppointmentTypeFactory(
            code="perf-review",
            name="Review",
            duration_minutes=15,
            provider_roles=["surgeon", "injector", "therapist"],
            room_kind="consultation",
        ),
        toxin_type=AppointmentTypeFactory(
            code="toxin",
            name="Toxin session",
            duration_minutes=15,
            provider_roles=["surgeon", "injector"],
            room_kind="consultation",
            is_toxin=True,
        ),
        post_op=AppointmentTypeFactory(
            code="post_op", name="Post-operative review", duration_minutes=15, room_kind="consultation"
        ),
    )


def _appointment(clinic: Clinic, *, patient, provider, room, starts_at, status="booked") -> Appointment:
    return AppointmentFactory(
        patient=patient,
        provider=provider,
        room=room,
        appointment_type=clinic.review,
        starts_at=starts_at,
        status=status,
        booked_by=clinic.users[Role.FRONT_DESK],
    )


def _recall(patient, clinic: Clinic, *, source: str, due: date | None = None) -> Recall:
    today = clock.local_today()
    due = due or today
    return recall_open(
        patient=patient,
        kind=Recall.Kind.FOLLOW_UP,
        appointment_type_code=clinic.review.code,
        anchor_date=due - timedelta(days=30),
        earliest_date=due - timedelta(days=7),
        due_date=due,
        overdue_date=due + timedelta(days=21),
        source=source,
        label="Review",
        preferred_provider=clinic.providers[Role.SURGEON],
    )


def _messages(patient, *, n: int, tag: str, recall=None, appointment=None) -> list[Message]:
    now = timezone.now()
    statuses = [Message.Status.SENT, Message.Status.FAILED, Message.Status.SCHEDULED]
    return Message.objects.bulk_create(
        Message(
            patient=patient,
            kind=Message.Kind.QUESTIONNAIRE if recall is None and i == 0 else Message.Kind.RECALL_DUE,
            channel=Message.Channel.EMAIL if i % 2 else Message.Channel.SMS,
            purpose="recalls",
            due_at=now - timedelta(hours=i + 1),
            status=statuses[i % len(statuses)],
            reason_code="" if i % 3 != 1 else "provider_error",
            recall=recall,
            appointment=appointment,
            to_address=patient.email,
            subject="Your visit",
            dedupe_key=f"perf:{tag}:{patient.pk}:{i}",
            sent_at=now - timedelta(hours=i + 1) if i % 3 == 0 else None,
            context={"instrument": "saq", "when": "before"} if recall is None and i == 0 else {},
        )
        for i in range(n)
    )


def _consents(patient, *, n: int, actor) -> None:
    channels = MessagingConsent.Channel.values
    purposes = MessagingConsent.Purpose.values
    MessagingConsent.objects.bulk_create(
        MessagingConsent(
            patient=patient,
            channel=channels[i % len(channels)],
            purpose=purposes[i % len(purposes)],
            granted=True,
            address=str(patient.mobile) if channels[i % len(channels)] == "sms" else patient.email,
            method=MessagingConsent.Method.WRITTEN,
            recorded_by=actor,
            recorded_at=timezone.now() - timedelta(minutes=i),
        )
        for i in range(n)
    )


def _injections(n: int) -> list[dict]:
    sites = [(m, s) for m in Muscle.values for s in ("left", "right")]
    return [injection(muscle, side, "2.5", 1) for muscle, side in sites[:n]]


def _encounters(clinic: Clinic, patient, n: int, *, lot, visits: list, stages: list) -> tuple[dict, dict]:
    """n encounters of each kind, each linked to a past visit and a stage of the plan. The
    first of each kind is signed, with n child rows and n addenda; the second is a draft with
    n child rows; the others are drafts with one row each."""
    surgeon, therapist = clinic.users[Role.SURGEON], clinic.users[Role.THERAPIST]
    now = timezone.now()
    signed, drafts = {}, {}
    for i in range(n):
        rows = n if i <= 1 else 1
        links = {"appointment": visits[i], "plan_stage": stages[i % len(stages)]}
        toxin = record_toxin(
            patient,
            surgeon,
            lot=lot,
            # The draft is the newest session: it has earlier ones to compare with.
            occurred_at=now - timedelta(hours=2) - (0 if i == 1 else i + 1) * TOXIN_SPACING,
            injections=_injections(rows),
            **links,
        )
        made = {
            "toxin": (surgeon, toxin),
            "therapy": (
                therapist,
                record_therapy(
                    patient,
                    therapist,
                    occurred_at=now - timedelta(hours=1, minutes=i),
                    exercises=[
                        {
                            "exercise": f"Exercise {j}",
                            "repetitions": 10,
                            "hold_seconds": 5,
                            "times_per_day": 2,
                        }
                        for j in range(rows)
                    ],
                    patterns=[
                        {"trigger": "smiling", "region": "eye", "severity": "mild"} for _ in range(rows)
                    ],
                    recommendations=[
                        {"muscle": row["muscle"], "side": row["side"], "note": "Tight"}
                        for row in _injections(rows)
                    ],
                    **links,
                ),
            ),
            "surgery": (
                surgeon,
                record_surgery(
                    patient,
                    surgeon,
                    started_at=now - timedelta(days=3 + 10 * i),
                    procedures=[{"kind": "dao_excision"} for _ in range(rows)],
                    follow_up_plan=[
                        {"label": f"{7 * (j + 1)} days", "after_days": 7 * (j + 1)} for j in range(rows)
                    ],
                    **links,
                ),
            ),
            "consultation": (
                surgeon,
                record_consultation(patient, surgeon, occurred_at=now - timedelta(days=1 + i), **links),
            ),
            "follow_up": (
                surgeon,
                clinical.follow_up_record(
                    patient=patient,
                    actor=surgeon,
                    data={
                        "occurred_at": now - timedelta(days=2 + i),
                        "response": "better",
                        "treatment": toxin.encounter,
                        **links,
                    },
                ),
            ),
        }
        if i == 1:
            drafts = {kind: detail.encounter for kind, (_, detail) in made.items()}
        if i:
            continue  # drafts: the drafts page lists them
        for kind, (actor, detail) in made.items():
            encounter = detail.encounter
            clinical.encounter_sign(encounter=encounter, actor=actor)
            clinical.encounter_add_addendum(encounter=encounter, actor=actor, text="Addendum 0")
            Addendum.objects.bulk_create(
                Addendum(encounter=encounter, author=actor, text=f"Addendum {j}") for j in range(1, n)
            )
            signed[kind] = encounter
    return signed, drafts


def build_slice(clinic: Clinic, n: int) -> Slice:
    surgeon_user = clinic.users[Role.SURGEON]
    surgeon = clinic.providers[Role.SURGEON]
    front_desk = clinic.users[Role.FRONT_DESK]
    today = clock.local_today()
    tag = f"s{n}"

    # Schedule set-up: locations, rooms, providers, types, working hours, time off.
    locations = [LocationFactory(name=f"Perf site {tag}-{i}") for i in range(n)]
    rooms = [
        RoomFactory(location=clinic.location, name=f"Room {tag}-{i}", kind="consultation") for i in range(n)
    ]
    providers = []
    for i in range(n):
        user = UserFactory(username=f"perf-{tag}-doctor{i}", roles=[Role.SURGEON])
        providers.append(ProviderFactory(user=user, role="surgeon"))
    WorkingHours.objects.bulk_create(
        WorkingHours(provider=p, location=clinic.location, weekday=d, start_time=time(9), end_time=time(17))
        for p in providers[1:]
        for d in range(5)
    )
    # The first provider has n working-hours rows (its detail lists them).
    subject_hours = WorkingHours.objects.bulk_create(
        WorkingHours(
            provider=providers[0],
            location=clinic.location,
            weekday=i % 7,
            start_time=time(8 + i // 7 * 5),
            end_time=time(12 + i // 7 * 5),
        )
        for i in range(n)
    )
    types = [
        AppointmentTypeFactory(code=f"perf-{tag}-{i}", name=f"Type {i}", provider_roles=["surgeon"])
        for i in range(n)
    ]
    offs = TimeOff.objects.bulk_create(
        TimeOff(
            provider=p,
            starts_at=clinic.next_day() + timedelta(days=40),
            ends_at=clinic.next_day() + timedelta(days=41),
            reason="Leave",
        )
        for p in providers
    )

    # The chart patient: plans first, then visits, then the records of those visits.
    patient = PatientFactory(
        first_name="Chart",
        last_name=f"Patient{tag}",
        # Lists that the FHIR export turns into one resource per entry.
        allergies="; ".join(f"Allergen {i}" for i in range(n)),
        medications="\n".join(f"Medicine {i}" for i in range(n)),
    )
    plans = [
        clinical.plan_create(
            patient=patient,
            actor=surgeon_user,
            data={
                "goals": f"Goals {i}",
                "modalities": ["toxin", "therapy", "surgery"],
                "status": "active" if i == 0 else "draft",
                "stages": [
                    {"modality": ("toxin", "therapy", "surgery")[j % 3], "description": f"Stage {j}"}
                    for j in range(n if i == 0 else 1)
                ],
            },
        )
        for i in range(n)
    ]
    upcoming = [
        _appointment(
            clinic, patient=patient, provider=surgeon, room=clinic.consult_room, starts_at=clinic.next_day()
        )
        for _ in range(n)
    ]
    visits = [
        _appointment(
            clinic,
            patient=patient,
            provider=surgeon,
            room=clinic.consult_room,
            starts_at=clinic.past_week(),
            status="completed",
        )
        for _ in range(n)
    ]
    lot = ToxinLotFactory()
    ToxinLotFactory.create_batch(n - 1)
    encounters, drafts = _encounters(
        clinic, patient, n, lot=lot, visits=visits, stages=list(plans[0].stages.order_by("position"))
    )
    surgery, toxin = encounters["surgery"].surgery, encounters["toxin"].toxin_session
    assessments = [
        clinical.assessment_record(
            patient=patient,
            instrument="sunnybrook",
            items=SUNNYBROOK_NORMAL,
            assessed_at=timezone.now() - timedelta(days=i, hours=1),
            actor=surgeon_user,
            encounter=encounters["consultation"],
        )
        for i in range(n)
    ]
    appointment = upcoming[0]
    AppointmentEvent.objects.bulk_create(
        AppointmentEvent(
            appointment=appointment,
            action="confirmed" if i else "booked",
            from_status="booked" if i else "",
            to_status="confirmed" if i else "booked",
            by=front_desk,
            at=timezone.now() - timedelta(hours=n - i),
        )
        for i in range(n)
    )
    _consents(patient, n=n, actor=front_desk)
    patient_messages = _messages(patient, n=n, tag=f"{tag}-chart", appointment=appointment)
    questionnaire = next(m for m in patient_messages if m.kind == Message.Kind.QUESTIONNAIRE)
    aftercare = Message.objects.create(
        patient=patient,
        kind=Message.Kind.AFTERCARE,
        channel=Message.Channel.EMAIL,
        purpose="appointment_reminders",
        due_at=timezone.now() - timedelta(hours=1),
        status=Message.Status.SENT,
        dedupe_key=f"perf:{tag}:{patient.pk}:aftercare",
        context={"topics": ["toxin", "dao_excision", "selective_neurolysis"], "source": "perf"},
    )

    # The home programme's check-ins: n answers about the signed therapy visit's programme.
    ProgrammeCheckIn.objects.bulk_create(
        ProgrammeCheckIn(
            patient=patient,
            visit_id=encounters["therapy"].pk,
            days_done=i % 8,
            difficulty=i % 11,
            note=f"Week {i}",
            answered_at=timezone.now() - timedelta(minutes=30 - i),
        )
        for i in range(n)
    )

    # The recall worklist's subject: n contacts and n messages.
    recall = _recall(patient, clinic, source=f"perf:{tag}:chart")
    RecallContact.objects.bulk_create(
        RecallContact(recall=recall, method="phone", outcome=f"Call {i}", by=front_desk) for i in range(n)
    )
    recall_messages = _messages(patient, n=n, tag=f"{tag}-recall", recall=recall)

    # Other patients: today's calendars, the worklist, the waitlist, the lot's recipients.
    entries = []
    findings = []
    for i in range(n):
        other = PatientFactory(last_name=f"Other{tag}x{i}")
        _appointment(
            clinic,
            patient=other,
            provider=surgeon,
            room=clinic.consult_room,
            starts_at=clinic.next_slot(),
            # One cancelled per slice: the day view lists them under the grid.
            status="cancelled" if i == 1 else ("checked_in" if i == 2 else "booked"),
        )
        _appointment(
            clinic, patient=other, provider=providers[i], room=rooms[i], starts_at=clinic.next_slot()
        )
        later = _appointment(
            clinic, patient=other, provider=surgeon, room=clinic.consult_room, starts_at=clinic.next_day()
        )
        other_recall = _recall(other, clinic, source=f"perf:{tag}:{i}")
        # And one already booked: the worklist's "booked" tab shows the appointment.
        booked = _recall(other, clinic, source=f"perf:{tag}:{i}:booked", due=today + timedelta(days=30))
        Recall.objects.filter(pk=booked.pk).update(status=Recall.Status.BOOKED, booked_appointment=later)
        RecallContact.objects.create(recall=other_recall, method="phone", outcome="No answer", by=front_desk)
        _messages(other, n=1, tag=f"{tag}-other", recall=other_recall)
        _consents(other, n=2, actor=front_desk)
        entries.append(
            WaitlistEntry.objects.create(
                patient=other,
                appointment_type=clinic.review,
                provider=surgeon,
                appointment=later,
                created_by=front_desk,
            )
        )
        other_toxin = record_toxin(other, surgeon_user, lot=lot, injections=_injections(2))
        # The interval's safety net lists one finding per other patient.
        findings.append(
            IntervalFinding.objects.create(
                patient=other,
                earlier=encounters["toxin"],
                later=other_toxin.encounter,
                days_apart=20,
                minimum_days=84,
            )
        )
    waitlist = entries[0]
    WaitlistOffer.objects.bulk_create(
        WaitlistOffer(
            entry=waitlist,
            provider=providers[i],
            room=rooms[i],
            starts_at=start,
            ends_at=start + timedelta(minutes=15),
            freed_by=appointment,
        )
        for i, start in enumerate(clinic.next_day() for _ in range(n))
    )
    WaitlistOffer.objects.bulk_create(
        WaitlistOffer(
            entry=entry,
            provider=providers[0],
            room=rooms[0],
            starts_at=start,
            ends_at=start + timedelta(minutes=15),
            freed_by=appointment,
        )
        # This afternoon: the day view shows them.
        for entry, start in ((e, clinic.later_today()) for e in entries[1:])
    )
    # API tokens of the surgeon persona: their own list, and the practice manager's view of it.
    for i in range(n):
        api_token_issue(user=surgeon_user, label=f"perf {tag}-{i}")
    # n procedure consents of the chart patient: one signed (with its PDF), the others started.
    consent = signed_consent(patient, surgeon_user)
    for i in range(n - 1):
        start_consent(patient, surgeon_user, "dao_excision", details=f"perf {tag}-{i}")
    # n consultation requests: one accepted (the chart patient's appointment), the others open,
    # from someone with the chart patient's surname and date of birth (a possible duplicate).
    requests = [
        consultation_request_submit(
            data={
                "first_name": f"Perf{tag}{i}",
                "last_name": patient.last_name,
                "date_of_birth": patient.date_of_birth,
                "email": f"request-{tag}-{i}@example.org",
                "problem": "Synkinesis",
                "consent_to_contact": True,
            },
            client_address="192.0.2.1",
        )
        for i in range(n)
    ]
    ConsultationRequest.objects.filter(pk=requests[0].pk).update(
        status="accepted", patient=patient, appointment=appointment
    )

    # One code mapping of the clinic's terminology per slice (a different muscle in each).
    from insight.models import CodeMapping, verhoeff_valid
    from treatments.models import Muscle

    body = f"99{n:05d}"
    code_mapping, _ = CodeMapping.objects.update_or_create(
        source="muscle",
        local_code=Muscle.values[n % len(Muscle.values)],
        target="snomed",
        defaults={
            "code": body + next(d for d in "0123456789" if verhoeff_valid(body + d)),
            "display": f"perf {tag}",
            "checked_against": "test release",
        },
    )

    return Slice(
        n=n,
        patient=patient,
        appointment=appointment,
        encounters=encounters,
        drafts=drafts,
        procedure=surgery.procedures.order_by("id").first(),
        injection=toxin.injections.order_by("id").first(),
        assessment=assessments[0],
        plan=plans[0],
        lot=lot,
        interval_finding=findings[0],
        code_mapping=code_mapping,
        recall=recall,
        message=recall_messages[0],
        questionnaire=questionnaire,
        waitlist=waitlist,
        provider=providers[0],
        room=rooms[0],
        location=locations[0],
        time_off=offs[0],
        working_hours=subject_hours[0],
        appointment_type=types[0],
        audit_event=AuditEvent.objects.filter(patient_id=patient.pk).latest("id"),
        consent=consent,
        consent_token=consent_link_token(patient_id=patient.pk, consent_id=consent.pk),
        consultation_request=requests[-1],
        tokens={
            Action.CONFIRM: link_token(patient_id=patient.pk, action=Action.CONFIRM, target=appointment.pk),
            Action.CANCEL: link_token(patient_id=patient.pk, action=Action.CANCEL, target=appointment.pk),
            Action.BOOK: link_token(patient_id=patient.pk, action=Action.BOOK, target=recall.pk),
            Action.QUESTIONNAIRE: link_token(
                patient_id=patient.pk, action=Action.QUESTIONNAIRE, target=questionnaire.pk
            ),
            Action.UNSUBSCRIBE: link_token(
                patient_id=patient.pk, action=Action.UNSUBSCRIBE, target="sms:recalls"
            ),
            Action.AFTERCARE: link_token(patient_id=patient.pk, action=Action.AFTERCARE, target=aftercare.pk),
            PROGRAMME_ACTION: link_token(
                patient_id=patient.pk, action=PROGRAMME_ACTION, target=encounters["therapy"].pk
            ),
        },
    )
