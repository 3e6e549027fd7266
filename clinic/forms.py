from django import forms
from django.forms.renderers import DjangoTemplates

from .configuration import SETTINGS_FIELDS, field_bounds
from .errors import DomainError
from .models import ClinicSettings


def _formfield(db_field, **kwargs):
    """The model's form field, with the bounds of its validators (the input's min and max, and
    the form's own message) and times as time inputs."""
    low, high = field_bounds(ClinicSettings, db_field.name)
    if low is not None:
        kwargs["min_value"] = low
    if high is not None:
        kwargs["max_value"] = high
    if db_field.name == "clinic_phone":
        kwargs["widget"] = forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})
    if db_field.get_internal_type() == "TimeField":
        kwargs["widget"] = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    return db_field.formfield(**kwargs)


class ClinicSettingsForm(forms.ModelForm):
    """Every clinic setting. The model validates the whole row (its check constraints too: the
    recall weeks in order), so a bad combination is a form error, never a failed save."""

    class Meta:
        model = ClinicSettings
        fields = SETTINGS_FIELDS
        formfield_callback = _formfield

    FIELDSETS = [
        ("Toxin reinjection", ["min_reinjection_interval_days"]),
        (
            "Reminders and recalls",
            [
                "appointment_reminder_hours",
                "recall_first_reminder_weeks_before_due",
                "recall_second_reminder_weeks_after_due",
                "recall_overdue_weeks_after_due",
                "questionnaire_after_toxin_days",
            ],
        ),
        (
            "Care between visits",
            [
                "therapy_after_toxin_offered",
                "therapy_after_toxin_from_day",
                "therapy_after_toxin_to_day",
                "first_toxin_review_days",
                "aftercare_messages",
            ],
        ),
        ("Quiet hours for text messages", ["quiet_hours_start", "quiet_hours_end"]),
        ("Procedure consent", ["toxin_consent_valid_months"]),
        ("Booking and calendars", ["booking_horizon_days", "calendar_feed_shows_patient_names"]),
        ("Contact details patients see", ["clinic_name", "clinic_phone", "clinic_address"]),
        ("Record exports", ["medicines_terminology"]),
    ]

    @property
    def fieldsets(self):
        """(title, bound fields) groups for the page; a field no group names goes last."""
        named = {name for _, names in self.FIELDSETS for name in names}
        groups = [(title, [self[name] for name in names]) for title, names in self.FIELDSETS]
        rest = [self[name] for name in self.fields if name not in named]
        return groups + ([("Other", rest)] if rest else [])


class ClinicFormRenderer(DjangoTemplates):
    """Every form field rendered alike (settings.FORM_RENDERER): its label without Django's
    colon, help text and errors below the input (clinic/templates/clinic/forms/field.html)."""

    field_template_name = "clinic/forms/field.html"


def form_errors_add(form: forms.BaseForm, exc: DomainError) -> None:
    """A service's refusal on a page's form: its field errors on the form's fields (or on the
    form as a whole for a field the form has not), else its detail on the form as a whole."""
    placed = False
    for name, errors in (exc.fields or {}).items():
        for message in errors if isinstance(errors, list) else [errors]:
            form.add_error(name if name in form.fields else None, str(message))
            placed = True
    if not placed:
        form.add_error(None, exc.detail)
