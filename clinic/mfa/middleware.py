from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django_htmx.http import HttpResponseClientRedirect

from clinic.api.errors import error_body, is_api_request

from .services import mfa_enrolled

# Reachable by a session that still owes its code: the pages that settle it, and logging out.
# Public routes keep working (health, patient links, calendar feeds and set-up links: their own
# credentials apply) and so does the token exchange, which asks for the code itself.
PUBLIC_ROUTES = {
    "logout",
    "health",
    "health_live",
    "health_ready",
    "api:token",
    "calendar_feed",
    "account:link_open",
    "account:link_set_up",
}
ALLOWED_ROUTES = {"account:mfa_verify", "account:mfa_enrol", *PUBLIC_ROUTES}
ALLOWED_NAMESPACES = {"links"}


def _allowed(request, step: str) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return True  # a 404 shows nothing
    routes = ALLOWED_ROUTES if step == "verify" else PUBLIC_ROUTES
    return match.view_name in routes or bool(set(match.namespaces) & ALLOWED_NAMESPACES)


def mfa_pending_step(user) -> str | None:
    """``"verify"`` or ``"enrol"`` while the signed-in ``user``'s session owes its second factor."""
    if not user.is_authenticated or user.is_verified():
        return None
    if mfa_enrolled(user=user):
        return "verify"
    return "enrol" if settings.REQUIRE_MFA else None


class MfaRequiredMiddleware:
    """Confines a signed-in session that has not passed the second factor.

    Staff with an authenticator app go to the code page. With REQUIRE_MFA on, a session of staff
    without one (signed in before a reset, or before this rule) reaches nothing and is signed
    out: a password alone never leads to enrolment, only a set-up link does (clinic.accounts).
    Pages redirect (htmx requests through HX-Redirect); the session-authenticated API answers 403
    ``{"code": "mfa_required"}``. Requests authenticated by an API token have no session user
    here and pass: tokens are issued only after the code.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        step = mfa_pending_step(user) if user is not None else None
        if step is not None and not _allowed(request, step):
            return self._refuse(request, step)
        return self.get_response(request)

    def _refuse(self, request, step: str):
        if is_api_request(request):
            detail = (
                "Enter the code from your authenticator app to finish logging in."
                if step == "verify"
                else "Two-factor authentication is not set up: use your set-up link."
            )
            return JsonResponse(error_body("mfa_required", detail, step=step), status=403)
        if step == "enrol":
            logout(request)
            messages.error(
                request,
                "Two-factor authentication is not set up for this account. Open the set-up link you "
                "were sent, or ask a practice manager for a new one.",
            )
            url = reverse("login")
            return HttpResponseClientRedirect(url) if getattr(request, "htmx", False) else redirect(url)
        url = reverse("account:mfa_verify")
        if request.method == "GET" and not getattr(request, "htmx", False):
            url += "?" + urlencode({"next": request.get_full_path()})
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        return redirect(url)
