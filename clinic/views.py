from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django_htmx.http import HttpResponseClientRedirect

from . import configuration
from .errors import DomainError
from .forms import ClinicSettingsForm, form_errors_add
from .models import AuditEvent, ClinicSettings
from .paging import CappedPaginator
from .permissions import is_staff_member
from .roles import Role


def capability_required(*perms: str):
    """Page decorator: a logged-in staff member holding every permission in ``perms``."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated and getattr(request, "htmx", False):
                # A fragment asked for after the session ended (a chart panel, a search box):
                # the login page belongs in the window, not swapped into the fragment's place.
                back = request.htmx.current_url_abs_path or request.get_full_path()
                return HttpResponseClientRedirect(redirect_to_login(back).url)
            return protected(request, *args, **kwargs)

        @login_required
        def protected(request, *args, **kwargs):
            if not is_staff_member(request.user) or not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# Where each role starts its day; the first page that exists wins.
ROLE_HOME = {
    Role.FRONT_DESK: ["scheduling:day", "patients:list"],
    Role.SURGEON: ["scheduling:my_day", "patients:list"],
    Role.INJECTOR: ["scheduling:my_day", "patients:list"],
    Role.THERAPIST: ["scheduling:my_day", "patients:list"],
    Role.MANAGER: ["clinic:audit"],
}


@capability_required()
def home(request):
    """Send each role to where its day starts; fall back to an overview of what it can do."""
    for role in request.user.role_names:
        for name in ROLE_HOME.get(role, []):
            try:
                return redirect(reverse(name))
            except NoReverseMatch:
                continue
    return render(request, "clinic/home.html", {"roles": request.user.role_names})


ADMIN_REFUSED = "The admin site is for superusers only."


def admin_login(request):
    """Where Django's admin sends whoever it does not let in. Someone not logged in logs in
    through the clinic's log-in (second factor included) and comes back; a logged-in member of
    staff who is not a superuser goes home with a message: sending them to the log-in would
    send them straight back to the admin, for ever."""
    if request.user.is_authenticated:
        messages.error(request, ADMIN_REFUSED)
        return redirect("home")
    return redirect_to_login(request.GET.get("next") or "/admin/")


@capability_required("clinic.view_audit")
def audit_list(request):
    events = AuditEvent.objects.select_related("target_type").order_by("-at", "-id")
    action = request.GET.get("action", "").strip()[:64]
    actor = request.GET.get("actor", "").strip()[:150]
    patient = request.GET.get("patient", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    if actor:
        events = events.filter(actor_label=actor)
    if patient.isdigit() and len(patient) < 19:
        events = events.filter(patient_id=int(patient))
    page = CappedPaginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "clinic/audit_list.html",
        {"page": page, "filters": {"action": action, "actor": actor, "patient": patient}},
    )


@capability_required("clinic.manage_settings")
def clinic_settings(request):
    """The clinic settings page: the settings row, the sections other apps contribute (the
    reinjection interval of each product, from treatments) and the latest changes."""
    status = 200
    if request.method == "POST":
        form = ClinicSettingsForm(request.POST, instance=ClinicSettings.load())
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in configuration.SETTINGS_FIELDS}
            try:
                configuration.clinic_settings_update(actor=request.user, data=data)
            except DomainError as exc:
                form_errors_add(form, exc)
                status = exc.status
            else:
                messages.success(request, "Clinic settings saved.")
                return redirect("clinic:settings")
        else:
            status = 400
    else:
        form = ClinicSettingsForm(instance=ClinicSettings.load())
    current = ClinicSettings.load()
    sections = [
        {
            "section": section,
            "html": render_to_string(
                section.template,
                {"section": section, **section.context(user=request.user, clinic_settings=current)},
                request=request,
            ),
        }
        for section in configuration.settings_sections()
    ]
    return render(
        request,
        "clinic/settings.html",
        {"form": form, "sections": sections, "history": configuration.settings_history()},
        status=status,
    )
