"""appointment_book: every rule that decides whether a slot can be booked."""

from datetime import date, timedelta

import pytest

from clinic.models import AuditEvent, ClinicSettings
from patients.exceptions import PatientInactive
from scheduling.exceptions import (
    BadDuration,
    InThePast,
    OffGrid,
    OutsideWorkingHours,
    OverrideNotPermitted,
    ProviderNotAllowed,
    ReinjectionTooSoon,
    SlotUnavailable,
    TypeInactive,
    WrongRoom,
)
from scheduling.models import Appointment, AppointmentEvent, Recall
from scheduling.services import appointment_book, recall_open
from scheduling.services.common import save_appointment as _insert_or_update
from tests.factories import AppointmentFactory, PatientFactory, RoomFactory
from tests.scheduling.conftest import due_recall, local, provider_for
from tests.scheduling.factories import TimeOffFactory

pytestmark = pytest.mark.django_db


def book(clinic, patient, *, start, type_=None, provider=None, **kw):
    return appointment_book(
        patient=patient,
        appointment_type=type_ or clinic.consultation,
        provider=provider or clinic.surgeon,
        starts_at=start,
        actor=kw.pop("actor", None),
        **kw,
    )


def test_booking_a_free_slot_creates_the_appointment_event_and_audit(clinic, patient, front_desk_user):
    appt = book(clinic, patient, start=local(2027, 3, 2, 10), actor=front_desk_user)

    assert appt.status == "booked"
    assert appt.room == clinic.consultation_room
    assert appt.ends_at == local(2027, 3, 2, 11)
    assert appt.blocked_until == appt.ends_at
    assert appt.booked_by == front_desk_user
    event = AppointmentEvent.objects.get(appointment=appt)
    assert (event.action, event.to_status, event.by) == ("booked", "booked", front_desk_user)
    audit = AuditEvent.objects.get(action="appointment.booked")
    assert audit.patient_id == patient.pk and audit.actor == front_desk_user


def test_buffer_keeps_provider_and_room_busy_after_the_visit(clinic, patient):
    book(clinic, patient, type_=clinic.toxin, provider=clinic.injector, start=local(2027, 3, 2, 9))
    other = PatientFactory()

    with pytest.raises(SlotUnavailable) as exc:
        book(clinic, other, type_=clinic.toxin, provider=clinic.injector, start=local(2027, 3, 2, 9, 30))
    assert exc.value.extra["resource"] == "provider"
    appt = book(clinic, other, type_=clinic.toxin, provider=clinic.injector, start=local(2027, 3, 2, 9, 45))
    assert appt.blocked_until == local(2027, 3, 2, 10, 25)


def test_a_long_appointment_blocks_slots_that_start_inside_it(clinic, patient):
    book(clinic, patient, start=local(2027, 3, 2, 10))  # 10:00-11:00
    with pytest.raises(SlotUnavailable):
        book(clinic, PatientFactory(), start=local(2027, 3, 2, 10, 45))


def test_provider_busy_is_slot_unavailable(clinic, patient):
    book(clinic, patient, start=local(2027, 3, 2, 10))
    with pytest.raises(SlotUnavailable) as exc:
        book(clinic, PatientFactory(), start=local(2027, 3, 2, 10, 30))
    assert exc.value.code == "slot_unavailable"
    assert exc.value.extra == {"resource": "provider"}


def test_patient_cannot_be_in_two_places_even_with_different_providers(clinic, patient):
    book(clinic, patient, start=local(2027, 3, 2, 10))
    with pytest.raises(SlotUnavailable) as exc:
        book(
            clinic, patient, type_=clinic.therapy, provider=clinic.therapist, start=local(2027, 3, 2, 10, 15)
        )
    assert exc.value.extra["resource"] == "patient"


def test_patient_may_book_back_to_back_across_a_buffer(clinic, patient):
    # The buffer is the provider's and the room's cleaning time, not the patient's.
    book(clinic, patient, type_=clinic.toxin, provider=clinic.injector, start=local(2027, 3, 2, 9))
    appt = book(
        clinic, patient, type_=clinic.therapy, provider=clinic.therapist, start=local(2027, 3, 2, 9, 30)
    )
    assert appt.pk


def test_room_is_picked_when_absent_and_the_next_one_when_the_first_is_taken(clinic, patient):
    second = RoomFactory(location=clinic.consultation_room.location, name="Consult 2", kind="consultation")
    surgeon2 = provider_for("surgeon", "dr_two")
    book(clinic, patient, start=local(2027, 3, 2, 10))
    appt = book(clinic, PatientFactory(), provider=surgeon2, start=local(2027, 3, 2, 10))
    assert appt.room == second


