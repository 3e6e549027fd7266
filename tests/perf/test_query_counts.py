"""Every list endpoint, page and detail route makes as many queries with 2 rows of each kind as
with 8 (no query per row), and no more than its ceiling.

The routes come from the URL resolver (tests/security/routes.py): a route that is neither
guarded in GUARDS nor excluded in EXCLUDED with a reason fails
``test_every_route_has_a_query_count_guard``. Routes that answer GET with 405 in the
route-by-role table are POST-only: nothing to count. The data is built in tests/perf/world.py.

A guard that measured an empty list could never fail, so each one must also show more with 8
rows than with 2 (more results in a JSON page, a longer page or file) unless it is marked
``grows=False`` (one record, a form).
"""

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.roles import Role
from scheduling import clock
from scheduling.reminders.links import Action
from tests.perf.world import CLINIC_NOON, Clinic, Slice, build_clinic, build_slice
from tests.security.routes import all_routes
from tests.security.test_route_access import GET_ACCESS
from treatments.services.programme import PROGRAMME_ACTION

SMALL, LARGE = 2, 8
ANON = "anonymous"
SURGEON, MANAGER, FRONT_DESK, THERAPIST = Role.SURGEON, Role.MANAGER, Role.FRONT_DESK, Role.THERAPIST

Args = Callable[[Clinic, Slice], dict]


@dataclass(frozen=True)
class Guard:
    """One request to count: the route's arguments and query string, who asks, the most
    queries allowed, and whether the response shows more with more rows."""

    ceiling: int
    kwargs: Args = lambda c, s: {}
    query: Args = lambda c, s: {}
    persona: str = SURGEON
    label: str = ""
    grows: bool = True

    def path(self, route: str, clinic: Clinic, part: Slice) -> str:
        query = self.query(clinic, part)
        return reverse(route, kwargs=self.kwargs(clinic, part)) + (f"?{urlencode(query)}" if query else "")


def pk(get) -> Args:
    return lambda c, s: {"pk": get(c, s).pk}


def of_patient(c, s):
    return {"patient": s.patient.pk}


def one_page_of_patient(c, s):
    # Their rows fit on one page of 100 with 2 of each kind, not with 8.
    return {"patient": s.patient.pk, "page_size": 100}


def day(c, s):
    return {"date": clock.local_today().isoformat()}


PATIENT = pk(lambda c, s: s.patient)


def panel(key: str) -> Args:
    return lambda c, s: {"pk": s.patient.pk, "key": key}


def week_of_slots(*, limit: int) -> Args:
    """The availability API's query for a week of review slots for the slice's patient."""
    return lambda c, s: {
        "appointment_type": c.review.code,
        "date_from": clock.local_today().isoformat(),
        "date_to": (clock.local_today() + timedelta(days=6)).isoformat(),
        "patient": s.patient.pk,
        "limit": limit,
    }


def photos_of(c, s) -> dict:
    """The slice's photographs, made on first use: n photo sets of its patient (one before its
    surgery), each with a processed photograph of n views, and n versions of photo consent."""
    built = getattr(s, "photos", None)
    if built is None:
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.utils import timezone

        from photos import services as photos
        from photos.models import STANDARD_VIEWS
        from tests.photos.media import plain_jpeg

        surgeon = c.users[SURGEON]
        sets, items = [], []
        for i in range(s.n):
            photo_set = photos.photo_set_create(
                patient=s.patient, actor=surgeon, taken_at=timezone.now() - timedelta(days=30 * i)
            )
            for view in STANDARD_VIEWS[: s.n]:
                upload = SimpleUploadedFile(f"{view}.jpg", plain_jpeg(size=(64, 48)))
                item = photos.media_upload(photo_set=photo_set, actor=surgeon, upload=upload, view=view)
                items.append(photos.media_process(item_id=item.pk))
            sets.append(photo_set)
        for _ in range(s.n):
            photos.photo_consent_record(
                patient=s.patient, actor=surgeon, level="teaching_with_face", given_on=timezone.localdate()
            )
        built = s.photos = {"sets": sets, "items": items}
    return built


def of_photo_patient(c, s):
    photos_of(c, s)
    return {"patient_id": s.patient.pk}


def letters_of(c, s) -> list:
    """The slice's letters, made on first use: n signed consultation letters of its patient, each
    emailed to n recipients."""
    built = getattr(s, "letters", None)
    if built is None:
        from letters import services as letters
        from letters.models import LetterDelivery

        surgeon = c.users[SURGEON]
        built = []
        for _ in range(s.n):
            letter = letters.letter_draft(
                actor=surgeon, patient=s.patient, kind="consultation", encounter=s.encounters["consultation"]
            )
            letter = letters.letter_sign(actor=surgeon, letter=letter)
            LetterDelivery.objects.bulk_create(
                LetterDelivery(letter=letter, recipient="gp", address=f"gp{i}@nhs.example")
                for i in range(s.n)
            )
            built.append(letter)
        s.letters = built
    return built


def letter_patient(c, s) -> int:
    letters_of(c, s)
    return s.patient.pk


def letter_pk(c, s):
    return {"pk": letters_of(c, s)[0].pk}


def of_letters_patient(c, s):
    letters_of(c, s)
    return {"patient": s.patient.pk}


def photo_set_pk(c, s):
    return {"pk": photos_of(c, s)["sets"][0].pk}


def photo_item_pk(c, s):
    return {"pk": photos_of(c, s)["items"][0].pk}


