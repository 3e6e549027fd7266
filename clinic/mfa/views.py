"""Pages: the log-in and its second step, enrolment, and recovery codes. The staff page, where a
practice manager resets a lost authenticator, is in clinic.accounts.views."""

import time
from urllib.parse import urlencode

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from clinic.accounts.emails import account_email_send
from clinic.audit import audit_record
from clinic.errors import Invalid
from clinic.lockout import lockout_response
from clinic.redirects import safe_next

from . import services
from .forms import CodeForm, EnrolForm
from .middleware import mfa_pending_step

# Session keys. The pending log-in holds only a user id: until the code is right nobody is
# logged in, so no page, no API call and no lockout reset happens on the password alone.
PENDING_KEY = "_mfa_pending"
ENROL_KEY = "_mfa_enrol_key"
FRESH_CODES_KEY = "_mfa_fresh_codes"
PENDING_SECONDS = 5 * 60


def _safe_next(request, url: str | None) -> str:
    return safe_next(request, url, settings.LOGIN_REDIRECT_URL)


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


class LoginView(auth_views.LoginView):
    """The password step. Staff with an authenticator app continue to the code step."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        next_url = self.get_success_url()
        if settings.REQUIRE_MFA and not services.mfa_enrolled(user=user):
            # A password alone never reaches enrolment: whoever knows it could set up their own
            # phone and own the account. A new app is set up only through the set-up link.
            audit_record(
                actor=None, action="auth.login_refused_not_enrolled", changes={"username": user.username}
            )
            form.add_error(
                None,
                "Two-factor authentication is not set up for this account yet. Open the set-up link "
                "you were sent, or ask a practice manager for a new one.",
            )
            return self.form_invalid(form)
        if services.mfa_enrolled(user=user):
            self.request.session[PENDING_KEY] = {
                "user": user.pk,
                "backend": user.backend,
                "at": int(time.time()),
                "next": next_url,
            }
            return redirect("account:mfa_verify")
        auth_login(self.request, user)
        return HttpResponseRedirect(next_url)


def _pending_user(request):
    """(user, pending data) of a log-in waiting for its code; (None, reason) when there is none."""
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None, None
    if time.time() - data.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None, "expired"
    user = get_user_model().objects.filter(pk=data.get("user"), is_active=True).first()
    return user, data


def _abandon(request) -> None:
    request.session.pop(PENDING_KEY, None)
    if request.user.is_authenticated:
        logout(request)


@require_http_methods(["GET", "POST"])
def mfa_verify(request):
    pending = None
    if request.user.is_authenticated:
        # A session signed in before its user set up the app (or by the admin's log-in).
        user = request.user
        next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
        if mfa_pending_step(user) != "verify":
            return redirect(next_url)
    else:
        user, pending = _pending_user(request)
        if user is not None and not services.mfa_enrolled(user=user):
            # Reset meanwhile: the password step decides again what comes next.
            request.session.pop(PENDING_KEY, None)
            user = None
        if user is None:
            if pending == "expired":
                messages.info(request, "That took too long. Enter your password again.")
            return redirect("login")
        next_url = _safe_next(request, pending.get("next"))

    if not AxesProxyHandler.is_allowed(request, {"username": user.get_username()}):
        _abandon(request)
        return lockout_response(request)

    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = services.mfa_verify(user=user, code=form.submitted_code, request=request)
        if result.ok:
            if pending is not None:
                request.session.pop(PENDING_KEY, None)
                user.otp_device = result.device  # django-otp keeps it in the new session
                auth_login(request, user, backend=pending["backend"])
            else:
                otp_login(request, result.device)
            if result.method == "recovery_code":
                messages.warning(
                    request,
                    f"Recovery code used: {result.recovery_codes_left} left. "
                    "Generate new ones under Security if you are running low.",
                )
            return redirect(next_url)
        if getattr(request, "axes_locked_out", False):
            _abandon(request)
            return lockout_response(request)
        if result.throttled_until is not None:
            wait = services.seconds_until(result.throttled_until)
            form.add_error(None, f"Too many wrong codes in a row: wait {wait} seconds, then try again.")
        else:
            form.add_error(None, "That code is not right. Try the newest code, or a recovery code.")
    return render(
        request,
        "registration/mfa_verify.html",
        {"form": form, "next": next_url},
    )


@login_required
@require_http_methods(["GET", "POST"])
def mfa_enrol(request):
    user = request.user
    enrolled = services.mfa_enrolled(user=user)
    if enrolled and not user.is_verified():
        return redirect("account:mfa_verify")
    if not enrolled and settings.REQUIRE_MFA:
        # Only the set-up link leads to a first authenticator (clinic.accounts); a session without
        # one does not exist in this mode (MfaRequiredMiddleware ends it), but never enrol it here.
        return redirect("login")
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    # The secret stays in the (server-side) session until confirmed: reloading the page does
    # not change the QR code, and an abandoned set-up leaves nothing behind.
    key = request.session.get(ENROL_KEY)
    if not key:
        key = request.session[ENROL_KEY] = services.enrolment_key_new()
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = services.mfa_enrol(user=user, key=key, code=form.cleaned_data["code"])
        except services.InvalidCode as exc:
            form.add_error("code", exc.detail)
        else:
            request.session.pop(ENROL_KEY, None)
            otp_login(request, device)
            account_email_send(user=user, kind="mfa_enrolled", at=timezone.now())
            request.session[FRESH_CODES_KEY] = codes
            return redirect(_with_next(reverse("account:recovery_codes"), next_url))
    return render(
        request,
        "registration/mfa_enrol.html",
        {
            "form": form,
            "details": services.enrolment_details(user=user, key=key),
            "replacing": enrolled,
            "confined": not enrolled and settings.REQUIRE_MFA,
            "next": next_url,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def recovery_codes(request):
    """POST: new recovery codes. GET: shows codes just made, once; otherwise back to Security."""
    if request.method == "POST":
        try:
            codes = services.recovery_codes_regenerate(user=request.user)
        except Invalid as exc:
            messages.error(request, exc.detail)
            return redirect("account:security")
        request.session[FRESH_CODES_KEY] = codes
        return redirect("account:recovery_codes")
    codes = request.session.pop(FRESH_CODES_KEY, None)
    if not codes:
        return redirect("account:security")
    return render(
        request,
        "registration/mfa_recovery_codes.html",
        {
            "codes": [services.format_recovery_code(c) for c in codes],
            "next": _safe_next(request, request.GET.get("next")),
        },
    )


@login_required
def security(request):
    device = services.mfa_device(user=request.user)
    return render(
        request,
        "registration/mfa_security.html",
        {
            "device": device,
            "codes_left": services.recovery_codes_left(user=request.user) if device else 0,
            "require_mfa": settings.REQUIRE_MFA,
        },
    )
