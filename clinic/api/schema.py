"""The OpenAPI schema says what the API really answers, errors included.

Every error has one body, ``{"code", "detail", "fields"}`` (clinic/api/errors.py). Rather than
decorating each view, the postprocessing hook below documents the error statuses every operation
can give, so that a client (and the schema fuzz test, tests/security/test_api_schema_fuzz.py)
can rely on the schema for them too.
"""

import re

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.generators import EndpointEnumerator as SpectacularEndpointEnumerator
from drf_spectacular.generators import SchemaGenerator as SpectacularSchemaGenerator
from drf_spectacular.plumbing import build_basic_type, build_choice_field, build_object_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import fields as drf_fields

ERROR_COMPONENT = "Error"

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error of the API. ``fields`` names the field(s) at fault (empty if none).",
    "properties": {
        "code": {"type": "string", "description": "Stable, machine-readable: invalid, not_found, ..."},
        "detail": {"type": "string", "description": "For people."},
        "fields": {
            "type": "object",
            "description": "Field name -> list of messages (nested for nested input).",
            "additionalProperties": True,
        },
    },
    "required": ["code", "detail", "fields"],
}

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: ``fields`` says which and why.",
    "401": "Not authenticated.",
    "403": "Authenticated, but lacking the capability.",
    "404": "No such record (or page).",
    "409": "Conflicts with the current state of the record (e.g. ``slot_unavailable``).",
    "415": "The body is not JSON.",
    "429": "Too many failed log-ins: locked out for a while (``locked_out``).",
}

UNSAFE = {"post", "put", "patch", "delete"}
# Operations that check the caller's password (besides the token endpoint): they can answer 429.
PASSWORD_CHECKED = {"/api/v1/me/password/"}
HTTP_METHODS = {"get", "head", "options", *UNSAFE}


class EndpointEnumerator(SpectacularEndpointEnumerator):
    def get_path_from_regex(self, path_regex):
        # A "$" followed by a word character is literal (FHIR's "$everything"), not a regex anchor.
        return super().get_path_from_regex(re.sub(r"(?<!\\)\$(?=\w)", r"\\$", path_regex))


class SchemaGenerator(SpectacularSchemaGenerator):
    endpoint_inspector_cls = EndpointEnumerator


class ReferenceFieldExtension(OpenApiSerializerFieldExtension):
    """clinic.api.serializers.ReferenceField: an id in, ``{"id", "name"}`` out."""

    target_class = "clinic.api.serializers.ReferenceField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return build_basic_type(OpenApiTypes.INT)
        return build_object_type(
            properties={"id": build_basic_type(OpenApiTypes.INT), "name": build_basic_type(OpenApiTypes.STR)},
            required=["id", "name"],
        )


def _error_statuses(path: str, method: str, operation: dict) -> list[str]:
    parameters = operation.get("parameters", [])
    statuses = []
    if parameters or "requestBody" in operation:
        statuses.append("400")
    if operation.get("security"):
        statuses += ["401", "403"]
    if not operation.get("security") or path in PASSWORD_CHECKED:
        # The token endpoint (no authentication) and the password change check a password:
        # wrong guesses count toward the log-in lockout.
        statuses.append("429")
    paginated = any(p["in"] == "query" and p["name"] == "page" for p in parameters)
    if "{" in path or paginated:
        statuses.append("404")
    if method in UNSAFE and operation.get("security"):
        statuses.append("409")
    if "requestBody" in operation:
        statuses.append("415")
    return statuses


# JSON Schema's "time" is RFC 3339's full-time, which needs a UTC offset; the API's times of
# day (working hours) are local wall-clock times, "09:00" or "09:00:00", as DRF writes them.
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


def _local_times(node) -> None:
    if isinstance(node, dict):
        if node.get("format") == "time":
            del node["format"]
            node["pattern"] = LOCAL_TIME_PATTERN
        for value in node.values():
            _local_times(value)
    elif isinstance(node, list):
        for value in node:
            _local_times(value)


def _empty_choice_filters_mean_any(operation: dict) -> None:
    """A choice filter sent empty (``?kind=``) does not filter, as django-filter has it (a form
    left at "any"): the schema says so, or it would claim that ``""`` is refused."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") == "query" and "enum" in schema and "" not in schema["enum"]:
            schema["enum"] = [*schema["enum"], ""]
            parameter["description"] = (parameter.get("description", "") + "\n\nEmpty: not filtered.").strip()


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: the Error component and, on every operation, the error statuses it
    can answer with, unless the view documents that status itself; request bodies closed to
    fields they do not document; times of day as the API writes them."""
    _local_times(result)
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_COMPONENT] = ERROR_SCHEMA
    for name, component in schemas.items():
        # Request bodies take only their documented fields (clinic.api.serializers): say so.
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            _empty_choice_filters_mean_any(operation)
            responses = operation.setdefault("responses", {})
            # Errors are rendered like the operation's answers (FHIR's as application/fhir+json).
            media_types = next(
                (list(r["content"]) for s, r in sorted(responses.items()) if s < "300" and r.get("content")),
                ["application/json"],
            )
            for status in _error_statuses(path, method, operation):
                responses.setdefault(
                    status,
                    {
                        "description": ERROR_DESCRIPTIONS[status],
                        "content": {media_type: {"schema": ref} for media_type in media_types},
                    },
                )
    return result


class AnsweredChoiceFieldExtension(OpenApiSerializerFieldExtension):
    """clinic.api.serializers.AnsweredChoiceField: the choices a client may send in requests,
    those and the server's own in responses."""

    target_class = "clinic.api.serializers.AnsweredChoiceField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return build_choice_field(self.target)
        return build_choice_field(drf_fields.ChoiceField(choices=self.target.answered_choices))