def mdt_of(c, s) -> dict:
    """The slice's MDT list and plan agreements, made on first use: n meetings; on the first,
    n patients (the slice's first) each with n tasks for the front desk; and n versions of the
    slice's plan, each agreed to."""
    built = getattr(s, "mdt", None)
    if built is None:
        from mdt import services as mdt
        from tests.factories import PatientFactory
        from treatments import services as clinical

        surgeon = c.users[SURGEON]
        today = clock.local_today()
        meetings = [
            mdt.meeting_create(actor=surgeon, date=today + timedelta(days=7 + i), attendee_ids=[surgeon.pk])
            for i in range(s.n)
        ]
        patients = [s.patient, *PatientFactory.create_batch(s.n - 1)]
        items = [
            mdt.item_add(actor=surgeon, patient=p, question=f"Question {i}", meeting=meetings[0])
            for i, p in enumerate(patients)
        ]
        tasks = [
            mdt.task_add(item=item, actor=surgeon, role="front_desk", description=f"Task {j}", due=today)
            for item in items
            for j in range(s.n)
        ]
        for j in range(s.n):
            clinical.plan_agree(plan=s.plan, actor=surgeon, method="verbal", witness_id=surgeon.pk)
            clinical.plan_update(plan=s.plan, actor=surgeon, data={"goals": f"Goals, version {j + 2}"})
        built = s.mdt = {"meetings": meetings, "items": items, "tasks": tasks}
    return built


def mdt_pk(kind: str) -> Args:
    return lambda c, s: {"pk": mdt_of(c, s)[kind][0].pk}


def landmarks_of(c, s) -> list:
    """The slice's photographs measured (blank pictures: each gets its row, with no face)."""
    built = getattr(s, "landmarks", None)
    if built is None:
        from landmarks.services import landmarks_detect

        built = s.landmarks = [landmarks_detect(item_id=item.pk) for item in photos_of(c, s)["items"]]
    return built


def measured_set_pk(c, s):
    landmarks_of(c, s)
    return photo_set_pk(c, s)


def encounter_pages(source: str, ceilings: dict, personas: dict | None = None) -> list[Guard]:
    """One guard per kind of encounter: each kind's page and records differ."""
    personas = personas or {}
    return [
        Guard(
            ceiling,
            kwargs=lambda c, s, k=kind: {"pk": getattr(s, source)[k].pk},
            persona=personas.get(kind, SURGEON),
            label=kind,
        )
        for kind, ceiling in ceilings.items()
    ]


def encounter_api(name: str, kind: str, *, listed: int, detail: int, addenda: int) -> dict[str, list[Guard]]:
    subject = pk(lambda c, s: s.encounters[kind])
    return {
        # One patient's records: the list a chart asks for (and an audited read).
        f"api:{name}-list": [Guard(listed, query=of_patient)],
        f"api:{name}-detail": [Guard(detail, kwargs=subject)],
        f"api:{name}-addenda": [Guard(addenda, kwargs=subject)],
    }


def schedule_api(name: str, get, *, listed: int, detail: int, detail_grows=False) -> dict[str, list[Guard]]:
    return {
        f"api:{name}-list": [Guard(listed)],
        f"api:{name}-detail": [Guard(detail, kwargs=pk(get), grows=detail_grows)],
    }


