"""Pages: the set-up link, the user's own password and sessions, and the practice manager's
staff page (invite, roles, deactivate, two-factor reset, password-reset link, sign out)."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout, update_session_auth_hash
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.errors import DomainError
from clinic.forms import form_errors_add
from clinic.lockout import lockout_response
from clinic.mfa import services as mfa
from clinic.mfa.views import ENROL_KEY, FRESH_CODES_KEY
from clinic.queries import related_count
from clinic.roles import Role
from clinic.views import capability_required

from . import services
from .forms import DeliveryForm, InviteForm, LinkSetUpForm, PasswordChangeForm, RolesForm
from .models import AccountLink

# The link being used, in the (server-side) session: the token leaves the address bar at once,
# so it is in no Referer header and no later log line. Held for as long as a set-up may take.
LINK_KEY = "_account_link"
LINK_SESSION_SECONDS = 30 * 60
SHOWN_LINK_KEY = "_staff_link_shown"
BACKEND = "clinic.backends.ModelBackend"


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# --- The set-up link


@require_GET
def link_open(request, token: str):
    link = services.account_link_find(token)
    if link is None:
        return render(request, "accounts/link_invalid.html", status=404)
    if request.user.is_authenticated:
        logout(request)  # someone else's session on this browser: it is not theirs to continue
    request.session[LINK_KEY] = {"id": link.pk, "at": int(time.time())}
    request.session.pop(ENROL_KEY, None)
    return redirect("account:link_set_up")


def _session_link(request) -> AccountLink | None:
    data = request.session.get(LINK_KEY)
    if not isinstance(data, dict) or time.time() - data.get("at", 0) > LINK_SESSION_SECONDS:
        return None
    link = AccountLink.objects.select_related("user").filter(pk=data.get("id")).first()
    if link is None or not link.usable or not link.user.is_active:
        return None
    return link


@require_http_methods(["GET", "POST"])
def link_set_up(request):
    link = _session_link(request)
    if link is None:
        request.session.pop(LINK_KEY, None)
        return render(request, "accounts/link_invalid.html", status=404)
    user = link.user
    needs_code = services.link_needs_enrolment(link)
    form = LinkSetUpForm(
        request.POST or None,
        needs_current=link.purpose == AccountLink.Purpose.ENROL,
        needs_password=services.link_needs_password(link),
        needs_code=needs_code,
    )
    key = None
    if needs_code:
        key = request.session.get(ENROL_KEY)
        if not key:
            key = request.session[ENROL_KEY] = mfa.enrolment_key_new()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            done = services.account_link_redeem(
                link=link,
                request=request,
                new_password=data.get("new_password"),
                current_password=data.get("current_password"),
                enrol_key=key,
                code=data.get("code"),
            )
        except services.LinkInvalid:
            request.session.pop(LINK_KEY, None)
            return render(request, "accounts/link_invalid.html", status=404)
        except DomainError as exc:
            if getattr(request, "axes_locked_out", False):
                request.session.pop(LINK_KEY, None)
                return lockout_response(request)
            form_errors_add(form, exc)
        else:
            request.session.pop(LINK_KEY, None)
            request.session.pop(ENROL_KEY, None)
            done.user.otp_device = done.device
            auth_login(request, done.user, backend=BACKEND)
            if done.device is not None:
                otp_login(request, done.device)
            if done.recovery_codes:
                request.session[FRESH_CODES_KEY] = done.recovery_codes
                return redirect("account:recovery_codes")
            messages.success(request, "Your password is set.")
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(
        request,
        "accounts/link_set_up.html",
        {
            "form": form,
            "link": link,
            "account": user,
            "details": mfa.enrolment_details(user=user, key=key) if key else None,
        },
    )


# --- The user's own account


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request):
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(
                user=request.user,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
                request=request,
            )
        except DomainError as exc:
            if getattr(request, "axes_locked_out", False):
                logout(request)
                return lockout_response(request)
            form_errors_add(form, exc)
        else:
            # This session stays signed in; every other one ends.
            update_session_auth_hash(request, request.user)
            messages.success(request, "Your password was changed. Your other sessions were signed out.")
            return redirect("account:security")
    return render(request, "accounts/password_change.html", {"form": form})


@login_required
@require_POST
def sign_out_everywhere(request):
    services.sign_out_everywhere(user=request.user, actor=request.user)
    logout(request)
    messages.info(request, "You were signed out everywhere, here too.")
    return redirect("login")


# --- The practice manager's staff page


@capability_required("clinic.manage_staff")
def staff_list(request):
    staff = (
        get_user_model()
        .objects.prefetch_related("groups")
        .annotate(
            mfa_enrolled=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            recovery_left=related_count(
                StaticToken.objects.filter(device__confirmed=True), to="device__user"
            ),
        )
        .order_by("-is_active", "last_name", "first_name", "username")
    )
    shown = request.session.pop(SHOWN_LINK_KEY, None)
    if shown:
        shown["expires_at"] = parse_datetime(shown["expires_at"])
    return render(
        request,
        "clinic/staff_list.html",
        {"staff": staff, "require_mfa": settings.REQUIRE_MFA, "roles": Role.choices, "shown_link": shown},
    )


def _show_once(request, user, link: services.IssuedLink, what: str) -> None:
    if link.emailed:
        messages.success(request, f"{what} The link went to {user.display_name}'s email address.")
        return
    request.session[SHOWN_LINK_KEY] = {
        "name": user.display_name,
        "url": link.url,
        "expires_at": link.expires_at.isoformat(),
    }
    messages.success(request, f"{what} Hand the link below to {user.display_name}: it is shown only now.")


@capability_required("clinic.manage_staff")
@require_http_methods(["GET", "POST"])
def staff_invite(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, link = services.staff_invite(
                actor=request.user,
                username=data["username"],
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                title=data["title"],
                roles=data["roles"],
                send_email=data["delivery"] == "email",
            )
        except DomainError as exc:
            form_errors_add(form, exc)
        else:
            _show_once(request, user, link, f"Account {user.username} made.")
            return redirect("clinic:staff")
    return render(
        request, "accounts/staff_invite.html", {"form": form, "link_hours": settings.ACCOUNT_LINK_HOURS}
    )


def _staff_action(request, pk: int, action) -> object:
    member = get_object_or_404(get_user_model(), pk=pk)
    try:
        action(member)
    except DomainError as exc:
        problems = [str(m) for errors in exc.fields.values() for m in _as_list(errors)]
        messages.error(request, " ".join(problems) or exc.detail)
    return redirect("clinic:staff")


@capability_required("clinic.manage_staff")
@require_POST
def staff_roles(request, pk: int):
    form = RolesForm(request.POST)

    def act(member):
        if not form.is_valid():
            raise services.Invalid("Choose at least one role.")
        services.staff_roles_set(actor=request.user, user=member, roles=form.cleaned_data["roles"])
        messages.success(request, f"Roles of {member.display_name} saved.")

    return _staff_action(request, pk, act)


@capability_required("clinic.manage_staff")
@require_POST
def staff_deactivate(request, pk: int):
    def act(member):
        services.staff_deactivate(actor=request.user, user=member)
        messages.success(request, f"{member.display_name} was deactivated and signed out everywhere.")

    return _staff_action(request, pk, act)


@capability_required("clinic.manage_staff")
@require_POST
def staff_mfa_reset(request, pk: int):
    form = DeliveryForm(request.POST)
    form.is_valid()

    def act(member):
        link = services.staff_mfa_reset(
            actor=request.user,
            user=member,
            reason=form.cleaned_data.get("reason", ""),
            send_email=form.send_email,
        )
        _show_once(
            request,
            member,
            link,
            f"Two-factor authentication of {member.display_name} was reset and they were signed out "
            "everywhere; they set up a new app with their set-up link.",
        )

    return _staff_action(request, pk, act)


@capability_required("clinic.manage_staff")
@require_POST
def staff_password_reset(request, pk: int):
    form = DeliveryForm(request.POST)
    form.is_valid()

    def act(member):
        link = services.staff_password_reset(actor=request.user, user=member, send_email=form.send_email)
        _show_once(request, member, link, f"Password-reset link for {member.display_name} made.")

    return _staff_action(request, pk, act)


@capability_required("clinic.manage_staff")
@require_POST
def staff_sign_out(request, pk: int):
    def act(member):
        services.staff_sign_out(actor=request.user, user=member)
        messages.success(request, f"{member.display_name} was signed out everywhere.")

    return _staff_action(request, pk, act)