def test_given_busy_room_is_slot_unavailable_for_the_room(clinic, patient):
    surgeon2 = provider_for("surgeon", "dr_two")
    book(clinic, patient, start=local(2027, 3, 2, 10))
    with pytest.raises(SlotUnavailable) as exc:
        book(
            clinic,
            PatientFactory(),
            provider=surgeon2,
            room=clinic.consultation_room,
            start=local(2027, 3, 2, 10),
        )
    assert exc.value.extra["resource"] == "room"


def test_no_free_room_of_the_kind_is_slot_unavailable(clinic, patient):
    surgeon2 = provider_for("surgeon", "dr_two")
    book(clinic, patient, start=local(2027, 3, 2, 10))
    with pytest.raises(SlotUnavailable) as exc:
        book(clinic, PatientFactory(), provider=surgeon2, start=local(2027, 3, 2, 10, 30))
    assert exc.value.extra["resource"] == "room"


def test_room_time_off_makes_the_room_unavailable(clinic, patient):
    TimeOffFactory(
        room=clinic.consultation_room, starts_at=local(2027, 3, 2, 9), ends_at=local(2027, 3, 2, 12)
    )
    with pytest.raises(SlotUnavailable) as exc:
        book(clinic, patient, start=local(2027, 3, 2, 10))
    assert exc.value.extra["resource"] == "room"


def test_provider_time_off_is_slot_unavailable(clinic, patient):
    TimeOffFactory(provider=clinic.surgeon, starts_at=local(2027, 3, 2), ends_at=local(2027, 3, 3))
    with pytest.raises(SlotUnavailable) as exc:
        book(clinic, patient, start=local(2027, 3, 2, 10))
    assert exc.value.extra["resource"] == "provider"


@pytest.mark.parametrize(
    "start",
    [
        local(2027, 3, 2, 8, 45),  # before opening
        local(2027, 3, 2, 16, 15),  # ends after closing
        local(2027, 3, 6, 10),  # Saturday
    ],
)
def test_outside_working_hours_is_refused(clinic, patient, start):
    with pytest.raises(OutsideWorkingHours):
        book(clinic, patient, start=start)


def test_the_last_slot_of_the_day_ends_at_closing(clinic, patient):
    assert book(clinic, patient, start=local(2027, 3, 2, 16)).ends_at == local(2027, 3, 2, 17)


def test_split_day_gap_is_outside_working_hours(clinic, patient):
    split = provider_for("surgeon", "dr_split", hours=((9, 12), (14, 18)))
    with pytest.raises(OutsideWorkingHours):
        book(clinic, patient, provider=split, start=local(2027, 3, 2, 11, 30))
    assert book(clinic, patient, provider=split, start=local(2027, 3, 2, 14)).pk


def test_in_the_past_is_refused(clinic, patient):
    with pytest.raises(InThePast):
        book(clinic, patient, start=local(2027, 2, 26, 10))


def test_off_grid_start_is_refused(clinic, patient):
    with pytest.raises(OffGrid) as exc:
        book(clinic, patient, start=local(2027, 3, 2, 10, 10))
    assert "start" in exc.value.fields


def test_a_therapist_cannot_be_booked_for_toxin(clinic, patient):
    with pytest.raises(ProviderNotAllowed):
        book(clinic, patient, type_=clinic.toxin, provider=clinic.therapist, start=local(2027, 3, 2, 10))


def test_wrong_room_kind_is_refused(clinic, patient):
    with pytest.raises(WrongRoom):
        book(clinic, patient, room=clinic.therapy_room, start=local(2027, 3, 2, 10))


def test_room_at_another_location_is_refused(clinic, patient):
    from tests.factories import LocationFactory

    elsewhere = RoomFactory(location=LocationFactory(name="Satellite"), name="Far", kind="consultation")
    with pytest.raises(WrongRoom):
        book(clinic, patient, room=elsewhere, start=local(2027, 3, 2, 10))


def test_inactive_type_and_inactive_patient_are_refused(clinic, patient):
    clinic.consultation.is_active = False
    clinic.consultation.save()
    with pytest.raises(TypeInactive):
        book(clinic, patient, start=local(2027, 3, 2, 10))
    gone = PatientFactory(status="inactive", inactive_reason="moved_away")
    with pytest.raises(PatientInactive):
        book(clinic, gone, type_=clinic.therapy, provider=clinic.therapist, start=local(2027, 3, 2, 10))


def test_surgery_duration_is_set_per_booking(clinic, patient):
    appt = book(clinic, patient, type_=clinic.surgery, start=local(2027, 3, 2, 9), duration_minutes=150)
    assert appt.ends_at == local(2027, 3, 2, 11, 30)


