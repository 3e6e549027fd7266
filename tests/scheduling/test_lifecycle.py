"""The appointment lifecycle: legal transitions, corrections, rescheduling, recalls reopened."""

import pytest
import time_machine

from clinic.errors import InvalidTransition
from clinic.models import AuditEvent
from scheduling.exceptions import NotToday, ReasonRequired, SlotUnavailable, TooEarly
from scheduling.models import AppointmentEvent
from scheduling.services import (
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_confirm,
    appointment_correct,
    appointment_no_show,
    appointment_reschedule,
)
from tests.factories import PatientFactory
from tests.scheduling.conftest import due_recall, local

pytestmark = pytest.mark.django_db


@pytest.fixture
def appt(clinic, patient, front_desk_user):
    return appointment_book(
        patient=patient,
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        starts_at=local(2027, 3, 1, 10),
        actor=front_desk_user,
    )


def test_a_visit_goes_confirmed_checked_in_completed_with_an_event_each(appt, front_desk_user, surgeon_user):
    appointment_confirm(appointment=appt, actor=front_desk_user)
    with time_machine.travel(local(2027, 3, 1, 9, 50), tick=False):
        appointment_check_in(appointment=appt, actor=front_desk_user)
    with time_machine.travel(local(2027, 3, 1, 11), tick=False):
        done = appointment_complete(appointment=appt, actor=surgeon_user)
    assert done.status == "completed"
    trail = list(
        AppointmentEvent.objects.filter(appointment=appt).values_list("action", "from_status", "to_status")
    )
    assert trail == [
        ("booked", "", "booked"),
        ("confirmed", "booked", "confirmed"),
        ("checked_in", "confirmed", "checked_in"),
        ("completed", "checked_in", "completed"),
    ]
    assert AuditEvent.objects.filter(action="appointment.completed", actor=surgeon_user).count() == 1


def test_cancel_needs_a_reason_and_records_who(appt, front_desk_user):
    with pytest.raises(ReasonRequired) as exc:
        appointment_cancel(appointment=appt, reason="  ", actor=front_desk_user)
    assert exc.value.fields == {"reason": ["This field is required."]}

    cancelled = appointment_cancel(
        appointment=appt, reason="Unwell", cancelled_by="patient", actor=front_desk_user
    )
    assert (cancelled.status, cancelled.cancellation_reason) == ("cancelled", "Unwell")
    event = cancelled.events.get(action="cancelled")
    assert (event.by, event.reason, event.details) == (front_desk_user, "Unwell", {"cancelled_by": "patient"})


@pytest.mark.parametrize(
    ("arrange", "act"),
    [
        ("cancel", appointment_check_in),
        ("cancel", appointment_confirm),
        ("complete", appointment_confirm),
        ("no_show", appointment_complete),
    ],
)
def test_illegal_transitions_are_refused(appt, front_desk_user, arrange, act):
    with time_machine.travel(local(2027, 3, 1, 11), tick=False):
        if arrange == "cancel":
            appointment_cancel(appointment=appt, reason="x", actor=front_desk_user)
        elif arrange == "complete":
            appointment_complete(appointment=appt, actor=front_desk_user)
        else:
            appointment_no_show(appointment=appt, actor=front_desk_user)
        with pytest.raises(InvalidTransition) as exc:
            act(appointment=appt, actor=front_desk_user)
    assert exc.value.code == "invalid_transition"


def test_cancelling_a_completed_visit_is_refused(appt, front_desk_user):
    with time_machine.travel(local(2027, 3, 1, 11), tick=False):
        appointment_complete(appointment=appt, actor=front_desk_user)
        with pytest.raises(InvalidTransition):
            appointment_cancel(appointment=appt, reason="oops", actor=front_desk_user)


def test_no_show_and_complete_wait_for_the_start(appt, front_desk_user):
    with pytest.raises(TooEarly):
        appointment_no_show(appointment=appt, actor=front_desk_user)
    with pytest.raises(TooEarly):
        appointment_complete(appointment=appt, actor=front_desk_user)


def test_check_in_only_on_the_day(clinic, patient, front_desk_user):
    tomorrow = appointment_book(
        patient=patient,
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        starts_at=local(2027, 3, 2, 10),
        actor=front_desk_user,
    )
    with pytest.raises(NotToday):
        appointment_check_in(appointment=tomorrow, actor=front_desk_user)


def test_a_mistaken_no_show_is_corrected_as_a_new_event(appt, front_desk_user):
    with time_machine.travel(local(2027, 3, 1, 11), tick=False):
        appointment_no_show(appointment=appt, actor=front_desk_user)
        with pytest.raises(ReasonRequired):
            appointment_correct(appointment=appt, to_status="completed", reason="", actor=front_desk_user)
        fixed = appointment_correct(
            appointment=appt, to_status="completed", reason="Was seen, marked wrongly", actor=front_desk_user
        )
    assert fixed.status == "completed"
    last = fixed.events.last()
    assert (last.action, last.from_status, last.to_status, last.reason) == (
        "corrected",
        "no_show",
        "completed",
        "Was seen, marked wrongly",
    )


def test_undo_check_in(appt, front_desk_user):
    appointment_check_in(appointment=appt, actor=front_desk_user)
    undone = appointment_correct(
        appointment=appt, to_status="booked", reason="Wrong patient", actor=front_desk_user
    )
    assert undone.status == "booked"


def test_corrections_outside_the_table_are_refused(appt, front_desk_user):
    with pytest.raises(InvalidTransition):
        appointment_correct(appointment=appt, to_status="completed", reason="skip", actor=front_desk_user)


