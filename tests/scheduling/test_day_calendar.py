"""The all-provider day view on a clinic group: provider columns a page at a time.

A page shows ``settings.SCHEDULE_DAY_COLUMNS`` providers in name order and reads only their
appointments, hours and time off; its cancelled list and waitlist matches are those of its
providers (the first page also lists providers with no column that day).
"""

import re
from datetime import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling.models import Appointment, WorkingHours
from scheduling.services import appointment_book, appointment_cancel, appointment_reschedule, waitlist_add
from tests.factories import AppointmentFactory, PatientFactory, RoomFactory
from tests.scheduling.conftest import count_queries, local, provider_for

pytestmark = pytest.mark.django_db

DASH = "\u2013"  # between the first and last provider of a page
DAY = {"date": "2027-03-02"}  # a Tuesday; the clinic works Monday to Friday, 09:00-17:00


@pytest.fixture
def desk(client, front_desk_user):
    client.force_login(front_desk_user)
    return client


@pytest.fixture
def named(clinic):
    """The clinic's providers with names that fix their order: Adams, Baker, Clark."""
    for provider, last_name in (
        (clinic.surgeon, "Adams"),
        (clinic.injector, "Baker"),
        (clinic.therapist, "Clark"),
    ):
        provider.user.title, provider.user.first_name, provider.user.last_name = "", "Sam", last_name
        provider.user.save()
    return clinic


@pytest.fixture
def two_per_page(settings):
    settings.SCHEDULE_DAY_COLUMNS = 2


def columns(html: str) -> list[int]:
    """The providers heading the grid's columns, left to right."""
    return [
        int(pk)
        for pk in re.findall(r'<th scope="col"[^>]*>\s*<a href="/schedule/week/\?provider=(\d+)', html)
    ]


def pager(html: str, columns: str = "Provider") -> str:
    found = re.search(rf'<nav class="pager[^"]*" aria-label="{columns} columns">(.*?)</nav>', html, re.S)
    return found.group(1) if found else ""


def day_html(desk, **params) -> str:
    response = desk.get("/schedule/", {**DAY, **params})
    assert response.status_code == 200
    return response.content.decode()


def book(clinic, provider, hour, type_=None, patient=None):
    return appointment_book(
        patient=patient or PatientFactory(),
        appointment_type=type_
        or {"surgeon": clinic.consultation, "injector": clinic.toxin}.get(provider.role, clinic.therapy),
        provider=provider,
        starts_at=local(2027, 3, 2, hour),
        actor=None,
    )


# --- one page ----------------------------------------------------------------------------------


def test_a_small_clinic_fits_on_one_page_without_a_pager(named, desk):
    html = day_html(desk)
    assert columns(html) == [named.surgeon.pk, named.injector.pk, named.therapist.pk]
    assert pager(html) == "" and "Previous providers" not in html and "Next providers" not in html
    assert '<caption class="sr-only">Providers by quarter hour.' in html
    assert "For providers" not in html


# --- pages -------------------------------------------------------------------------------------


def test_providers_come_a_page_at_a_time_in_name_order(named, desk, two_per_page):
    first = day_html(desk)
    assert columns(first) == [named.surgeon.pk, named.injector.pk]
    nav = pager(first)
    assert f"Providers 1{DASH}2 of 3" in nav
    assert 'href="/schedule/?date=2027-03-02&amp;page=2">Next providers' in nav
    assert "Previous providers" not in nav
    assert f"Providers 1{DASH}2 of 3 by quarter hour." in first  # the table's caption

    second = day_html(desk, page=2)
    assert columns(second) == [named.therapist.pk]
    nav = pager(second)
    assert "Provider 3 of 3" in nav
    # Back to the first page: its address has no page number.
    assert 'href="/schedule/?date=2027-03-02"><span aria-hidden="true">←</span> Previous providers' in nav
    assert "Next providers" not in nav


def test_pager_links_keep_the_location_and_day_links_keep_the_page(named, desk, two_per_page):
    location = named.consultation_room.location
    html = day_html(desk, location=location.pk, page=2)
    assert columns(html) == [named.therapist.pk]
    assert f'href="/schedule/?date=2027-03-02&amp;location={location.pk}">' in pager(html)
    assert f'href="/schedule/?date=2027-03-01&amp;location={location.pk}&amp;page=2" rel="prev"' in html
    assert f'href="/schedule/?date=2027-03-03&amp;location={location.pk}&amp;page=2" rel="next"' in html


