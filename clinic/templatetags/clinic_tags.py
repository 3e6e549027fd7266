from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def clinic_contact():
    """The clinic's name, phone number and address as patients see them (the clinic settings)."""
    from clinic.models import ClinicSettings

    current = ClinicSettings.load()
    return {"name": current.display_name, "phone": current.clinic_phone, "address": current.clinic_address}


# (url name, label, permission needed). Pages that do not exist yet are skipped.
NAV = [
    ("scheduling:day", "Schedule", "clinic.book_appointments"),
    ("patients:list", "Patients", "clinic.view_demographics"),
    ("intake:queue", "Requests", "clinic.book_appointments"),
    ("reminders:recalls", "Recalls", "clinic.work_recalls"),
    ("reminders:messages", "Messages", "clinic.work_recalls"),
    ("treatments:lots", "Toxin lots", "clinic.manage_lots"),
    ("mdt:meetings", "MDT", "clinic.view_clinical"),
    ("mdt:tasks", "MDT tasks", "clinic.view_demographics"),
    ("insight:dashboard", "Dashboard", "clinic.manage_schedule"),
    ("treatments:interval_findings", "Interval findings", "clinic.review_interval_findings"),
    ("clinic:audit", "Audit trail", "clinic.view_audit"),
    ("clinic:staff", "Staff", "clinic.manage_staff"),
    ("clinic:settings", "Settings", "clinic.manage_settings"),
    ("api-docs", "API", None),
]


@register.simple_tag(takes_context=True)
def nav_links(context):
    request = context["request"]
    links = []
    for name, label, perm in NAV:
        if perm and not request.user.has_perm(perm):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        links.append({"url": url, "label": label, "active": False})
    # The most specific link whose address starts the current path is the current page.
    matches = [link for link in links if request.path.startswith(link["url"]) and link["url"] != "/"]
    if matches:
        max(matches, key=lambda link: len(link["url"]))["active"] = True
    return links


@register.simple_tag
def options(choices, selected=None):
    """``<option>`` elements for (value, label) pairs, ``selected`` marked: one call for a long
    list (hundreds of clinicians in a filter) instead of a template loop over it."""
    chosen = "" if selected is None else str(selected)
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, mark_safe(" selected") if str(value) == chosen else "", label) for value, label in choices),
    )