def test_surgery_without_a_duration_uses_the_default(clinic, patient):
    appt = book(clinic, patient, type_=clinic.surgery, start=local(2027, 3, 2, 9))
    assert appt.ends_at == local(2027, 3, 2, 10, 30)


@pytest.mark.parametrize("minutes", [10, 50, 13 * 60])
def test_surgery_duration_must_be_quarter_hours_within_bounds(clinic, patient, minutes):
    with pytest.raises(BadDuration):
        book(clinic, patient, type_=clinic.surgery, start=local(2027, 3, 2, 9), duration_minutes=minutes)


def test_a_fixed_length_type_refuses_another_duration(clinic, patient):
    with pytest.raises(BadDuration):
        book(clinic, patient, start=local(2027, 3, 2, 10), duration_minutes=90)


# --- the minimum reinjection interval -------------------------------------------------------


def toxin_at(clinic, patient, start, status="completed"):
    return AppointmentFactory(
        patient=patient,
        appointment_type=clinic.toxin,
        provider=clinic.injector,
        room=clinic.procedure_room,
        starts_at=start,
        status=status,
    )


def test_toxin_inside_the_interval_is_refused_with_the_earliest_date(clinic, patient):
    toxin_at(clinic, patient, local(2027, 1, 4, 10))
    with pytest.raises(ReinjectionTooSoon) as exc:
        book(clinic, patient, type_=clinic.toxin, provider=clinic.injector, start=local(2027, 3, 2, 10))
    assert exc.value.code == "reinjection_too_soon"
    assert exc.value.extra["earliest"] == "2027-03-29"  # 4 Jan + 84 days


def test_toxin_exactly_at_the_interval_is_allowed(clinic, patient):
    toxin_at(clinic, patient, local(2026, 12, 7, 10))
    appt = book(clinic, patient, type_=clinic.toxin, provider=clinic.injector, start=local(2027, 3, 1, 10))
    assert appt.interval_override_reason == ""


def test_the_interval_setting_is_used(clinic, patient):
    settings = ClinicSettings.load()
    settings.min_reinjection_interval_days = 56
    settings.save()
    toxin_at(clinic, patient, local(2027, 1, 4, 10))
    assert book(clinic, patient, type_=clinic.toxin, provider=clinic.injector, start=local(2027, 3, 2, 10)).pk


def test_toxin_too_soon_before_a_booked_future_session_is_refused(clinic, patient):
    toxin_at(clinic, patient, local(2027, 4, 5, 10), status="booked")
    with pytest.raises(ReinjectionTooSoon) as exc:
        book(clinic, patient, type_=clinic.toxin, provider=clinic.injector, start=local(2027, 3, 2, 10))
    assert exc.value.extra["earliest"] == "2027-06-28"  # only after the booked one


def test_cancelled_toxin_sessions_do_not_count(clinic, patient):
    toxin_at(clinic, patient, local(2027, 2, 1, 10), status="cancelled")
    assert book(clinic, patient, type_=clinic.toxin, provider=clinic.injector, start=local(2027, 3, 2, 10)).pk


def test_a_recall_alone_neither_blocks_nor_unlocks_a_toxin_booking(clinic, patient):
    # Recalls are reminders, not the record: only sessions given and toxin bookings count.
    recall = recall_open(
        patient=patient,
        kind=Recall.Kind.REINJECTION,
        appointment_type_code="toxin",
        anchor_date=date(2027, 2, 1),
        earliest_date=date(2027, 4, 26),
        due_date=date(2027, 4, 26),
        overdue_date=date(2027, 5, 24),
        source="toxin_session:7",
    )
    assert book(clinic, patient, type_=clinic.toxin, provider=clinic.injector, start=local(2027, 3, 2, 10)).pk
    assert recall.pk


def test_a_clinician_overrides_the_interval_with_a_reason(clinic, patient, injector_user):
    toxin_at(clinic, patient, local(2027, 1, 4, 10))
    appt = book(
        clinic,
        patient,
        type_=clinic.toxin,
        provider=clinic.injector,
        start=local(2027, 3, 2, 10),
        actor=injector_user,
        override_reason="Partial response, top-up agreed",
    )
    assert appt.interval_override_reason == "Partial response, top-up agreed"
    audit = AuditEvent.objects.get(action="appointment.toxin_interval_overridden")
    assert audit.changes == {"reason": "Partial response, top-up agreed"}
    assert audit.actor == injector_user


def test_front_desk_cannot_override_the_interval(clinic, patient, front_desk_user):
    toxin_at(clinic, patient, local(2027, 1, 4, 10))
    with pytest.raises(OverrideNotPermitted):
        book(
            clinic,
            patient,
            type_=clinic.toxin,
            provider=clinic.injector,
            start=local(2027, 3, 2, 10),
            actor=front_desk_user,
            override_reason="Patient asked",
        )
    assert not Appointment.objects.filter(status="booked").exists()