def test_a_page_out_of_range_shows_the_last_and_a_bad_one_the_first(named, desk, two_per_page):
    assert columns(day_html(desk, page=99)) == [named.therapist.pk]
    assert "Provider 3 of 3" in pager(day_html(desk, page=99))
    assert columns(day_html(desk, page="x")) == [named.surgeon.pk, named.injector.pk]
    assert columns(day_html(desk, page="9" * 40)) == [named.therapist.pk]


def test_a_page_shows_and_lists_only_its_providers(named, desk, two_per_page):
    surgeons = PatientFactory(first_name="Una", last_name="Surgical")
    therapists = PatientFactory(first_name="Tom", last_name="Therapy")
    book(named, named.surgeon, 10, patient=surgeons)
    book(named, named.therapist, 10, patient=therapists)
    gone_first = book(named, named.surgeon, 14)
    gone_second = book(named, named.therapist, 14)
    for appointment in (gone_first, gone_second):
        appointment_cancel(appointment=appointment, reason="Unwell", actor=None)

    first, second = day_html(desk), day_html(desk, page=2)
    assert surgeons.display_name in first and therapists.display_name not in first
    assert therapists.display_name in second and surgeons.display_name not in second
    assert f"/schedule/appointments/{gone_first.pk}/" in first
    assert f"/schedule/appointments/{gone_second.pk}/" not in first
    assert f"/schedule/appointments/{gone_second.pk}/" in second
    assert f"/schedule/appointments/{gone_first.pk}/" not in second
    assert f"For providers 1{DASH}2, and anyone with no column on this day." in first
    assert "For provider 3." in second


def test_cancellations_of_someone_without_a_column_are_listed_on_the_first_page(named, desk, two_per_page):
    # Works Mondays only; their Tuesday visit was cancelled, so they have no column that day.
    away = provider_for("surgeon", "dr_zed", weekdays=[0], location=named.consultation_room.location)
    cancelled = AppointmentFactory(
        provider=away,
        room=named.consultation_room,
        appointment_type=named.consultation,
        starts_at=local(2027, 3, 2, 11),
        status=Appointment.Status.CANCELLED,
        cancellation_reason="Clinic closed",
    )
    first, second = day_html(desk), day_html(desk, page=2)
    assert away.pk not in columns(first) + columns(second)
    assert f"/schedule/appointments/{cancelled.pk}/" in first and "Clinic closed" in first
    assert f"/schedule/appointments/{cancelled.pk}/" not in second


def test_nobody_working_still_lists_the_days_cancellations(named, desk):
    cancelled = AppointmentFactory(
        provider=named.surgeon,
        room=named.consultation_room,
        appointment_type=named.consultation,
        starts_at=local(2027, 3, 7, 11),  # a Sunday
        status=Appointment.Status.CANCELLED,
    )
    html = day_html(desk, date="2027-03-07")
    assert "No one works on this day" in html
    assert f"/schedule/appointments/{cancelled.pk}/" in html


def test_waitlist_matches_are_those_of_the_pages_providers(named, desk, two_per_page, front_desk_user):
    waiting = PatientFactory(first_name="Wanda", last_name="Waiting")
    waitlist_add(patient=waiting, appointment_type=named.therapy, actor=front_desk_user)
    appointment_cancel(appointment=book(named, named.therapist, 11), reason="Unwell", actor=front_desk_user)

    assert "Waitlist matches" not in day_html(desk)
    second = day_html(desk, page=2)
    assert "Waitlist matches" in second and f"Book for {waiting.display_name}" in second


def test_an_offer_of_someone_without_a_column_is_on_the_first_page_only(
    named, desk, settings, front_desk_user
):
    """A slot freed by a move whose provider then stopped working that day: nothing of theirs is
    booked then, so they have no column, and the open offer still shows on exactly one page."""
    settings.SCHEDULE_DAY_COLUMNS = 1
    waiting = PatientFactory(first_name="Wanda", last_name="Waiting")
    waitlist_add(patient=waiting, appointment_type=named.consultation, actor=front_desk_user)
    moved = book(named, named.surgeon, 11)
    appointment_reschedule(appointment=moved, starts_at=local(2027, 3, 3, 11), actor=front_desk_user)
    WorkingHours.objects.filter(provider=named.surgeon, weekday=1).delete()  # Tuesdays off now

    first, second = day_html(desk), day_html(desk, page=2)
    assert columns(first) == [named.injector.pk] and columns(second) == [named.therapist.pk]
    assert f"Book for {waiting.display_name}" in first and "with Sam Adams" in first
    assert "Waitlist matches" not in second


