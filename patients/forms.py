"""Forms of the patient pages. They validate for display; the services validate again and write."""

from django import forms
from django.core.exceptions import ValidationError

from .models import MessagingConsent, Patient
from .services import DEACTIVATION_REASONS, EDITABLE_FIELDS

# Staff type other people's details: the browser must not offer to fill in their own.
_AUTOCOMPLETE = {
    "first_name": "off",
    "last_name": "off",
    "email": "off",
    "mobile": "off",
    "postcode": "off",
}
_FIELDSETS = (
    ("Name and birth", ("first_name", "last_name", "preferred_name", "date_of_birth", "sex")),
    ("Contact", ("mobile", "email", "language")),
    ("Address", ("address_line1", "address_line2", "city", "postcode", "country")),
    ("Emergency contact", ("emergency_contact_name", "emergency_contact_phone")),
    ("Referral and GP", ("referring_clinician", "referrer_email", "gp_name", "gp_practice", "gp_email")),
)
CLINICAL_FIELDSETS = (
    ("Facial palsy history", ("affected_side", "palsy_cause", "palsy_cause_detail", "palsy_onset_date")),
    ("Previous treatment", ("prior_toxin", "prior_therapy", "prior_surgery", "previous_treatments")),
    ("Safety", ("on_anticoagulants", "allergies", "medications")),
)


class AccessibleFormMixin:
    """Error messages linked to their fields (aria-describedby) and flagged (aria-invalid)."""

    def _link_errors(self) -> None:
        for name, field in self.fields.items():
            described = [f"errors-{self.add_prefix(name)}"]
            if field.help_text:
                described.append(f"help-{self.add_prefix(name)}")
            field.widget.attrs["aria-describedby"] = " ".join(described)
            if self.is_bound and name in self.errors:
                field.widget.attrs["aria-invalid"] = "true"

    def full_clean(self):
        super().full_clean()
        self._link_errors()


class PatientForm(AccessibleFormMixin, forms.ModelForm):
    """Registration and edit. Clinical fields are only present for clinical staff."""

    class Meta:
        model = Patient
        fields = list(EDITABLE_FIELDS)
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "palsy_onset_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "previous_treatments": forms.Textarea(attrs={"rows": 3}),
            "allergies": forms.Textarea(attrs={"rows": 2}),
            "medications": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {
            "address_line1": "Address line 1",
            "address_line2": "Address line 2",
            "palsy_cause": "Cause",
            "palsy_cause_detail": "Cause, details",
            "palsy_onset_date": "Onset date",
            "on_anticoagulants": "On anticoagulants",
            "prior_toxin": "Botulinum toxin before",
            "prior_therapy": "Facial therapy before",
            "prior_surgery": "Facial surgery before",
        }
        help_texts = {
            "mobile": "Reminders go here by SMS, e.g. 07700 100123 or +33 6 12 34 56 78.",
        }

    def __init__(self, *args, clinical: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinical = clinical
        if not clinical:
            for name in Patient.CLINICAL_FIELDS:
                del self.fields[name]
        for name, value in _AUTOCOMPLETE.items():
            self.fields[name].widget.attrs["autocomplete"] = value
        self.fields["date_of_birth"].input_formats = ["%Y-%m-%d", "%d/%m/%Y"]
        if "palsy_onset_date" in self.fields:
            self.fields["palsy_onset_date"].input_formats = ["%Y-%m-%d", "%d/%m/%Y"]
        self._link_errors()

    def fieldsets(self):
        groups = list(_FIELDSETS) + (list(CLINICAL_FIELDSETS) if self.clinical else [])
        return [(title, [self[name] for name in names]) for title, names in groups]

    def clean(self):
        data = super().clean()
        born, onset = data.get("date_of_birth"), data.get("palsy_onset_date")
        if born and onset and onset < born:
            self.add_error("palsy_onset_date", "The onset cannot be before the date of birth.")
        return data

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.fields}


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: next to the field, or above the form."""
    messages = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for name, field_messages in messages.items():
        target = name if name in form.fields else None
        for message in field_messages:
            form.add_error(target, message)
    if isinstance(form, AccessibleFormMixin):
        form._link_errors()


class DeactivateForm(AccessibleFormMixin, forms.Form):
    reason = forms.ChoiceField(
        choices=[(r.value, r.label) for r in DEACTIVATION_REASONS], widget=forms.RadioSelect, label="Reason"
    )
    note = forms.CharField(max_length=200, required=False, label="Note", help_text="Required for “Other”.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._link_errors()


class ConsentForm(AccessibleFormMixin, forms.Form):
    channel = forms.ChoiceField(choices=MessagingConsent.Channel.choices)
    purposes = forms.MultipleChoiceField(
        choices=MessagingConsent.Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=MessagingConsent.Purpose.values,
        label="For",
    )
    granted = forms.TypedChoiceField(
        choices=[("true", "Gives consent"), ("false", "Withdraws consent (opt out)")],
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
        initial="true",
        label="Decision",
    )
    method = forms.ChoiceField(
        choices=[c for c in MessagingConsent.Method.choices if c[0] != MessagingConsent.Method.MERGE],
        label="How",
    )
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "consent")
        super().__init__(*args, **kwargs)
        self._link_errors()
