"""clinic.queries.AnyOf: ``field__any=[ids]`` finds what ``field__in`` finds, in one parameter."""

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from patients.models import Patient
from scheduling.models import Appointment, WaitlistOffer
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _ids(qs):
    return sorted(qs.values_list("pk", flat=True))


def test_any_finds_the_same_rows_as_in_negated_and_ored_too():
    patients = PatientFactory.create_batch(5)
    chosen = [patients[0].pk, patients[3].pk, 10**12]
    assert _ids(Patient.objects.filter(pk__any=chosen)) == _ids(Patient.objects.filter(pk__in=chosen))
    assert _ids(Patient.objects.exclude(pk__any=chosen)) == _ids(Patient.objects.exclude(pk__in=chosen))
    either = Q(pk__any=chosen) | Q(last_name=patients[1].last_name)
    assert _ids(Patient.objects.filter(either)) == _ids(
        Patient.objects.filter(Q(pk__in=chosen) | Q(last_name=patients[1].last_name))
    )


def test_an_empty_list_matches_nothing_and_drops_out_of_an_or():
    patient = PatientFactory()
    assert list(Patient.objects.filter(pk__any=[])) == []
    assert _ids(Patient.objects.filter(Q(pk__any=[]) | Q(pk=patient.pk))) == [patient.pk]


def test_a_nullable_foreign_key_excluded_keeps_its_nulls_as_in_does():
    # WaitlistOffer.room and Appointment.room may be empty: NOT IN must not drop those rows.
    for model, field in ((Appointment, "room_id"), (WaitlistOffer, "room_id")):
        assert str(model.objects.exclude(**{f"{field}__any": [1, 2]}).query).count("IS NOT NULL") == str(
            model.objects.exclude(**{f"{field}__in": [1, 2]}).query
        ).count("IS NOT NULL")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array parameter is PostgreSQL's")
def test_the_list_travels_as_one_array_parameter():
    ids = list(range(1, 401))
    with CaptureQueriesContext(connection) as run:
        list(Patient.objects.filter(pk__any=ids).values_list("pk"))
    sql = run.captured_queries[0]["sql"]
    assert "= ANY(" in sql and " IN (" not in sql
    _sql, params = Patient.objects.filter(pk__any=ids).query.sql_with_params()
    assert params == (ids,)


def test_anything_but_integers_is_refused():
    with pytest.raises(TypeError):
        Patient.objects.filter(pk__any=["1", "2"])
    with pytest.raises(TypeError):
        Patient.objects.filter(pk__any=[True])
