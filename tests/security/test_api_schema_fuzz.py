"""Schemathesis against /api/schema/: every operation, authenticated, with generated input.

The schema is loaded from the application in-process (WSGI, no server) and every operation is
called with valid and invalid input generated from it. Nothing may answer 5xx, and every answer
must match what the schema says: its status code is documented, its content type is the
documented one and its body validates against the documented schema (errors included:
``{"code", "detail", "fields"}``).

The run is deterministic and small by default; ``SCHEMATHESIS_MAX_EXAMPLES`` raises the number
of generated requests per operation, ``SCHEMATHESIS_COVERAGE=1`` adds the coverage phase,
``SCHEMATHESIS_OPERATIONS`` picks operations by regex and ``SCHEMATHESIS_REPORT`` names a file for
the failures (see docs/security.md).

Schemathesis's pytest plugin is not used (pyproject.toml turns it off): its lazy-fixture
integration does not work with this pytest, and one test that walks the operations itself lets
the seeded data and the test's transaction be shared by all of them.
"""

import os
import re
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
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clinic.models import ApiToken
from clinic.roles import Role
from clinic.tokens.services import api_token_issue
from clinic.wsgi import application
from tests.factories import UserFactory
from tests.security.routes import all_routes, build_world, concrete_path

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "3"))
OPERATIONS = os.environ.get("SCHEMATHESIS_OPERATIONS", "")  # a regex on "METHOD /path"
# The coverage phase (every boundary and every kind of invalid value of every parameter and body
# field) makes some hundreds of calls per operation: a deep run, not every test run.
COVERAGE = os.environ.get("SCHEMATHESIS_COVERAGE", "") not in ("", "0")

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def _in_process_requests():
    """Requests served in-process share the test's transaction: Django must not close the
    connection at the start and end of each request (its own test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(db, settings, _in_process_requests):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users
    factory.random.reseed_random("api-schema-fuzz")
    world = build_world()
    user = UserFactory(username="fuzz-all-capabilities", roles=[r.value for r in Role])
    world["user"] = user
    world["token"] = api_token_issue(user=user, label="schema fuzz")[1]
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
    real = _real_path_parameters(fuzz_world, loaded)

    @loaded.hook
    def flatmap_path_parameters(context, path_parameters):
        # Half the calls name a seeded row: generated ids alone would nearly always be 404.
        seeded = real.get(context.operation.path)
        if not seeded or not path_parameters:
            return st.just(path_parameters)
        return st.sampled_from([path_parameters, {**path_parameters, **seeded}])

    return loaded


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
    print(f"schemathesis: {operations} operations, {requests} requests, {elapsed:.1f}s")

    report = "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
    if os.environ.get("SCHEMATHESIS_REPORT"):
        with open(os.environ["SCHEMATHESIS_REPORT"], "w") as out:
            out.write(report)
    assert operations > 100 or OPERATIONS
    assert requests >= operations
    assert failures == {}, report
