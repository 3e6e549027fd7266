from django import forms
from django.utils import timezone

from treatments.models import Encounter

from .models import PhotoConsent


class PhotoSetForm(forms.Form):
    taken_at = forms.DateTimeField(
        label="Taken at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    encounter = forms.ModelChoiceField(
        label="Encounter",
        queryset=Encounter.objects.none(),
        required=False,
        empty_label="None: a photo visit of its own",
        help_text="The visit these photographs belong to, if any.",
    )
    note = forms.CharField(label="Note", max_length=300, required=False)

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["encounter"].queryset = Encounter.objects.filter(patient=patient).order_by("-occurred_at")
        self.fields["encounter"].label_from_instance = lambda e: (
            f"{e.get_kind_display()}, {timezone.localtime(e.occurred_at):%d %b %Y}"
        )
        if not self.is_bound:
            self.initial.setdefault("taken_at", timezone.localtime().replace(second=0, microsecond=0))


class PhotoConsentForm(forms.Form):
    level = forms.ChoiceField(
        label="Photographs may be used for", choices=PhotoConsent.Level.choices, widget=forms.RadioSelect
    )
    given_on = forms.DateField(label="Consent given on", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label="Note", max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("given_on", timezone.localdate())


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=300)