# Route name -> the requests counted. Ceilings are today's counts plus three: a new query on a
# route is a decision, made here by raising its ceiling.
GUARDS: dict[str, list[Guard]] = {
    # --- pages ---------------------------------------------------------------------------------
    "clinic:audit": [Guard(10, query=of_patient, persona=MANAGER)],
    "clinic:staff": [Guard(10, persona=MANAGER)],
    # The clinic's settings, one row per product, and the latest changes (capped).
    "clinic:settings": [Guard(10, persona=MANAGER, grows=False)],
    "patients:list": [Guard(10), Guard(9, query=lambda c, s: {"q": "Other"}, label="search")],
    "patients:search_partial": [
        Guard(9, query=lambda c, s: {"q": "Other"}),
        Guard(9, query=lambda c, s: {"q": "Other", "box": "header"}, label="header"),
    ],
    "patients:register": [Guard(8, grows=False)],
    # The chart page is the header and consents; its panels load apart (chart_panel below).
    "patients:chart": [
        Guard(31, kwargs=PATIENT, grows=False),
        Guard(16, kwargs=PATIENT, persona=FRONT_DESK, label="front desk", grows=False),
        # One query more for the MDT panel (its items; their tasks when there are any), three for
        # the measurements panel (landmarks app).
        Guard(35, kwargs=PATIENT, query=lambda c, s: {"panels": "all"}, label="all panels inline"),
    ],
    "patients:chart_panel": [
        Guard(31, kwargs=panel(key), label=key, grows=grows)
        for key, grows in [
            ("appointments", True),
            ("treatment_plan", False),
            ("clinical_timeline", True),
            ("grading_trend", True),
            ("toxin_maps", True),
            ("dose_response", True),
            ("messages", True),
            ("procedure_consents", True),
            ("photographs", False),
            ("measurements", False),
        ]
    ]
    # The letters panel: its letters are made on first use.
    + [
        Guard(10, kwargs=lambda c, s: {**panel("letters")(c, s), "pk": letter_patient(c, s)}, label="letters")
    ],
    "patients:edit": [Guard(9, kwargs=PATIENT, grows=False)],
    "patients:deactivate": [Guard(9, kwargs=PATIENT, persona=MANAGER, grows=False)],
    # The merge preview counts rows: one count per kind of record, whatever the counts
    # (consultation requests, programme check-ins, MDT items and clinic letters included).
    "patients:merge": [
        Guard(
            25,
            kwargs=PATIENT,
            query=lambda c, s: {"duplicate": s.waitlist.patient_id},
            persona=MANAGER,
            grows=False,
        )
    ],
    # The first page of provider columns, for all locations and for one (later pages:
    # tests/scheduling/test_day_calendar.py). Two more than before paging: the providers' ids,
    # and the open offers' ids before the offers themselves.
    "scheduling:day": [
        Guard(18),
        Guard(19, query=lambda c, s: {"location": c.location.pk}, label="location"),
    ],
    "scheduling:rooms": [Guard(13)],
    "scheduling:week": [Guard(13)],
    "scheduling:my_day": [Guard(11)],
    "scheduling:arrivals": [Guard(10)],
    "scheduling:print_day": [Guard(9, query=day)],
    "scheduling:next_available": [
        Guard(
            21,
            query=lambda c, s: {
                "appointment_type": c.review.pk,
                "provider": c.providers[Role.SURGEON].pk,
                "patient": s.patient.pk,
            },
        )
    ],
    "scheduling:book": [
        Guard(13),
        Guard(14, query=lambda c, s: {"q": "Other", "patient": s.patient.pk}, label="search"),
    ],
    "scheduling:book_patient_search": [Guard(9, query=lambda c, s: {"q": "Other"})],
    "scheduling:appointment": [Guard(12, kwargs=pk(lambda c, s: s.appointment))],
    "scheduling:appointment_reschedule": [Guard(19, kwargs=pk(lambda c, s: s.appointment))],
    "scheduling:waitlist": [Guard(15)],
    "scheduling:provider_ics": [Guard(11, kwargs=pk(lambda c, s: c.providers[Role.SURGEON]))],
    "scheduling:feeds": [Guard(11, persona=MANAGER)],
    # Practice set-up: every provider with their hours, every room and appointment type.
    "scheduling:practice_setup": [Guard(13, persona=MANAGER)],
    "scheduling:practice_hours": [
        Guard(11, kwargs=pk(lambda c, s: s.provider), persona=MANAGER, grows=False)
    ],
    "scheduling:practice_time_off": [Guard(11, persona=MANAGER)],
    "scheduling:practice_room_new": [Guard(9, persona=MANAGER, grows=False)],
    "scheduling:practice_room": [Guard(10, kwargs=pk(lambda c, s: s.room), persona=MANAGER, grows=False)],
    "scheduling:practice_type_new": [Guard(8, persona=MANAGER, grows=False)],
    "scheduling:practice_type": [
        Guard(9, kwargs=pk(lambda c, s: s.appointment_type), persona=MANAGER, grows=False)
    ],
    "treatments:patient": [Guard(20, kwargs=lambda c, s: {"patient_id": s.patient.pk})],
    "treatments:drafts": [Guard(9)],
    # Toxin and surgery forms, records and API answers carry the procedure consent warnings:
    # two queries more (the patient's consents, the clinic's toxin consent validity).
    "treatments:toxin_new": [Guard(26, query=of_patient)],
    "treatments:therapy_new": [Guard(14, query=of_patient, persona=THERAPIST)],
    "treatments:surgery_new": [Guard(13, query=of_patient)],
    "treatments:consultation_new": [Guard(11, query=of_patient)],
    "treatments:follow_up_new": [Guard(12, query=of_patient)],
    "treatments:encounter": encounter_pages(
        "encounters", {"toxin": 17, "therapy": 16, "surgery": 18, "consultation": 13, "follow_up": 13}
    ),
    "treatments:encounter_edit": encounter_pages(
        "drafts",
        {"toxin": 26, "therapy": 17, "surgery": 19, "consultation": 14, "follow_up": 15},
        personas={"therapy": THERAPIST},
    ),
    "treatments:assessment_new": [
        Guard(9, query=of_patient, label="choose", grows=False),
        Guard(9, query=lambda c, s: {"patient": s.patient.pk, "instrument": "sunnybrook"}, grows=False),
    ],
    "treatments:assessment": [Guard(10, kwargs=pk(lambda c, s: s.assessment), grows=False)],
    "treatments:plan_new": [Guard(9, query=of_patient, grows=False)],
    "treatments:plan_edit": [Guard(10, kwargs=pk(lambda c, s: s.plan))],
    "treatments:lots": [Guard(10), Guard(10, persona=MANAGER, label="manager")],
    "treatments:lot": [Guard(11, kwargs=pk(lambda c, s: s.lot))],
    "treatments:interval_findings": [Guard(6)],
    "insight:dashboard": [
        Guard(18, persona=MANAGER),
        Guard(19, query=lambda c, s: {"format": "csv"}, persona=MANAGER, label="csv"),
    ],
    "reminders:recalls": [Guard(12), Guard(12, query=lambda c, s: {"bucket": "upcoming"}, label="upcoming")],
    "reminders:messages": [Guard(11, query=of_patient)],
    # A patient's link, one per action: no login, the signed token is the key. Each shows one
    # appointment, recall, questionnaire or consent (and the free slots, computed).
    "links:open": [
        Guard(
            ceiling,
            kwargs=lambda c, s, a=action: {"token": s.tokens[a]},
            persona=ANON,
            label=action,
            grows=False,
        )
        for action, ceiling in (
            (Action.CONFIRM, 5),
            (Action.CANCEL, 5),
            (Action.BOOK, 17),
            (Action.QUESTIONNAIRE, 5),
            (Action.UNSUBSCRIBE, 4),
            # The advice after a treatment: the message and the clinic's contact details.
            (Action.AFTERCARE, 3),
        )
    ]
    + [
        # The home programme: the visit named, the current programme (one row per exercise),
        # the clinic's name; and the same as a PDF.
        Guard(
            ceiling,
            kwargs=lambda c, s: {"token": s.tokens[PROGRAMME_ACTION]},
            query=query,
            persona=ANON,
            label=label,
        )
        for label, query, ceiling in (
            ("programme", lambda c, s: {}, 8),
            ("programme-pdf", lambda c, s: {"format": "pdf"}, 7),
        )
    ],
    # A calendar subscription: the token in the URL is the key.
    "calendar_feed": [
        Guard(7, kwargs=lambda c, s: {"token": c.providers[Role.SURGEON].calendar_feed_token}, persona=ANON),
        Guard(
            8, kwargs=lambda c, s: {"token": c.consult_room.calendar_feed_token}, persona=ANON, label="room"
        ),
    ],
    # Procedure consents: the forms (one row per procedure), a patient's consents, one consent,
    # its tablet page and its signed PDF; the patient's link and their PDF.
    # Clinic letters: a patient's letters, one letter with its emails, its signed PDF.
    "letters:patient": [Guard(11, kwargs=lambda c, s: {"patient_id": of_letters_patient(c, s)["patient"]})],
    "letters:detail": [Guard(12, kwargs=letter_pk)],
    "letters:pdf": [Guard(11, kwargs=letter_pk, grows=False)],
    "consents:templates": [Guard(10, grows=False)],
    "consents:template": [Guard(10, kwargs=lambda c, s: {"procedure": "botulinum_toxin"}, grows=False)],
    "consents:patient": [Guard(12, kwargs=lambda c, s: {"patient_id": s.patient.pk})],
    "consents:detail": [Guard(10, kwargs=pk(lambda c, s: s.consent), grows=False)],
    "consents:tablet": [Guard(10, kwargs=pk(lambda c, s: s.consent), grows=False)],
    "consents:pdf": [Guard(10, kwargs=pk(lambda c, s: s.consent), grows=False)],
    "consent_links:sign": [
        Guard(6, kwargs=lambda c, s: {"token": s.consent_token}, persona=ANON, grows=False)
    ],
    "consent_links:pdf": [
        Guard(6, kwargs=lambda c, s: {"token": s.consent_token}, persona=ANON, grows=False)
    ],
    # --- API -----------------------------------------------------------------------------------
    "api:api-root": [Guard(8, grows=False)],
    # Consultation requests: the queue (all statuses), one request with its possible duplicates
    # and the free consultation slots, the referral form, and the public form (anonymous).
    "intake:queue": [Guard(7, query=lambda c, s: {"status": "all"}, persona=FRONT_DESK)],
    "intake:detail": [
        Guard(20, kwargs=pk(lambda c, s: s.consultation_request), persona=FRONT_DESK, grows=False)
    ],
    "intake:referral": [Guard(6, persona=FRONT_DESK, grows=False)],
    "intake_public:request": [Guard(3, persona=ANON, grows=False)],
    "intake_public:thanks": [Guard(3, persona=ANON, grows=False)],
    "api:consultation-request-list": [Guard(8, persona=FRONT_DESK)],
    "api:consultation-request-detail": [
        Guard(10, kwargs=pk(lambda c, s: s.consultation_request), persona=FRONT_DESK, grows=False)
    ],
    "api:letter-list": [Guard(11, query=of_letters_patient)],
    "api:letter-detail": [Guard(10, kwargs=letter_pk)],
    "api:letter-pdf": [Guard(10, kwargs=letter_pk, grows=False)],
    "api:consent-template-list": [Guard(10, grows=False)],
    "api:consent-template-detail": [Guard(9, kwargs=lambda c, s: {"pk": s.consent.template_id}, grows=False)],
    "api:procedure-consent-list": [Guard(11, query=of_patient)],
    "api:procedure-consent-detail": [Guard(10, kwargs=pk(lambda c, s: s.consent), grows=False)],
    "api:procedure-consent-pdf": [Guard(10, kwargs=pk(lambda c, s: s.consent), grows=False)],
    "api:me": [Guard(9, grows=False)],
    "api:audit-event-list": [
        Guard(10, query=lambda c, s: {"patient_id": s.patient.pk, "page_size": 100}, persona=MANAGER)
    ],
    "api:audit-event-detail": [Guard(9, kwargs=pk(lambda c, s: s.audit_event), persona=MANAGER, grows=False)],
    "api:patient-list": [Guard(10), Guard(9, query=lambda c, s: {"search": "Other"}, label="search")],
    "api:patient-detail": [Guard(10, kwargs=PATIENT, grows=False)],
    "api:patient-consents": [Guard(11, kwargs=PATIENT)],
    "api:patient-consents-current": [Guard(10, kwargs=PATIENT, grows=False)],
    # One query per section: 45 with the plan agreements, check-ins, consultation requests,
    # letters and their deliveries, MDT items and tasks and face landmarks.
    "api:patient-export": [Guard(45, kwargs=PATIENT)],
    "api:availability-list": [
        # Every slot of the week on one page (the default page of 500 would hold the same
        # number with 2 and with 8 providers).
        Guard(16, query=week_of_slots(limit=5000)),
        # A first page, where the search stops early: the same queries.
        Guard(16, query=week_of_slots(limit=10), label="page", grows=False),
    ],
    "api:appointment-list": [
        Guard(10, query=lambda c, s: {"page_size": 100}),
        Guard(12, query=of_patient, label="patient"),
        Guard(
            10, query=lambda c, s: {"date_from": day(c, s)["date"], "date_to": day(c, s)["date"]}, label="day"
        ),
    ],
    "api:appointment-detail": [Guard(11, kwargs=pk(lambda c, s: s.appointment))],
    "api:waitlist-list": [Guard(11)],
    "api:waitlist-detail": [Guard(10, kwargs=pk(lambda c, s: s.waitlist))],
    **schedule_api("location", lambda c, s: s.location, listed=10, detail=9),
    **schedule_api("room", lambda c, s: s.room, listed=10, detail=9),
    **schedule_api("provider", lambda c, s: s.provider, listed=11, detail=10, detail_grows=True),
    **schedule_api("working-hours", lambda c, s: s.working_hours, listed=10, detail=9),
    **schedule_api("time-off", lambda c, s: s.time_off, listed=10, detail=9),
    **schedule_api("appointment-type", lambda c, s: s.appointment_type, listed=10, detail=9),
    "api:recall-list": [
        Guard(10, query=lambda c, s: {"page_size": 100}),
        Guard(10, query=lambda c, s: {"bucket": "due"}, label="due"),
    ],
    "api:recall-detail": [Guard(9, kwargs=pk(lambda c, s: s.recall), grows=False)],
    "api:message-list": [Guard(10, query=one_page_of_patient)],
    "api:message-detail": [Guard(9, kwargs=pk(lambda c, s: s.message), grows=False)],
    "api:treatment-plan-list": [Guard(12), Guard(12, query=of_patient, label="patient")],
    "api:treatment-plan-detail": [Guard(11, kwargs=pk(lambda c, s: s.plan))],
    "api:encounter-list": [
        Guard(11, query=lambda c, s: {"page_size": 100}),
        Guard(11, query=of_patient, label="patient"),
    ],
    "api:encounter-detail": [Guard(9, kwargs=pk(lambda c, s: s.encounters["toxin"]), grows=False)],
    **encounter_api("consultation", "consultation", listed=12, detail=11, addenda=10),
    **encounter_api("follow-up", "follow_up", listed=12, detail=11, addenda=10),
    **encounter_api("toxin-session", "toxin", listed=16, detail=15, addenda=11),
    **encounter_api("therapy-visit", "therapy", listed=15, detail=14, addenda=13),
    **encounter_api("surgery", "surgery", listed=17, detail=16, addenda=13),
    "api:assessment-list": [Guard(11), Guard(11, query=of_patient, label="patient")],
    "api:assessment-detail": [Guard(10, kwargs=pk(lambda c, s: s.assessment), grows=False)],
    "api:toxin-lot-list": [Guard(10)],
    "api:toxin-lot-detail": [Guard(9, kwargs=pk(lambda c, s: s.lot), grows=False)],
    "api:toxin-lot-patients": [Guard(11, kwargs=pk(lambda c, s: s.lot))],
    # One row per product, whatever else is in the database.
    "api:toxin-dose-limit-list": [Guard(9, grows=False)],
    "api:interval-finding-list": [Guard(7)],
    "api:interval-finding-detail": [Guard(5, kwargs=pk(lambda c, s: s.interval_finding), grows=False)],
    "api:toxin-dose-limit-detail": [Guard(9, kwargs=lambda c, s: {"product": s.lot.product}, grows=False)],
    "api:clinic-settings": [Guard(8, grows=False)],
    "api:toxin-interval-list": [Guard(9, grows=False)],
    "api:code-mapping-list": [Guard(9, grows=False)],
    "api:code-mapping-detail": [Guard(9, kwargs=pk(lambda c, s: s.code_mapping), grows=False)],
    "api:toxin-interval-detail": [Guard(9, kwargs=lambda c, s: {"product": s.lot.product}, grows=False)],
    "api:home-programme-detail": [Guard(10, kwargs=PATIENT, persona=THERAPIST)],
    "api:programme-checkin-list": [Guard(8), Guard(8, query=of_patient, label="patient")],
    # FHIR: the everything bundle, and one resource of each type.
    # (+5 over the record: the clinic setting, its code map, the lists' history, the clinicians
    # and their roles.)
    "api:fhir-patient-everything": [Guard(21, kwargs=PATIENT)],
    "api:fhir-patient": [Guard(10, kwargs=PATIENT, grows=False)],
    "api:fhir-appointment": [Guard(10, kwargs=pk(lambda c, s: s.appointment), grows=False)],
    "api:fhir-encounter": [Guard(10, kwargs=pk(lambda c, s: s.encounters["consultation"]), grows=False)],
    "api:fhir-observation": [Guard(10, kwargs=pk(lambda c, s: s.assessment), grows=False)],
    "api:fhir-careplan": [Guard(11, kwargs=pk(lambda c, s: s.plan))],
    "api:fhir-procedure": [Guard(10, kwargs=pk(lambda c, s: s.procedure), grows=False)],
    "api:fhir-medicationadministration": [Guard(10, kwargs=pk(lambda c, s: s.injection), grows=False)],
    "api:fhir-condition": [Guard(10, kwargs=PATIENT, grows=False)],
    **{
        f"api:fhir-{name}": [Guard(10, kwargs=lambda c, s: {"pk": s.patient.pk, "entry": "1"}, grows=False)]
        for name in ("allergyintolerance", "medicationstatement")
    },
    "api:fhir-practitioner": [Guard(10, kwargs=lambda c, s: {"pk": c.users[SURGEON].pk}, grows=False)],
    "api:fhir-practitionerrole": [Guard(10, kwargs=lambda c, s: {"pk": c.users[SURGEON].pk}, grows=False)],
    # FHIR searches: a patient's resources of one type (one per patient: the Patient, the
    # Condition).
    "api:fhir-patient-search": [Guard(10, query=lambda c, s: {"_id": s.patient.pk}, grows=False)],
    "api:fhir-condition-search": [Guard(10, query=of_patient, grows=False)],
    **{
        f"api:fhir-{name}-search": [Guard(12, query=of_patient)]
        for name in (
            "appointment",
            "encounter",
            "observation",
            "careplan",
            "medicationadministration",
            "procedure",
            "allergyintolerance",
            "medicationstatement",
        )
    },
    # Staff accounts: every member of staff with their roles and whether they use two factors.
    "api:staff-user-list": [Guard(10, persona=MANAGER, query=lambda c, s: {"page_size": 100})],
    "api:staff-user-detail": [
        Guard(9, kwargs=lambda c, s: {"pk": c.users[SURGEON].pk}, persona=MANAGER, grows=False)
    ],
    # API tokens: one's own, and a staff member's for the practice manager.
    "tokens:list": [Guard(8)],
    "api:api-token-list": [
        Guard(9),
        Guard(10, query=lambda c, s: {"user": c.users[SURGEON].pk}, persona=MANAGER, label="manager"),
    ],  # --- photographs (photos app; last: their audit events must not fill clinic:audit's page) --------------------------------------------------------------
    "photos:patient": [Guard(13, kwargs=of_photo_patient)],
    "photos:set_new": [Guard(9, kwargs=of_photo_patient, grows=False)],
    "photos:compare": [Guard(10, kwargs=of_photo_patient)],
    "photos:grid": [Guard(12, kwargs=of_photo_patient)],
    "photos:consent": [Guard(10, kwargs=of_photo_patient)],
    "photos:set": [Guard(12, kwargs=photo_set_pk)],
    "photos:item": [Guard(8, kwargs=photo_item_pk, grows=False)],
    "photos:file": [Guard(9, kwargs=photo_item_pk, grows=False)],
    "photos:before_after": [
        Guard(11, kwargs=lambda c, s: photos_of(c, s) and {"pk": s.encounters["surgery"].pk}, grows=False)
    ],
    "api:photo-set-list": [Guard(11, query=lambda c, s: photos_of(c, s) and {"patient": s.patient.pk})],
    "api:photo-set-detail": [Guard(10, kwargs=photo_set_pk)],
    "api:media-item-list": [Guard(10, query=lambda c, s: {"photo_set": photo_set_pk(c, s)["pk"]})],
    "api:media-item-detail": [Guard(9, kwargs=photo_item_pk, grows=False)],
    "api:media-item-file": [Guard(9, kwargs=photo_item_pk, grows=False)],
    "api:fhir-media": [Guard(9, kwargs=photo_item_pk, grows=False)],
    # --- the MDT list (mdt app) and plan agreements ---------------------------------------------
    "treatments:plan_agreement": [
        Guard(12, kwargs=lambda c, s: mdt_of(c, s) and {"pk": s.plan.pk}),
    ],
    "mdt:meetings": [Guard(12, query=lambda c, s: mdt_of(c, s) and {})],
    "mdt:meeting": [Guard(14, kwargs=mdt_pk("meetings"))],
    "mdt:flag": [Guard(9, kwargs=lambda c, s: mdt_of(c, s) and {"patient_id": s.patient.pk}, grows=False)],
    "mdt:tasks": [Guard(10, query=lambda c, s: mdt_of(c, s) and {}, persona=FRONT_DESK)],
    "api:mdt-meeting-list": [Guard(10, query=lambda c, s: mdt_of(c, s) and {"page_size": 100})],
    "api:mdt-meeting-detail": [Guard(12, kwargs=mdt_pk("meetings"))],
    "api:mdt-item-list": [Guard(10, query=lambda c, s: {"meeting": mdt_of(c, s)["meetings"][0].pk})],
    "api:mdt-item-detail": [Guard(10, kwargs=mdt_pk("items"))],
    "api:mdt-task-list": [
        Guard(10, query=lambda c, s: mdt_of(c, s) and {"page_size": 100}, persona=FRONT_DESK)
    ],
    "api:mdt-task-detail": [Guard(10, kwargs=mdt_pk("tasks"), persona=FRONT_DESK, grows=False)],
    "landmarks:set": [Guard(8, kwargs=measured_set_pk)],
    "api:face-landmarks-list": [Guard(7, query=lambda c, s: {"photo_set": measured_set_pk(c, s)["pk"]})],
    "api:face-landmarks-detail": [
        Guard(8, kwargs=lambda c, s: {"pk": landmarks_of(c, s)[0].pk}, grows=False)
    ],
    "api:photo-set-measurements-detail": [Guard(8, kwargs=measured_set_pk)],
}
GUARDS["patients:chart_panel"].append(
    Guard(31, kwargs=lambda c, s: mdt_of(c, s) and {"pk": s.patient.pk, "key": "mdt"}, label="mdt")
)


