"""Every route of the URL router, made concrete with ids of real objects.

Used by the route-by-role authorization tests: a route added without an entry here fails
``test_every_route_is_in_the_table``, so no route escapes the access table.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from clinic.models import AuditEvent
from clinic.tokens.services import api_token_issue
from consents.links import consent_link_token
from consents.services import template_current
from insight.models import CodeMapping, verhoeff_valid
from intake.services import consultation_request_submit
from letters import services as letters
from scheduling.models import Message, WaitlistOffer
from scheduling.reminders.links import Action, link_token
from scheduling.services import recall_open
from tests.consents.helpers import signed as signed_consent
from tests.factories import AppointmentFactory, PatientFactory, UserFactory
from tests.scheduling.factories import TimeOffFactory, WaitlistEntryFactory, WorkingHoursFactory
from tests.treatments.factories import (
    SUNNYBROOK_NORMAL,
    ToxinLotFactory,
    record_consultation,
    record_surgery,
    record_therapy,
    record_toxin,
)
from treatments import services as clinical
from treatments.models import IntervalFinding


@dataclass(frozen=True)
class Route:
    name: str  # namespaced URL name, e.g. "api:patient-detail"
    pattern: str  # the route as written, for messages
    methods: frozenset[str]  # methods the view answers (upper case); empty if unknown
    converters: tuple[str, ...]  # keyword arguments the route takes


def all_routes() -> list[Route]:
    routes: list[Route] = []

    def walk(resolver, prefix: str, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern) and entry.name:
                pattern = prefix + str(entry.pattern)
                if "format" in entry.pattern.regex.groupindex or pattern.startswith("admin/"):
                    continue  # ".json" suffix twins and Django's admin (superusers only)
                actions = getattr(entry.callback, "actions", None)
                methods = frozenset(m.upper() for m in actions) if actions else frozenset()
                routes.append(
                    Route(
                        name=namespace + entry.name,
                        pattern=pattern,
                        methods=methods,
                        converters=tuple(entry.pattern.regex.groupindex),
                    )
                )

    walk(get_resolver(), "", "")
    return routes


def build_world() -> dict:
    """One of everything the routes can point at, belonging to one patient."""
    surgeon = UserFactory(username="world-surgeon", roles=["surgeon"])
    injector = UserFactory(username="world-injector", roles=["injector"])
    therapist = UserFactory(username="world-therapist", roles=["therapist"])
    appointment = AppointmentFactory(starts_at=timezone.now() + timedelta(days=3))
    patient = appointment.patient
    other_patient = PatientFactory()
    other_appointment = AppointmentFactory(
        patient=other_patient,
        provider=appointment.provider,
        appointment_type=appointment.appointment_type,
        room=appointment.room,
        starts_at=appointment.starts_at + timedelta(days=1),
    )
    lot = ToxinLotFactory()
    toxin = record_toxin(patient, injector, lot=lot)
    consultation = record_consultation(patient, surgeon)
    follow_up = clinical.follow_up_record(
        patient=patient,
        actor=surgeon,
        data={"occurred_at": timezone.now() - timedelta(hours=1), "response": "better"},
    )
    therapy = record_therapy(patient, therapist)
    surgery = record_surgery(patient, surgeon)
    plan = clinical.plan_create(
        patient=patient,
        actor=surgeon,
        data={
            "goals": "Better smile",
            "modalities": ["toxin"],
            "stages": [{"modality": "toxin", "description": "x"}],
        },
    )
    assessment = clinical.assessment_record(
        patient=patient,
        instrument="sunnybrook",
        items=SUNNYBROOK_NORMAL,
        assessed_at=timezone.now(),
        actor=surgeon,
    )
    recall = recall_open(
        patient=patient,
        kind="reinjection",
        appointment_type_code=appointment.appointment_type.code,
        anchor_date=timezone.localdate(),
        earliest_date=timezone.localdate() + timedelta(days=10),
        due_date=timezone.localdate() + timedelta(days=20),
        overdue_date=timezone.localdate() + timedelta(days=40),
        source="route-table",
        label="Re-injection",
        actor=surgeon,
    )
    entry = WaitlistEntryFactory(patient=patient, appointment_type=appointment.appointment_type)
    offer = WaitlistOffer.objects.create(
        entry=entry,
        provider=appointment.provider,
        room=appointment.room,
        starts_at=other_appointment.starts_at,
        ends_at=other_appointment.ends_at,
        freed_by=other_appointment,
    )
    message = Message.objects.create(
        patient=patient,
        kind=Message.Kind.choices[0][0],
        channel="email",
        purpose="appointments",
        due_at=timezone.now(),
        appointment=appointment,
        dedupe_key=f"route-table-{patient.pk}",
    )
    working_hours = WorkingHoursFactory(provider=appointment.provider)
    time_off = TimeOffFactory(
        provider=appointment.provider,
        starts_at=timezone.now() + timedelta(days=60),
        ends_at=timezone.now() + timedelta(days=61),
    )
    finding = IntervalFinding.objects.create(
        patient=patient, earlier=consultation.encounter, later=toxin.encounter, days_apart=10, minimum_days=84
    )
    api_token, _ = api_token_issue(user=surgeon, label="route table")
    # A botulinum toxin consent, signed and countersigned (its PDF exists).
    consent = signed_consent(patient, surgeon)
    photo_set, media_item, photo_consent = _photos(patient, surgeon, surgery.encounter)
    # (update_or_create: some tests build the world twice.)
    code_mapping, _ = CodeMapping.objects.update_or_create(
        source="muscle",
        local_code="mentalis",
        target="snomed",
        defaults={
            "code": "9922222" + next(d for d in "0123456789" if verhoeff_valid("9922222" + d)),
            "display": "Route table fixture",
            "checked_against": "test release",
        },
    )
    consultation_request = consultation_request_submit(
        data={
            "first_name": "Route",
            "last_name": "Table",
            "date_of_birth": patient.date_of_birth,
            "email": "route-table@example.org",
            "problem": "Synkinesis",
            "consent_to_contact": True,
        },
        client_address="192.0.2.1",
    )
    mdt_meeting, mdt_item, mdt_task = _mdt(patient, surgeon)
    face_landmarks = _landmarks(media_item)
    # A signed consultation letter (its PDF exists).
    letter = letters.letter_sign(
        actor=surgeon,
        letter=letters.letter_draft(
            actor=surgeon, patient=patient, kind="consultation", encounter=consultation.encounter
        ),
    )
    return {
        "consent": consent,
        "patient": patient,
        "other_patient": other_patient,
        "appointment": appointment,
        "other_appointment": other_appointment,
        "ids": {
            "patient": patient.pk,
            "appointment": appointment.pk,
            "waitlist": entry.pk,
            "waitlist_offer": offer.pk,
            "location": appointment.room.location_id,
            "room": appointment.room_id,
            "provider": appointment.provider_id,
            "working-hours": working_hours.pk,
            "time-off": time_off.pk,
            "appointment-type": appointment.appointment_type_id,
            "recall": recall.pk,
            "message": message.pk,
            "treatment-plan": plan.pk,
            "encounter": consultation.encounter_id,
            "consultation": consultation.pk,
            "follow-up": follow_up.pk,
            "toxin-session": toxin.pk,
            "therapy-visit": therapy.pk,
            "home-programme": patient.pk,
            "surgery": surgery.pk,
            "assessment": assessment.pk,
            "toxin-lot": lot.pk,
            "interval-finding": finding.pk,
            "staff-user": surgeon.pk,
            "audit-event": AuditEvent.objects.filter(patient_id=patient.pk).latest("id").pk,
            "api-token": api_token.pk,
            "procedure-consent": consent.pk,
            "consent-template": template_current("botulinum_toxin").pk,
            # FHIR reads name the record behind each resource.
            "fhir-patient": patient.pk,
            "fhir-appointment": appointment.pk,
            "fhir-encounter": consultation.encounter_id,
            "fhir-observation": assessment.pk,
            "fhir-careplan": plan.pk,
            "fhir-procedure": surgery.pk,
            "fhir-medicationadministration": toxin.pk,
            "fhir-condition": patient.pk,
            "fhir-allergyintolerance": patient.pk,
            "fhir-medicationstatement": patient.pk,
            "fhir-practitioner": surgeon.pk,
            "fhir-practitionerrole": surgeon.pk,
            "photo-set": photo_set.pk,
            "media-item": media_item.pk,
            "photo-consent": photo_consent.pk,
            "fhir-media": media_item.pk,
            "code-mapping": code_mapping.pk,
            "consultation-request": consultation_request.pk,
            "mdt-meeting": mdt_meeting.pk,
            "mdt-item": mdt_item.pk,
            "mdt-task": mdt_task.pk,
            "face-landmarks": face_landmarks.pk,
            "letter": letter.pk,
        },
        "product": lot.product,
    }


def _photos(patient, surgeon, surgery_encounter):
    """A photo set taken after the surgery, with one processed photograph, and photo consent."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from photos import services as photos
    from tests.photos.media import plain_jpeg

    photo_set = photos.photo_set_create(patient=patient, actor=surgeon, taken_at=timezone.now())
    item = photos.media_upload(
        photo_set=photo_set, actor=surgeon, upload=SimpleUploadedFile("rest.jpg", plain_jpeg()), view="rest"
    )
    item = photos.media_process(item_id=item.pk)
    consent = photos.photo_consent_record(
        patient=patient, actor=surgeon, level="teaching_no_face", given_on=timezone.localdate()
    )
    return photo_set, item, consent


