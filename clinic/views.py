from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django_htmx.http import HttpResponseClientRedirect

from .models import AuditEvent
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