def test_rows_follow_the_pages_providers(named, desk, two_per_page):
    WorkingHours.objects.filter(provider=named.therapist).update(start_time=time(7), end_time=time(20))
    first, second = day_html(desk), day_html(desk, page=2)
    assert first.count('<th scope="row"') == 40  # 08:00 to 18:00, the least a grid shows
    assert second.count('<th scope="row"') == 52  # the therapist's 07:00 to 20:00
    assert 'data-start="2027-03-02T07:00:00+00:00"' in second
    assert 'data-start="2027-03-02T19:45:00+00:00"' in second


# --- cost --------------------------------------------------------------------------------------


def test_queries_do_not_grow_with_the_number_of_providers(named, desk):
    location = named.consultation_room.location
    few = count_queries(lambda: desk.get("/schedule/", DAY))
    for i in range(27):
        provider = provider_for("therapist", f"extra{i}", location=location)
        AppointmentFactory(
            provider=provider,
            room=RoomFactory(location=location, kind="therapy"),
            appointment_type=named.therapy,
            starts_at=local(2027, 3, 2, 9 + i % 8),
        )
    many = count_queries(lambda: desk.get("/schedule/", DAY))
    second_page = count_queries(lambda: desk.get("/schedule/", {**DAY, "page": 3}))
    assert few == many == second_page
    html = day_html(desk)
    assert len(columns(html)) == 12 and f"Providers 1{DASH}12 of 30" in pager(html)


def test_a_page_reads_the_appointments_of_its_providers_only(named, desk, two_per_page):
    for hour in (9, 10, 11):
        book(named, named.surgeon, hour)
    book(named, named.therapist, 10)
    with CaptureQueriesContext(connection) as ctx:
        day_html(desk, page=2)
    read = [q["sql"] for q in ctx.captured_queries if 'FROM "scheduling_appointment"' in q["sql"]]
    grid_query = next(sql for sql in read if '"patients_patient"' in sql)
    assert f'"provider_id" IN ({named.therapist.pk})' in grid_query


# --- the grid's HTML ---------------------------------------------------------------------------


def test_free_slots_keep_the_booking_links_and_drop_targets(named, desk):
    html = day_html(desk)
    pk = named.surgeon.pk
    start = "2027-03-02T09%3A00%3A00%2B00%3A00"
    assert (
        f'<td class="cal-free" data-start="2027-03-02T09:00:00+00:00" data-provider="{pk}" data-room="">'
        f'<a class="slot" href="/schedule/book/?start={start}&amp;provider={pk}"'
        f' hx-get="/schedule/book/?start={start}&amp;provider={pk}" hx-target="#dialog-body"'
        ' hx-indicator="#grid-spinner"><span class="sr-only">Book Sam Adams, Tue 2 Mar at 09:00</span></a></td>'
    ) in html


def test_summer_time_slots_show_the_wall_clock_and_book_the_instant(named, desk):
    html = day_html(desk, date="2027-07-06")
    # 09:00 in London in July is 08:00 UTC.
    assert 'data-start="2027-07-06T09:00:00+01:00"' in html
    assert "start=2027-07-06T08%3A00%3A00%2B00%3A00" in html
    assert "Tue 6 Jul at 09:00" in html


def test_names_in_the_grid_are_escaped(named, desk):
    named.surgeon.user.first_name = "<b>Bold</b> & Co"
    named.surgeon.user.save()
    patient = PatientFactory(first_name="<i>Ivy</i>", last_name="O'Neil")
    appointment = book(named, named.surgeon, 10, patient=patient)
    Appointment.objects.filter(pk=appointment.pk).update(status=Appointment.Status.CONFIRMED)
    html = day_html(desk)
    assert "<b>Bold</b>" not in html and "<i>Ivy</i>" not in html
    assert "Book &lt;b&gt;Bold&lt;/b&gt; &amp; Co Adams, Tue 2 Mar at 09:00" in html
    assert '<span class="appt-patient">&lt;i&gt;Ivy&lt;/i&gt; O&#x27;Neil</span>' in html
    assert (
        f'<a class="appt st-confirmed" href="/schedule/appointments/{appointment.pk}/"'
        f' data-colour="{named.consultation.colour}" draggable="true"'
        f' data-move="/schedule/appointments/{appointment.pk}/reschedule/">'
    ) in html


