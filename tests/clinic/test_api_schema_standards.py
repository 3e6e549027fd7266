"""The OpenAPI document as generated clients and strict validators read it.

openapi-spec-validator (the validator behind openapi-core) checks the document itself; the rest
checks what generators such as openapi-python-client turn into code: identifiers, types and
how many enum classes a client gets.
"""

import re

import pytest
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from clinic.tokens.services import api_token_issue
from tests.factories import PatientFactory, UserFactory
from tests.treatments.factories import record_consultation

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def spec(db):
    client = APIClient()
    client.force_authenticate(UserFactory(roles=["manager"]))
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def _operations(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _walk(node, where=""):
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}/{index}")


def test_the_document_is_valid_openapi(spec):
    assert spec["openapi"].startswith("3.0")
    validate(spec)


def test_nullable_references_admit_null_for_strict_validators(spec):
    """OpenAPI 3.0.3: ``nullable`` does not reach into ``allOf``; a null reference is spelled
    ``oneOf: [ref, NullEnum]``."""
    wrong = [where for where, node in _walk(spec) if node.get("nullable") and "allOf" in node]
    assert wrong == []
    rater = spec["components"]["schemas"]["Assessment"]["properties"]["rater"]
    assert {"$ref": "#/components/schemas/NullEnum"} in rater["oneOf"]
    assert spec["components"]["schemas"]["NullEnum"] == {"enum": [None]}
    signed_by = spec["components"]["schemas"]["ToxinSession"]["properties"]["signed_by"]
    assert {"$ref": "#/components/schemas/NullEnum"} in signed_by["oneOf"]


def test_ids_are_integers(spec):
    """Path ids and id filters are whole numbers (a number with decimals let 1.5 through)."""
    wrong = []
    for path, method, operation in _operations(spec):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            if parameter["in"] == "path" and parameter["name"] == "id" and schema.get("type") != "integer":
                wrong.append(f"{method} {path} {{id}}: {schema}")
            if parameter["in"] == "query" and schema.get("type") == "number":
                wrong.append(f"{method} {path} ?{parameter['name']}: number")
    assert wrong == []


def test_operation_ids_and_component_names_are_identifiers(spec):
    ids = [operation["operationId"] for _, _, operation in _operations(spec)]
    assert [i for i in ids if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", i)] == []
    assert len(ids) == len(set(ids))
    names = list(spec["components"]["schemas"])
    assert [n for n in names if n.endswith("RequestRequest") or n.endswith("ResponseResponse")] == []
    assert "TokenRequest" in names and "IssuedToken" in names


def test_parameters_share_the_enum_components(spec):
    """No choices written inline: each set of choices is one component, so a generated client
    has one enum class for it, not one per parameter."""
    inline = [
        f"{method} {path} {parameter['name']}"
        for path, method, operation in _operations(spec)
        for parameter in operation.get("parameters", [])
        if "enum" in parameter["schema"] or "enum" in parameter["schema"].get("items", {})
    ]
    assert inline == []
    enums = [
        tuple(sorted(map(str, c["enum"]))) for c in spec["components"]["schemas"].values() if "enum" in c
    ]
    assert len(enums) == len(set(enums)), "two enum components with the same choices"
    status = next(
        p for p in spec["paths"]["/api/v1/consultations/"]["get"]["parameters"] if p["name"] == "status"
    )
    assert status["schema"]["oneOf"][0] == {"$ref": "#/components/schemas/EncounterStatusEnum"}


def test_bearer_and_token_schemes_are_both_accepted(db):
    user = UserFactory(roles=["front_desk"])
    key = api_token_issue(user=user, label="schemes")[1]
    for scheme in ("Bearer", "Token", "bearer"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
        response = client.get("/api/v1/me/")
        assert response.status_code == 200, (scheme, response.content)
        assert response.json()["username"] == user.username


def test_addenda_filters_answer_an_empty_list_not_404(db):
    surgeon = UserFactory(roles=["surgeon"])
    consultation = record_consultation(PatientFactory(), surgeon)
    client = APIClient()
    client.force_authenticate(surgeon)
    url = f"/api/v1/consultations/{consultation.pk}/addenda/"
    other = consultation.encounter.patient_id + 1000
    assert client.get(url).status_code == 200
    response = client.get(url, {"patient": other})
    assert response.status_code == 200, response.content
    assert response.json() == []
    assert client.get(url, {"patient": consultation.encounter.patient_id}).status_code == 200
    assert client.get(url, {"patient": "1.5"}).status_code == 400
