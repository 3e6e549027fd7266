"""Practice set-up by the practice manager: working hours, time off, rooms and appointment
types, through scheduling.practice, on the pages (/schedule/setup/) and the API."""

from datetime import time

import pytest

from clinic.errors import Invalid
from clinic.models import AuditEvent
from scheduling import practice
from scheduling.models import Appointment, AppointmentType, Room, TimeOff, WorkingHours
from scheduling.services import appointment_book
from tests.scheduling.conftest import local

pytestmark = pytest.mark.django_db


def _book(clinic, patient, when):
    return appointment_book(
        patient=patient,
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        starts_at=when,
        actor=None,
    )


# --- Services ----------------------------------------------------------------------------------


def test_working_hours_may_not_overlap_on_a_day(clinic, manager_user):
    location = clinic.consultation_room.location
    with pytest.raises(practice.WorkingHoursOverlap) as excinfo:
        practice.working_hours_save(
            data={
                "provider": clinic.surgeon,
                "location": location,
                "weekday": 0,
                "start_time": time(16, 0),
                "end_time": time(19, 0),
            },
            actor=manager_user,
        )
    assert excinfo.value.code == "working_hours_overlap"
    assert "Monday 09:00-17:00" in excinfo.value.fields["start_time"][0]

    evening = practice.working_hours_save(
        data={
            "provider": clinic.surgeon,
            "location": location,
            "weekday": 0,
            "start_time": time(17, 0),
            "end_time": time(19, 0),
        },
        actor=manager_user,
    )
    event = AuditEvent.objects.get(action="schedule.workinghours_created")
    assert event.actor == manager_user and event.target_id == str(evening.pk)


def test_time_off_over_bookings_is_refused_with_the_bookings_listed(clinic, patient, manager_user):
    booked = _book(clinic, patient, local(2027, 3, 2, 10, 0))
    data = {"provider": clinic.surgeon, "starts_at": local(2027, 3, 2, 9), "ends_at": local(2027, 3, 2, 13)}

    with pytest.raises(practice.TimeOffOverlapsBookings) as excinfo:
        practice.time_off_save(data=data, actor=manager_user)
    assert excinfo.value.status == 409
    assert [a["id"] for a in excinfo.value.extra["appointments"]] == [booked.pk]
    assert patient.display_name in excinfo.value.detail
    assert not TimeOff.objects.exists()

    period = practice.time_off_save(data=data, actor=manager_user, acknowledge_bookings=True)
    assert AuditEvent.objects.get(action="schedule.timeoff_over_bookings").changes == {
        "bookings_in_time_off": [booked.pk]
    }
    assert AuditEvent.objects.filter(action="schedule.timeoff_created", target_id=str(period.pk)).exists()
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED  # the booking stays for the desk to move


def test_time_off_elsewhere_or_over_a_cancelled_booking_needs_no_confirmation(clinic, patient, manager_user):
    booked = _book(clinic, patient, local(2027, 3, 2, 10, 0))
    booked.status = Appointment.Status.CANCELLED
    booked.save()
    practice.time_off_save(
        data={
            "provider": clinic.surgeon,
            "starts_at": local(2027, 3, 2, 9),
            "ends_at": local(2027, 3, 2, 13),
        },
        actor=manager_user,
    )
    practice.time_off_save(
        data={
            "room": clinic.therapy_room,
            "starts_at": local(2027, 3, 2, 9),
            "ends_at": local(2027, 3, 2, 13),
        },
        actor=manager_user,
    )
    assert TimeOff.objects.count() == 2


def test_appointment_types_need_known_roles_and_are_retired_not_deleted(clinic, patient, manager_user):
    with pytest.raises(Invalid) as excinfo:
        practice.appointment_type_save(
            data={
                "code": "laser",
                "name": "Laser",
                "duration_minutes": 30,
                "provider_roles": ["nurse"],
                "room_kind": "procedure",
            },
            actor=manager_user,
        )
    assert "provider_roles" in excinfo.value.fields
    _book(clinic, patient, local(2027, 3, 2, 10, 0))
    practice.appointment_type_save(
        data={"is_active": False}, actor=manager_user, appointment_type=clinic.consultation
    )
    assert AppointmentType.objects.get(pk=clinic.consultation.pk).is_active is False
    assert Appointment.objects.filter(appointment_type=clinic.consultation).count() == 1


# --- Pages -------------------------------------------------------------------------------------


def test_the_manager_sees_the_set_up_and_others_do_not(client, clinic, manager_user, front_desk_user):
    client.force_login(front_desk_user)
    assert client.get("/schedule/setup/").status_code == 403
    client.force_login(manager_user)
    html = client.get("/schedule/setup/").content.decode()
    assert "Practice set-up" in html
    assert "Consult 1" in html or clinic.consultation_room.name in html
    assert clinic.consultation.name in html
    assert "Mon</span> 09:00\N{EN DASH}17:00" in html


def test_the_manager_adds_working_hours_on_the_page_and_sees_overlaps_as_form_errors(
    client, clinic, manager_user
):
    client.force_login(manager_user)
    url = f"/schedule/setup/providers/{clinic.surgeon.pk}/hours/"
    location = clinic.consultation_room.location_id
    overlap = client.post(
        url, {"weekday": 1, "location": location, "start_time": "12:00", "end_time": "18:00"}
    )
    assert overlap.status_code == 400
    assert "Overlaps Tuesday 09:00-17:00" in overlap.content.decode()

    added = client.post(url, {"weekday": 5, "location": location, "start_time": "09:00", "end_time": "12:00"})
    assert added.status_code == 302
    saturday = WorkingHours.objects.get(provider=clinic.surgeon, weekday=5)
    assert client.post(f"/schedule/setup/hours/{saturday.pk}/remove/").status_code == 302
    assert not WorkingHours.objects.filter(pk=saturday.pk).exists()
    assert AuditEvent.objects.filter(action="schedule.workinghours_deleted").exists()


