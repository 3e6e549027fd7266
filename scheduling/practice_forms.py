"""Forms of the practice set-up pages. They parse input; scheduling.practice decides."""

from django import forms

from .forms import DATETIME_LOCAL, ProviderChoiceField
from .models import AppointmentType, Location, Provider, Room, TimeOff, WorkingHours
from .practice import WEEKDAYS

TIME = forms.TimeInput(attrs={"type": "time", "step": 900}, format="%H:%M")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 900}, format=DATETIME_LOCAL)
DATETIME_FORMATS = [DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class WorkingHoursForm(forms.ModelForm):
    weekday = forms.TypedChoiceField(choices=list(enumerate(WEEKDAYS)), coerce=int, label="Day")

    class Meta:
        model = WorkingHours
        fields = ["weekday", "location", "start_time", "end_time"]
        labels = {"start_time": "From", "end_time": "To"}
        widgets = {"start_time": TIME, "end_time": TIME}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(is_active=True)

    def clean(self):
        data = super().clean()
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", "Must be after the start.")
        return data

    def _post_clean(self):
        # The model's checks (and the overlap rule) run in the service, with the provider set.
        pass


class TimeOffForm(forms.ModelForm):
    provider = ProviderChoiceField(
        queryset=Provider.objects.filter(is_active=True).select_related("user"),
        required=False,
        empty_label="(a room instead)",
    )
    room = forms.ModelChoiceField(
        queryset=Room.objects.filter(is_active=True).select_related("location"),
        required=False,
        empty_label="(a provider instead)",
    )
    starts_at = forms.DateTimeField(label="From", input_formats=DATETIME_FORMATS, widget=DATETIME)
    ends_at = forms.DateTimeField(label="Until", input_formats=DATETIME_FORMATS, widget=DATETIME)
    acknowledge_bookings = forms.BooleanField(
        required=False,
        label="Block this time anyway: the front desk will move the appointments listed",
    )

    class Meta:
        model = TimeOff
        fields = ["provider", "room", "starts_at", "ends_at", "reason"]

    def clean(self):
        data = super().clean()
        if (data.get("provider") is None) == (data.get("room") is None):
            self.add_error("provider", "Choose a provider or a room (one of them).")
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end and end <= start:
            self.add_error("ends_at", "Must be after the start.")
        return data

    def _post_clean(self):
        pass


class RoomForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["location", "name", "kind", "is_active"]
        labels = {"is_active": "In use (untick to retire the room; its bookings stay)"}

    def _post_clean(self):
        pass


class AppointmentTypeForm(forms.ModelForm):
    provider_roles = forms.MultipleChoiceField(
        choices=Provider.Role.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Who can deliver it",
    )
    duration_minutes = forms.IntegerField(min_value=5, max_value=24 * 60, label="Duration (minutes)")
    buffer_after_minutes = forms.IntegerField(
        min_value=0, max_value=240, initial=0, label="Buffer after (minutes)"
    )
    colour = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        initial="#6b7a90",
        widget=forms.TextInput(attrs={"type": "color"}),
        error_messages={"invalid": "A colour as #rrggbb."},
    )

    class Meta:
        model = AppointmentType
        fields = [
            "name",
            "code",
            "duration_minutes",
            "duration_set_per_booking",
            "buffer_after_minutes",
            "provider_roles",
            "room_kind",
            "is_toxin",
            "colour",
            "is_active",
        ]
        labels = {
            "duration_set_per_booking": "Length set per booking (surgery)",
            "is_toxin": "Botulinum toxin session (the minimum reinjection interval applies)",
            "is_active": "Offered for booking (untick to retire the type; its bookings stay)",
        }

    def _post_clean(self):
        pass