# Every API list again as a browser sees it: DRF's HTML page with the filter form and, for who
# may create, the create form. Their selects list a choice per related row (providers, rooms,
# appointments ...), so a label that costs a query shows here. Route -> (who asks, ceiling).
BROWSABLE = {
    "api:letter-list": (SURGEON, 14),
    "api:audit-event-list": (MANAGER, 11),
    "api:patient-list": (SURGEON, 10),
    "api:availability-list": (SURGEON, 16),
    "api:appointment-list": (SURGEON, 13),
    "api:waitlist-list": (SURGEON, 16),
    "api:location-list": (MANAGER, 10),
    "api:room-list": (MANAGER, 12),
    "api:provider-list": (MANAGER, 12),
    "api:working-hours-list": (MANAGER, 14),
    "api:time-off-list": (MANAGER, 14),
    "api:appointment-type-list": (MANAGER, 10),
    "api:recall-list": (SURGEON, 10),
    "api:message-list": (SURGEON, 10),
    "api:treatment-plan-list": (SURGEON, 13),
    "api:encounter-list": (SURGEON, 11),
    "api:consultation-list": (SURGEON, 16),
    "api:follow-up-list": (SURGEON, 17),
    "api:toxin-session-list": (SURGEON, 22),
    "api:therapy-visit-list": (THERAPIST, 19),
    "api:surgery-list": (SURGEON, 19),
    "api:assessment-list": (SURGEON, 13),
    "api:toxin-lot-list": (MANAGER, 10),
    "api:toxin-dose-limit-list": (SURGEON, 9),
    "api:interval-finding-list": (SURGEON, 7),
    "api:programme-checkin-list": (THERAPIST, 8),
    "api:toxin-interval-list": (MANAGER, 9),
    "api:code-mapping-list": (MANAGER, 9),
    "api:staff-user-list": (MANAGER, 10),
    "api:api-token-list": (SURGEON, 9),
    "api:consultation-request-list": (FRONT_DESK, 8),
    "api:consent-template-list": (SURGEON, 11),
    "api:procedure-consent-list": (SURGEON, 12),
    "api:photo-set-list": (SURGEON, 11),
    "api:media-item-list": (SURGEON, 10),
    "api:mdt-meeting-list": (SURGEON, 12),
    "api:mdt-item-list": (SURGEON, 12),
    "api:mdt-task-list": (FRONT_DESK, 12),
    "api:face-landmarks-list": (SURGEON, 7),
}
for _name in BROWSABLE.keys() & GUARDS.keys():
    _persona, _ceiling = BROWSABLE[_name]
    GUARDS[_name].append(
        Guard(
            _ceiling,
            kwargs=GUARDS[_name][0].kwargs,
            query=lambda c, s, first=GUARDS[_name][0]: {**first.query(c, s), "format": "api"},
            persona=_persona,
            label="html",
            grows=GUARDS[_name][0].grows,
        )
    )

