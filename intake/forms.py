"""Forms of the public request page and the triage pages. Each field is the model field's own
form field (its length and validators), so the bounds are written once, on the model."""

from datetime import datetime

from django import forms

from scheduling.models import AppointmentType, Provider, Room

from .models import DECLINE_MESSAGE_MAX, PRIOR_TREATMENTS_MAX, PROBLEM_MAX, ConsultationRequest
from .services import REFERRAL_FIELDS, REQUEST_FIELDS

HONEYPOT = "website"

_LABELS = {
    "problem": "What is the problem?",
    "affected_side": "Which side of the face?",
    "duration": "How long have you had it?",
    "prior_treatments": "Treatments you have had for it",
    "phone": "Phone number",
    "email": "Email address",
}
_HELP = {
    "problem": "A few sentences are enough.",
    "duration": "For example: 8 months, since 2019.",
    "phone": "With the country code if outside the UK, e.g. +44 7700 900123.",
}
_TEXTAREAS = {"problem": PROBLEM_MAX, "prior_treatments": PRIOR_TREATMENTS_MAX}
_AUTOCOMPLETE = {
    "first_name": "given-name",
    "last_name": "family-name",
    "date_of_birth": "bday",
    "email": "email",
    "phone": "tel",
}


def _field(name: str) -> forms.Field:
    model_field = ConsultationRequest._meta.get_field(name)
    field: forms.Field
    if name in _TEXTAREAS:
        field = forms.CharField(
            max_length=_TEXTAREAS[name],
            required=not model_field.blank,
            widget=forms.Textarea(attrs={"rows": 4}),
        )
    elif name == "date_of_birth":
        field = model_field.formfield(widget=forms.DateInput(attrs={"type": "date"}))
    else:
        field = model_field.formfield()
    field.label = _LABELS.get(name, field.label)
    field.help_text = _HELP.get(name, "")
    if name in _AUTOCOMPLETE:
        field.widget.attrs["autocomplete"] = _AUTOCOMPLETE[name]
    return field


class _RequestForm(forms.Form):
    FIELDS: tuple[str, ...] = REQUEST_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.FIELDS:
            if name != "consent_to_contact":
                self.fields[name] = _field(name)

    def clean(self):
        data = super().clean()
        if not data.get("email") and not data.get("phone") and "email" not in self.errors:
            self.add_error("email", "Give an email address or a phone number, so that we can reach you.")
        return data

    def request_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.FIELDS}


class PublicRequestForm(_RequestForm):
    consent_to_contact = forms.BooleanField(
        required=True,
        label="I agree that the clinic may contact me about this request by email or phone.",
        error_messages={"required": "Tick this box so that the clinic may contact you."},
    )
    # A field people never see (hidden by the stylesheet, skipped by keyboard and screen
    # readers); programs that fill every field fill it, and their post is dropped.
    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    field_order = [*REQUEST_FIELDS, HONEYPOT]

    def is_bot(self) -> bool:
        return bool(self.data.get(HONEYPOT, ""))


class ReferralForm(_RequestForm):
    FIELDS = REFERRAL_FIELDS
    consent_to_contact = forms.BooleanField(
        required=False, label="The patient agreed to be contacted by the clinic."
    )

    field_order = ["referrer_name", "referrer_contact", *REQUEST_FIELDS]


class DeclineForm(forms.Form):
    message = forms.CharField(
        max_length=DECLINE_MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        label="Message to the requester",
        help_text="Sent by email to the requester, once.",
    )


class AcceptForm(forms.Form):
    """Whom to book (a matched patient, or a new registration) and which free slot."""

    patient = forms.ChoiceField(label="Patient")
    appointment_type = forms.ModelChoiceField(queryset=AppointmentType.objects.filter(is_active=True))
    # "<provider id>|<room id>|<start, ISO 8601>", as the page offers the free slots. Whether the
    # slot is still free is the booking service's question, asked under its locks.
    slot = forms.CharField(max_length=80, error_messages={"required": "Choose a free slot."})
    confirm_not_duplicate = forms.BooleanField(
        required=False, label="I checked: the requester is none of the patients listed above."
    )

    def __init__(self, *args, patient_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].choices = [("new", "Register as a new patient"), *patient_choices]

    def clean_slot(self):
        provider_id, _, rest = self.cleaned_data["slot"].partition("|")
        room_id, _, start = rest.partition("|")
        try:
            starts_at = datetime.fromisoformat(start)
        except ValueError:
            starts_at = None
        if not (provider_id.isdigit() and room_id.isdigit() and len(provider_id + room_id) < 30) or (
            starts_at is None or starts_at.tzinfo is None
        ):
            raise forms.ValidationError("Choose one of the free slots offered.")
        provider = Provider.objects.filter(pk=int(provider_id)).select_related("user").first()
        room = Room.objects.filter(pk=int(room_id)).first()
        if provider is None or room is None:
            raise forms.ValidationError("Choose one of the free slots offered.")
        return {"provider": provider, "room": room, "starts_at": starts_at}


def slot_value(provider_id: int, room_id: int, start: datetime) -> str:
    return f"{provider_id}|{room_id}|{start.isoformat()}"
