"""One error format for the whole API: {"code", "detail", "fields"}."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from clinic.api.serializers import UNKNOWN_FIELD
from clinic.errors import DomainError

logger = logging.getLogger(__name__)


def _flatten(detail):
    """DRF's nested ErrorDetail structures -> plain lists/dicts of strings."""
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def _leaf_codes(codes):
    if isinstance(codes, dict):
        for value in codes.values():
            yield from _leaf_codes(value)
    elif isinstance(codes, list):
        for value in codes:
            yield from _leaf_codes(value)
    else:
        yield codes


def _validation_code(exc: exceptions.ValidationError) -> str:
    """``unknown_field`` when every problem is a field the serializer does not take (see
    clinic.api.serializers), else ``invalid``."""
    leaves = set(_leaf_codes(exc.get_codes()))
    return UNKNOWN_FIELD if leaves == {UNKNOWN_FIELD} else "invalid"


def error_body(code: str, detail: str, fields: dict | None = None, **extra) -> dict:
    return {"code": code, "detail": detail, "fields": fields or {}, **extra}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(
            error_body(exc.code, exc.detail, _flatten(exc.fields), **exc.extra), status=exc.status
        )
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(error_body("invalid", "Invalid input.", fields), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # An unexpected error: let Django log it and answer 500.

    if isinstance(exc, exceptions.ValidationError):
        data = exc.detail
        if isinstance(data, dict):
            fields = _flatten(data)
        else:
            fields = {"non_field_errors": _flatten(data if isinstance(data, list) else [data])}
        code = _validation_code(exc)
        detail = "Unknown field." if code == UNKNOWN_FIELD else "Invalid input."
        response.data = error_body(code, detail, fields)
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        if not isinstance(code, str):
            code = "error"
        response.data = error_body(code, str(getattr(exc, "detail", "Error.")))
    return response


# Django's own error pages for requests that never reach a DRF view (a path no route matches,
# e.g. /api/v1/patients/1.5/, or an exception outside a view): JSON in the API's format under
# /api/, the usual HTML pages elsewhere. Installed as handler400/403/404/500 in clinic.urls.


def is_api_request(request) -> bool:
    """A request to the JSON API, which answers errors in error_body's format, never HTML."""
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if is_api_request(request):
        return JsonResponse(error_body("bad_request", "Bad request."), status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if is_api_request(request):
        body = error_body("permission_denied", "You do not have permission to perform this action.")
        return JsonResponse(body, status=403)
    return defaults.permission_denied(request, exception)


def not_found(request, exception):
    if is_api_request(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api_request(request):
        return JsonResponse(error_body("server_error", "A server error occurred."), status=500)
    return defaults.server_error(request)