# Every API list once more with a page of one row, so that there is a next page and the pager
# counts: its count must stop at a limit (clinic.api.pagination), which _unbounded_counts checks.
for _name in [n for n in GUARDS if n.startswith("api:") and n.endswith("-list")]:
    _first = GUARDS[_name][0]
    GUARDS[_name].append(
        Guard(
            _first.ceiling + 1,
            kwargs=_first.kwargs,
            query=lambda c, s, first=_first: {**first.query(c, s), "page_size": "1"},
            persona=_first.persona,
            label="page of one",
            grows=False,
        )
    )

# Routes whose counts have no limit because what they count is bounded by its scope (one
# patient, one week, the clinic's set-up), not by the size of the register.
SCOPED_COUNTS: dict[str, str] = {
    "patients:merge": "what each of the two patients' records holds, table by table",
    "patients:chart": "the chart patient's toxin totals by product",
    "patients:chart_panel": "the chart patient's toxin totals by product",
    "treatments:patient": "the patient's toxin totals by product",
    "treatments:lots": "sessions per lot, for the lots on the page (lots are a stock list)",
    "scheduling:practice_setup": "time off still to come: the calendars' own set-up rows",
    "reminders:messages": "the last week's failures by reason (index scheduling_message_status)",
    "insight:dashboard": "figures of the chosen period, read through the period's indexes",
}

