"""Every operation of the OpenAPI schema, called for real, answers as the schema says.

The schema (``/api/schema/``) is read as a client reads it, and every one of its operations is
called through DRF's test client on a seeded database by a member of staff who holds every
role (so every operation can succeed), authenticated with ``Authorization: Bearer``. Each
request and each answer is then validated by openapi-core (an independent OpenAPI 3.0
validator built on jsonschema), against the operation named by the schema's own path
template: status, content type, headers and body.

Unlike the fuzz test (tests/security/test_api_schema_fuzz.py), whose generated input mostly
meets 400s and 404s, the requests here are the ones a clinic makes: each operation must answer
with one of its documented success statuses at least once, so the success bodies (signed
records with a signer, a patient-rated assessment with no rater, a consent carried over by a
merge, cancelled and rescheduled appointments) are the ones checked. Lists are read twice:
before the writes and after them, when they hold what the writes made.
"""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from rest_framework.test import APIClient

from clinic.roles import Role
from clinic.tokens.services import api_token_issue
from patients.models import MessagingConsent
from scheduling.services import recall_open
from tests.factories import PASSWORD, AppointmentFactory, AppointmentTypeFactory, PatientFactory, UserFactory
from tests.security.routes import build_world
from tests.treatments.factories import SAQ_ITEMS
from treatments.services import assessment_record

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def world(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = build_world()
    patient = world["patient"]
    # Entries of the record's lists, which FHIR reads one by one (AllergyIntolerance, MedicationStatement).
    patient.allergies = "Latex"
    patient.medications = "Aspirin 75 mg daily"
    patient.save(update_fields=["allergies", "medications"])
    # Answers that once broke the schema: a consent carried over by a merge (method "merge") and
    # a questionnaire the patient answered (no staff rater).
    MessagingConsent.objects.create(
        patient=patient,
        channel="email",
        purpose="appointment_reminders",
        granted=True,
        address=patient.email,
        method=MessagingConsent.Method.MERGE,
    )
    world["ids"]["assessment"] = assessment_record(
        patient=patient, instrument="saq", items=SAQ_ITEMS, assessed_at=timezone.now(), rater_kind="patient"
    ).pk
    # An open recall for the worklist's writes (the world's is booked already).
    world["ids"]["open-recall"] = recall_open(
        patient=world["other_patient"],
        kind="follow_up",
        appointment_type_code=AppointmentTypeFactory(code="review", name="Review").code,
        anchor_date=timezone.localdate(),
        earliest_date=timezone.localdate() + timedelta(days=10),
        due_date=timezone.localdate() + timedelta(days=20),
        overdue_date=timezone.localdate() + timedelta(days=40),
        source="conformance",
        label="Review",
        actor=None,
    ).pk
    user = UserFactory(username="conformance", roles=[role.value for role in Role])
    world["user"] = user
    world["token"] = api_token_issue(user=user, label="conformance")[1]
    return world


class Recorder:
    """Calls the API and validates each request and answer against the schema."""

    def __init__(self, spec: dict, world: dict):
        # FHIR answers are JSON under their own media type.
        config = Config(extra_media_type_deserializers={"application/fhir+json": json.loads})
        self.openapi = OpenAPI.from_dict(spec, config=config)
        self.spec = spec
        self.world = world
        self.client = APIClient()
        self.answered: dict[tuple[str, str], set[int]] = {}
        self.problems: list[str] = []

    def call(
        self,
        method: str,
        template: str,
        *,
        path=None,
        query=None,
        body=None,
        files=None,
        expect=None,
        token=None,
    ):
        """Call ``method template`` (``path`` fills its parameters) and validate both ends. With
        ``files`` the request is multipart (an upload): its answer is validated, its body is not
        (openapi-core reads multipart bodies only from a browser's raw encoding)."""
        path_values = {k: str(v) for k, v in (path or {}).items()}
        url = template
        for name, value in path_values.items():
            url = url.replace(f"{{{name}}}", value)
        assert "{" not in url, f"unfilled path parameter in {url}"
        data = json.dumps(body).encode() if body is not None else None
        token = token or self.world["token"]
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        send = getattr(self.client, method)
        if files is not None:
            response = send(url, data=files, format="multipart")
        elif data is not None:
            response = send(url, data=data, content_type="application/json")
        else:
            response = send(url, data=query)
        label = f"{method.upper()} {template}"
        self.answered.setdefault((method, template), set()).add(response.status_code)
        request = MockRequest(
            "http://testserver",
            method,
            url,
            path_pattern=template,
            args=query,
            view_args=path_values,
            headers={"Authorization": f"Bearer {token}"},
            data=data,
            content_type="application/json" if data is not None else None,
        )
        content_type = response.headers.get("Content-Type", "").split(";")[0]
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
        content = b"".join(response.streaming_content) if response.streaming else response.content
        answer = MockResponse(content, response.status_code, headers, content_type)
        for error in self.openapi.iter_request_errors(request) if files is None else ():
            self.problems.append(f"{label}: request refused by the schema: {_explain(error)}")
        for error in self.openapi.iter_response_errors(request, answer):
            self.problems.append(
                f"{label} -> {response.status_code}: {_explain(error)}\n   {content[:400]!r}"
            )
        if expect is not None and response.status_code != expect:
            self.problems.append(f"{label}: {response.status_code}, not {expect}: {content[:600]!r}")
        return response


def _explain(error: Exception) -> str:
    causes = []
    while error is not None:
        causes.append(f"{type(error).__name__}: {error}")
        inner = getattr(error, "schema_errors", None)
        if inner:
            causes += [f"  {e.message} at {list(e.absolute_path)}" for e in inner]
        error = error.__cause__
    return "\n   ".join(causes)


def _operations(spec: dict) -> list[tuple[str, str]]:
    return [(m, p) for p, ops in spec["paths"].items() for m in ops if m in HTTP_METHODS]


# The first segment of a path -> the key of its rows' ids in the world (tests/security/routes.py).
SEGMENT_IDS = {
    "appointment-types": "appointment-type",
    "appointments": "appointment",
    "assessments": "assessment",
    "audit-events": "audit-event",
    "auth": "api-token",
    "code-mappings": "code-mapping",
    "consent-templates": "consent-template",
    "consultation-requests": "consultation-request",
    "consultations": "consultation",
    "encounters": "encounter",
    "follow-ups": "follow-up",
    "home-programmes": "home-programme",
    "interval-findings": "interval-finding",
    "letters": "letter",
    "locations": "location",
    "messages": "message",
    "patients": "patient",
    "photo-sets": "photo-set",
    "media-items": "media-item",
    "face-landmarks": "face-landmarks",
    "photo-set-measurements": "photo-set",
    "procedure-consents": "procedure-consent",
    "providers": "provider",
    "recalls": "recall",
    "rooms": "room",
    "staff": "staff-user",
    "surgeries": "surgery",
    "therapy-visits": "therapy-visit",
    "toxin-lots": "toxin-lot",
    "toxin-sessions": "toxin-session",
    "treatment-plans": "treatment-plan",
    "mdt/meetings": "mdt-meeting",
    "mdt/items": "mdt-item",
    "mdt/tasks": "mdt-task",
}


def _path_values(template: str, world: dict, made: dict) -> dict:
    """The path parameters of a read: the rows the world (and the writes) made."""
    ids = {**world["ids"], **made}
    segment = template.removeprefix("/api/v1/").split("/")[0]
    if segment == "mdt":  # /api/v1/mdt/<collection>/
        segment = "/".join(template.removeprefix("/api/v1/").split("/")[:2])
    values = {}
    for name in re.findall(r"\{(\w+)\}", template):
        if name == "product":
            values[name] = world["product"]
        elif segment == "fhir" and name in ("id", "entry"):
            # A resource of the world's patient, as their $everything bundle names it; an entry
            # of a list on the record (allergies, medications) is "<patient id>-<entry>".
            resource = template.split("/")[4]
            found = str(world["fhir"].get(resource, ids.get(f"fhir-{resource.lower()}")))
            if "{entry}" in template:
                found_id, _, entry = found.rpartition("-")
                values[name] = found_id if name == "id" else entry
            else:
                values[name] = found
        else:
            key = SEGMENT_IDS.get(segment, segment)
            values[name] = ids[key]
    return values


def _fhir_ids(recorder: Recorder, world: dict) -> dict[str, str]:
    """Resource type -> the id of one resource of the world's patient, from $everything (the
    FHIR resources are not the clinic's rows one for one)."""
    recorder.client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['token']}")
    response = recorder.client.get(
        f"/api/v1/fhir/Patient/{world['patient'].pk}/$everything", HTTP_ACCEPT="application/fhir+json"
    )
    found = {}
    if response.status_code == 200:
        for entry in json.loads(response.content).get("entry", []):
            found.setdefault(entry["resource"]["resourceType"], entry["resource"]["id"])
    return found