def test_time_off_page_lists_the_bookings_in_the_way_then_saves_when_confirmed(
    client, clinic, patient, manager_user
):
    booked = _book(clinic, patient, local(2027, 3, 2, 10, 0))
    client.force_login(manager_user)
    form = {
        "provider": clinic.surgeon.pk,
        "starts_at": "2027-03-02T09:00",
        "ends_at": "2027-03-02T13:00",
        "reason": "Training",
    }
    refused = client.post("/schedule/setup/time-off/", form)
    assert refused.status_code == 409
    html = refused.content.decode()
    assert "1 appointment is booked in this time." in html
    assert f'/schedule/appointments/{booked.pk}/"' in html and patient.display_name in html
    assert 'name="acknowledge_bookings"' in html
    assert not TimeOff.objects.exists()

    saved = client.post("/schedule/setup/time-off/", {**form, "acknowledge_bookings": "on"})
    assert saved.status_code == 302
    period = TimeOff.objects.get()
    assert period.reason == "Training" and period.starts_at == local(2027, 3, 2, 9)


def test_the_manager_adds_a_room_and_retires_it(client, clinic, manager_user):
    client.force_login(manager_user)
    location = clinic.consultation_room.location_id
    assert (
        client.post(
            "/schedule/setup/rooms/new/",
            {"location": location, "name": "Consult 2", "kind": "consultation", "is_active": "on"},
        ).status_code
        == 302
    )
    room = Room.objects.get(name="Consult 2")
    duplicate = client.post(
        "/schedule/setup/rooms/new/", {"location": location, "name": "Consult 2", "kind": "consultation"}
    )
    assert duplicate.status_code == 400
    response = client.post(
        f"/schedule/setup/rooms/{room.pk}/",
        {"location": location, "name": "Consult 2", "kind": "consultation"},
    )
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.is_active is False
    assert AuditEvent.objects.get(action="schedule.room_updated").changes == {"is_active": [True, False]}


def test_the_manager_adds_an_appointment_type_on_the_page(client, clinic, manager_user):
    client.force_login(manager_user)
    form = {
        "name": "Laser review",
        "code": "laser-review",
        "duration_minutes": "20",
        "buffer_after_minutes": "5",
        "provider_roles": ["surgeon", "injector"],
        "room_kind": "procedure",
        "colour": "#336699",
        "is_active": "on",
    }
    assert client.post("/schedule/setup/types/new/", form).status_code == 302
    created = AppointmentType.objects.get(code="laser-review")
    assert created.provider_roles == ["surgeon", "injector"] and created.duration_minutes == 20
    again = client.post("/schedule/setup/types/new/", form)
    assert again.status_code == 400 and "already exists" in again.content.decode()


# --- API ---------------------------------------------------------------------------------------


def test_the_api_refuses_overlapping_hours_with_a_code(clinic, manager):
    payload = {
        "provider": clinic.surgeon.pk,
        "location": clinic.consultation_room.location_id,
        "weekday": 2,
        "start_time": "08:00",
        "end_time": "10:00",
    }
    response = manager.post("/api/v1/working-hours/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "working_hours_overlap"
    assert "start_time" in response.json()["fields"]


def test_the_api_lists_bookings_in_the_way_of_time_off(clinic, patient, manager):
    booked = _book(clinic, patient, local(2027, 3, 2, 10, 0))
    payload = {
        "provider": clinic.surgeon.pk,
        "starts_at": "2027-03-02T09:00:00Z",
        "ends_at": "2027-03-02T12:00:00Z",
    }
    response = manager.post("/api/v1/time-off/", payload, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "time_off_overlaps_bookings"
    assert [a["id"] for a in body["appointments"]] == [booked.pk]

    confirmed = manager.post("/api/v1/time-off/", {**payload, "acknowledge_bookings": True}, format="json")
    assert confirmed.status_code == 201
    assert "acknowledge_bookings" not in confirmed.json()


def test_the_manager_changes_a_days_hours_on_the_page(client, clinic, manager_user):
    client.force_login(manager_user)
    url = f"/schedule/setup/providers/{clinic.surgeon.pk}/hours/"
    friday = WorkingHours.objects.get(provider=clinic.surgeon, weekday=4)
    page = client.get(f"{url}?edit={friday.pk}").content.decode()
    assert "Change hours" in page and 'value="09:00"' in page

    response = client.post(
        url,
        {
            "edit": friday.pk,
            "weekday": 4,
            "location": friday.location_id,
            "start_time": "09:00",
            "end_time": "13:00",
        },
    )
    assert response.status_code == 302
    friday.refresh_from_db()
    assert friday.end_time == time(13, 0)
    assert WorkingHours.objects.filter(provider=clinic.surgeon, weekday=4).count() == 1
    assert AuditEvent.objects.get(action="schedule.workinghours_updated").changes == {
        "end_time": ["17:00:00", "13:00:00"]
    }
    other = WorkingHours.objects.exclude(provider=clinic.surgeon).first()
    assert client.get(f"{url}?edit={other.pk}").status_code == 404
