import time
import uuid

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCspMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.messages.storage import default_storage
from django.core.signals import setting_changed
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.functional import SimpleLazyObject, empty

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
        # No query string, no parameters: not worth building request.GET for.
        names = _names_with_nul(request.GET) if request.META.get("QUERY_STRING") else []
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


class CSPMiddleware(DjangoCspMiddleware):
    """django-csp's middleware, with the policy built once instead of on every response.

    django-csp builds the header from the settings for every response (about 70 us a request,
    the costliest step of the middleware stack for a small answer). The policy only changes
    with a nonce (a template asked for ``request.csp_nonce``) or a view's ``csp_update`` /
    ``csp_replace`` / ``csp_override`` decorator: those responses are built as django-csp
    builds them; every other one gets the same string, computed once per process (and again
    when a test changes the settings). The headers are the same either way.
    """

    def process_response(self, request, response):
        if (
            getattr(request, "_csp_nonce", None) is None
            and not _csp_customised(response)
            and not (response.status_code in (404, 500) and settings.DEBUG)
        ):
            policy, policy_ro = _plain_policies()
            for header, value, exempt, prefixes in (
                (HEADER, policy, "_csp_exempt", policy_prefixes("CONTENT_SECURITY_POLICY")),
                (
                    HEADER_REPORT_ONLY,
                    policy_ro,
                    "_csp_exempt_ro",
                    policy_prefixes("CONTENT_SECURITY_POLICY_REPORT_ONLY"),
                ),
            ):
                if (
                    value
                    and header not in response
                    and not getattr(response, exempt, False)
                    and not request.path_info.startswith(prefixes)
                ):
                    response[header] = value
            # As django-csp does: a nonce asked for after the header is written is an error.
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
            return response
        return super().process_response(request, response)


_CSP_ATTRIBUTES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_policies: dict[str, object] = {}


def _csp_customised(response) -> bool:
    return any(getattr(response, name, None) is not None for name in _CSP_ATTRIBUTES)


def _plain_policies() -> tuple[str, str]:
    """The headers of a response without a nonce or a per-view policy, built once."""
    cached = _policies.get("plain")
    if cached is None:
        cached = _policies["plain"] = (build_policy(), build_policy(report_only=True))
    return cached  # type: ignore[return-value]


def policy_prefixes(setting: str) -> tuple[str, ...]:
    key = "prefixes:" + setting
    cached = _policies.get(key)
    if cached is None:
        policy = getattr(settings, setting, None) or {}
        cached = _policies[key] = tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())
    return cached  # type: ignore[return-value]


def _forget_policies(*, setting, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _policies.clear()


setting_changed.connect(_forget_policies, dispatch_uid="clinic.middleware.csp_policies")


class MessageMiddleware(DjangoMessageMiddleware):
    """Django's messages, with the storage made when something reads or adds a message.

    Most requests (every API call, every htmx fragment that shows no messages) never touch
    them: Django's middleware still built the cookie and session storages for each, and asked
    them at the end whether anything was to be saved. Here the storage is built on first use,
    and a request that never used it has nothing to save, as before.
    """

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)
