"""availability_for: free slots computed from hours, time off, appointments, rooms and the patient."""

from datetime import date, datetime, time, timedelta
from itertools import pairwise
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinic.models import ClinicSettings
from scheduling.availability import availability_for, availability_next, availability_page
from scheduling.intervals import Busy
from tests.factories import AppointmentFactory, PatientFactory, RoomFactory
from tests.scheduling.conftest import count_queries, local, provider_for, queries_with_1_and_30
from tests.scheduling.factories import TimeOffFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db

TUESDAY = date(2027, 3, 2)
UTC = ZoneInfo("UTC")


def starts(slots, provider=None):
    return [s.start for s in slots if provider is None or s.provider == provider]


def day_slots(clinic, type_=None, day=TUESDAY, **kw):
    return availability_for(
        appointment_type=type_ or clinic.consultation, date_from=day, date_to=kw.pop("date_to", day), **kw
    )


def test_a_free_day_offers_every_quarter_hour_that_fits(clinic):
    slots = day_slots(clinic)
    assert starts(slots)[0] == local(2027, 3, 2, 9)
    assert starts(slots)[-1] == local(2027, 3, 2, 16)  # 60 minutes must end by 17:00
    assert len(slots) == 29
    assert {s.room for s in slots} == {clinic.consultation_room}
    assert all(s.end - s.start == timedelta(minutes=60) for s in slots)


def test_only_providers_whose_role_may_deliver_the_type_are_offered(clinic):
    slots = day_slots(clinic, type_=clinic.toxin)
    assert {s.provider for s in slots} == {clinic.surgeon, clinic.injector}


def test_provider_filter(clinic):
    slots = day_slots(clinic, type_=clinic.toxin, provider=clinic.injector)
    assert {s.provider for s in slots} == {clinic.injector}


def test_booked_interval_and_buffer_are_not_offered_and_whole_intervals_are_compared(clinic):
    # Toxin 10:00-10:30 with a 10 minute buffer: the injector is busy until 10:40.
    AppointmentFactory(
        appointment_type=clinic.toxin,
        provider=clinic.injector,
        room=clinic.procedure_room,
        starts_at=local(2027, 3, 2, 10),
    )
    offered = starts(day_slots(clinic, type_=clinic.toxin, provider=clinic.injector))
    # 09:30 would run 09:30-10:00 + buffer to 10:10: overlaps the 10:00 start.
    assert local(2027, 3, 2, 9, 15) in offered
    assert local(2027, 3, 2, 9, 30) not in offered
    assert local(2027, 3, 2, 10) not in offered
    assert local(2027, 3, 2, 10, 30) not in offered
    assert local(2027, 3, 2, 10, 45) in offered


def test_a_slot_longer_than_the_grid_never_overlaps_the_next_appointment(clinic):
    AppointmentFactory(
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        room=clinic.consultation_room,
        starts_at=local(2027, 3, 2, 12),
    )
    offered = starts(day_slots(clinic))
    # A 60-minute consultation at 11:15 would run into 12:00.
    assert local(2027, 3, 2, 11) in offered
    assert local(2027, 3, 2, 11, 15) not in offered
    assert local(2027, 3, 2, 13) in offered


def test_cancelled_appointments_free_their_slot(clinic):
    AppointmentFactory(
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        room=clinic.consultation_room,
        starts_at=local(2027, 3, 2, 12),
        status="cancelled",
    )
    assert local(2027, 3, 2, 12) in starts(day_slots(clinic))


def test_provider_time_off_removes_slots(clinic):
    TimeOffFactory(provider=clinic.surgeon, starts_at=local(2027, 3, 2, 12), ends_at=local(2027, 3, 2, 14))
    offered = starts(day_slots(clinic))
    assert local(2027, 3, 2, 11) in offered
    assert local(2027, 3, 2, 11, 15) not in offered
    assert local(2027, 3, 2, 13, 45) not in offered
    assert local(2027, 3, 2, 14) in offered


def test_room_busy_uses_another_room_or_no_slot(clinic):
    second = RoomFactory(location=clinic.consultation_room.location, name="Consult 2", kind="consultation")
    other = provider_for("surgeon", "dr_other")
    AppointmentFactory(
        appointment_type=clinic.consultation,
        provider=other,
        room=clinic.consultation_room,
        starts_at=local(2027, 3, 2, 10),
    )
    ten = [s for s in day_slots(clinic, provider=clinic.surgeon) if s.start == local(2027, 3, 2, 10)]
    assert [s.room for s in ten] == [second]
    TimeOffFactory(room=second, starts_at=local(2027, 3, 2, 9), ends_at=local(2027, 3, 2, 17))
    assert local(2027, 3, 2, 10) not in starts(day_slots(clinic, provider=clinic.surgeon))