def test_the_week_and_room_views_share_the_grid(named, desk):
    appointment = book(named, named.surgeon, 10)
    week = desk.get("/schedule/week/", {"provider": named.surgeon.pk, **DAY}).content.decode()
    rooms = desk.get("/schedule/rooms/", DAY).content.decode()
    for html in (week, rooms):
        assert f"/schedule/appointments/{appointment.pk}/" in html
        assert pager(html) == pager(html, "Room") == ""
    # A week column is a date; its free slots name the provider and the date.
    assert "Book Sam Adams, Wed 3 Mar at 09:00" in week
    assert f'data-room="{named.consultation_room.pk}"' in rooms
    assert f"&amp;room={named.consultation_room.pk}" in rooms
    assert "· Sam Adams" in rooms  # the room view names the provider


# --- the room view, paged the same way --------------------------------------------------------


def room_columns(html: str) -> list[str]:
    """The rooms heading the room view's columns, left to right."""
    return re.findall(r'<th scope="col">\s*([^<]+?)\s*</th>', html)


def rooms_html(desk, **params) -> str:
    response = desk.get("/schedule/rooms/", {**DAY, **params})
    assert response.status_code == 200
    return response.content.decode()


def test_rooms_come_a_page_at_a_time_in_name_order(named, desk, two_per_page):
    first = rooms_html(desk)
    assert room_columns(first) == ["Consult 1", "Procedure 1"]
    nav = pager(first, "Room")
    assert f"Rooms 1{DASH}2 of 4" in nav
    assert 'href="/schedule/rooms/?date=2027-03-02&amp;page=2">Next rooms' in nav
    assert "Previous rooms" not in nav
    assert f"Rooms 1{DASH}2 of 4 by quarter hour." in first

    second = rooms_html(desk, page=2)
    assert room_columns(second) == ["Theatre", "Therapy 1"]
    assert 'href="/schedule/rooms/?date=2027-03-02"><span aria-hidden="true">←</span> Previous rooms' in (
        pager(second, "Room")
    )
    # The day links keep the page; a page out of range shows the last.
    assert 'href="/schedule/rooms/?date=2027-03-03&amp;page=2" rel="next"' in second
    assert room_columns(rooms_html(desk, page=99)) == ["Theatre", "Therapy 1"]
    assert room_columns(rooms_html(desk, page="x")) == ["Consult 1", "Procedure 1"]


def test_a_room_page_shows_and_reads_only_its_rooms(named, desk, two_per_page):
    consulting = PatientFactory(first_name="Cora", last_name="Consulted")
    in_therapy = PatientFactory(first_name="Tess", last_name="Therapied")
    book(named, named.surgeon, 10, patient=consulting)  # in Consult 1, on the first page
    book(named, named.therapist, 10, patient=in_therapy)  # in Therapy 1, on the second
    first = rooms_html(desk)
    assert consulting.display_name in first and in_therapy.display_name not in first
    with CaptureQueriesContext(connection) as ctx:
        second = rooms_html(desk, page=2)
    assert in_therapy.display_name in second and consulting.display_name not in second
    grid_query = next(
        q["sql"]
        for q in ctx.captured_queries
        if 'FROM "scheduling_appointment"' in q["sql"] and '"patients_patient"' in q["sql"]
    )
    assert f'"room_id" IN ({named.theatre.pk}, {named.therapy_room.pk})' in grid_query


def test_room_view_queries_do_not_grow_with_the_number_of_rooms(named, desk):
    location = named.consultation_room.location
    few = count_queries(lambda: desk.get("/schedule/rooms/", DAY))
    for i in range(26):
        AppointmentFactory(
            provider=provider_for("therapist", f"extra{i}", location=location),
            room=RoomFactory(location=location, name=f"Extra {i:02}", kind="therapy"),
            appointment_type=named.therapy,
            starts_at=local(2027, 3, 2, 9 + i % 8),
        )
    many = count_queries(lambda: desk.get("/schedule/rooms/", DAY))
    third_page = count_queries(lambda: desk.get("/schedule/rooms/", {**DAY, "page": 3}))
    assert few == many == third_page
    html = rooms_html(desk)
    assert len(room_columns(html)) == 12 and f"Rooms 1{DASH}12 of 30" in pager(html, "Room")