# Routes that answer GET but show none of the clinic's records.

EXCLUDED = {
    "home": "redirects to the role's start page",
    "login": "the log-in form",
    "health": "checks that the database and the broker answer",
    "health_live": "answers without touching the database",
    "health_ready": "checks that the database and the broker answer",
    "schema": "the OpenAPI schema, generated from code",
    "api-docs": "a static page that loads the schema",
    # The signed-in member of staff's own two-factor authentication.
    "account:security": "the user's own two-factor settings",
    "account:mfa_enrol": "the user's own authenticator set-up",
    "account:mfa_verify": "the log-in's second step (redirects without a log-in in progress)",
    "account:recovery_codes": "the user's new recovery codes, once (redirects without any)",
    "account:link_open": "a set-up link: takes its token into the session and redirects",
    "account:link_set_up": "the set-up form of the link in the session (404 without one)",
    "account:password_change": "the user's own password form",
    "clinic:staff_invite": "the form that invites a member of staff",
    "links:one_click": "a GET reads no record: it checks the signed token and redirects to the link's page",
    "api:fhir-metadata": "the FHIR CapabilityStatement, built from code",
    "api:fhir-unknown": "an OperationOutcome 404 for a path that names no FHIR resource",
    "photos:teaching_export": "a zip across patients; one audit event per patient in it, by design",
}