def test_reinstating_a_cancelled_slot_that_was_rebooked_is_slot_unavailable(clinic, appt, front_desk_user):
    appointment_cancel(appointment=appt, reason="Unwell", actor=front_desk_user)
    appointment_book(
        patient=PatientFactory(),
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        starts_at=local(2027, 3, 1, 10),
        actor=front_desk_user,
    )
    with pytest.raises(SlotUnavailable):
        appointment_correct(
            appointment=appt, to_status="booked", reason="Cancelled by mistake", actor=front_desk_user
        )


def test_reinstating_a_cancelled_appointment(appt, front_desk_user):
    appointment_cancel(appointment=appt, reason="Unwell", actor=front_desk_user)
    back = appointment_correct(
        appointment=appt, to_status="booked", reason="Wrong patient", actor=front_desk_user
    )
    assert (back.status, back.cancellation_reason) == ("booked", "")


# --- reschedule ------------------------------------------------------------------------------


def test_reschedule_keeps_one_row_and_records_from_and_to(clinic, appt, front_desk_user):
    appointment_confirm(appointment=appt, actor=front_desk_user)
    moved = appointment_reschedule(appointment=appt, starts_at=local(2027, 3, 3, 14), actor=front_desk_user)
    assert moved.pk == appt.pk
    assert (moved.starts_at, moved.ends_at) == (local(2027, 3, 3, 14), local(2027, 3, 3, 15))
    assert moved.status == "booked"  # the confirmation was for the old time
    event = moved.events.get(action="rescheduled")
    assert event.details["from"]["start"] == local(2027, 3, 1, 10).isoformat()
    assert event.details["to"]["start"] == local(2027, 3, 3, 14).isoformat()
    assert event.from_status == "confirmed"


def test_reschedule_to_another_provider(clinic, front_desk_user, patient):
    toxin = appointment_book(
        patient=patient,
        appointment_type=clinic.toxin,
        provider=clinic.injector,
        starts_at=local(2027, 3, 2, 10),
        actor=front_desk_user,
    )
    moved = appointment_reschedule(
        appointment=toxin, starts_at=local(2027, 3, 2, 11), provider=clinic.surgeon, actor=front_desk_user
    )
    assert moved.provider == clinic.surgeon and moved.room == clinic.procedure_room


def test_reschedule_applies_the_same_checks(clinic, appt, front_desk_user):
    appointment_book(
        patient=PatientFactory(),
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        starts_at=local(2027, 3, 3, 14),
        actor=front_desk_user,
    )
    with pytest.raises(SlotUnavailable):
        appointment_reschedule(appointment=appt, starts_at=local(2027, 3, 3, 14, 30), actor=front_desk_user)


def test_reschedule_into_its_own_old_time_overlap_is_fine(appt, front_desk_user):
    # Moving 10:00-11:00 to 10:30-11:30 overlaps only itself.
    moved = appointment_reschedule(
        appointment=appt, starts_at=local(2027, 3, 1, 10, 30), actor=front_desk_user
    )
    assert moved.starts_at == local(2027, 3, 1, 10, 30)


def test_a_cancelled_appointment_cannot_be_rescheduled(appt, front_desk_user):
    appointment_cancel(appointment=appt, reason="x", actor=front_desk_user)
    with pytest.raises(InvalidTransition):
        appointment_reschedule(appointment=appt, starts_at=local(2027, 3, 3, 14), actor=front_desk_user)


# --- recalls follow the appointment ----------------------------------------------------------


@pytest.fixture
def recall_booked(clinic, patient, front_desk_user):
    recall = due_recall(patient)
    toxin = appointment_book(
        patient=patient,
        appointment_type=clinic.toxin,
        provider=clinic.injector,
        starts_at=local(2027, 3, 1, 10),
        actor=front_desk_user,
    )
    recall.refresh_from_db()
    assert recall.status == "booked"
    return recall, toxin


def test_cancelling_reopens_the_recall(recall_booked, front_desk_user):
    recall, toxin = recall_booked
    appointment_cancel(appointment=toxin, reason="Holiday", actor=front_desk_user)
    recall.refresh_from_db()
    assert (recall.status, recall.booked_appointment) == ("open", None)


def test_no_show_reopens_the_recall_and_a_correction_satisfies_it_again(recall_booked, front_desk_user):
    recall, toxin = recall_booked
    with time_machine.travel(local(2027, 3, 1, 11), tick=False):
        appointment_no_show(appointment=toxin, actor=front_desk_user)
        recall.refresh_from_db()
        assert recall.status == "open"
        appointment_correct(
            appointment=toxin, to_status="completed", reason="Did attend", actor=front_desk_user
        )
    recall.refresh_from_db()
    assert (recall.status, recall.booked_appointment) == ("booked", toxin)


def test_rescheduling_keeps_the_recall_booked(recall_booked, front_desk_user):
    recall, toxin = recall_booked
    appointment_reschedule(appointment=toxin, starts_at=local(2027, 3, 4, 10), actor=front_desk_user)
    recall.refresh_from_db()
    assert (recall.status, recall.booked_appointment) == ("booked", toxin)


def test_a_dst_day_booking_lasts_its_real_duration(clinic, patient, front_desk_user):
    from datetime import timedelta

    from tests.scheduling.conftest import provider_for

    owl = provider_for("surgeon", "night_owl", weekdays=[6], hours=((0, 4),))
    appt = appointment_book(
        patient=patient,
        appointment_type=clinic.consultation,
        provider=owl,
        starts_at=local(2027, 3, 28, 0, 30),
        actor=front_desk_user,
    )
    assert appt.ends_at - appt.starts_at == timedelta(minutes=60)
    assert appt.ends_at == local(2027, 3, 28, 2, 30)  # 00:30 GMT + 1 h = 02:30 BST