def _mdt(patient, surgeon):
    """A planned MDT meeting with the patient on its agenda and a task for the front desk."""
    from mdt import services as mdt

    meeting = mdt.meeting_create(actor=surgeon, date=timezone.localdate() + timedelta(days=7))
    item = mdt.item_add(actor=surgeon, patient=patient, question="Surgery for the smile?", meeting=meeting)
    task = mdt.task_add(
        item=item, actor=surgeon, role="front_desk", description="Call the patient", due=timezone.localdate()
    )
    return meeting, item, task


def _landmarks(media_item):
    """The world's photograph measured (a blank picture: no face found, a row all the same)."""
    from landmarks.services import landmarks_detect

    return landmarks_detect(item_id=media_item.pk)


# Page routes whose ``pk`` names an object other than what the app name suggests.
PAGE_PK = {
    "patients": "patient",
    "bench": "patient",
    "scheduling:arrival_check_in": "appointment",
    "scheduling:appointment": "appointment",
    "scheduling:appointment_cancel": "appointment",
    "scheduling:appointment_correct": "appointment",
    "scheduling:appointment_reschedule": "appointment",
    "scheduling:appointment_action": "appointment",
    "scheduling:waitlist_remove": "waitlist",
    "scheduling:waitlist_book": "waitlist_offer",
    "scheduling:provider_ics": "provider",
    "treatments:encounter": "encounter",
    "treatments:encounter_edit": "encounter",
    "treatments:encounter_sign": "encounter",
    "treatments:encounter_cosign": "encounter",
    "treatments:encounter_addendum": "encounter",
    "treatments:assessment": "assessment",
    "treatments:assessment_error": "assessment",
    "treatments:plan_edit": "treatment-plan",
    "treatments:lot": "toxin-lot",
    "treatments:interval_finding_review": "interval-finding",
    "treatments:lot_campaign": "toxin-lot",
    "scheduling:feed_rotate": "provider",
    "clinic:staff_mfa_reset": "staff-user",
    "clinic:staff_roles": "staff-user",
    "clinic:staff_deactivate": "staff-user",
    "clinic:staff_password_reset": "staff-user",
    "clinic:staff_sign_out": "staff-user",
    "tokens:revoke": "api-token",
    "scheduling:practice_hours": "provider",
    "scheduling:practice_hours_delete": "working-hours",
    "scheduling:practice_time_off_delete": "time-off",
    "scheduling:practice_room": "room",
    "scheduling:practice_type": "appointment-type",
    "consents": "procedure-consent",
    "photos:set": "photo-set",
    "photos:set_delete": "photo-set",
    "photos:upload": "photo-set",
    "photos:item": "media-item",
    "photos:file": "media-item",
    "photos:item_retry": "media-item",
    "photos:item_delete": "media-item",
    "photos:consent_withdraw": "photo-consent",
    "photos:before_after": "surgery",
    "insight:code_mapping_remove": "code-mapping",
    "intake": "consultation-request",
    "treatments:plan_agreement": "treatment-plan",
    "mdt:meeting": "mdt-meeting",
    "mdt:meeting_hold": "mdt-meeting",
    "mdt:item_outcome": "mdt-item",
    "mdt:task_done": "mdt-task",
    "landmarks:set": "photo-set",
    "landmarks:correct": "face-landmarks",
    "letters": "letter",
}


