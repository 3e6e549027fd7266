"""The minimum reinjection interval on every path into it (treatments.interval is its one owner).

Each test names the way in: recording, backfilling and editing a session, booking after a
recall was closed, rescheduling, a waitlist offer, the per-product interval, and the refusal
messages. Time is Monday 1 March 2027, 08:00 in London.
"""

from datetime import date, timedelta

import pytest

from clinic.models import AuditEvent
from scheduling.availability import availability_for
from scheduling.exceptions import ReinjectionTooSoon
from scheduling.models import Recall, WaitlistOffer
from scheduling.reminders.services import recall_close
from scheduling.services import appointment_book, appointment_cancel, appointment_reschedule, waitlist_add
from tests.factories import PatientFactory
from tests.scheduling.conftest import local
from tests.treatments.factories import ToxinLotFactory, toxin_data
from treatments import services
from treatments.interval import toxin_interval_check
from treatments.models import Encounter, ToxinProductInterval

pytestmark = pytest.mark.django_db


def session(patient, actor, when, *, product="onabotulinumtoxinA", **extra):
    lot = ToxinLotFactory(product=product, expiry_date=date(2029, 1, 1))
    return services.encounter_record(
        services.TOXIN, patient=patient, actor=actor, data=toxin_data(lot=lot, occurred_at=when, **extra)
    )


def book_toxin(clinic, patient, start, actor=None, **kw):
    return appointment_book(
        patient=patient,
        appointment_type=clinic.toxin,
        provider=clinic.injector,
        starts_at=start,
        actor=actor,
        **kw,
    )


# 1. Backfill and edit ---------------------------------------------------------------------------


def test_a_backfilled_session_before_an_existing_one_is_checked_against_the_later_one(
    clinic, patient, injector_user
):
    session(patient, injector_user, local(2027, 2, 20, 10))
    with pytest.raises(ReinjectionTooSoon) as exc:
        session(patient, injector_user, local(2027, 2, 15, 10))
    err = exc.value
    assert err.extra["blocking"]["date"] == "2027-02-20"
    assert err.extra["days_apart"] == 5
    # The earliest safe date on or after the date asked: the later session plus the interval.
    assert err.extra["earliest"] == "2027-05-15"
    assert "15 Feb 2027 is 5 days before the onabotulinumtoxinA (Botox) session of 20 Feb 2027" in err.detail
    assert Encounter.objects.filter(patient=patient).count() == 1


def test_a_draft_edited_to_five_days_before_another_session_is_refused(clinic, patient, injector_user):
    session(patient, injector_user, local(2027, 2, 20, 10))
    draft = session(patient, injector_user, local(2026, 10, 1, 10))
    with pytest.raises(ReinjectionTooSoon):
        services.encounter_update(
            services.TOXIN, detail=draft, actor=injector_user, data={"occurred_at": local(2027, 2, 15, 10)}
        )
    draft.encounter.refresh_from_db()
    assert draft.encounter.occurred_at == local(2026, 10, 1, 10)


def test_an_override_given_for_one_date_does_not_carry_to_another(clinic, patient, injector_user):
    session(patient, injector_user, local(2027, 2, 20, 10))
    draft = session(patient, injector_user, local(2027, 1, 1, 10), override_reason="Severe spasm")
    with pytest.raises(ReinjectionTooSoon):
        services.encounter_update(
            services.TOXIN, detail=draft, actor=injector_user, data={"occurred_at": local(2027, 2, 18, 10)}
        )


# 2. Close the recall, then book -----------------------------------------------------------------