def test_rooms_only_at_the_location_the_provider_works_at(clinic):
    from tests.factories import LocationFactory

    satellite = LocationFactory(name="Satellite")
    travelling = provider_for("therapist", "traveller", location=satellite)
    assert day_slots(clinic, type_=clinic.therapy, provider=travelling) == []
    RoomFactory(location=satellite, name="Sat therapy", kind="therapy")
    slots = day_slots(clinic, type_=clinic.therapy, provider=travelling)
    assert {s.room.name for s in slots} == {"Sat therapy"}


def test_patient_busy_elsewhere_removes_slots(clinic):
    patient = PatientFactory()
    AppointmentFactory(
        patient=patient,
        appointment_type=clinic.therapy,
        provider=clinic.therapist,
        room=clinic.therapy_room,
        starts_at=local(2027, 3, 2, 10),
    )
    offered = starts(day_slots(clinic, patient=patient))
    assert local(2027, 3, 2, 9) in offered  # ends exactly when therapy starts
    assert local(2027, 3, 2, 9, 15) not in offered
    assert local(2027, 3, 2, 10, 45) in offered


def test_split_day_offers_both_blocks(clinic):
    split = provider_for("surgeon", "dr_split", hours=((9, 12), (14, 18)))
    offered = starts(day_slots(clinic, provider=split))
    assert offered[0] == local(2027, 3, 2, 9)
    assert local(2027, 3, 2, 11) in offered and local(2027, 3, 2, 11, 15) not in offered
    assert local(2027, 3, 2, 14) in offered and offered[-1] == local(2027, 3, 2, 17)


def test_no_slots_in_the_past(clinic):
    with time_machine.travel(local(2027, 3, 2, 10, 5), tick=False):
        offered = starts(day_slots(clinic))
    assert offered[0] == local(2027, 3, 2, 10, 15)


def test_no_slots_beyond_the_booking_horizon(clinic):
    settings = ClinicSettings.load()
    settings.booking_horizon_days = 3
    settings.save()
    slots = day_slots(clinic, day=date(2027, 3, 1), date_to=date(2027, 3, 10))
    assert max(s.start for s in slots).date() == date(2027, 3, 4)


def test_toxin_slots_for_a_patient_start_at_the_minimum_interval(clinic):
    patient = PatientFactory()
    AppointmentFactory(
        patient=patient,
        appointment_type=clinic.toxin,
        provider=clinic.injector,
        room=clinic.procedure_room,
        starts_at=local(2026, 12, 9, 10),
        status="completed",
    )
    slots = availability_for(
        appointment_type=clinic.toxin, date_from=date(2027, 3, 1), date_to=date(2027, 3, 5), patient=patient
    )
    assert min(s.start for s in slots).date() == date(2027, 3, 3)  # 9 Dec + 84 days


def test_inactive_type_offers_nothing(clinic):
    clinic.consultation.is_active = False
    assert day_slots(clinic) == []


def test_next_available_searches_forward(clinic):
    TimeOffFactory(provider=clinic.surgeon, starts_at=local(2027, 3, 1), ends_at=local(2027, 3, 20))
    slots = availability_next(appointment_type=clinic.consultation, provider=clinic.surgeon, limit=3)
    assert [s.start for s in slots] == [
        local(2027, 3, 22, 9),
        local(2027, 3, 22, 9, 15),
        local(2027, 3, 22, 9, 30),
    ]


def test_query_count_does_not_grow_with_appointments(clinic):
    patient = PatientFactory()
    one, thirty = queries_with_1_and_30(
        clinic,
        lambda: availability_for(
            appointment_type=clinic.consultation,
            date_from=date(2027, 3, 1),
            date_to=date(2027, 3, 14),
            patient=patient,
        ),
    )
    assert one == thirty <= 8


# --- daylight-saving changes -------------------------------------------------------------------


def _night_owl(clinic, day):
    owl = provider_for("surgeon", "night_owl", weekdays=[day.weekday()], hours=())
    WorkingHoursFactory(
        provider=owl,
        location=clinic.consultation_room.location,
        weekday=day.weekday(),
        start_time=time(0),
        end_time=time(4),
    )
    return owl


