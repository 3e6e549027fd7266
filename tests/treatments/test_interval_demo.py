"""The demo data obeys the reinjection rule: an injector's first sight is no override warning."""

import io

import pytest
import time_machine

from clinic.roles import Role
from devtools.demo import patients as patients_demo
from devtools.demo import scheduling as scheduling_demo
from devtools.demo import treatments as treatments_demo
from scheduling import clock
from scheduling.models import Appointment
from tests.factories import UserFactory
from tests.scheduling.conftest import local
from treatments.interval import interval_findings_scan, toxin_interval_check

pytestmark = pytest.mark.django_db

STAFF = {
    "frontdesk": Role.FRONT_DESK,
    "surgeon": Role.SURGEON,
    "surgeon2": Role.SURGEON,
    "injector": Role.INJECTOR,
    "therapist": Role.THERAPIST,
    "therapist2": Role.THERAPIST,
    "manager": Role.MANAGER,
}


def test_every_demo_toxin_booking_and_session_keeps_the_interval():
    staff = {name: UserFactory(username=name, roles=[role]) for name, role in STAFF.items()}
    with time_machine.travel(local(2027, 3, 3, 11, 20), tick=False):
        out = io.StringIO()
        # In the order seed_demo runs them: the patients, the diary, then the clinical histories.
        patients_demo.seed(staff=staff, stdout=out)
        scheduling_demo.seed(staff=staff, stdout=out)
        treatments_demo.seed(staff=staff, stdout=out)
        toxin = Appointment.objects.filter(
            appointment_type__is_toxin=True, status__in=Appointment.ACTIVE_STATUSES
        ).exclude(encounters__kind="toxin")
        assert toxin.exists()
        for appointment in toxin:
            verdict = toxin_interval_check(
                patient_id=appointment.patient_id,
                on=clock.local(appointment.starts_at).date(),
                exclude_appointment_id=appointment.pk,
            )
            assert verdict.allowed, verdict.message()
        assert interval_findings_scan() == []
