from datetime import date

import pytest

from scheduling.models import Recall
from scheduling.services import recall_open
from tests.factories import AppointmentTypeFactory, PatientFactory

pytestmark = pytest.mark.django_db


def _open(patient, source="toxin_session:1", **kw):
    return recall_open(
        patient=patient,
        kind=Recall.Kind.REINJECTION,
        appointment_type_code="toxin",
        anchor_date=date(2026, 12, 7),
        earliest_date=kw.get("earliest", date(2027, 3, 1)),
        due_date=kw.get("due", date(2027, 2, 20)),
        overdue_date=date(2027, 3, 20),
        source=source,
    )


def test_recall_open_is_idempotent_per_source():
    AppointmentTypeFactory(code="toxin", room_kind="procedure")
    patient = PatientFactory()
    first = _open(patient)
    again = _open(patient)
    assert first.pk == again.pk
    assert Recall.objects.count() == 1
    # A due date before the earliest bookable date is moved up to it.
    assert first.due_date == date(2027, 3, 1)


def test_recall_open_from_another_source_opens_another():
    AppointmentTypeFactory(code="toxin", room_kind="procedure")
    patient = PatientFactory()
    _open(patient, source="toxin_session:1")
    _open(patient, source="toxin_session:2")
    assert Recall.objects.count() == 2
