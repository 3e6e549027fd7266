"""Page forms of the MDT app; lengths come from the model fields."""

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from clinic.roles import Role

from .models import MdtItem, MdtMeeting, MdtTask


def _max(model: type[Any], field: str) -> int:
    return int(model._meta.get_field(field).max_length)


def _staff() -> Any:
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__isnull=False)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class _StaffChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(getattr(obj, "display_name", "") or obj.get_username())


class MeetingForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Meeting date")
    attendees = _StaffChoices(
        queryset=get_user_model().objects.none(),
        required=False,
        label="Staff attending",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    attendees_note = forms.CharField(
        max_length=_max(MdtMeeting, "attendees_note"),
        required=False,
        label="Other attendees",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = _staff()  # type: ignore[attr-defined]


class HoldForm(forms.Form):
    attendees = _StaffChoices(
        queryset=get_user_model().objects.none(),
        required=False,
        label="Staff who attended",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    attendees_note = forms.CharField(
        max_length=_max(MdtMeeting, "attendees_note"),
        required=False,
        label="Other attendees",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = _staff()  # type: ignore[attr-defined]


class FlagForm(forms.Form):
    meeting = forms.ModelChoiceField(
        queryset=MdtMeeting.objects.none(), required=False, empty_label="The next meeting", label="Meeting"
    )
    question = forms.CharField(
        max_length=_max(MdtItem, "question"),
        label="Question for the team",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["meeting"].queryset = MdtMeeting.objects.filter(  # type: ignore[attr-defined]
            status=MdtMeeting.Status.PLANNED
        ).order_by("date", "id")


class OutcomeForm(forms.Form):
    outcome = forms.CharField(
        max_length=_max(MdtItem, "outcome"), label="Outcome", widget=forms.Textarea(attrs={"rows": 3})
    )
    decision = forms.ChoiceField(choices=[("", "Choose…"), *MdtItem.Decision.choices], label="Decision")
    task_role = forms.ChoiceField(
        choices=[("", "No follow-up task"), *Role.choices], required=False, label="Follow-up task for"
    )
    task_description = forms.CharField(max_length=_max(MdtTask, "description"), required=False, label="Task")
    task_due = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Task due by"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("task_role"):
            if not data.get("task_description"):
                self.add_error("task_description", "Describe the task.")
            if not data.get("task_due"):
                self.add_error("task_due", "Give a due date.")
        return data

    def tasks(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        if not data.get("task_role"):
            return []
        return [{"role": data["task_role"], "description": data["task_description"], "due": data["task_due"]}]