def test_closing_the_recall_never_unlocks_a_toxin_booking(clinic, patient, injector_user, front_desk):
    given = session(patient, injector_user, local(2027, 2, 1, 10))
    recall = Recall.objects.get(patient=patient, kind=Recall.Kind.REINJECTION)
    recall_close(recall=recall, reason="Patient will call", actor=injector_user)

    response = front_desk.post(
        "/api/v1/appointments/",
        {
            "patient": patient.pk,
            "appointment_type": "toxin",
            "provider": clinic.injector.pk,
            "start": "2027-03-04T10:00:00+00:00",  # 31 days after the session
        },
        format="json",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "reinjection_too_soon"
    assert body["blocking"]["encounter"] == given.pk
    assert body["earliest"] == "2027-04-26"


def test_availability_for_the_patient_offers_nothing_inside_the_interval(clinic, patient, injector_user):
    session(patient, injector_user, local(2027, 2, 1, 10))
    slots = availability_for(
        appointment_type=clinic.toxin,
        date_from=date(2027, 3, 1),
        date_to=date(2027, 5, 31),
        patient=patient,
    )
    assert slots
    assert min(s.start for s in slots).date() >= date(2027, 4, 26)


# 4. Waitlist offers -------------------------------------------------------------------------------


def test_a_waitlist_offer_never_proposes_a_toxin_slot_inside_the_interval(
    clinic, patient, injector_user, front_desk_user
):
    session(patient, injector_user, local(2027, 2, 1, 10))
    waiting = waitlist_add(patient=patient, appointment_type=clinic.toxin, actor=front_desk_user)
    other_ready = PatientFactory()
    ready_entry = waitlist_add(patient=other_ready, appointment_type=clinic.toxin, actor=front_desk_user)
    # Someone else's toxin slot on 10 March is cancelled: inside our patient's interval.
    freed = book_toxin(clinic, PatientFactory(), local(2027, 3, 10, 10))
    appointment_cancel(appointment=freed, reason="Unwell", actor=front_desk_user)

    assert not WaitlistOffer.objects.filter(entry=waiting).exists()
    assert WaitlistOffer.objects.filter(entry=ready_entry).exists()


# 10. The refusal names the session in the way and the real earliest date --------------------------


def test_a_refused_reschedule_names_the_later_booking_and_a_real_earliest_date(clinic, patient):
    first = book_toxin(clinic, patient, local(2027, 3, 2, 10))
    book_toxin(clinic, patient, local(2027, 6, 1, 10))
    with pytest.raises(ReinjectionTooSoon) as exc:
        appointment_reschedule(appointment=first, starts_at=local(2027, 5, 17, 10), actor=None)
    err = exc.value
    assert "17 May 2027 is 15 days before the toxin appointment booked for 01 Jun 2027" in err.detail
    # The earliest safe date on or after the date asked for, not today.
    assert err.extra["earliest"] == "2027-08-24"
    assert "01 Mar 2027" not in err.detail


# Products have their own intervals --------------------------------------------------------------


def test_each_product_has_its_own_interval_and_the_larger_one_of_a_pair_applies(
    clinic, patient, injector_user
):
    ToxinProductInterval.objects.create(product="abobotulinumtoxinA", min_interval_days=100)
    session(patient, injector_user, local(2026, 10, 1, 10))  # Botox: the clinic default, 84
    # Dysport 90 days later: within Dysport's 100.
    with pytest.raises(ReinjectionTooSoon) as exc:
        session(patient, injector_user, local(2026, 12, 30, 10), product="abobotulinumtoxinA")
    assert exc.value.extra["minimum_days"] == 100
    # Botox 90 days later is fine.
    assert session(patient, injector_user, local(2026, 12, 30, 10)).days_since_previous == 90


def test_a_shorter_product_interval_allows_an_earlier_session(clinic, patient, injector_user):
    ToxinProductInterval.objects.create(product="incobotulinumtoxinA", min_interval_days=70)
    session(patient, injector_user, local(2026, 12, 1, 10), product="incobotulinumtoxinA")
    later = session(patient, injector_user, local(2027, 2, 10, 10), product="incobotulinumtoxinA")
    assert later.days_since_previous == 71


def test_a_booked_toxin_appointment_counts_against_a_session_on_another_day(clinic, patient, injector_user):
    book_toxin(clinic, patient, local(2027, 3, 10, 10))
    with pytest.raises(ReinjectionTooSoon) as exc:
        session(patient, injector_user, local(2027, 2, 25, 10))
    assert exc.value.extra["blocking"]["appointment"] is not None


def test_the_session_of_a_booked_visit_is_that_visit_not_another_exposure(
    clinic, patient, injector_user, frozen
):
    appointment = book_toxin(clinic, patient, local(2027, 3, 1, 10))
    frozen.move_to(local(2027, 3, 1, 11))
    recorded = session(patient, injector_user, local(2027, 3, 1, 10, 10), appointment=appointment)
    assert recorded.encounter.appointment_id == appointment.pk
    verdict = toxin_interval_check(patient_id=patient.pk, on=date(2027, 3, 1) + timedelta(days=84))
    assert verdict.allowed


def test_an_override_is_audited_with_the_session_in_the_way(clinic, patient, injector_user):
    first = session(patient, injector_user, local(2027, 1, 4, 10))
    session(patient, injector_user, local(2027, 2, 26, 10), override_reason="Wore off at 7 weeks")
    event = AuditEvent.objects.get(action="toxin.interval_overridden")
    assert event.changes["blocking"]["encounter"] == first.pk
    assert event.changes["days_apart"] == 53