def _read_everything(recorder: Recorder, world: dict, made: dict) -> None:
    today = timezone.localdate()
    world["fhir"] = _fhir_ids(recorder, world)
    for method, template in _operations(recorder.spec):
        if method != "get":
            continue
        query = None
        if template == "/api/v1/availability/":
            query = {
                "appointment_type": world["appointment"].appointment_type.code,
                "date_from": today.isoformat(),
                "date_to": (today + timedelta(days=14)).isoformat(),
            }
        declared = recorder.spec["paths"][template][method].get("parameters", [])
        parameters = {p["name"] for p in declared if p["in"] == "query"}
        required = {p["name"] for p in declared if p["in"] == "query" and p.get("required")}
        if "_id" in required:
            # A FHIR search by id: the world's patient.
            query = {**(query or {}), "_id": str(world["patient"].pk)}
        if "patient" not in required:
            recorder.call(method, template, path=_path_values(template, world, made), query=query, expect=200)
        if "patient" in parameters:
            # Filtered to the world's patient, and to a patient with nothing: an empty list.
            for patient in (world["patient"].pk, world["other_patient"].pk):
                recorder.call(
                    method,
                    template,
                    path=_path_values(template, world, made),
                    query={**(query or {}), "patient": str(patient)},
                    expect=200,
                )


