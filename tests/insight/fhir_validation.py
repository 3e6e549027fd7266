"""Three independent checks of a FHIR resource, none of them this project's own code:

1. fhir.resources (R4B pydantic models): parses the resource as FHIR R4B.
2. jsonschema against the official HL7 FHIR JSON schema (fhir.schema.json of FHIR 4.0, shipped
   in tests/insight/fhir_schema/; its origin is in docs/fhir.md): element names, types, value
   sets of required codes, no unknown elements.
3. fhirpathpy: the resource invariants of the FHIR specification (as written there, in FHIRPath)
   for the resource types the export uses.

Plus the JSON rules of the FHIR spec that none of them checks (no empty strings, objects or
arrays) and that every contained resource is referenced from its container (dom-3).
"""

import gzip
import json
from functools import cache
from pathlib import Path

import jsonschema
from fhir.resources.R4B import get_fhir_model_class
from fhirpathpy import evaluate

SCHEMA = Path(__file__).parent / "fhir_schema" / "fhir.schema.json.gz"

# Invariants of the FHIR specification (R4/R4B), keyed by resource type: (key, expression).
INVARIANTS = {
    "Bundle": [
        ("bdl-1", "total.empty() or (type = 'searchset') or (type = 'history')"),
        ("bdl-2", "entry.search.empty() or (type = 'searchset')"),
        ("bdl-7", "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl).isDistinct()"),
        ("bdl-8", "entry.fullUrl.all(contains('/_history/').not())"),
    ],
    "Patient": [
        (
            "pat-1",
            "contact.all(name.exists() or telecom.exists() or address.exists() or organization.exists())",
        )
    ],
    "AllergyIntolerance": [
        (
            "ait-1",
            "verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = 'entered-in-error').exists() or clinicalStatus.exists()",
        ),
        (
            "ait-2",
            "verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = 'entered-in-error').empty() or clinicalStatus.empty()",
        ),
    ],
    "Condition": [
        (
            "con-4",
            "abatement.empty() or clinicalStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-clinical' and (code='resolved' or code='remission' or code='inactive')).exists()",
        ),
        (
            "con-5",
            "verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code='entered-in-error').empty() or clinicalStatus.empty()",
        ),
    ],
    "Observation": [
        ("obs-6", "dataAbsentReason.empty() or value.empty()"),
        (
            "obs-7",
            "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()",
        ),
    ],
    "MedicationAdministration": [("mad-1", "dosage.all(dose.exists() or rate.exists())")],
    "CapabilityStatement": [
        ("cpb-1", "rest.exists() or messaging.exists() or document.exists()"),
        ("cpb-2", "(description.count() + software.count() + implementation.count()) > 0"),
        ("cpb-3", "messaging.endpoint.empty() or kind = 'instance'"),
        ("cpb-14", "(kind != 'instance') or implementation.exists()"),
        ("cpb-15", "(kind != 'capability') or (implementation.exists().not() and software.exists())"),
    ],
    "OperationOutcome": [("oo-issue", "issue.exists() and issue.all(severity.exists() and code.exists())")],
}
# On every resource and element: a Quantity with a unit code names its system (qty-3), a
# Coding with a code names its system.
EVERYWHERE = [
    ("qty-3", "descendants().where(value.exists() and code.exists()).all(system.exists())"),
    ("coding-system", "descendants().where(code.exists() and display.exists()).all(system.exists())"),
]


@cache
def _schema() -> dict:
    with gzip.open(SCHEMA) as fh:
        schema = json.load(fh)
    # The schema is R4's (4.0); R4B (4.3.0) resources of the types exported here have the same
    # shape, and differ only in the FHIR version they name: its enumeration gains R4B's code.
    schema["definitions"]["CapabilityStatement"]["properties"]["fhirVersion"]["enum"].append("4.3.0")
    return schema


@cache
def _schema_validator(resource_type: str) -> jsonschema.Draft6Validator:
    return jsonschema.Draft6Validator({**_schema(), "$ref": f"#/definitions/{resource_type}"})


def _empty_values(value, path="") -> list[str]:
    if value in ("", [], {}) or value is None:
        return [path or "(root)"]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _empty_values(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _empty_values(item, f"{path}[{i}]")]
    return []


def _references(value) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for item in value.values() for r in _references(item)]
    if isinstance(value, list):
        return [r for item in value for r in _references(item)]
    return []


def problems(resource: dict) -> list[str]:
    """Every problem the three tools (and the JSON rules) find in one resource; [] if valid."""
    resource_type = resource["resourceType"]
    found: list[str] = []
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except Exception as exc:  # any refusal of the model is the finding
        found.append(f"fhir.resources: {exc}")
    found += [
        f"schema: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _schema_validator(resource_type).iter_errors(resource)
    ]
    for key, expression in INVARIANTS.get(resource_type, []) + EVERYWHERE:
        if evaluate(resource, expression, {"resource": resource}) != [True]:
            found.append(f"invariant {key} fails: {expression}")
    found += [f"empty value at {p}" for p in _empty_values(resource)]
    contained = {c["id"] for c in resource.get("contained", [])}
    referenced = {r[1:] for r in _references({k: v for k, v in resource.items() if k != "contained"})}
    found += [f"dom-3: contained #{cid} is not referenced" for cid in contained - referenced]
    if resource_type == "Bundle":
        for entry in resource.get("entry", []):
            found += [f"{entry['fullUrl']}: {p}" for p in problems(entry["resource"])]
    return found
