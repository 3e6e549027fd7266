"""Bad input, one table: every row must answer 400 (404 for an id in the path) in the API's
error format ``{"code", "detail", "fields"}`` naming the field at fault, and never 500.

The rows are what breaks Django/PostgreSQL APIs in practice (docs/security.md): NUL bytes
(PostgreSQL text cannot hold them), integers beyond bigint, wrong JSON types, unknown fields,
over-long strings, impossible dates, datetimes without or with impossible UTC offsets, and
filters in the query string with values they cannot take. They cover patients, appointments,
toxin sessions, toxin lots and time off; the schema fuzz test
(test_api_schema_fuzz.py) throws generated input at every other operation.
"""

import copy
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.roles import Role
from tests.factories import AppointmentFactory, UserFactory
from tests.scheduling.factories import WorkingHoursFactory
from tests.treatments.factories import ToxinLotFactory

pytestmark = pytest.mark.django_db

BIG = 2**63  # one past PostgreSQL's bigint
HUGE = 10**30


@pytest.fixture
def api(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users
    user = UserFactory(username="bad-input", roles=[r.value for r in Role])
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def world(db):
    appointment = AppointmentFactory(starts_at=timezone.now() + timedelta(days=3))
    day = timezone.localdate() + timedelta(days=30)
    WorkingHoursFactory(
        provider=appointment.provider, location=appointment.room.location, weekday=day.weekday()
    )
    lot = ToxinLotFactory()
    return {
        "appointment": appointment,
        "patient": appointment.patient,
        "lot": lot,
        # A free quarter hour in the provider's working hours.
        "slot": datetime.combine(day, time(10, 0), tzinfo=ZoneInfo("Europe/London")),
    }


def _payloads(world) -> dict[str, tuple[str, str, dict]]:
    """Endpoint name -> (method, path, a valid body). Each row spoils one field of the body."""
    patient, appointment, lot = world["patient"], world["appointment"], world["lot"]
    soon = timezone.now() + timedelta(days=30)
    return {
        "patient": (
            "post",
            "/api/v1/patients/",
            {"first_name": "Ann", "last_name": "Lee", "date_of_birth": "1980-01-02"},
        ),
        "patient-edit": ("patch", f"/api/v1/patients/{patient.pk}/", {"city": "Leeds"}),
        "booking": (
            "post",
            "/api/v1/appointments/",
            {
                "patient": patient.pk,
                "appointment_type": appointment.appointment_type.code,
                "provider": appointment.provider_id,
                "start": world["slot"].isoformat(),
                "notes": "",
            },
        ),
        "toxin": (
            "post",
            "/api/v1/toxin-sessions/",
            {
                "patient": patient.pk,
                "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
                "product": lot.product,
                "lot": lot.pk,
                "dilution_ml": "2.5",
                "note": "",
                "injections": [{"muscle": "mentalis", "side": "left", "units": "2.5", "points": 1}],
            },
        ),
        "lot": (
            "post",
            "/api/v1/toxin-lots/",
            {"product": lot.product, "lot_number": "Z1", "expiry_date": "2030-01-31", "vial_units": 100},
        ),
        "time-off": (
            "post",
            "/api/v1/time-off/",
            {
                "provider": appointment.provider_id,
                "starts_at": soon.isoformat(),
                "ends_at": (soon + timedelta(hours=2)).isoformat(),
                "reason": "Course",
            },
        ),
    }


MISSING = object()

# (endpoint, field path in the body, bad value, expected top-level code)
BODY_CASES = [
    # NUL bytes: PostgreSQL text cannot store them.
    ("patient", "first_name", "Ann\x00Lee", "invalid"),
    ("patient-edit", "city", "\x00", "invalid"),
    ("booking", "notes", "late\x00", "invalid"),
    ("booking", "appointment_type", "consult\x00ation", "invalid"),
    ("toxin", "note", "a\x00b", "invalid"),
    ("toxin", "injections.0.muscle", "\x00", "invalid"),
    ("lot", "lot_number", "L\x00T", "invalid"),
    ("time-off", "reason", "\x00", "invalid"),
    # Integers beyond bigint, as values and as ids of related records.
    ("booking", "patient", BIG, "invalid"),
    ("booking", "provider", HUGE, "invalid"),
    ("booking", "duration_minutes", BIG, "invalid"),
    ("toxin", "lot", BIG, "invalid"),
    ("toxin", "patient", HUGE, "invalid"),
    ("toxin", "injections.0.points", BIG, "invalid"),
    ("toxin", "response_onset_days", HUGE, "invalid"),
    ("lot", "vial_units", BIG, "invalid"),
    ("time-off", "provider", -BIG, "invalid"),
    # Wrong JSON types.
    ("patient", "first_name", ["Ann"], "invalid"),
    ("patient", "date_of_birth", 19800102, "invalid"),
    ("patient", "sex", {"value": "female"}, "invalid"),
    ("booking", "patient", "abc", "invalid"),
    ("booking", "start", 1_700_000_000, "invalid"),
    ("toxin", "injections", "everywhere", "invalid"),
    ("toxin", "injections.0", "mentalis", "invalid"),
    ("toxin", "dilution_ml", [], "invalid"),
    ("toxin", "response_ptosis", "perhaps", "invalid"),
    ("lot", "vial_units", "many", "invalid"),
    ("lot", "vial_units", 2.5, "invalid"),
    ("time-off", "starts_at", True, "invalid"),
    # Unknown and read-only fields: refused, never silently dropped.
    ("patient", "nickname", "Annie", "unknown_field"),
    ("patient", "mrn", "X1", "unknown_field"),
    ("patient-edit", "status", "inactive", "unknown_field"),
    ("booking", "room_name", "Room 1", "unknown_field"),
    ("toxin", "injections.0.colour", "red", "unknown_field"),
    ("toxin", "signed_at", "2027-01-01T00:00:00Z", "unknown_field"),
    ("lot", "session_count", 3, "unknown_field"),
    ("time-off", "id", 1, "unknown_field"),
    # Over-long strings.
    ("patient", "first_name", "x" * 101, "invalid"),
    ("patient", "last_name", "x" * 100_000, "invalid"),
    ("booking", "notes", "x" * 501, "invalid"),
    ("toxin", "note", "x" * 20_001, "invalid"),
    ("lot", "lot_number", "x" * 65, "invalid"),
    ("time-off", "reason", "x" * 10_000, "invalid"),
    # Malformed and impossible dates.
    ("patient", "date_of_birth", "1980-13-01", "invalid"),
    ("patient", "date_of_birth", "1980-02-30", "invalid"),
    ("patient", "date_of_birth", "02/01/1980", "invalid"),
    ("patient", "date_of_birth", "", "invalid"),
    ("patient", "date_of_birth", "0001-01-01", "invalid"),
    ("patient", "date_of_birth", "9999-12-31", "invalid"),
    ("lot", "expiry_date", "2030-02-30", "invalid"),
    # Datetimes: malformed, impossible, far off, or without their UTC offset.
    ("booking", "start", "2027-03-02T10:00:00", "invalid"),
    ("booking", "start", "2027-03-02T10:00:00+25:00", "invalid"),
    ("booking", "start", "2027-03-02T10:00:00+01:99", "invalid"),
    ("booking", "start", "2027-03-02T10:00:00+01:00:30", "invalid"),
    ("booking", "start", "2027-03-02T24:30:00Z", "invalid"),
    ("booking", "start", "0001-01-01T00:00:00+14:00", "invalid"),
    ("booking", "start", "9999-12-31T23:59:59-14:00", "invalid"),
    ("booking", "start", "next tuesday", "invalid"),
    ("toxin", "occurred_at", "2027-03-01T09:00", "invalid"),
    ("toxin", "occurred_at", "1580-09-16T19:25:16+01:10", "invalid"),
    ("time-off", "starts_at", "2027-03-02T10:00:00-24:00", "invalid"),
    ("time-off", "ends_at", "2027-03-02", "invalid"),
]


def _spoil(body: dict, path: str, value) -> dict:
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


def _error_at(fields, path: str):
    node = fields
    for key in path.split("."):
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    # FHIR's errors come as application/fhir+json, like its answers.
    assert response["Content-Type"].startswith(("application/json", "application/fhir+json"))
    body = response.json()
    assert {"code", "detail", "fields"} <= set(body)
    assert isinstance(body["code"], str)
    assert isinstance(body["detail"], str)
    assert isinstance(body["fields"], dict)
    return body


@pytest.mark.parametrize(
    ("endpoint", "path", "value", "code"),
    BODY_CASES,
    ids=[f"{e}-{p}-{str(v)[:12]!r}" for e, p, v, _ in BODY_CASES],
)
def test_bad_field_is_400_naming_the_field(api, world, endpoint, path, value, code):
    method, url, body = _payloads(world)[endpoint]
    response = getattr(api, method)(url, _spoil(body, path, value), format="json")
    error = _assert_error(response, 400)
    assert error["code"] == code
    # "injections.0" (a row of the wrong type) is reported on the row, in a list of rows.
    assert _error_at(error["fields"], path), error


@pytest.mark.parametrize("endpoint", ["patient", "booking", "toxin", "lot", "time-off"])
def test_valid_body_of_each_row_is_accepted(api, world, endpoint):
    """The rows above spoil a body that works: their 400s are about the spoilt field."""
    method, url, body = _payloads(world)[endpoint]
    response = getattr(api, method)(url, body, format="json")
    assert response.status_code in (200, 201), response.json()


@pytest.mark.parametrize("endpoint", ["patient", "booking", "toxin", "lot", "time-off"])
@pytest.mark.parametrize("body", [[], "text", 42, None])
def test_a_body_that_is_not_an_object_is_400(api, world, endpoint, body):
    method, url, _ = _payloads(world)[endpoint]
    response = getattr(api, method)(url, body, format="json")
    _assert_error(response, 400)


def test_malformed_json_is_400(api, world):
    response = api.post("/api/v1/patients/", data='{"first_name": ', content_type="application/json")
    _assert_error(response, 400)


def test_a_form_encoded_body_is_415(api, world):
    # The API takes JSON only (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).
    response = api.post("/api/v1/patients/", {"first_name": "Ann"}, format="multipart")
    _assert_error(response, 415)


def test_unknown_fields_are_named_together(api, world):
    _, url, body = _payloads(world)["patient"]
    response = api.post(url, {**body, "nickname": "A", "shoe_size": 7}, format="json")
    error = _assert_error(response, 400)
    assert error["code"] == "unknown_field"
    assert error["fields"] == {"nickname": ["Unknown field."], "shoe_size": ["Unknown field."]}


QUERY_CASES = [
    ("/api/v1/appointments/", {"date_from": "2027-02-30"}, "date_from"),
    ("/api/v1/appointments/", {"patient": "abc"}, "patient"),
    ("/api/v1/appointments/", {"patient": str(BIG)}, "patient"),
    ("/api/v1/appointments/", {"provider": str(HUGE)}, "provider"),
    ("/api/v1/appointments/", {"status": "lost"}, "status"),
    ("/api/v1/appointments/", {"appointment_type": "x\x00"}, "appointment_type"),
    ("/api/v1/toxin-sessions/", {"patient": str(HUGE)}, "patient"),
    ("/api/v1/toxin-sessions/", {"patient": "1.5"}, "patient"),
    ("/api/v1/toxin-sessions/", {"occurred_after": "2027-03-02T10:00:00+25:00"}, "occurred_after"),
    ("/api/v1/toxin-sessions/", {"occurred_before": "soon"}, "occurred_before"),
    ("/api/v1/toxin-sessions/", {"status": "lost"}, "status"),
    ("/api/v1/encounters/", {"kind": "\x00"}, "kind"),
    ("/api/v1/messages/", {"due_from": "yesterday"}, "due_from"),
    ("/api/v1/messages/", {"patient": "-1"}, "patient"),
    ("/api/v1/audit-events/", {"at__gte": "nope"}, "at__gte"),
    ("/api/v1/audit-events/", {"actor": str(BIG)}, "actor"),
    ("/api/v1/recalls/", {"due_from": "2027-13-01"}, "due_from"),
    ("/api/v1/recalls/", {"bucket": "someday"}, "bucket"),
    ("/api/v1/toxin-lots/", {"usable_on": "2030-02-30"}, "usable_on"),
    ("/api/v1/patients/", {"status": "lost"}, "status"),
    ("/api/v1/patients/", {"page": "abc"}, "page"),
    ("/api/v1/patients/", {"page": "0"}, "page"),
    ("/api/v1/patients/", {"page": str(HUGE)}, "page"),
    (
        "/api/v1/availability/",
        {"appointment_type": "x", "date_from": "2027-02-30", "date_to": "x"},
        "date_from",
    ),
    ("/api/v1/availability/", {"appointment_type": "\x00", "date_from": "2027-03-01"}, "appointment_type"),
    ("/api/v1/availability/", {"limit": str(HUGE)}, "limit"),
    ("/api/v1/availability/", {"limit": "1.5"}, "limit"),
    ("/api/v1/availability/", {"after": "2027-03-02T10:00:00+25:00"}, "after"),
    ("/api/v1/availability/", {"after": "9999-12-31T23:59:59Z"}, "after"),
]


@pytest.mark.parametrize(
    ("path", "params", "field"), QUERY_CASES, ids=[f"{p}?{q}" for p, q, _ in QUERY_CASES]
)
def test_bad_filter_value_is_400_naming_the_parameter(api, world, path, params, field):
    error = _assert_error(api.get(path, params), 400)
    assert field in error["fields"], error


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/patients/{BIG}/",
        f"/api/v1/patients/{HUGE}/",
        "/api/v1/patients/-1/",
        "/api/v1/patients/1.5/",
        "/api/v1/patients/%00/",
        f"/api/v1/appointments/{HUGE}/",
        f"/api/v1/toxin-sessions/{BIG}/",
        f"/api/v1/toxin-lots/{BIG}/patients/",
        f"/api/v1/fhir/Patient/{BIG}",
        f"/api/v1/fhir/Patient/{HUGE}/$everything",
        "/api/v1/no-such-thing/",
    ],
)
def test_an_id_that_cannot_exist_is_404_in_the_error_format(api, world, path):
    body = _assert_error(api.get(path), 404)
    assert body["code"] == "not_found"


def test_a_page_past_the_end_is_404_in_the_error_format(api, world):
    body = _assert_error(api.get("/api/v1/patients/", {"page": "999"}), 404)
    assert body["code"] == "not_found"


@pytest.mark.parametrize("search", ["\x00", "jo\x00hn", "%", "_", "'; --", "x" * 5000])
def test_patient_search_with_odd_text_never_errors(api, world, search):
    response = api.get("/api/v1/patients/", {"search": search})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        _assert_error(response, 400)