def _post_only(name: str) -> bool:
    return GET_ACCESS.get(name, (None, None))[1] == 405


def test_every_route_has_a_query_count_guard():
    names = {r.name for r in all_routes()}
    unguarded = sorted(n for n in names if n not in GUARDS and n not in EXCLUDED and not _post_only(n))
    assert unguarded == [], f"add a query-count guard (or an exclusion with a reason) for: {unguarded}"
    stale = sorted((set(GUARDS) | set(EXCLUDED)) - names)
    assert stale == [], f"these guarded routes no longer exist: {stale}"
    assert not set(GUARDS) & set(EXCLUDED)
    lists = {n for n in GUARDS if n.startswith("api:") and n.endswith("-list")}
    assert sorted(lists - set(BROWSABLE)) == [], "add these API lists to BROWSABLE"


@dataclass
class Measured:
    key: str
    guard: Guard
    counts: list[int] = field(default_factory=list)
    shown: list[int] = field(default_factory=list)
    queries: list[list[str]] = field(default_factory=list)


def _shown(response) -> int:
    """How much a response shows: the results of a JSON page, else its length."""
    if response.streaming:  # a file (photographs): its bytes
        return len(b"".join(response.streaming_content))
    if response["Content-Type"].startswith("application/json"):
        data = response.json()
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            return len(data["results"])
        if isinstance(data, list):
            return len(data)
    return len(response.content)


