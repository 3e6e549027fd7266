"""The lot recall campaign action on the lot page (/clinical/lots/<pk>/campaign/)."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from clinic.views import capability_required

from . import lot_outreach
from .models import ToxinLot


class LotCampaignForm(forms.Form):
    subject = forms.CharField(max_length=150, initial=lot_outreach.DEFAULT_SUBJECT)
    body = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), initial=lot_outreach.DEFAULT_BODY
    )
    sms = forms.CharField(label="SMS text", max_length=300, initial=lot_outreach.DEFAULT_SMS)


# Recipients are clinical data; a lot recall is a clinical safety action, taken by those who inject.
@capability_required("clinic.view_clinical", "clinic.record_toxin")
@require_POST
def lot_campaign(request, pk: int):
    lot = get_object_or_404(ToxinLot, pk=pk)
    form = LotCampaignForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[k].label or k}: {' '.join(v)}" for k, v in form.errors.items())
        messages.error(request, f"Message not sent. {errors}")
        return redirect("treatments:lot", pk=pk)
    result = lot_outreach.lot_campaign_send(lot=lot, actor=request.user, **form.cleaned_data)
    if result["messages"]:
        messages.success(
            request,
            f"Message planned to {result['patients']} patient(s): {result['messages']} message(s). "
            "Follow delivery in the message log.",
        )
    else:
        messages.warning(
            request, "Nothing new to send: these patients were already messaged today about this lot."
        )
    return redirect("treatments:lot", pk=pk)