# --- recalls, races, side effects -----------------------------------------------------------


def test_booking_satisfies_the_open_recall_of_the_same_type(clinic, patient):
    recall = due_recall(patient)
    appt = book(clinic, patient, type_=clinic.toxin, provider=clinic.injector, start=local(2027, 3, 2, 10))
    recall.refresh_from_db()
    assert (recall.status, recall.booked_appointment) == ("booked", appt)


def test_booking_another_type_leaves_the_recall_open(clinic, patient):
    recall = due_recall(patient)
    book(clinic, patient, start=local(2027, 3, 2, 10))
    recall.refresh_from_db()
    assert recall.status == "open"


def test_a_race_lost_at_the_database_is_slot_unavailable(clinic, patient):
    # As if the service's own check had passed in both of two concurrent requests.
    first = book(clinic, patient, start=local(2027, 3, 2, 10))
    twin = Appointment(
        patient=PatientFactory(),
        appointment_type=clinic.consultation,
        provider=first.provider,
        room=RoomFactory(location=first.room.location, name="Consult 9"),
        starts_at=first.starts_at,
        ends_at=first.ends_at,
        blocked_until=first.blocked_until,
    )
    with pytest.raises(SlotUnavailable) as exc:
        _insert_or_update(twin)
    assert exc.value.extra["resource"] == "provider"


def test_a_booking_plans_its_messages_inside_and_asks_for_dispatch_after_commit(
    clinic, patient, settings, django_capture_on_commit_callbacks, monkeypatch
):
    """The messages are rows of the booking's own transaction; the dispatcher is asked for once,
    and only when the booking has committed."""
    from scheduling import tasks
    from scheduling.models import Message

    settings.MESSAGES_DISPATCH_ON_CHANGE = True
    asked = []
    monkeypatch.setattr(tasks.messages_dispatch_task, "delay", lambda: asked.append(1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        appt = book(clinic, patient, start=local(2027, 3, 2, 10))
        assert Message.objects.filter(appointment=appt, kind="appointment_confirmation").exists()
    assert asked == []
    for callback in callbacks:
        callback()
    assert asked == [1]


def test_one_transaction_asks_for_one_dispatch_however_many_bookings_it_makes(
    clinic, settings, django_capture_on_commit_callbacks, monkeypatch
):
    """One dispatch sends every message due: loading a diary in one transaction asks once."""
    from scheduling import tasks

    settings.MESSAGES_DISPATCH_ON_CHANGE = True
    asked = []
    monkeypatch.setattr(tasks.messages_dispatch_task, "delay", lambda: asked.append(1))
    with django_capture_on_commit_callbacks(execute=True):
        for hour in (9, 10, 11, 12):
            book(clinic, PatientFactory(), start=local(2027, 3, 2, hour))
    assert asked == [1]


def test_a_rolled_back_savepoint_drops_its_dispatch_request_and_the_next_change_asks_again(
    clinic, settings, django_capture_on_commit_callbacks, monkeypatch
):
    from django.db import transaction

    from scheduling import tasks

    settings.MESSAGES_DISPATCH_ON_CHANGE = True
    asked = []
    monkeypatch.setattr(tasks.messages_dispatch_task, "delay", lambda: asked.append(1))
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            book(clinic, PatientFactory(), start=local(2027, 3, 3, 9))
            raise RuntimeError("undone")
        book(clinic, PatientFactory(), start=local(2027, 3, 3, 10))
    assert asked == [1]


def test_a_failed_booking_notifies_no_one(clinic, patient, django_capture_on_commit_callbacks):
    book(clinic, patient, start=local(2027, 3, 2, 10))
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(SlotUnavailable):
        book(clinic, PatientFactory(), start=local(2027, 3, 2, 10))
    assert callbacks == []


def test_nothing_is_half_written_when_booking_fails(clinic, patient):
    before = (Appointment.objects.count(), AppointmentEvent.objects.count(), AuditEvent.objects.count())
    with pytest.raises(OutsideWorkingHours):
        book(clinic, patient, start=local(2027, 3, 2, 7))
    after = (Appointment.objects.count(), AppointmentEvent.objects.count(), AuditEvent.objects.count())
    assert before == after


def test_rows_longer_than_the_maximum_span_are_refused_by_the_database(clinic, patient):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentFactory(
            patient=patient,
            appointment_type=clinic.consultation,
            provider=clinic.surgeon,
            room=clinic.consultation_room,
            starts_at=local(2027, 3, 2, 10),
            ends_at=local(2027, 3, 2, 10) + timedelta(hours=30),
            blocked_until=local(2027, 3, 2, 10) + timedelta(hours=30),
        )
