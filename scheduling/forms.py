"""Forms of the scheduling pages. They parse input; the services decide."""

from django import forms
from phonenumber_field.formfields import PhoneNumberField

from clinic.validators import validate_clinic_year
from clinic.widgets import FastSelect
from patients.models import Patient

from .models import Appointment, AppointmentType, Provider, Room
from .selectors import choices_of
from .services import CANCELLED_BY, CORRECTIONS, MAX_BOOKED_MINUTES, MIN_BOOKED_MINUTES

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class ProviderChoiceField(forms.ModelChoiceField):
    widget = FastSelect

    def label_from_instance(self, obj):
        return f"{obj.user.display_name} ({obj.get_role_display()})"


def _start_field(**kw) -> forms.DateTimeField:
    return forms.DateTimeField(
        label="Start",
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 900}, format=DATETIME_LOCAL),
        help_text="Clinic time, on the quarter hour.",
        **kw,
    )


def _providers():
    return Provider.objects.filter(is_active=True).select_related("user")


class BookingForm(forms.Form):
    patient = forms.ModelChoiceField(
        queryset=Patient.objects.filter(status=Patient.Status.ACTIVE),
        widget=forms.HiddenInput,
        error_messages={
            "required": "Find and choose a patient.",
            "invalid_choice": "Find and choose a patient.",
        },
    )
    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.filter(is_active=True), label="Appointment type"
    )
    provider = ProviderChoiceField(queryset=_providers(), label="With")
    start = _start_field()
    room = forms.ModelChoiceField(
        queryset=choices_of(Room).filter(is_active=True),
        required=False,
        empty_label="Any free room",
        widget=FastSelect,
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)",
        min_value=MIN_BOOKED_MINUTES,
        max_value=MAX_BOOKED_MINUTES,
        required=False,
        help_text="Only for surgery and other types booked for the length of the case.",
    )
    notes = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = forms.CharField(
        label="Reason to book inside the reinjection interval",
        max_length=500,
        required=False,
        help_text="Only if the clinic's minimum interval must be overridden; this is audited.",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is None or not user.has_perm("clinic.override_toxin_interval"):
            del self.fields["override_reason"]


class PatientQuickForm(forms.Form):
    """The few details needed to register a new patient from the booking dialog."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    date_of_birth = forms.DateField(label="Date of birth", widget=forms.DateInput(attrs={"type": "date"}))
    mobile = PhoneNumberField(
        required=False, help_text="A mobile number, e.g. 07912 345678 or +44 7912 345678"
    )
    email = forms.EmailField(required=False)
    # Messaging consent, asked at registration: without it no confirmation or reminder goes out.
    consent_email = forms.BooleanField(
        required=False, label="Agrees to appointment confirmations and reminders by email"
    )
    consent_sms = forms.BooleanField(
        required=False, label="Agrees to appointment confirmations and reminders by SMS"
    )

    prefix = "new"
    PATIENT_FIELDS = ("first_name", "last_name", "date_of_birth", "mobile", "email")

    def has_input(self) -> bool:
        """Something was typed into the new-patient fields (the booking form carries them)."""
        return any((self.data.get(self.add_prefix(name)) or "").strip() for name in self.PATIENT_FIELDS)

    def clean(self):
        data = super().clean()
        if data.get("consent_email") and not data.get("email"):
            self.add_error("email", "Add the email address the patient agreed to.")
        if data.get("consent_sms") and not data.get("mobile"):
            self.add_error("mobile", "Add the mobile number the patient agreed to.")
        return data


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    cancelled_by = forms.ChoiceField(
        label="Asked by", choices=[(c, c.capitalize()) for c in CANCELLED_BY], initial="patient"
    )

    def __init__(self, *args, appointment: Appointment | None = None, **kwargs):
        super().__init__(*args, **kwargs)


class CorrectForm(forms.Form):
    to_status = forms.ChoiceField(label="Correct to", choices=())
    reason = forms.CharField(max_length=500, help_text="What was the mistake?")

    def __init__(self, *args, appointment: Appointment, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(Appointment.Status.choices)
        self.fields["to_status"].choices = [
            (s, labels[s]) for s in sorted(CORRECTIONS.get(appointment.status, ()))
        ]


class RescheduleForm(forms.Form):
    start = _start_field()
    provider = ProviderChoiceField(queryset=_providers(), required=False, empty_label="Same provider")
    room = forms.ModelChoiceField(
        # A room's label names its location: one query for all of them, not one per room.
        queryset=choices_of(Room).filter(is_active=True),
        required=False,
        empty_label="Any free room",
        widget=FastSelect,
    )


class SearchSlotsForm(forms.Form):
    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.filter(is_active=True),
        label="Appointment type",
        # Choosing a type shows its slots at once (clinic.js); the Find button stays for the rest.
        widget=forms.Select(attrs={"data-autosubmit": ""}),
    )
    provider = ProviderChoiceField(queryset=_providers(), required=False, empty_label="Any provider")
    patient = forms.ModelChoiceField(
        queryset=Patient.objects.filter(status=Patient.Status.ACTIVE),
        required=False,
        widget=forms.HiddenInput,
    )
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))


class WaitlistForm(forms.Form):
    patient = forms.ModelChoiceField(
        queryset=Patient.objects.filter(status=Patient.Status.ACTIVE),
        widget=forms.HiddenInput,
        error_messages={"required": "Find and choose a patient."},
    )
    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.filter(is_active=True), label="Appointment type"
    )
    provider = ProviderChoiceField(queryset=_providers(), required=False, empty_label="Any provider")
    earliest_date = forms.DateField(
        validators=[validate_clinic_year], required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    latest_date = forms.DateField(
        validators=[validate_clinic_year], required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    notes = forms.CharField(max_length=500, required=False)