def test_spring_forward_day_slots_are_real_instants(clinic):
    # 28 March 2027: London clocks go from 01:00 GMT to 02:00 BST. 00:00-04:00 local is 3 hours.
    day = date(2027, 3, 28)
    owl = _night_owl(clinic, day)
    clinic.consultation.duration_minutes = 15
    slots = day_slots(clinic, day=day, provider=owl)
    utc_starts = [s.start.astimezone(UTC) for s in slots]
    assert len(slots) == 12
    assert utc_starts[0] == datetime(2027, 3, 28, 0, 0, tzinfo=UTC)
    assert utc_starts[-1] == datetime(2027, 3, 28, 2, 45, tzinfo=UTC)
    walls = [s.start.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M") for s in slots]
    assert "01:30" not in walls  # a wall time that does not exist that night
    assert walls[4] == "02:00"
    assert all(b - a == timedelta(minutes=15) for a, b in pairwise(utc_starts))


def test_fall_back_day_slots_cover_the_repeated_hour(clinic):
    # 31 October 2027: clocks go back from 02:00 BST to 01:00 GMT. 00:00-04:00 local is 5 hours.
    day = date(2027, 10, 31)
    owl = _night_owl(clinic, day)
    clinic.consultation.duration_minutes = 15
    with time_machine.travel(local(2027, 10, 20, 8), tick=False):
        slots = day_slots(clinic, day=day, provider=owl)
    utc_starts = [s.start.astimezone(UTC) for s in slots]
    assert len(slots) == 20
    assert utc_starts[0] == datetime(2027, 10, 30, 23, 0, tzinfo=UTC)
    assert utc_starts[-1] == datetime(2027, 10, 31, 3, 45, tzinfo=UTC)
    assert len(set(utc_starts)) == 20


def first_slot_utc_per_day(clinic, first, last):
    slots = availability_for(
        appointment_type=clinic.consultation, date_from=first, date_to=last, provider=clinic.surgeon
    )
    firsts = {}
    for s in slots:
        firsts.setdefault(s.start.astimezone(ZoneInfo("Europe/London")).date(), s.start.astimezone(UTC))
    return firsts


def test_office_hours_keep_their_wall_clock_across_the_change(clinic):
    # 09:00 London is 09:00 UTC on the Friday before and 08:00 UTC on the Monday after.
    assert first_slot_utc_per_day(clinic, date(2027, 3, 26), date(2027, 3, 29)) == {
        date(2027, 3, 26): datetime(2027, 3, 26, 9, tzinfo=UTC),
        date(2027, 3, 29): datetime(2027, 3, 29, 8, tzinfo=UTC),
    }


def test_autumn_office_hours_keep_their_wall_clock(clinic):
    with time_machine.travel(local(2027, 10, 20, 8), tick=False):
        firsts = first_slot_utc_per_day(clinic, date(2027, 10, 29), date(2027, 11, 1))
    assert firsts == {
        date(2027, 10, 29): datetime(2027, 10, 29, 8, tzinfo=UTC),
        date(2027, 11, 1): datetime(2027, 11, 1, 9, tzinfo=UTC),
    }


# --- a limit, ``after`` and pages ------------------------------------------------------------


@pytest.fixture
def busy_week(clinic):
    """Three surgeons sharing two consultation rooms for the week of 1 March 2027, with
    bookings and time off on several days: slots of many start times, most shared by
    several providers."""
    location = clinic.consultation_room.location
    RoomFactory(location=location, name="Consult 2", kind="consultation")
    second = provider_for("surgeon", "dr_ash", location=location)
    split = provider_for("surgeon", "dr_split", location=location, hours=((9, 12), (14, 18)))
    for day, hour, who in ((2, 10, clinic.surgeon), (2, 10, second), (3, 14, split), (4, 9, second)):
        AppointmentFactory(
            appointment_type=clinic.consultation,
            provider=who,
            starts_at=local(2027, 3, day, hour),
            room=clinic.consultation_room
            if who != second
            else RoomFactory(location=location, kind="consultation"),
        )
    TimeOffFactory(provider=clinic.surgeon, starts_at=local(2027, 3, 3, 9), ends_at=local(2027, 3, 3, 13))
    TimeOffFactory(
        room=clinic.consultation_room, starts_at=local(2027, 3, 4, 12), ends_at=local(2027, 3, 4, 17)
    )
    return {
        "appointment_type": clinic.consultation,
        "date_from": date(2027, 3, 1),
        "date_to": date(2027, 3, 7),
    }


def slot_keys(slots):
    return [(s.start, s.end, s.provider_id, s.room_id) for s in slots]


def all_pages(search, limit, after=None):
    pages = []
    while True:
        page = availability_page(**search, limit=limit, after=after)
        pages.append(page.slots)
        if not page.more:
            return pages
        after = page.slots[-1].start


def test_the_week_is_a_real_test_of_paging(busy_week):
    slots = availability_for(**busy_week)
    assert len(slots) > 300
    assert len({s.provider for s in slots}) == 3
    starts = [s.start for s in slots]
    assert len(set(starts)) < len(starts) / 2  # most start times are shared


@pytest.mark.parametrize("limit", [1, 2, 5, 29, 30, 100, 500])
def test_a_limit_keeps_the_first_slots_of_the_whole_search(busy_week, limit):
    # The search stops once it has enough: what it returns is the whole search's beginning.
    everything = availability_for(**busy_week)
    assert slot_keys(availability_for(**busy_week, limit=limit)) == slot_keys(everything[:limit])


def test_slots_are_sorted_by_start_then_provider_name(busy_week):
    slots = availability_for(**busy_week)
    assert [(s.start, str(s.provider), s.provider.pk) for s in slots] == sorted(
        (s.start, str(s.provider), s.provider.pk) for s in slots
    )


@pytest.mark.parametrize(
    "after",
    [
        local(2027, 3, 2, 11),  # a start time: slots from 11:15
        local(2027, 3, 2, 11, 7) + timedelta(seconds=30),  # between two quarter hours
        datetime(2027, 3, 3, 16, 59, 59, 999999, tzinfo=UTC),  # a microsecond before a grid time
        local(2027, 3, 1, 0),  # before the first slot: everything
        local(2027, 3, 9, 0),  # after the window: nothing
    ],
)
def test_after_keeps_only_slots_starting_strictly_later(busy_week, after):
    everything = availability_for(**busy_week)
    expected = [s for s in everything if s.start > after]
    assert slot_keys(availability_for(**busy_week, after=after)) == slot_keys(expected)
    assert slot_keys(availability_for(**busy_week, after=after, limit=7)) == slot_keys(expected[:7])


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 50, 5000])
def test_pages_put_together_are_the_whole_search(busy_week, limit):
    everything = slot_keys(availability_for(**busy_week))
    pages = [slot_keys(page) for page in all_pages(busy_week, limit)]
    assert [key for page in pages for key in page] == everything
    for page, following in pairwise(pages):
        # Each page ends on a whole start time: the next one starts later.
        assert page[-1][0] < following[0][0]
        # At most ``limit`` slots, unless one start time alone has more.
        assert len(page) <= limit or len({key[0] for key in page}) == 1
    assert all(pages)  # no empty page, not even the last


