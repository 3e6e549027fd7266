"""API shapes of the MDT app; lengths come from the model fields, the rules from the services."""

from typing import Any

from clinic.api import fields as strict
from clinic.api import serializers
from clinic.roles import Role
from patients.models import Patient
from treatments.serializers import UserRefSerializer

from .models import MdtItem, MdtMeeting, MdtTask


def _max(model: type[Any], field: str) -> int:
    return int(model._meta.get_field(field).max_length)


class MdtTaskSerializer(serializers.ModelSerializer):
    item = serializers.PrimaryKeyRelatedField(queryset=MdtItem.objects.all())
    patient = serializers.IntegerField(source="item.patient_id", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices)
    description = strict.CharField(max_length=_max(MdtTask, "description"))
    done_by = UserRefSerializer(read_only=True, allow_null=True)
    created_by = UserRefSerializer(read_only=True)

    class Meta:
        model = MdtTask
        fields = [
            "id",
            "item",
            "patient",
            "role",
            "description",
            "due",
            "done",
            "done_by",
            "done_at",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "patient", "done", "done_by", "done_at", "created_by", "created_at"]


class TaskInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    description = strict.CharField(max_length=_max(MdtTask, "description"))
    due = serializers.DateField()


class MdtItemSerializer(serializers.ModelSerializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    meeting = serializers.PrimaryKeyRelatedField(
        queryset=MdtMeeting.objects.all(),
        required=False,
        allow_null=True,
        help_text="The meeting; left out (or null), the next planned one.",
    )
    question = strict.CharField(max_length=_max(MdtItem, "question"))
    flagged_by = UserRefSerializer(read_only=True)
    discussed_by = UserRefSerializer(read_only=True, allow_null=True)
    tasks = MdtTaskSerializer(many=True, read_only=True)

    class Meta:
        model = MdtItem
        fields = [
            "id",
            "meeting",
            "patient",
            "question",
            "position",
            "status",
            "flagged_by",
            "flagged_at",
            "carried_from",
            "outcome",
            "decision",
            "discussed_by",
            "discussed_at",
            "tasks",
        ]
        read_only_fields = [
            "id",
            "position",
            "status",
            "flagged_by",
            "flagged_at",
            "carried_from",
            "outcome",
            "decision",
            "discussed_by",
            "discussed_at",
            "tasks",
        ]
        # One item per patient per meeting is the service's to answer (409).
        validators: list[Any] = []


class OutcomeSerializer(serializers.Serializer):
    outcome = strict.CharField(max_length=_max(MdtItem, "outcome"))
    decision = serializers.ChoiceField(choices=MdtItem.Decision.choices)
    tasks = TaskInputSerializer(many=True, required=False, max_length=20)


class MdtMeetingSerializer(serializers.ModelSerializer):
    attendees = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Patient.objects.none(), help_text="Ids of staff who attend."
    )
    attendees_note = strict.CharField(
        max_length=_max(MdtMeeting, "attendees_note"), required=False, allow_blank=True
    )
    created_by = UserRefSerializer(read_only=True)
    open_items = serializers.IntegerField(read_only=True, help_text="Items still on the agenda.")

    class Meta:
        model = MdtMeeting
        fields = [
            "id",
            "date",
            "status",
            "attendees",
            "attendees_note",
            "open_items",
            "created_by",
            "created_at",
            "held_at",
        ]
        read_only_fields = ["id", "status", "open_items", "created_by", "created_at", "held_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        self.fields["attendees"].child_relation.queryset = get_user_model().objects.filter(is_active=True)


class MdtMeetingDetailSerializer(MdtMeetingSerializer):
    agenda = serializers.SerializerMethodField(help_text="The items not yet discussed, in order.")
    items = MdtItemSerializer(many=True, read_only=True, source="listed_items")

    class Meta(MdtMeetingSerializer.Meta):
        fields = [*MdtMeetingSerializer.Meta.fields, "agenda", "items"]

    def get_agenda(self, meeting: MdtMeeting) -> list[int]:
        return [i.pk for i in meeting.listed_items if i.status == MdtItem.Status.OPEN]  # type: ignore[attr-defined]


class HoldSerializer(serializers.Serializer):
    attendees = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False, max_length=100
    )
    attendees_note = strict.CharField(
        max_length=_max(MdtMeeting, "attendees_note"), required=False, allow_blank=True
    )