def _shape(sql: str) -> str:
    """A query without its values: ids, dates and names differ between the two data sets."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(?:\.\d+)?\b", "?", sql)
    sql = re.sub(r"\(\?(?:, \?)*\)", "(...)", sql)
    return re.sub(r'"(?:s\d+_x|_django_curs_\d+_sync_)\d+"', "name", sql)


def _difference(small: list[str], large: list[str]) -> str:
    """The queries one data set made more often than the other: what to look at first."""
    before, after = Counter(map(_shape, small)), Counter(map(_shape, large))
    lines = [f"{after[q] - before[q]:+d} {q[:400]}" for q in before | after if after[q] != before[q]]
    return "\n      ".join(lines[:6])


# The API pager's count: it runs only when a list is longer than its page (and then reads at
# most COUNT_CAP + 1 rows), so a list that outgrows its page between the two data sets makes
# it once more. Not a query per row: left out when the two counts are compared.
PAGER_COUNT = re.compile(r"^SELECT COUNT\(\*\) FROM \(SELECT .* LIMIT \d+\) subquery$", re.S)


def _problems(r: Measured) -> list[str]:
    small, large = ([q for q in run if not PAGER_COUNT.match(q)] for run in r.queries)
    (small, large), problems = (len(small), len(large)), []
    if small != large:
        problems.append(
            f"{r.key}: {small} queries with {SMALL} rows, {large} with {LARGE}:\n      {_difference(*r.queries)}"
        )
    if r.counts[1] > r.guard.ceiling:
        problems.append(f"{r.key}: {r.counts[1]} queries, above its ceiling of {r.guard.ceiling}")
    if r.guard.grows and r.shown[1] <= r.shown[0]:
        problems.append(f"{r.key}: shows no more with {LARGE} rows than with {SMALL}, so it measures nothing")
    return problems


def _unbounded_counts(r: Measured) -> list[str]:
    """A ``COUNT`` with no ``LIMIT`` inside reads every matching row: on a list of the whole
    register that cost grows with the clinic (the API's patient list spent 172 of its 187 ms
    counting a million patients). Lists count through ``clinic.api.pagination.capped_count`` or
    ``clinic.paging.CappedPaginator``; a count scoped to one patient, day or record is named in
    ``SCOPED_COUNTS`` with the reason its size is bounded."""
    if r.key.split(" [")[0] in SCOPED_COUNTS:
        return []
    found = {_shape(sql) for sql in r.queries[-1] if "COUNT(" in sql.upper() and " LIMIT " not in sql.upper()}
    return [f"{r.key}: counts without a limit (cost grows with the table):\n      {q[:400]}" for q in found]


@pytest.fixture
def clinic(db):
    # Frozen: the session's last-seen time is written at most once a minute, and must not be
    # written during one measurement and not the other.
    with time_machine.travel(CLINIC_NOON, tick=False):
        yield build_clinic()


def test_query_counts_do_not_grow_with_rows(clinic):
    # Per-process caches filled once, so that the first measurement pays for none of them.
    ContentType.objects.get_for_models(*apps.get_models())
    clients = {ANON: Client()}
    for role, user in clinic.users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    results: dict[str, Measured] = {}
    problems = []
    for size in (SMALL, LARGE):
        part = build_slice(clinic, size)
        for name, guards in GUARDS.items():
            for guard in guards:
                key = f"{name} [{guard.label}]" if guard.label else name
                path = guard.path(name, clinic, part)
                with CaptureQueriesContext(connection) as ctx:
                    response = clients[guard.persona].get(path)
                if response.status_code != 200:
                    problems.append(f"{key}: GET {path} answered {response.status_code}: nothing measured")
                r = results.setdefault(key, Measured(key, guard))
                r.counts.append(len(ctx.captured_queries))
                r.queries.append([q["sql"] for q in ctx.captured_queries])
                r.shown.append(_shown(response))
    for r in results.values():
        problems += _problems(r)
        problems += _unbounded_counts(r)
    rows = "\n".join(
        f"{r.key:<44} {r.counts[0]:>3} {r.counts[1]:>3} {r.guard.ceiling:>4}" for r in results.values()
    )
    print(f"\n{'queries per request':<44} {SMALL:>3} {LARGE:>3} ceil\n{rows}")
    assert problems == [], "\n".join(problems)
