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


NULL_COMPONENT = "NullEnum"
BLANK_COMPONENT = "BlankEnum"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable_references(node, schemas: dict) -> None:
    """``{"allOf": [ref], "nullable": true}`` (drf-spectacular's nullable nested object) lets
    null through only for validators that read ``nullable`` beside ``allOf``; OpenAPI 3.0's own
    rule (3.0.3) is that ``nullable`` does not reach into ``allOf``, and strict validators refuse
    null there. ``oneOf`` the reference or null says it for every reader."""
    if isinstance(node, dict):
        all_of = node.get("allOf")
        if node.get("nullable") and isinstance(all_of, list) and len(all_of) == 1:
            schemas.setdefault(NULL_COMPONENT, {"enum": [None]})
            del node["allOf"], node["nullable"]
            node["oneOf"] = [all_of[0], _ref(NULL_COMPONENT)]
        for value in list(node.values()):
            _nullable_references(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _nullable_references(value, schemas)


def _defaults_beside_alternatives(node) -> None:
    """A default written inside one branch of ``oneOf`` (an optional email that may be blank:
    ``""`` in the email branch) is invalid there (``""`` is no email): it belongs beside them."""
    if isinstance(node, dict):
        for branch in node.get("oneOf", []):
            if isinstance(branch, dict) and "default" in branch:
                node.setdefault("default", branch.pop("default"))
        for value in list(node.values()):
            _defaults_beside_alternatives(value)
    elif isinstance(node, list):
        for value in node:
            _defaults_beside_alternatives(value)


def _pascal(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _shared_parameter_enums(result: dict, schemas: dict) -> None:
    """Parameters name their choices by reference to one enum component, the same one a body
    uses for the same choices (drf-spectacular writes them inline, once per parameter: a
    generated client then had some forty copies of the same enums). Choices no body uses get one
    component per parameter name and path (``...FilterEnum``), shared by every operation with
    that parameter. An empty choice (not filtered, see below) is ``BlankEnum`` beside it."""
    by_values = {
        frozenset(map(str, component["enum"])): name
        for name, component in sorted(schemas.items())
        if "enum" in component and None not in component["enum"] and name != BLANK_COMPONENT
    }
    for path, operations in result.get("paths", {}).items():
        segment = path.removeprefix("/api/v1/").split("/", 1)[0]
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                holder = schema["items"] if schema.get("type") == "array" and "items" in schema else schema
                values = holder.get("enum")
                if not values:
                    continue
                blank = "" in values
                key = frozenset(str(v) for v in values if v != "")
                name = by_values.get(key)
                if name is None:
                    name = f"{_pascal(segment)}{_pascal(parameter['name'])}FilterEnum"
                    if name in schemas:
                        raise ValueError(f"{name}: two parameters' choices under one name")
                    schemas.setdefault(name, {"type": "string", "enum": [v for v in values if v != ""]})
                    by_values[key] = name
                for word in ("enum", "type"):
                    holder.pop(word, None)
                if blank:
                    schemas.setdefault(BLANK_COMPONENT, {"enum": [""]})
                    holder["oneOf"] = [_ref(name), _ref(BLANK_COMPONENT)]
                else:
                    holder["$ref"] = _ref(name)["$ref"]


# Path ids checked by a route's regex (``lookup_value_regex``): whole numbers, as everywhere else.
DIGITS_PATTERN = re.compile(r"^\^\[0-9\]\{1,(\d+)\}\$$")


def _integer_path_ids(result: dict) -> None:
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                match = DIGITS_PATTERN.match(schema.get("pattern", ""))
                if parameter.get("in") == "path" and schema.get("type") == "string" and match:
                    parameter["schema"] = {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 10 ** int(match.group(1)) - 1,
                    }


def _clean_operation_ids(result: dict) -> None:
    """Operation ids are identifiers in every generated client: letters, digits and ``_`` only
    (FHIR's ``$everything`` once gave one with a ``$``)."""
    seen: set[str] = set()
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in HTTP_METHODS or "operationId" not in operation:
                continue
            clean = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "", operation["operationId"])).strip("_")
            if clean in seen:
                raise ValueError(f"two operations would be called {clean}")
            seen.add(clean)
            operation["operationId"] = clean


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: the Error component and, on every operation, the error statuses it
    can answer with, unless the view documents that status itself; request bodies closed to
    fields they do not document; times of day as the API writes them; nullable references
    that strict validators read as such; integer path ids, shared enums and clean operation ids."""
    _local_times(result)
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    _nullable_references(result, schemas)
    _defaults_beside_alternatives(result)
    _integer_path_ids(result)
    _clean_operation_ids(result)
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
    _shared_parameter_enums(result, schemas)
    return result


class AnsweredChoiceFieldExtension(OpenApiSerializerFieldExtension):
    """clinic.api.serializers.AnsweredChoiceField: the choices a client may send in requests,
    those and the server's own in responses."""

    target_class = "clinic.api.serializers.AnsweredChoiceField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return build_choice_field(self.target)
        return build_choice_field(drf_fields.ChoiceField(choices=self.target.answered_choices))
