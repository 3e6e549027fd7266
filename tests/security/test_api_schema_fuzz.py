"""Schemathesis against /api/schema/: every operation, as two roles, with generated input.

The schema is loaded from the application in-process (WSGI, no server) and every operation is
called with valid and invalid input generated from it, once as a clinician (every clinical
role) and once as the office (front desk and practice manager), who gets 403 for clinical
operations and other answers elsewhere. Every check Schemathesis has runs on every answer:

- nothing answers 5xx;
- the status code is documented, the content type is the documented one, the headers and the
  body validate against the documented schema (errors included: ``{"code", "detail", "fields"}``);
- input the schema forbids is refused (4xx), and an answer that needs authentication is not
  given without it or with a wrong token (``ignored_auth`` re-sends the request to find out);
- input the schema allows is not refused, except with 400 naming fields (``fields`` not empty)
  or 404/409: the schema cannot say which ids exist, which slots are free or rules across fields
  (a time off gives a provider or a room), so "valid" input may still name a patient that does
  not exist. ``POSITIVE_STATUSES`` below says so, and ``_positive_400_names_fields`` holds the
  400s to naming the field at fault;
- the checks that need a coverage phase (a missing required header, an undocumented method's
  405) or a stateful run (use after delete) run when those phases run (``SCHEMATHESIS_COVERAGE``).

Half the requests of an operation with an id in its path name a seeded row of the world built by
tests/security/routes.py (plus rows that once broke the schema: a consent carried over by a
merge, a grading the patient made, with no staff rater), so that answers about real records are
checked, not only 404s. The path is left as generated when it is the invalid part of a request.

The run is deterministic (the same requests every time: a failure reproduces) and takes about
two minutes on two cores with the default ``SCHEMATHESIS_MAX_EXAMPLES`` (12 generated requests
per operation and role, besides the schema's examples). ``SCHEMATHESIS_MAX_EXAMPLES`` raises it,
``SCHEMATHESIS_COVERAGE=1`` adds the coverage phase, ``SCHEMATHESIS_OPERATIONS`` picks operations
by regex, ``SCHEMATHESIS_ROLES`` picks roles (comma-separated) and ``SCHEMATHESIS_REPORT`` names a
file for the failures (see docs/security.md).

Schemathesis's pytest plugin is not used (pyproject.toml turns it off): its lazy-fixture
integration does not work with this pytest, and one test that walks the operations itself lets
the seeded data and the test's transaction be shared by all of them.
"""

import os
import re
import sys
import time
from datetime import timedelta

import factory.random
import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.core.failures import Failure
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.specs.openapi.formats import rfc3339_values

from clinic.models import ApiToken
from clinic.roles import Role
from clinic.tokens.services import api_token_issue
from clinic.wsgi import application
from patients.models import MessagingConsent
from tests.factories import UserFactory
from tests.security.routes import all_routes, build_world, concrete_path
from tests.treatments.factories import SAQ_ITEMS
from treatments.services import assessment_record

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "12"))
OPERATIONS = os.environ.get("SCHEMATHESIS_OPERATIONS", "")  # a regex on "METHOD /path"
# The coverage phase (every boundary and every kind of invalid value of every parameter and body
# field) makes some hundreds of calls per operation: a deep run, not every test run.
COVERAGE = os.environ.get("SCHEMATHESIS_COVERAGE", "") not in ("", "0")

# Dates and datetimes as RFC 3339 allows them (Schemathesis's own strategy), half of them at the
# edges where Python, the API and PostgreSQL part ways: years 1 to 9999 around the API's
# 1900..2199, UTC offsets up to +-23:59 around the +-14:00 in use (PostgreSQL refuses past
# +-15:59: once a 500 in the toxin session and surgery filters).
EDGE_YEARS = st.sampled_from([1, 1899, 1900, 2199, 2200, 9999]) | st.integers(1, 9999)
EDGE_OFFSETS = st.sampled_from(["Z", "+14:00", "-14:00", "+14:01", "-15:59", "+16:00", "+23:59", "-23:59"])
EDGE_DATES = st.builds("{:04d}-{:02d}-{:02d}".format, EDGE_YEARS, st.integers(1, 12), st.integers(1, 28))
EDGE_DATETIMES = st.builds(
    "{}T{:02d}:{:02d}:00{}".format, EDGE_DATES, st.integers(0, 23), st.integers(0, 59), EDGE_OFFSETS
)
schemathesis.openapi.format("date", rfc3339_values("full-date") | EDGE_DATES)
schemathesis.openapi.format("date-time", rfc3339_values("date-time") | EDGE_DATETIMES)
EDGES = {"date": EDGE_DATES, "date-time": EDGE_DATETIMES}

