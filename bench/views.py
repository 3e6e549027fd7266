"""Baselines for the HTTP benchmark: the cost of the framework itself, measured in the same run
as the real endpoints so that their figures can be given as ratios (machines differ, ratios
travel). Mounted only with BENCHMARK_ENDPOINTS=1 (clinic/urls.py).

They are anonymous on purpose: "bare" means no authentication, no permission, no audit, just
the middleware stack every request pays. None of them returns patient data.
"""

from django.http import Http404, JsonResponse
from django.views.decorators.http import require_GET
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.models import Patient

from .baseline_sql import one_row

CONSTANT = {"status": "ok", "items": [1, 2, 3]}


@require_GET
def baseline_plain(request):
    """A Django view returning constant JSON: no database at all."""
    return JsonResponse(CONSTANT)


@require_GET
def baseline_pk(request, pk: int):
    """The same with one primary-key lookup (a whole patient row, as a detail view reads it);
    only the id goes back."""
    patient = Patient.objects.filter(pk=pk).first()
    if patient is None:
        raise Http404
    return JsonResponse({**CONSTANT, "id": patient.pk})


@require_GET
def baseline_query(request, pk: int):
    """The bare app's view (bench/bare.py) behind this application's whole middleware stack:
    the same query, the same answer. Its ratio to the bare app is what the request path costs."""
    return one_row(pk)


class BaselineDrfView(APIView):
    """A bare DRF view: content negotiation, the default authentication classes (nothing to
    authenticate: no credentials are sent), no permission, constant data."""

    permission_classes = [AllowAny]
    http_method_names = ["get", "head", "options"]

    def get(self, request):
        return Response(CONSTANT)
