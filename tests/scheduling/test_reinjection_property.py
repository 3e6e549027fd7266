"""Property: over random histories, no path accepts a toxin date inside the interval without an
override.

Each example is one patient's history, played through the services the pages and the API call:
sessions recorded (backfilled into the past, with or without an override reason, of several
products), toxin appointments booked and cancelled, the reinjection recall closed, and a
duplicate record with its own session merged in. Before every step the test works out, on its
own and without asking ``treatments.interval``, which exposures the patient has; whenever a step
is accepted, the date must keep every product's interval to all of them, or carry an override.
"""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.errors import DomainError
from clinic.models import ClinicSettings
from patients.services import patient_merge
from scheduling import clock
from scheduling.models import Appointment, Recall
from scheduling.reminders.services import recall_close
from scheduling.services import appointment_book, appointment_cancel
from tests.factories import PatientFactory
from tests.scheduling.conftest import local
from tests.treatments.factories import ToxinLotFactory, toxin_data
from treatments import services
from treatments.models import Encounter, ToxinProductInterval

pytestmark = pytest.mark.django_db

PRODUCTS = ["onabotulinumtoxinA", "abobotulinumtoxinA", "incobotulinumtoxinA"]
OWN = {"abobotulinumtoxinA": 100, "incobotulinumtoxinA": 70}

step = st.one_of(
    st.tuples(
        st.just("session"),
        st.integers(1, 400),
        st.sampled_from(PRODUCTS),
        st.booleans(),
    ),
    st.tuples(st.just("book"), st.integers(1, 150), st.booleans()),
    st.tuples(st.just("cancel"), st.integers(0, 5)),
    st.tuples(st.just("close_recall")),
    st.tuples(st.just("merge"), st.integers(1, 400), st.sampled_from(PRODUCTS)),
)


def exposures(patient) -> list[tuple]:
    """(date, product or None) of every session given and every active toxin booking without one."""
    found = [
        (clock.local(e.occurred_at).date(), e.toxin_session.product)
        for e in Encounter.objects.filter(patient=patient, kind="toxin").select_related("toxin_session")
    ]
    found += [
        (clock.local(a.starts_at).date(), None)
        for a in Appointment.objects.filter(
            patient=patient, appointment_type__is_toxin=True, status__in=Appointment.ACTIVE_STATUSES
        )
        if not a.encounters.filter(kind="toxin").exists()
    ]
    return found


def keeps_interval(day, product, existing, default) -> bool:
    for other_day, other_product in existing:
        known = [OWN.get(p, default) for p in (product, other_product) if p]
        minimum = max(known) if known else default
        if abs((day - other_day).days) < minimum:
            return False
    return True


def weekday_ahead(days: int):
    day = (local(2027, 3, 1) + timedelta(days=days)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(step, min_size=1, max_size=8))
def test_no_path_accepts_a_toxin_date_inside_the_interval_without_an_override(
    clinic, injector_user, front_desk_user, manager_user, history
):
    for product, days in OWN.items():
        ToxinProductInterval.objects.update_or_create(product=product, defaults={"min_interval_days": days})
    default = ClinicSettings.load().min_reinjection_interval_days
    patient = PatientFactory()
    minute = 0
    for action, *args in history:
        existing = exposures(patient)
        if action == "session":
            days_ago, product, override = args
            day = (local(2027, 3, 1) - timedelta(days=days_ago)).date()
            data = toxin_data(
                lot=ToxinLotFactory(product=product, expiry_date=local(2029, 1, 1).date()),
                occurred_at=local(day.year, day.month, day.day, 10),
                **({"override_reason": "Clinical need"} if override else {}),
            )
            try:
                recorded = services.encounter_record(
                    services.TOXIN, patient=patient, actor=injector_user, data=data
                )
            except DomainError:
                continue
            assert keeps_interval(day, product, existing, default) or recorded.interval_override_reason
        elif action == "book":
            days_ahead, override = args
            day = weekday_ahead(days_ahead)
            minute = (minute + 15) % 420
            start = local(day.year, day.month, day.day, 9) + timedelta(minutes=minute)
            try:
                booked = appointment_book(
                    patient=patient,
                    appointment_type=clinic.toxin,
                    provider=clinic.injector,
                    starts_at=start,
                    actor=injector_user,
                    override_reason="Agreed top-up" if override else "",
                )
            except DomainError:
                continue
            assert keeps_interval(day, None, existing, default) or booked.interval_override_reason
        elif action == "cancel":
            active = list(
                Appointment.objects.filter(patient=patient, status__in=("booked", "confirmed")).order_by("id")
            )
            if active:
                appointment_cancel(
                    appointment=active[args[0] % len(active)], reason="Moved away", actor=front_desk_user
                )
        elif action == "close_recall":
            for recall in Recall.objects.filter(patient=patient, status=Recall.Status.OPEN):
                recall_close(recall=recall, reason="Declined for now", actor=front_desk_user)
        elif action == "merge":
            days_ago, product = args
            duplicate = PatientFactory(first_name=patient.first_name, last_name=patient.last_name)
            day = (local(2027, 3, 1) - timedelta(days=days_ago)).date()
            services.encounter_record(
                services.TOXIN,
                patient=duplicate,
                actor=injector_user,
                data=toxin_data(
                    lot=ToxinLotFactory(product=product, expiry_date=local(2029, 1, 1).date()),
                    occurred_at=local(day.year, day.month, day.day, 10),
                ),
            )
            patient_merge(survivor=patient, duplicate=duplicate, actor=manager_user)
            # Records follow the person: the survivor's checks see the duplicate's session.
            assert (day, product) in exposures(patient)