ROLES = {
    "clinician": [Role.SURGEON, Role.INJECTOR, Role.THERAPIST],
    "office": [Role.FRONT_DESK, Role.MANAGER],
}
PICKED_ROLES = [r for r in os.environ.get("SCHEMATHESIS_ROLES", "").split(",") if r] or sorted(ROLES)

# Schema-valid input may still be refused: a referenced record that does not exist, a taken slot,
# a rule across fields (see the module's docstring); the log-in locks out after failures (429).
POSITIVE_STATUSES = ["2xx", "400", "401", "403", "404", "409", "429"]


def _positive_400_names_fields(ctx, response, case):
    """Schema-valid input refused with 400 must say which field is at fault (the log-in, which
    needs no authentication, refuses wrong credentials without blaming either field)."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    if not case.operation.definition.raw.get("security"):
        return None
    body = response.json()
    # The FHIR routes name the parameter at fault FHIR's way: OperationOutcome.issue.expression.
    named = body.get("fields") or [e for issue in body.get("issue", []) for e in issue.get("expression", [])]
    if not named:
        raise Failure(
            operation=case.operation.label,
            title="Schema-valid request refused without naming a field",
            message=f"400 for input the schema allows, with no field named: {body}",
        )
    return None


load_all_checks()  # the OpenAPI checks register themselves when their module is imported
CHECKS = [*REGISTERED_CHECKS.get_all(), _positive_400_names_fields]
assert len(CHECKS) > 10, [check.__name__ for check in CHECKS]


@pytest.fixture
def _in_process_requests():
    """Requests served in-process share the test's transaction: Django must not close the
    connection at the start and end of each request (its own test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(params=PICKED_ROLES)
def fuzz_world(request, db, settings, _in_process_requests):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users
    factory.random.reseed_random("api-schema-fuzz")
    world = build_world()
    patient = world["patient"]
    # Rows whose answers once broke the schema: their answers are checked on every run.
    MessagingConsent.objects.create(
        patient=patient,
        channel="email",
        purpose="appointment_reminders",
        granted=True,
        address=patient.email or "merged@example.org",
        method=MessagingConsent.Method.MERGE,
    )
    world["ids"]["assessment"] = assessment_record(
        patient=patient, instrument="saq", items=SAQ_ITEMS, assessed_at=timezone.now(), rater_kind="patient"
    ).pk
    user = UserFactory(username=f"fuzz-{request.param}", roles=[r.value for r in ROLES[request.param]])
    world["user"] = user
    world["token"] = api_token_issue(user=user, label="schema fuzz")[1]
    world["role"] = request.param
    return world


def _keep_token(world) -> None:
    """The token operations are fuzzed too, with the fuzzing user's own token ("revoke all"):
    it is put back after each request, so that every later operation is still authenticated."""
    key = world["token"]
    ApiToken.objects.get_or_create(
        digest=hash_token(key),
        defaults={
            "token_key": key[: CONSTANTS.TOKEN_KEY_LENGTH],
            "user": world["user"],
            "expiry": timezone.now() + timedelta(hours=1),
        },
    )


def _real_path_parameters(world, schema) -> dict[str, dict[str, str]]:
    """Schema path -> path parameters naming seeded rows (from the route table's concrete paths)."""
    concrete = [
        concrete_path(route, world)
        for route in all_routes()
        if route.name.startswith("api:") and route.converters
    ]
    known = {}
    for template in schema.raw_schema["paths"]:
        pattern = re.escape(template)
        for name in re.findall(r"\{(\w+)\}", template):
            pattern = pattern.replace(re.escape(f"{{{name}}}"), f"(?P<{name}>[^/]+)")
        for path in concrete:
            if match := re.fullmatch(pattern, path):
                known[template] = match.groupdict()
                break
    return known


@pytest.fixture
def api_schema(fuzz_world):
    headers = {"Authorization": f"Token {fuzz_world['token']}"}
    loaded = schemathesis.openapi.from_wsgi("/api/schema/", application, headers=headers)
    loaded.config.checks.positive_data_acceptance.expected_statuses = POSITIVE_STATUSES
    fuzz_world["real_path_parameters"] = _real_path_parameters(fuzz_world, loaded)
    dated = _dated_query_parameters(loaded)

    @loaded.hook
    def flatmap_query(context, query):
        # Optional filters are often left out of a generated request: date filters the request
        # lacks are added at an edge value half the time (the generated ones stay as they are,
        # so an invalid request stays invalid).
        names = dated.get((context.operation.method.lower(), context.operation.path))
        if not names or query is None:
            return st.just(query)
        missing = {name: EDGES[kind] for name, kind in names.items() if name not in query}
        return st.fixed_dictionaries({}, optional=missing).map(lambda extra: {**query, **extra})

    return loaded


def _dated_query_parameters(schema) -> dict[tuple[str, str], dict[str, str]]:
    """(method, path) -> {query parameter: "date" or "date-time"} for the date filters."""
    found = {}
    for path, operations in schema.raw_schema["paths"].items():
        for method, operation in operations.items():
            names = {
                p["name"]: p["schema"]["format"]
                for p in operation.get("parameters", [])
                if isinstance(operation, dict)
                if p["in"] == "query" and p.get("schema", {}).get("format") in EDGES
            }
            if names:
                found[(method, path)] = names
    return found


def _name_a_seeded_row(case, real: dict, turn: int) -> None:
    """Every other request to an operation with an id in its path names a seeded row (generated
    ids alone would nearly always be 404), unless the path is the invalid part of the request."""
    seeded = real.get(case.operation.path)
    if not seeded or not case.path_parameters or turn % 2:
        return
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
        return
    case.path_parameters = {**case.path_parameters, **seeded}


def _operation_test(operation, run_case):
    """The Hypothesis test Schemathesis builds for one operation (as its pytest plugin and its
    CLI do): the schema's examples, then ``MAX_EXAMPLES`` generated requests, valid and invalid,
    and with ``SCHEMATHESIS_COVERAGE`` the coverage phase first."""
    return create_test(
        operation=operation,
        test_func=run_case,
        config=HypothesisTestConfig(
            project=operation.schema.config,
            modes=[
                HypothesisTestMode.EXAMPLES,
                HypothesisTestMode.FUZZING,
                *([HypothesisTestMode.COVERAGE] if COVERAGE else []),
            ],
            settings=hypothesis.settings(
                max_examples=MAX_EXAMPLES,
                derandomize=True,  # the same requests every run: a failure reproduces
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure will do
                report_multiple_bugs=False,
            ),
        ),
    )


def test_every_operation_answers_as_documented(api_schema, fuzz_world):
    headers = {"Authorization": f"Token {fuzz_world['token']}"}
    requests = 0
    operations = 0
    failures: dict[str, str] = {}

    def run_case(case):
        nonlocal requests
        requests += 1
        _name_a_seeded_row(case, fuzz_world["real_path_parameters"], requests)
        # One savepoint per request: one that breaks the transaction cannot poison the next.
        try:
            with transaction.atomic():
                case.call_and_validate(headers=headers, checks=CHECKS)
        finally:
            _keep_token(fuzz_world)

    started = time.monotonic()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if OPERATIONS and not re.search(OPERATIONS, operation.label):
            continue
        operations += 1
        try:
            _operation_test(operation, run_case)()
        except (Exception, BaseExceptionGroup) as exc:  # Schemathesis reports a FailureGroup
            failures[operation.label] = str(exc)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {operations} operations, {requests} requests, {elapsed:.1f}s", file=sys.stderr)

    report = "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
    if os.environ.get("SCHEMATHESIS_REPORT"):
        with open(os.environ["SCHEMATHESIS_REPORT"], "a") as out:
            out.write(f"=== as {fuzz_world['role']}\n{report}\n")
    assert operations > 100 or OPERATIONS
    assert requests >= operations
    assert failures == {}, report
