import time
import uuid

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponseBadRequest, JsonResponse

from . import context
from .network import client_ip


class RequestContextMiddleware:
    """Gives each request an id and records where it came from, for audit rows and logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if path.startswith("/api/"):
            source = "api"
        elif path.startswith("/p/"):
            source = "link"
        else:
            source = "web"
        ctx = context.RequestContext(request_id=uuid.uuid4(), ip=client_ip(request), source=source)
        token = context.set_current(ctx)
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = str(ctx.request_id)
        return response


class NoStoreMiddleware:
    """Keeps patient data out of browser and proxy caches: every response to a signed-in user,
    every API response and every patient-link page is `Cache-Control: no-store` (the back
    button on a shared front-desk computer must not show the last patient's chart)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        private = request.path.startswith(("/api/", "/p/")) or (user is not None and user.is_authenticated)
        if private:
            response["Cache-Control"] = "no-store"
        return response


class SessionTimeoutMiddleware:
    """Ends a staff session after SESSION_IDLE_TIMEOUT seconds without a request, or
    SESSION_ABSOLUTE_TIMEOUT seconds after login, whichever comes first (ASVS 3.3).

    The cookie's own max-age cannot do this: it is refreshed on every save. The logout goes
    through django.contrib.auth.logout, so it is in the audit trail like any other.
    """

    IDLE_KEY = "_clinic_last_seen"
    START_KEY = "_clinic_login_at"
    RESOLUTION = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if session is not None and user is not None and user.is_authenticated:
            now = int(time.time())
            if self.START_KEY not in session:
                session_started(session)
            idle_limit, absolute_limit = settings.SESSION_IDLE_TIMEOUT, settings.SESSION_ABSOLUTE_TIMEOUT
            idle = bool(idle_limit) and now - session.get(self.IDLE_KEY, now) > idle_limit
            expired = bool(absolute_limit) and now - session[self.START_KEY] > absolute_limit
            if idle or expired:
                logout(request)
            elif now - session[self.IDLE_KEY] >= self.RESOLUTION:
                # Coarse on purpose: one session write a minute, not one per request.
                session[self.IDLE_KEY] = now
        return self.get_response(request)


def session_started(session) -> None:
    """Stamp a new session (called on login) with its start and last-seen times."""
    now = int(time.time())
    session[SessionTimeoutMiddleware.START_KEY] = now
    session[SessionTimeoutMiddleware.IDLE_KEY] = now


NUL_MESSAGE = "Null characters are not allowed."


class RefuseNulMiddleware:
    """A NUL character (U+0000) in a query parameter or a form field, name or value, is a 400.

    PostgreSQL's text cannot hold NUL: a value that reaches a query with one fails there (a
    500). Forms and serializers refuse it in the fields they declare; this refuses it in every
    other parameter too (filters, ``next``, names nobody declared), before any view runs. The
    API's JSON bodies are checked by its parser (clinic/api/parsers.py). Under /api/ the answer
    is in the API's error format, naming the parameters."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        names = _names_with_nul(request.GET)
        if not request.path.startswith("/api/") and request.method == "POST":
            if request.content_type == "multipart/form-data":
                # Checked in process_view instead, once the view is known: a view that limits
                # its own uploads (``limits_own_upload``, photos) must install its upload
                # handler before anything reads the body, and checks its fields itself.
                request._nul_check_deferred = True
            else:
                names += _names_with_nul(request.POST)
        if names:
            return _nul_response(request, names)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(request, "_nul_check_deferred", False) and not getattr(
            view_func, "limits_own_upload", False
        ):
            names = _names_with_nul(request.POST)
            if names:
                return _nul_response(request, names)
        return None


def _nul_response(request, names: list[str]):
    from clinic.api.errors import error_body, is_api_request

    if is_api_request(request):
        fields = {name: [NUL_MESSAGE] for name in names}
        return JsonResponse(error_body("invalid", "Invalid input.", fields), status=400)
    return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")


def _names_with_nul(data) -> list[str]:
    return [
        name.replace("\x00", "\\u0000")
        for name, values in data.lists()
        if "\x00" in name or any("\x00" in value for value in values)
    ]
