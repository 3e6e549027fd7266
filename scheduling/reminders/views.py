"""Staff pages: the recall worklist and the message log."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages as flash
from django.shortcuts import get_object_or_404, redirect, render
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.errors import DomainError
from clinic.paging import CappedPaginator
from clinic.redirects import safe_next
from clinic.templatetags.clinic_tags import options
from clinic.views import capability_required

from ..models import Message, Provider, Recall, RecallContact
from ..templatetags.scheduling_tags import url_maker
from . import selectors, services


class ContactForm(forms.ModelForm):
    class Meta:
        model = RecallContact
        fields = ["method", "outcome"]
        widgets = {
            "outcome": forms.TextInput(attrs={"placeholder": "e.g. booked for 3 March, will call back"})
        }


class CloseForm(forms.Form):
    reason = forms.CharField(
        max_length=300, widget=forms.TextInput(attrs={"placeholder": "e.g. declined, moved away"})
    )


def _int_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@capability_required("clinic.work_recalls")
def worklist(request):
    today = timezone.localdate()
    bucket = request.GET.get("bucket") or selectors.Bucket.DUE
    if bucket not in dict(selectors.Bucket.CHOICES):
        bucket = selectors.Bucket.DUE
    kind = request.GET.get("kind") if request.GET.get("kind") in Recall.Kind.values else None
    provider_id = _int_param(request, "provider")
    recalls = selectors.recall_worklist(today=today, bucket=bucket, kind=kind, provider_id=provider_id)
    page = CappedPaginator(recalls, WORKLIST_PAGE_SIZE).get_page(request.GET.get("page"))
    _prepare_rows(page.object_list)
    context = {
        "page": page,
        "bucket": bucket,
        "buckets": selectors.Bucket.CHOICES,
        "counts": selectors.recall_counts(today=today),
        "count_cap": f"{selectors.TAB_COUNT_CAP:,}+",
        "kinds": Recall.Kind.choices,
        "kind": kind or "",
        "providers": [(p.pk, str(p)) for p in Provider.objects.filter(is_active=True).select_related("user")],
        "provider_id": provider_id,
        "contact_form": ContactForm(),
        "method_options": _method_options(),
        "csrf_input": csrf_input(request),
        "today": today,
        "can_book": _can_book(request.user),
    }
    return render(request, "reminders/worklist.html", context)


# The worklist's rows each carry two small forms; a page of 25 renders in a few milliseconds.
WORKLIST_PAGE_SIZE = 25


def _prepare_rows(recalls) -> None:
    """What every row links to, from one reverse() per route instead of template tags per row."""
    chart = url_maker("patients:chart")
    contact = url_maker("reminders:contact", "recall_id")
    close = url_maker("reminders:close", "recall_id")
    book = reverse("scheduling:book")
    for recall in recalls:
        recall.book_url = f"{book}?" + urlencode(
            {
                "patient": recall.patient_id,
                "appointment_type": recall.appointment_type_id,
                **({"provider": recall.preferred_provider_id} if recall.preferred_provider_id else {}),
            }
        )
        recall.chart_url = chart(recall.patient_id)
        recall.contact_url = contact(recall.pk)
        recall.close_url = close(recall.pk)


def _can_book(user) -> bool:
    return user.has_perms(["clinic.book_appointments", "clinic.view_demographics"])


def _method_options():
    """The contact form's method choices, rendered once for every row of the page."""
    return options(ContactForm.base_fields["method"].choices)


def _row(request, recall_id: int, **extra):
    recall = selectors.recall_worklist(today=timezone.localdate()).get(pk=recall_id)
    _prepare_rows([recall])
    return render(
        request,
        "reminders/_recall_row.html",
        {
            "recall": recall,
            "contact_form": ContactForm(),
            "method_options": _method_options(),
            "csrf_input": csrf_input(request),
            "today": timezone.localdate(),
            "can_book": _can_book(request.user),
            **extra,
        },
    )


@require_POST
@capability_required("clinic.work_recalls")
def contact(request, recall_id: int):
    recall = get_object_or_404(Recall, pk=recall_id)
    form = ContactForm(request.POST)
    if form.is_valid():
        services.recall_contact_log(recall=recall, actor=request.user, **form.cleaned_data)
        if not request.htmx:
            flash.success(request, "Contact logged.")
            return redirect("reminders:recalls")
        return _row(request, recall.pk, saved=True)
    if not request.htmx:
        flash.error(request, "Choose how the patient was contacted.")
        return redirect("reminders:recalls")
    return _row(request, recall.pk, contact_form=form)


@require_POST
@capability_required("clinic.work_recalls")
def close(request, recall_id: int):
    recall = get_object_or_404(Recall, pk=recall_id)
    form = CloseForm(request.POST)
    if not form.is_valid():
        flash.error(request, "Say why the recall is closed.")
    else:
        try:
            services.recall_close(recall=recall, reason=form.cleaned_data["reason"], actor=request.user)
            flash.success(request, "Recall closed: no more reminders will be sent.")
        except DomainError as exc:
            flash.error(request, exc.detail)
    return redirect(safe_next(request, request.POST.get("next"), "reminders:recalls"))


@capability_required("clinic.work_recalls")
def message_log(request):
    status = request.GET.get("status") if request.GET.get("status") in Message.Status.values else None
    kind = request.GET.get("kind") if request.GET.get("kind") in Message.Kind.values else None
    channel = request.GET.get("channel") if request.GET.get("channel") in Message.Channel.values else None
    log = selectors.message_log(
        status=status, kind=kind, channel=channel, patient_id=_int_param(request, "patient")
    )
    page = CappedPaginator(log, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "reminders/messages.html",
        {
            "page": page,
            "statuses": Message.Status.choices,
            "kinds": Message.Kind.choices,
            "channels": Message.Channel.choices,
            "filters": {"status": status or "", "kind": kind or "", "channel": channel or ""},
            "failures": selectors.message_failure_summary(),
        },
    )