def test_a_page_cuts_before_the_start_time_that_would_overflow_it(busy_week):
    everything = availability_for(**busy_week)
    first_start = everything[0].start
    group = [s for s in everything if s.start == first_start]
    assert len(group) == 3  # the three surgeons at 09:00 on Monday
    # Four slots asked: the 09:00 group fits, the 09:15 group would not: the page stops at 09:00.
    page = availability_page(**busy_week, limit=4)
    assert slot_keys(page.slots) == slot_keys(group)
    assert page.more
    # One slot asked: the whole 09:00 group all the same, so that the next page carries on.
    page = availability_page(**busy_week, limit=1)
    assert slot_keys(page.slots) == slot_keys(group)
    assert page.more


def test_the_last_page_says_nothing_follows(busy_week):
    everything = availability_for(**busy_week)
    page = availability_page(**busy_week, limit=len(everything))
    assert slot_keys(page.slots) == slot_keys(everything)
    assert not page.more
    assert not availability_page(**busy_week, limit=10, after=everything[-1].start).more


def test_a_first_page_checks_a_fraction_of_the_window(busy_week):
    # The days are searched in order and every slot of a later day starts later: a page of
    # ten stops within the first morning instead of checking all five days.
    checks = {}
    for limit in (None, 10):
        with patch.object(Busy, "is_free", autospec=True, side_effect=Busy.is_free) as is_free:
            if limit:
                availability_page(**busy_week, limit=limit)
            else:
                availability_for(**busy_week)
        checks[limit] = is_free.call_count
    assert checks[10] * 20 < checks[None]


