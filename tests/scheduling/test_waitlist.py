"""The waitlist: freed slots are offered to matching entries and booked in one step."""

from datetime import date

import pytest

from clinic.errors import InvalidTransition
from scheduling.exceptions import AlreadyWaiting
from scheduling.models import WaitlistEntry, WaitlistOffer
from scheduling.selectors import waitlist_open_offers
from scheduling.services import (
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    waitlist_add,
    waitlist_cancel,
    waitlist_offer_accept,
)
from tests.factories import PatientFactory
from tests.scheduling.conftest import local

pytestmark = pytest.mark.django_db


def book(clinic, patient, start, actor, type_=None, provider=None):
    return appointment_book(
        patient=patient,
        appointment_type=type_ or clinic.consultation,
        provider=provider or clinic.surgeon,
        starts_at=start,
        actor=actor,
    )


@pytest.fixture
def busy_slot(clinic, front_desk_user):
    return book(clinic, PatientFactory(), local(2027, 3, 2, 10), front_desk_user)


def test_cancelling_offers_the_slot_to_matching_entries(clinic, busy_slot, front_desk_user):
    waiting = waitlist_add(
        patient=PatientFactory(), appointment_type=clinic.consultation, actor=front_desk_user
    )
    other_type = waitlist_add(
        patient=PatientFactory(), appointment_type=clinic.therapy, actor=front_desk_user
    )
    out_of_window = waitlist_add(
        patient=PatientFactory(),
        appointment_type=clinic.consultation,
        earliest_date=date(2027, 3, 10),
        actor=front_desk_user,
    )

    appointment_cancel(appointment=busy_slot, reason="Unwell", actor=front_desk_user)

    offers = WaitlistOffer.objects.all()
    assert [o.entry for o in offers] == [waiting]
    offer = offers.get()
    assert (offer.starts_at, offer.provider, offer.room) == (
        local(2027, 3, 2, 10),
        clinic.surgeon,
        clinic.consultation_room,
    )
    assert not other_type.offers.exists() and not out_of_window.offers.exists()


def test_an_entry_for_another_provider_is_not_offered(clinic, busy_slot, front_desk_user):
    from tests.scheduling.conftest import provider_for

    other = provider_for("surgeon", "dr_other")
    entry = waitlist_add(
        patient=PatientFactory(), appointment_type=clinic.consultation, provider=other, actor=front_desk_user
    )
    appointment_cancel(appointment=busy_slot, reason="Unwell", actor=front_desk_user)
    assert not entry.offers.exists()


def test_booking_an_offer_in_one_step(clinic, busy_slot, front_desk_user):
    patient = PatientFactory()
    entry = waitlist_add(patient=patient, appointment_type=clinic.consultation, actor=front_desk_user)
    rival = waitlist_add(
        patient=PatientFactory(), appointment_type=clinic.consultation, actor=front_desk_user
    )
    appointment_cancel(appointment=busy_slot, reason="Unwell", actor=front_desk_user)

    appt = waitlist_offer_accept(offer=entry.offers.get(), actor=front_desk_user)

    assert (appt.patient, appt.starts_at, appt.status) == (patient, local(2027, 3, 2, 10), "booked")
    entry.refresh_from_db()
    assert (entry.status, entry.booked_appointment) == ("booked", appt)
    # The other patient's offer of the same slot lapsed when it was booked.
    assert rival.offers.get().status == "lapsed"
    with pytest.raises(InvalidTransition):
        waitlist_offer_accept(offer=rival.offers.get(), actor=front_desk_user)


def test_an_entry_with_a_later_booking_is_moved_earlier(clinic, busy_slot, front_desk_user):
    patient = PatientFactory()
    later = book(clinic, patient, local(2027, 3, 9, 10), front_desk_user)
    entry = waitlist_add(
        patient=patient, appointment_type=clinic.consultation, appointment=later, actor=front_desk_user
    )
    appointment_cancel(appointment=busy_slot, reason="Unwell", actor=front_desk_user)

    moved = waitlist_offer_accept(offer=entry.offers.get(), actor=front_desk_user)

    assert moved.pk == later.pk and moved.starts_at == local(2027, 3, 2, 10)
    assert moved.events.filter(action="rescheduled").exists()


def test_a_slot_later_than_the_existing_booking_is_not_offered(clinic, front_desk_user):
    patient = PatientFactory()
    early = book(clinic, patient, local(2027, 3, 2, 9), front_desk_user)
    waitlist_add(
        patient=patient, appointment_type=clinic.consultation, appointment=early, actor=front_desk_user
    )
    freed = book(clinic, PatientFactory(), local(2027, 3, 3, 10), front_desk_user)
    appointment_cancel(appointment=freed, reason="Unwell", actor=front_desk_user)
    assert not WaitlistOffer.objects.exists()


def test_rescheduling_away_frees_the_old_slot(clinic, busy_slot, front_desk_user):
    entry = waitlist_add(
        patient=PatientFactory(), appointment_type=clinic.consultation, actor=front_desk_user
    )
    appointment_reschedule(appointment=busy_slot, starts_at=local(2027, 3, 4, 10), actor=front_desk_user)
    assert entry.offers.get().starts_at == local(2027, 3, 2, 10)


def test_an_offer_booked_meanwhile_by_someone_else_shows_as_taken(clinic, busy_slot, front_desk_user):
    waitlist_add(patient=PatientFactory(), appointment_type=clinic.consultation, actor=front_desk_user)
    appointment_cancel(appointment=busy_slot, reason="Unwell", actor=front_desk_user)
    assert [o.still_free for o in waitlist_open_offers()] == [True]
    book(clinic, PatientFactory(), local(2027, 3, 2, 10), front_desk_user)
    # Booking the slot directly lapses the offer.
    assert waitlist_open_offers() == []


def test_one_waiting_entry_per_patient_and_type(clinic, front_desk_user, patient):
    waitlist_add(patient=patient, appointment_type=clinic.consultation, actor=front_desk_user)
    with pytest.raises(AlreadyWaiting):
        waitlist_add(patient=patient, appointment_type=clinic.consultation, actor=front_desk_user)


def test_cancelled_entries_get_no_offers(clinic, busy_slot, front_desk_user, patient):
    entry = waitlist_add(patient=patient, appointment_type=clinic.consultation, actor=front_desk_user)
    waitlist_cancel(entry=entry, actor=front_desk_user, reason="Found another clinic")
    appointment_cancel(appointment=busy_slot, reason="Unwell", actor=front_desk_user)
    assert WaitlistEntry.objects.get().status == "cancelled"
    assert not WaitlistOffer.objects.exists()


def test_a_small_move_that_still_covers_the_old_slot_offers_nothing(clinic, busy_slot, front_desk_user):
    waitlist_add(patient=PatientFactory(), appointment_type=clinic.consultation, actor=front_desk_user)
    appointment_reschedule(appointment=busy_slot, starts_at=local(2027, 3, 2, 10, 30), actor=front_desk_user)
    assert not WaitlistOffer.objects.exists()
