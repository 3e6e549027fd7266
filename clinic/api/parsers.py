"""The API's JSON parser: DRF's, with limits on what a request body may be.

- **Size.** A body longer than ``API_MAX_BODY_BYTES`` is refused before it is read whole (DRF
  reads the request stream itself, past Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``).
- **Depth.** Arrays and objects nested deeper than ``API_MAX_JSON_DEPTH`` are refused *before*
  ``json.loads`` sees the text: its scanner recurses once per level, so ten thousand ``[`` would
  reach Python's recursion limit (a ``RecursionError``, i.e. a 500), and every later step that
  walks the data (validation, error messages, rendering) recurses too. The depth is found by a
  linear scan of the brackets outside strings, with no recursion at all.
- **NUL.** No string, key or value, may hold U+0000: PostgreSQL's text and jsonb cannot store
  it. The error names the field, as a serializer would (``{"notes": [...]}``).

Each refusal is a 400 in the API's error format with a stable code: ``body_too_large``,
``too_deeply_nested``, ``parse_error`` (malformed JSON) or ``invalid`` (a NUL, with its field).
"""

import codecs
import json
import re
from itertools import accumulate

from django.conf import settings
from rest_framework import exceptions, parsers
from rest_framework.parsers import get_encoding
from rest_framework.utils.json import strict_constant

NUL_MESSAGE = "Null characters are not allowed."

_ESCAPE = re.compile(r"\\.", re.DOTALL)  # a backslash and the character it escapes
_STRING = re.compile(r'"[^"]*"')  # a string, once escapes are gone: no quote inside
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class BodyTooLarge(exceptions.ParseError):
    default_detail = "The request body is too large."
    default_code = "body_too_large"


class TooDeeplyNested(exceptions.ParseError):
    default_detail = "The JSON body is nested too deeply."
    default_code = "too_deeply_nested"


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text``, brackets inside strings not counted.

    Linear in the length of the text: escapes go first (so ``\\"`` cannot end a string), then
    strings (which then hold no quote, so each match stops at the next quote), then all but the
    brackets. Malformed JSON may be miscounted, but json.loads refuses it anyway.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def find_nul(data):
    """The path (keys and indexes) to the first string holding U+0000, or None.

    An explicit stack, not recursion: no depth of nesting can reach the recursion limit."""
    stack = [((), data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return path
        elif isinstance(node, dict):
            for key, value in node.items():
                if "\x00" in key:
                    return (*path, key)
                stack.append(((*path, key), value))
        elif isinstance(node, list):
            stack.extend(((*path, index), value) for index, value in enumerate(node))
    return None


def _error_at(path: tuple, message: str):
    """``("injections", 0, "muscle")`` -> ``{"injections": [{"muscle": [message]}]}``, the shape
    of a serializer's nested errors (earlier list items as empty objects)."""
    error = [message]
    for key in reversed(path):
        error = [*([{}] * key), error] if isinstance(key, int) else {key: error}
    if not isinstance(error, dict):  # the body itself is a list or a string
        error = {"non_field_errors": error if isinstance(error, list) else [error]}
    return error


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        limit = settings.API_MAX_BODY_BYTES
        request = parser_context.get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            declared = 0
        if declared > limit:
            raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            text = codecs.decode(raw, get_encoding(parser_context))
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None

        max_depth = settings.API_MAX_JSON_DEPTH
        if json_depth(text) > max_depth:
            raise TooDeeplyNested(f"Arrays and objects may nest at most {max_depth} deep.")
        try:
            data = json.loads(text, parse_constant=strict_constant if self.strict else None)
        except (ValueError, RecursionError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None

        path = find_nul(data)
        if path is not None:
            raise exceptions.ValidationError(_error_at(path, NUL_MESSAGE), code="null_characters_not_allowed")
        return data