def concrete_path(route: Route, world: dict, *, link_patient=None) -> str:
    """The route's path with its arguments filled in from ``world``."""
    ids = world["ids"]
    kwargs: dict[str, str] = {}
    for arg in route.converters:
        if arg == "pk" and route.name.startswith("api:"):
            basename = re.sub(r"-(detail|list)$", "", route.name.removeprefix("api:"))
            basename = basename if basename in ids else basename.rsplit("-", 1)[0]
            while basename not in ids:
                basename = basename.rsplit("-", 1)[0]
            kwargs[arg] = str(ids[basename])
        elif arg == "pk":
            key = PAGE_PK.get(route.name) or PAGE_PK[route.name.split(":")[0]]
            kwargs[arg] = str(ids[key])
        elif arg == "patient_id":
            kwargs[arg] = str(ids["patient"])
        elif arg == "recall_id":
            kwargs[arg] = str(ids["recall"])
        elif arg == "product":
            kwargs[arg] = world["product"]
        elif arg == "action":
            kwargs[arg] = "confirm"
        elif arg == "kind":
            kwargs[arg] = "provider"
        elif arg == "entry":  # an entry of a list on the patient record (FHIR)
            kwargs[arg] = "1"
        elif arg == "rest":  # a path under the FHIR base that names nothing
            kwargs[arg] = "Unknown/1"
        elif arg == "key":  # a chart panel
            kwargs[arg] = "clinical_timeline"
        elif arg == "token" and route.name == "links:one_click":
            # One-click unsubscribe takes an unsubscribe link's token.
            owner = link_patient or world["patient"]
            kwargs[arg] = link_token(patient_id=owner.pk, action=Action.UNSUBSCRIBE, target="email:recalls")
        elif arg == "procedure":  # a consent form
            kwargs[arg] = "botulinum_toxin"
        elif arg == "token" and route.name.startswith("consent_links:"):
            # The world's consent's own link, made for ``link_patient``.
            owner = link_patient or world["patient"]
            kwargs[arg] = consent_link_token(patient_id=owner.pk, consent_id=world["consent"].pk)
        elif arg == "token":
            # A confirm link made for ``link_patient`` that points at the world's appointment.
            owner = link_patient or world["patient"]
            kwargs[arg] = link_token(
                patient_id=owner.pk, action=Action.CONFIRM, target=world["appointment"].pk
            )
        else:
            raise AssertionError(f"no value for <{arg}> in {route.pattern}")
    pattern = route.pattern
    path = pattern
    for arg, value in kwargs.items():
        path = re.sub(rf"\(\?P<{arg}>[^)]*\)|<(?:\w+:)?{arg}>", value, path)
    # Regex anchors go; a literal "$" inside a path (FHIR's "$everything") stays.
    return "/" + re.sub(r"\$(?!\w)", "", path.replace("^", ""))