def test_every_operation_answers_as_its_schema_says(world):
    staff = APIClient()
    staff.force_authenticate(world["user"])
    spec = staff.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    recorder = Recorder(spec, world)
    made: dict = {}
    try:
        _read_everything(recorder, world, made)
        _write_everything(recorder, world, made)
        _read_everything(recorder, world, made)
        _end_sessions(recorder, world, made)
    except Exception as exc:
        # A step that could not go on (an answer without the id it needs): say what came before.
        raise AssertionError("\n".join(recorder.problems)) from exc

    unanswered = sorted(
        f"{m.upper()} {p}: {sorted(recorder.answered.get((m, p), []))}"
        for m, p in _operations(spec)
        if not any(200 <= s < 300 for s in recorder.answered.get((m, p), ()))
    )
    assert not recorder.problems, "\n".join(recorder.problems)
    assert unanswered == [], "operations never answered with success:\n" + "\n".join(unanswered)
    assert len(recorder.answered) == len(_operations(spec)) > 150


def _write_everything(recorder: Recorder, world: dict, made: dict) -> None:
    """One successful call of every write operation, in the order a clinic would make them."""
    call = recorder.call
    now = timezone.now()
    ids = world["ids"]

    # --- The recall worklist: a call logged, the recall closed.
    call(
        "post",
        "/api/v1/recalls/{id}/contacts/",
        path={"id": ids["open-recall"]},
        body={"method": "phone", "outcome": "Will call back"},
        expect=201,
    )
    call(
        "post",
        "/api/v1/recalls/{id}/close/",
        path={"id": ids["open-recall"]},
        body={"reason": "Declined"},
        expect=200,
    )

    # --- The practice: a site, a room, a provider who works every day, a type they give.
    location = call("post", "/api/v1/locations/", body={"name": "Conformance site"}, expect=201).json()
    made["location"] = location["id"]
    call(
        "put",
        "/api/v1/locations/{id}/",
        path={"id": location["id"]},
        body={"name": "Conformance site", "address": "1 High St"},
        expect=200,
    )
    call(
        "patch",
        "/api/v1/locations/{id}/",
        path={"id": location["id"]},
        body={"address": "2 High St"},
        expect=200,
    )
    room = call(
        "post",
        "/api/v1/rooms/",
        body={"location": location["id"], "name": "C1", "kind": "consultation"},
        expect=201,
    ).json()
    made["room"] = room["id"]
    call(
        "put",
        "/api/v1/rooms/{id}/",
        path={"id": room["id"]},
        body={"location": location["id"], "name": "C1", "kind": "consultation"},
        expect=200,
    )
    call("patch", "/api/v1/rooms/{id}/", path={"id": room["id"]}, body={"name": "Consulting 1"}, expect=200)
    provider_user = UserFactory(username="conformance-surgeon", roles=["surgeon"])
    provider = call(
        "post", "/api/v1/providers/", body={"user": provider_user.pk, "role": "surgeon"}, expect=201
    ).json()
    made["provider"] = provider["id"]
    call(
        "put",
        "/api/v1/providers/{id}/",
        path={"id": provider["id"]},
        body={"user": provider_user.pk, "role": "surgeon", "colour": "#336699"},
        expect=200,
    )
    call(
        "patch", "/api/v1/providers/{id}/", path={"id": provider["id"]}, body={"is_active": True}, expect=200
    )
    call("post", "/api/v1/providers/{id}/calendar-feed/new-url/", path={"id": provider["id"]}, expect=200)
    hours = None
    for weekday in range(7):
        hours = call(
            "post",
            "/api/v1/working-hours/",
            body={
                "provider": provider["id"],
                "location": location["id"],
                "weekday": weekday,
                "start_time": "07:00",
                "end_time": "20:00",
            },
            expect=201,
        ).json()
    made["working-hours"] = hours["id"]
    hours_body = {
        "provider": provider["id"],
        "location": location["id"],
        "weekday": hours["weekday"],
        "start_time": "07:00",
        "end_time": "20:30",
    }
    call("put", "/api/v1/working-hours/{id}/", path={"id": hours["id"]}, body=hours_body, expect=200)
    call(
        "patch",
        "/api/v1/working-hours/{id}/",
        path={"id": hours["id"]},
        body={"end_time": "20:00"},
        expect=200,
    )
    kind = {
        "code": "conformance",
        "name": "Conformance visit",
        "duration_minutes": 30,
        "provider_roles": ["surgeon"],
        "room_kind": "consultation",
    }
    appointment_type = call("post", "/api/v1/appointment-types/", body=kind, expect=201).json()
    made["appointment-type"] = appointment_type["id"]
    call(
        "put",
        "/api/v1/appointment-types/{id}/",
        path={"id": appointment_type["id"]},
        body={**kind, "buffer_after_minutes": 5},
        expect=200,
    )
    call(
        "patch",
        "/api/v1/appointment-types/{id}/",
        path={"id": appointment_type["id"]},
        body={"buffer_after_minutes": 0},
        expect=200,
    )
    time_off = call(
        "post",
        "/api/v1/time-off/",
        body={
            "provider": provider["id"],
            "starts_at": (now + timedelta(days=90)).isoformat(),
            "ends_at": (now + timedelta(days=91)).isoformat(),
            "reason": "Leave",
        },
        expect=201,
    ).json()
    made["time-off"] = time_off["id"]
    call(
        "put",
        "/api/v1/time-off/{id}/",
        path={"id": time_off["id"]},
        body={
            "provider": provider["id"],
            "starts_at": (now + timedelta(days=92)).isoformat(),
            "ends_at": (now + timedelta(days=93)).isoformat(),
            "reason": "Leave",
        },
        expect=200,
    )
    call(
        "patch", "/api/v1/time-off/{id}/", path={"id": time_off["id"]}, body={"reason": "Course"}, expect=200
    )

    # --- The front desk: register, book from the free slots, reschedule, run the day, cancel.
    registered = call(
        "post",
        "/api/v1/patients/",
        body={
            "first_name": "Conformance",
            "last_name": "Walker",
            "date_of_birth": "1970-05-04",
            "email": "c.walker@example.org",
        },
        expect=201,
    ).json()
    made["patient"] = registered["id"]
    call("patch", "/api/v1/patients/{id}/", path={"id": registered["id"]}, body={"city": "Leeds"}, expect=200)
    call(
        "post",
        "/api/v1/patients/{id}/consents/",
        path={"id": registered["id"]},
        body={
            "channel": "email",
            "purpose": "appointment_reminders",
            "granted": True,
            "method": "written",
            "address": "c.walker@example.org",
        },
        expect=201,
    )
    slots = call(
        "get",
        "/api/v1/availability/",
        query={
            "appointment_type": "conformance",
            "provider": str(provider["id"]),
            "date_from": (timezone.localdate() + timedelta(days=2)).isoformat(),
            "date_to": (timezone.localdate() + timedelta(days=9)).isoformat(),
        },
        expect=200,
    ).json()
    starts = [slot["start"] for slot in _slots(slots)]
    book = {"patient": registered["id"], "appointment_type": "conformance", "provider": provider["id"]}
    appointments = [
        call("post", "/api/v1/appointments/", body={**book, "start": start}, expect=201).json()
        for start in (starts[0], starts[8], starts[16])
    ]
    first, third, fourth = (a["id"] for a in appointments)
    made["appointment"] = first
    call(
        "post",
        "/api/v1/appointments/{id}/reschedule/",
        path={"id": first},
        body={"start": starts[4], "reason": "Asked to"},
        expect=200,
    )
    call("post", "/api/v1/appointments/{id}/confirm/", path={"id": first}, expect=200)
    call(
        "post",
        "/api/v1/appointments/{id}/cancel/",
        path={"id": third},
        body={"reason": "Patient's request", "cancelled_by": "patient"},
        expect=200,
    )
    # Consultation requests: two referrals; one accepted (registered and booked), one declined.
    referral = {
        "first_name": "Referred",
        "last_name": "Conformance",
        "date_of_birth": "1966-02-03",
        "phone": "+447700100999",
        "problem": "Synkinesis after Bell's palsy",
        "affected_side": "right",
        "referrer_name": "Dr Conformance",
    }
    accepted = call("post", "/api/v1/consultation-requests/", body=referral, expect=201).json()
    call(
        "post",
        "/api/v1/consultation-requests/{id}/accept/",
        path={"id": accepted["id"]},
        body={
            "appointment_type": appointment_type["id"],
            "provider": provider["id"],
            "starts_at": starts[12],
            "confirm_not_duplicate": True,
        },
        expect=200,
    )
    declined = call(
        "post", "/api/v1/consultation-requests/", body={**referral, "first_name": "Declined"}, expect=201
    ).json()
    call(
        "post",
        "/api/v1/consultation-requests/{id}/decline/",
        path={"id": declined["id"]},
        body={"message": "Please see your GP first."},
        expect=200,
    )
    # The day itself: appointments that started a minute ago are checked in, completed (and the
    # completion corrected), or marked as missed.
    started = now - timedelta(minutes=1)
    today = AppointmentFactory(
        patient_id=registered["id"],
        provider_id=provider["id"],
        room_id=room["id"],
        starts_at=started,
        ends_at=started + timedelta(minutes=30),
    )
    missed = AppointmentFactory(
        patient=world["other_patient"],
        provider=world["appointment"].provider,
        room=world["appointment"].room,
        starts_at=started,
        ends_at=started + timedelta(minutes=30),
    )
    call("post", "/api/v1/appointments/{id}/check_in/", path={"id": today.pk}, expect=200)
    call("post", "/api/v1/appointments/{id}/complete/", path={"id": today.pk}, expect=200)
    call(
        "post",
        "/api/v1/appointments/{id}/correct/",
        path={"id": today.pk},
        body={"to_status": "checked_in", "reason": "Completed too soon"},
        expect=200,
    )
    call(
        "post",
        "/api/v1/appointments/{id}/no_show/",
        path={"id": missed.pk},
        body={"reason": "Did not come"},
        expect=200,
    )
    # The waitlist: an entry, offered the slot a cancellation frees, booked; another withdrawn.
    entry = call(
        "post",
        "/api/v1/waitlist/",
        body={
            "patient": world["other_patient"].pk,
            "appointment_type": "conformance",
            "provider": provider["id"],
        },
        expect=201,
    ).json()
    call(
        "post",
        "/api/v1/appointments/{id}/cancel/",
        path={"id": fourth},
        body={"reason": "Clinic closed"},
        expect=200,
    )
    offers = call("get", "/api/v1/waitlist/{id}/", path={"id": entry["id"]}, expect=200).json()["open_offers"]
    call(
        "post",
        "/api/v1/waitlist/{id}/book/",
        path={"id": entry["id"]},
        body={"offer": offers[0]["id"]},
        expect=201,
    )
    second_entry = call(
        "post",
        "/api/v1/waitlist/",
        body={"patient": registered["id"], "appointment_type": "conformance"},
        expect=201,
    ).json()
    call(
        "post",
        "/api/v1/waitlist/{id}/cancel/",
        path={"id": second_entry["id"]},
        body={"reason": "Found a slot"},
        expect=200,
    )
    made["waitlist"] = entry["id"]

    # --- Clinical records, each drafted, edited, signed, co-signed and given an addendum.
    cosigner = api_token_issue(
        user=UserFactory(username="conformance-cosigner", roles=["surgeon", "injector", "therapist"]),
        label="cosign",
    )[1]
    lot = call(
        "post",
        "/api/v1/toxin-lots/",
        body={
            "product": "onabotulinumtoxinA",
            "lot_number": "CONF1",
            "expiry_date": (timezone.localdate() + timedelta(days=300)).isoformat(),
            "vial_units": 100,
        },
        expect=201,
    ).json()
    lot_body = {
        "product": "onabotulinumtoxinA",
        "lot_number": "CONF1",
        "expiry_date": lot["expiry_date"],
        "vial_units": 100,
        "supplier": "Wholesaler",
    }
    call("put", "/api/v1/toxin-lots/{id}/", path={"id": lot["id"]}, body=lot_body, expect=200)
    call("patch", "/api/v1/toxin-lots/{id}/", path={"id": lot["id"]}, body={"notes": "Fridge 2"}, expect=200)
    made["toxin-lot"] = lot["id"]
    occurred = (now - timedelta(hours=2)).isoformat()
    pid = registered["id"]
    records = {
        "consultations": {
            "patient": pid,
            "occurred_at": occurred,
            "symptoms": "Eye closes on smiling",
            "severity": "moderate",
        },
        "follow-ups": {"patient": pid, "occurred_at": occurred, "response": "better"},
        "therapy-visits": {
            "patient": pid,
            "occurred_at": occurred,
            "techniques": ["mirror_exercises"],
            "duration_minutes": 45,
            "weekly_checkins": True,
            "exercises": [
                {
                    "exercise": "Gentle smile",
                    "repetitions": 10,
                    "hold_seconds": 5,
                    "times_per_day": 3,
                    "instructions": "Slowly, in front of a mirror",
                    "notes": "Keep the eye open",
                }
            ],
            "patterns": [{"trigger": "smiling", "region": "eye", "severity": "moderate"}],
            "recommendations": [
                {"muscle": "orbicularis_oculi_orbital", "side": "left", "note": "Closes on smiling"}
            ],
        },
        "surgeries": {
            "patient": pid,
            "side": "left",
            "anaesthesia": "local",
            "started_at": (now - timedelta(hours=4)).isoformat(),
            "ended_at": (now - timedelta(hours=3)).isoformat(),
            "procedures": [{"procedure": "dao_excision"}],
            "follow_up_plan": [{"label": "1 week", "after_days": 7}],
        },
        "toxin-sessions": {
            "patient": pid,
            "occurred_at": occurred,
            "product": "onabotulinumtoxinA",
            "lot": lot["id"],
            "dilution_ml": "2.5",
            "injections": [
                {"muscle": "mentalis", "side": "left", "units": "2.5", "points": 1},
                # A row marked on the face diagram.
                {
                    "muscle": "depressor_anguli_oris",
                    "side": "left",
                    "units": "2",
                    "diagram_x": "0.64",
                    "diagram_y": "0.77",
                },
            ],
        },
    }
    for collection, body in records.items():
        record = call("post", f"/api/v1/{collection}/", body=body, expect=201).json()
        path = {"id": record["id"]}
        call("put", f"/api/v1/{collection}/{{id}}/", path=path, body={**body, "note": "Edited"}, expect=200)
        call("patch", f"/api/v1/{collection}/{{id}}/", path=path, body={"note": "Edited again"}, expect=200)
        call("post", f"/api/v1/{collection}/{{id}}/sign/", path=path, expect=200)
        # Another clinician co-signs (the author may not).
        call(
            "post",
            f"/api/v1/{collection}/{{id}}/cosign/",
            path=path,
            body={"note": "Agreed"},
            expect=200,
            token=cosigner,
        )
        call(
            "post",
            f"/api/v1/{collection}/{{id}}/addenda/",
            path=path,
            body={"text": "Seen again"},
            expect=201,
        )
        made[SEGMENT_IDS[collection]] = record["id"]
    made["encounter"] = made["consultation"]
    plan_body = {
        "patient": pid,
        "goals": "Smile",
        "modalities": ["toxin"],
        "stages": [{"modality": "toxin", "description": "Toxin every 12 weeks"}],
    }
    plan = call("post", "/api/v1/treatment-plans/", body=plan_body, expect=201).json()
    call(
        "put",
        "/api/v1/treatment-plans/{id}/",
        path={"id": plan["id"]},
        body={**plan_body, "notes": "Reviewed"},
        expect=200,
    )
    call(
        "patch",
        "/api/v1/treatment-plans/{id}/",
        path={"id": plan["id"]},
        body={"notes": "Reviewed again"},
        expect=200,
    )
    call(
        "post",
        "/api/v1/treatment-plans/{id}/agreement/",
        path={"id": plan["id"]},
        body={"method": "verbal", "witness": world["user"].pk, "version": 1},
        expect=201,
    )
    made["treatment-plan"] = plan["id"]

    # --- The MDT list: a meeting, a patient flagged, the outcome with a task, the task done.
    meeting = call(
        "post",
        "/api/v1/mdt/meetings/",
        body={"date": (timezone.localdate() + timedelta(days=30)).isoformat(), "attendees_note": "Physio"},
        expect=201,
    ).json()
    item = call(
        "post",
        "/api/v1/mdt/items/",
        body={"patient": pid, "question": "Surgery?", "meeting": meeting["id"]},
        expect=201,
    ).json()
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    call(
        "post",
        "/api/v1/mdt/items/{id}/outcome/",
        path={"id": item["id"]},
        body={
            "outcome": "Offer DAO excision",
            "decision": "surgery",
            "tasks": [{"role": "front_desk", "description": "Book", "due": due}],
        },
        expect=200,
    )
    task = call(
        "post",
        "/api/v1/mdt/tasks/",
        body={"item": item["id"], "role": "surgeon", "description": "Letter to the GP", "due": due},
        expect=201,
    ).json()
    call("post", "/api/v1/mdt/tasks/{id}/done/", path={"id": task["id"]}, expect=200)
    call(
        "post",
        "/api/v1/mdt/meetings/{id}/hold/",
        path={"id": meeting["id"]},
        body={"attendees": [world["user"].pk]},
        expect=200,
    )
    assessment = call(
        "post",
        "/api/v1/assessments/",
        body={"patient": pid, "instrument": "saq", "items": SAQ_ITEMS, "assessed_at": now.isoformat()},
        expect=201,
    ).json()
    call(
        "post",
        "/api/v1/assessments/{id}/entered-in-error/",
        path={"id": assessment["id"]},
        body={"reason": "Wrong patient"},
        expect=200,
    )
    call(
        "post",
        "/api/v1/interval-findings/{id}/review/",
        path={"id": ids["interval-finding"]},
        body={"note": "Intended"},
        expect=200,
    )
    product = world["product"]
    call(
        "put",
        "/api/v1/toxin-dose-limits/{product}/",
        path={"product": product},
        body={"max_units_per_session": "400", "max_units_per_site": "50"},
        expect=200,
    )
    call(
        "patch",
        "/api/v1/toxin-dose-limits/{product}/",
        path={"product": product},
        body={"note": "House limit"},
        expect=200,
    )
    call(
        "put",
        "/api/v1/toxin-intervals/{product}/",
        path={"product": product},
        body={"min_interval_days": 90},
        expect=200,
    )
    call("delete", "/api/v1/toxin-intervals/{product}/", path={"product": product}, expect=204)
    from insight.models import verhoeff_valid

    body = "9933333"
    mapping = call(
        "post",
        "/api/v1/code-mappings/",
        body={
            "source": "procedure",
            "local_code": "brow_lift",
            "target": "snomed",
            "code": body + next(d for d in "0123456789" if verhoeff_valid(body + d)),
            "display": "Conformance fixture",
            "checked_against": "test release",
        },
        expect=201,
    ).json()
    call("delete", "/api/v1/code-mappings/{id}/", path={"id": mapping["id"]}, expect=204)
    call("patch", "/api/v1/clinic-settings/", body={"booking_horizon_days": 200}, expect=200)

    # --- Photographs: a set, a photograph uploaded to it, a failed one retried, both deleted.
    from django.core.files.uploadedfile import SimpleUploadedFile

    from photos.models import MediaItem
    from tests.photos.media import plain_jpeg

    photo_set = call(
        "post", "/api/v1/photo-sets/", body={"patient": pid, "taken_at": now.isoformat()}, expect=201
    ).json()
    upload = call(
        "post",
        "/api/v1/media-items/",
        files={
            "photo_set": photo_set["id"],
            "view": "rest",
            "file": SimpleUploadedFile("rest.jpg", plain_jpeg()),
        },
        expect=202,
    ).json()
    MediaItem.objects.filter(pk=upload["id"]).update(status=MediaItem.Status.FAILED)
    call("post", "/api/v1/media-items/{id}/retry/", path={"id": upload["id"]}, expect=202)
    call(
        "post",
        "/api/v1/media-items/{id}/delete/",
        path={"id": upload["id"]},
        body={"reason": "Blurred"},
        expect=204,
    )
    call(
        "post",
        "/api/v1/photo-sets/{id}/delete/",
        path={"id": photo_set["id"]},
        body={"reason": "Wrong patient"},
        expect=204,
    )

    # --- Landmarks: the packaged portrait measured by the worker's function, one point corrected.
    from django.contrib.auth import get_user_model

    from landmarks.services import landmarks_detect
    from photos import services as photo_services
    from tests.landmarks.portraits import jpeg, portrait

    world_surgeon = get_user_model().objects.get(username="world-surgeon")
    measured_set = photo_services.photo_set_create(
        patient=world["patient"], actor=world_surgeon, taken_at=now
    )
    measured_item = photo_services.media_upload(
        photo_set=measured_set,
        actor=world_surgeon,
        upload=SimpleUploadedFile("rest.jpg", jpeg(portrait(1))),
        view="rest",
        enqueue=False,
    )
    photo_services.media_process(item_id=measured_item.pk)
    found = landmarks_detect(item_id=measured_item.pk)
    assert found is not None and found.status == "found"
    x, y = found.points["brow_left"]
    call(
        "post",
        "/api/v1/face-landmarks/{id}/correct/",
        path={"id": found.pk},
        body={"name": "brow_left", "x": x, "y": y - 3},
        expect=200,
    )

    # --- A procedure consent: a new form version, taken, signed, countersigned, then withdrawn.
    template = call(
        "get", "/api/v1/consent-templates/{id}/", path={"id": ids["consent-template"]}, expect=200
    )
    form = {k: template.json()[k] for k in ("title", "description", "benefits", "risks", "alternatives")}
    call(
        "post",
        "/api/v1/consent-templates/",
        body={
            **form,
            "procedure": "botulinum_toxin",
            "what_to_expect": "Onset in days, best at two weeks.",
            "change_note": "Wording",
        },
        expect=201,
    )
    consent = call(
        "post",
        "/api/v1/procedure-consents/",
        body={"patient": pid, "procedure": "botulinum_toxin"},
        expect=201,
    ).json()
    call("post", "/api/v1/procedure-consents/{id}/link/", path={"id": consent["id"]}, expect=200)
    call(
        "post",
        "/api/v1/procedure-consents/{id}/sign/",
        path={"id": consent["id"]},
        body={"name": "The patient", "signature_method": "typed"},
        expect=200,
    )
    call(
        "post",
        "/api/v1/procedure-consents/{id}/countersign/",
        path={"id": consent["id"]},
        body={"signature_method": "typed"},
        expect=200,
    )
    call(
        "post",
        "/api/v1/procedure-consents/{id}/withdraw/",
        path={"id": consent["id"]},
        body={"reason": "Changed their mind"},
        expect=200,
    )

    # --- A clinic letter: drafted from the world's consultation, edited, signed, emailed.
    letter = call(
        "post",
        "/api/v1/letters/",
        body={"patient": world["patient"].pk, "kind": "consultation", "encounter": world["ids"]["encounter"]},
        expect=201,
    ).json()
    call(
        "patch",
        "/api/v1/letters/{id}/",
        path={"id": letter["id"]},
        body={"body": letter["body"] + "\n\nWith thanks."},
        expect=200,
    )
    call("post", "/api/v1/letters/{id}/sign/", path={"id": letter["id"]}, expect=200)
    call("post", "/api/v1/letters/{id}/send/", path={"id": letter["id"]}, body={"to_gp": True}, expect=400)
    call(
        "post", "/api/v1/letters/{id}/send/", path={"id": letter["id"]}, body={"to_patient": True}, expect=200
    )

    # --- Records and staff the practice manager changes.
    duplicate = PatientFactory(first_name=registered["first_name"], last_name=registered["last_name"])
    call(
        "post", "/api/v1/patients/{id}/merge/", path={"id": pid}, body={"duplicate": duplicate.pk}, expect=200
    )
    leaving = PatientFactory()
    call(
        "post",
        "/api/v1/patients/{id}/deactivate/",
        path={"id": leaving.pk},
        body={"reason": "moved_away"},
        expect=200,
    )
    call("post", "/api/v1/patients/{id}/reactivate/", path={"id": leaving.pk}, expect=200)
    invited = call(
        "post",
        "/api/v1/staff/",
        body={"username": "conformance-new", "roles": ["front_desk"], "send_email": False},
        expect=201,
    ).json()
    member = invited["staff"]["id"]
    call(
        "patch",
        "/api/v1/staff/{id}/",
        path={"id": member},
        body={"roles": ["front_desk", "therapist"]},
        expect=200,
    )
    call(
        "post",
        "/api/v1/staff/{id}/password-reset/",
        path={"id": member},
        body={"send_email": False},
        expect=200,
    )
    call(
        "post",
        "/api/v1/staff/{id}/two-factor-reset/",
        path={"id": member},
        body={"send_email": False, "reason": "Lost phone"},
        expect=200,
    )
    call("post", "/api/v1/staff/{id}/sign-out/", path={"id": member}, expect=200)
    call("post", "/api/v1/staff/{id}/deactivate/", path={"id": member}, expect=200)
    made["staff-user"] = member
    call("delete", "/api/v1/time-off/{id}/", path={"id": time_off["id"]}, expect=204)
    call("delete", "/api/v1/working-hours/{id}/", path={"id": hours["id"]}, expect=204)
    made.pop("time-off")
    made.pop("working-hours")


def _slots(body) -> list[dict]:
    """The free slots of an availability answer, in time order."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "start" in node and "end" in node:
                found.append(node)
            else:
                for value in node.values():
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body)
    return sorted(found, key=lambda slot: slot["start"])


def _end_sessions(recorder: Recorder, world: dict, made: dict) -> None:
    """Operations that end the caller's own tokens, last; a new token after each."""
    call = recorder.call
    call("delete", "/api/v1/auth/tokens/{id}/", path={"id": world["ids"]["api-token"]}, expect=204)
    call("post", "/api/v1/auth/tokens/revoke-all/", body={}, expect=200)
    token = call(
        "post",
        "/api/v1/auth/token/",
        body={"username": world["user"].username, "password": PASSWORD},
        expect=200,
    )
    world["token"] = token.json()["token"]
    call(
        "post",
        "/api/v1/me/password/",
        body={"current_password": PASSWORD, "new_password": "A-new-long-passphrase-2026"},
        expect=204,
    )
    token = call(
        "post",
        "/api/v1/auth/token/",
        body={"username": world["user"].username, "password": "A-new-long-passphrase-2026"},
        expect=200,
    )
    world["token"] = token.json()["token"]
    call("post", "/api/v1/me/sign-out-everywhere/", expect=204)
