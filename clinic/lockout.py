"""The answer to a locked-out login (django-axes calls this): JSON in the API's error format
for the token endpoint, a page for the login form. Both 429."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render


def lockout_response(request, original_response=None, credentials=None):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "code": "locked_out",
                "detail": f"Too many failed log-ins. Try again in {minutes} minutes.",
                "fields": {},
            },
            status=429,
        )
    context = {"minutes": minutes, "limit": settings.AXES_FAILURE_LIMIT}
    return render(request, "registration/locked_out.html", context, status=429)