def test_a_search_past_its_first_read_still_sees_the_later_bookings(clinic):
    # A page of five reads Monday's bookings first (a day could hold five slots three times
    # over); Monday and Tuesday are off, so the search reads the rest of the week before it
    # goes on, and must then see Wednesday's bookings: the surgeon's, the patient's and the
    # rooms'.
    patient = PatientFactory()
    location = clinic.consultation_room.location
    second_room = RoomFactory(location=location, name="Consult 2", kind="consultation")
    TimeOffFactory(provider=clinic.surgeon, starts_at=local(2027, 3, 1), ends_at=local(2027, 3, 3))
    TimeOffFactory(room=second_room, starts_at=local(2027, 3, 3, 10, 30), ends_at=local(2027, 3, 3, 17))
    for who, room, hour in (
        (clinic.surgeon, second_room, 9),  # the surgeon, busy until 10:00 (the first room is free)
        (provider_for("surgeon", "dr_other", location=location), clinic.consultation_room, 11),
    ):
        AppointmentFactory(
            appointment_type=clinic.consultation, provider=who, room=room, starts_at=local(2027, 3, 3, hour)
        )
    AppointmentFactory(  # the patient, busy 10:00-10:45
        patient=patient,
        appointment_type=clinic.therapy,
        provider=clinic.therapist,
        room=clinic.therapy_room,
        starts_at=local(2027, 3, 3, 10),
    )
    search = {
        "appointment_type": clinic.consultation,
        "date_from": date(2027, 3, 1),
        "date_to": date(2027, 3, 5),
        "provider": clinic.surgeon,
        "patient": patient,
    }
    everything = availability_for(**search)
    # 10:45-11:45 and on need a room until 12:00: the first is booked, the second is off.
    assert starts(everything)[:2] == [local(2027, 3, 3, 12), local(2027, 3, 3, 12, 15)]
    assert slot_keys(availability_for(**search, limit=5)) == slot_keys(everything[:5])
    assert slot_keys(availability_page(**search, limit=5).slots) == slot_keys(everything[:5])


def test_pages_and_limits_do_not_change_the_query_count(busy_week):
    patient = PatientFactory()
    counts = {
        label: count_queries(call)
        for label, call in {
            "everything": lambda: availability_for(**busy_week, patient=patient),
            "limit": lambda: availability_for(**busy_week, patient=patient, limit=3),
            "first page": lambda: availability_page(**busy_week, patient=patient, limit=3),
            "later page": lambda: availability_page(
                **busy_week, patient=patient, limit=3, after=local(2027, 3, 4, 12)
            ),
            "last page": lambda: availability_page(**busy_week, patient=patient, limit=5000),
        }.items()
    }
    assert len(set(counts.values())) == 1, counts


def test_a_first_page_query_count_does_not_grow_with_appointments(clinic):
    patient = PatientFactory()
    search = {
        "appointment_type": clinic.consultation,
        "date_from": date(2027, 3, 1),
        "date_to": date(2027, 3, 14),
        "patient": patient,
    }
    one, thirty = queries_with_1_and_30(clinic, lambda: availability_page(**search, limit=5))
    assert one == thirty == count_queries(lambda: availability_for(**search))


def test_pages_across_the_autumn_change_follow_the_real_instants(clinic):
    # 31 October 2027: 01:00-02:00 happens twice. ``after`` is an instant, so a page ending at
    # 01:45 BST (00:45 UTC) is followed by 01:00 GMT (01:00 UTC), not by 02:00.
    day = date(2027, 10, 31)
    owl = _night_owl(clinic, day)
    clinic.consultation.duration_minutes = 15
    search = {"appointment_type": clinic.consultation, "date_from": day, "date_to": day, "provider": owl}
    with time_machine.travel(local(2027, 10, 20, 8), tick=False):
        everything = slot_keys(availability_for(**search))
        pages = all_pages(search, 8)
        following = availability_page(**search, limit=1, after=datetime(2027, 10, 31, 0, 45, tzinfo=UTC))
    assert [key for page in pages for key in slot_keys(page)] == everything
    assert [len(page) for page in pages] == [8, 8, 4]
    assert following.slots[0].start == datetime(2027, 10, 31, 1, 0, tzinfo=UTC)
