"""A number's bounds are defined once, on the model field; the forms and the API say the same."""

import pytest

from clinic.configuration import field_bounds
from treatments import forms, serializers
from treatments.models import (
    FollowUpPlanItem,
    HomeExercise,
    Injection,
    Procedure,
    TherapyVisit,
    ToxinDoseLimit,
    ToxinLot,
    ToxinSession,
)

# (model, field, the form that edits it, the serializer that edits it)
EDITED = [
    (Injection, "units", forms.InjectionForm, serializers.InjectionSerializer),
    (Injection, "points", forms.InjectionForm, serializers.InjectionSerializer),
    (HomeExercise, "repetitions", forms.ExerciseForm, serializers.HomeExerciseSerializer),
    (HomeExercise, "hold_seconds", forms.ExerciseForm, serializers.HomeExerciseSerializer),
    (HomeExercise, "times_per_day", forms.ExerciseForm, serializers.HomeExerciseSerializer),
    (FollowUpPlanItem, "after_days", forms.FollowUpPlanForm, serializers.FollowUpPlanItemSerializer),
    (ToxinSession, "dilution_ml", forms.ToxinSessionForm, serializers.ToxinSessionSerializer),
    (ToxinSession, "response_onset_days", forms.ToxinSessionForm, serializers.ToxinSessionSerializer),
    (ToxinSession, "response_duration_weeks", forms.ToxinSessionForm, serializers.ToxinSessionSerializer),
    (TherapyVisit, "duration_minutes", forms.TherapyVisitForm, serializers.TherapyVisitSerializer),
    (TherapyVisit, "course_visits", forms.TherapyVisitForm, serializers.TherapyVisitSerializer),
    (TherapyVisit, "course_every_weeks", forms.TherapyVisitForm, serializers.TherapyVisitSerializer),
    (Procedure, "gold_weight_grams", forms.ProcedureForm, serializers.ProcedureSerializer),
    (ToxinLot, "vial_units", forms.LotForm, serializers.ToxinLotSerializer),
    (ToxinDoseLimit, "max_units_per_session", forms.DoseLimitForm, serializers.ToxinDoseLimitSerializer),
    (ToxinDoseLimit, "max_units_per_site", forms.DoseLimitForm, serializers.ToxinDoseLimitSerializer),
]


@pytest.mark.parametrize(
    ("model", "name", "form", "serializer"), EDITED, ids=lambda v: getattr(v, "__name__", v)
)
def test_the_form_and_the_api_take_the_model_fields_bounds(model, name, form, serializer):
    low, high = field_bounds(model, name)
    assert low is not None
    form_field = form.base_fields[name]
    assert (form_field.min_value, form_field.max_value) == (low, high)
    api_field = serializer().fields[name]
    assert (api_field.min_value, api_field.max_value) == (low, high)
