"""The scheduling API: wiring, permissions, payloads, error codes and constant query counts."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from clinic.models import AuditEvent
from scheduling.models import Appointment, AppointmentType, TimeOff
from tests.factories import AppointmentFactory, LocationFactory, PatientFactory, RoomFactory, UserFactory
from tests.scheduling.conftest import count_queries, local, provider_for, queries_with_1_and_30

pytestmark = pytest.mark.django_db

BIG = 2**70


def booking(clinic, who, **kw):
    return {
        "patient": who.pk,
        "appointment_type": "consultation",
        "provider": clinic.surgeon.pk,
        "start": "2027-03-02T10:00:00+00:00",
        **kw,
    }


# --- availability -----------------------------------------------------------------------------


def test_availability_lists_slots_with_ids_in_the_clinic_zone(clinic, front_desk):
    response = front_desk.get(
        "/api/v1/availability/",
        {
            "appointment_type": "toxin",
            "date_from": "2027-03-29",
            "date_to": "2027-03-29",
            "provider": clinic.injector.pk,
        },
    )
    assert response.status_code == 200
    first = response.json()[0]
    assert first == {
        "start": "2027-03-29T09:00:00+01:00",  # BST after the change
        "end": "2027-03-29T09:30:00+01:00",
        "provider": clinic.injector.pk,
        "room": clinic.procedure_room.pk,
    }


def test_availability_accepts_a_type_id(clinic, front_desk):
    response = front_desk.get(
        "/api/v1/availability/",
        {"appointment_type": clinic.therapy.pk, "date_from": "2027-03-02", "date_to": "2027-03-02"},
    )
    assert response.status_code == 200
    assert {s["provider"] for s in response.json()} == {clinic.therapist.pk}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2027-03-02", "date_to": "2027-03-02"}, "appointment_type"),
        (
            {"appointment_type": "nope", "date_from": "2027-03-02", "date_to": "2027-03-02"},
            "appointment_type",
        ),
        ({"appointment_type": "toxin", "date_from": "2027-03-05", "date_to": "2027-03-02"}, "date_to"),
        ({"appointment_type": "toxin", "date_from": "2027-03-01", "date_to": "2027-05-01"}, "date_to"),
        ({"appointment_type": "toxin", "date_from": "yesterday", "date_to": "2027-03-02"}, "date_from"),
        (
            {
                "appointment_type": "toxin",
                "date_from": "2027-03-02",
                "date_to": "2027-03-02",
                "provider": BIG,
            },
            "provider",
        ),
        (
            {"appointment_type": "toxin", "date_from": "2027-03-02", "date_to": "2027-03-02", "patient": "x"},
            "patient",
        ),
        (
            {"appointment_type": "to\x00xin", "date_from": "2027-03-02", "date_to": "2027-03-02"},
            "appointment_type",
        ),
    ],
)
def test_availability_bad_input_is_400_with_the_field(clinic, front_desk, params, field):
    response = front_desk.get("/api/v1/availability/", params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]


def test_availability_needs_authentication(anon_api):
    assert anon_api.get("/api/v1/availability/").status_code == 401


def test_availability_query_count_is_constant(clinic, front_desk):
    params = {"appointment_type": "consultation", "date_from": "2027-03-01", "date_to": "2027-03-14"}
    one, thirty = queries_with_1_and_30(clinic, lambda: front_desk.get("/api/v1/availability/", params))
    assert one == thirty


def _week(clinic, **extra):
    """Two surgeons at the clinic's location for the week of 1 March: slots of many start times,
    most of them shared."""
    provider_for("surgeon", "dr_ash", location=clinic.consultation_room.location)
    return {"appointment_type": "consultation", "date_from": "2027-03-01", "date_to": "2027-03-05", **extra}


def _next_link(response) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    match = re.fullmatch(r'<(http://testserver(/api/v1/availability/\?[^>]+))>; rel="next"', link)
    assert match, link
    return match.group(2)


def test_availability_pages_follow_their_links_to_the_whole_window(clinic, front_desk):
    params = _week(clinic)
    whole = front_desk.get("/api/v1/availability/", {**params, "limit": 5000})
    assert whole.status_code == 200
    assert "Link" not in whole.headers
    everything = whole.json()
    assert len(everything) == 2 * 29 * 5
    pages, url = [], None
    response = front_desk.get("/api/v1/availability/", {**params, "limit": 25})
    while True:
        assert response.status_code == 200
        pages.append(response.json())
        url = _next_link(response)
        if url is None:
            break
        response = front_desk.get(url)
    assert [slot for page in pages for slot in page] == everything
    # 25 asked, two surgeons per start time: a page stops before a start time it cannot hold.
    assert {len(page) for page in pages[:-1]} == {24}
    assert len(pages) == 13


def test_availability_next_link_carries_the_search_on_after_the_last_start(clinic, front_desk):
    response = front_desk.get("/api/v1/availability/", _week(clinic, limit=3))
    first = response.json()
    assert [slot["start"] for slot in first] == ["2027-03-01T09:00:00Z"] * 2
    url = _next_link(response)
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "appointment_type": ["consultation"],
        "date_from": ["2027-03-01"],
        "date_to": ["2027-03-05"],
        "limit": ["3"],
        "after": ["2027-03-01T09:00:00Z"],
    }
    assert [slot["start"] for slot in front_desk.get(url).json()] == ["2027-03-01T09:15:00Z"] * 2


def test_availability_after_is_an_instant_in_any_offset(clinic, front_desk):
    # 09:00 BST on 29 March is 08:00 UTC: both spellings give the same page.
    params = {"appointment_type": "consultation", "date_from": "2027-03-29", "date_to": "2027-03-29"}
    answers = [
        front_desk.get("/api/v1/availability/", {**params, "after": after}).json()
        for after in ("2027-03-29T09:00:00+01:00", "2027-03-29T08:00:00Z")
    ]
    assert answers[0] == answers[1]
    assert answers[0][0]["start"] == "2027-03-29T09:15:00+01:00"


def test_availability_first_page_is_the_default_of_500(clinic, front_desk):
    for username in ("dr_a", "dr_b", "dr_c"):
        provider_for("surgeon", username, location=clinic.consultation_room.location)
    response = front_desk.get(
        "/api/v1/availability/",
        {"appointment_type": "consultation", "date_from": "2027-03-01", "date_to": "2027-03-12"},
    )
    # Four surgeons a start time, 29 start times a day: Monday to Thursday, then Friday to 11:00.
    assert len(response.json()) == 500
    assert _next_link(response).endswith("after=2027-03-05T11%3A00%3A00Z")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "5001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"after": "soon"}, "after"),
        ({"after": "2027-03-02T10:00:00"}, "after"),  # no offset: ambiguous
        ({"after": "2027-03-02T10:00:00+25:00"}, "after"),
    ],
)
def test_availability_bad_limit_or_after_is_400_with_the_field(clinic, front_desk, params, field):
    response = front_desk.get(
        "/api/v1/availability/",
        {"appointment_type": "consultation", "date_from": "2027-03-02", "date_to": "2027-03-02", **params},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == [field]


def test_availability_pages_make_the_same_queries(clinic, front_desk):
    params = _week(clinic)
    counts = {
        label: count_queries(lambda extra=extra: front_desk.get("/api/v1/availability/", {**params, **extra}))
        for label, extra in {
            "first page": {"limit": 5},
            "later page": {"limit": 5, "after": "2027-03-03T12:00:00Z"},
            "one page": {"limit": 5000},
        }.items()
    }
    assert len(set(counts.values())) == 1, counts


# --- booking ---------------------------------------------------------------------------------


def test_front_desk_books_and_gets_201_with_the_appointment(clinic, front_desk, patient):
    response = front_desk.post("/api/v1/appointments/", booking(clinic, patient), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "booked"
    assert body["patient"]["id"] == patient.pk
    assert body["appointment_type"]["code"] == "consultation"
    assert body["room"]["id"] == clinic.consultation_room.pk
    assert body["starts_at"] == "2027-03-02T10:00:00Z" or body["starts_at"].startswith("2027-03-02T10:00:00")
    assert body["booked_via"] == "api"
    assert [e["action"] for e in body["events"]] == ["booked"]


def test_a_start_without_offset_is_refused(clinic, front_desk, patient):
    # A bare local time is ambiguous around a clock change: the API does not guess.
    response = front_desk.post(
        "/api/v1/appointments/", booking(clinic, patient, start="2027-03-29T10:00:00"), format="json"
    )
    assert response.status_code == 400
    assert "offset" in response.json()["fields"]["start"][0]
    assert not Appointment.objects.exists()


def test_a_start_with_an_offset_is_that_instant(clinic, front_desk, patient):
    response = front_desk.post(
        "/api/v1/appointments/", booking(clinic, patient, start="2027-03-29T10:00:00+01:00"), format="json"
    )
    assert response.status_code == 201
    assert Appointment.objects.get().starts_at == local(2027, 3, 29, 10)


def test_double_booking_is_409_slot_unavailable_naming_the_resource(clinic, front_desk, patient):
    front_desk.post("/api/v1/appointments/", booking(clinic, patient), format="json")
    response = front_desk.post("/api/v1/appointments/", booking(clinic, PatientFactory()), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "slot_unavailable"
    assert response.json()["resource"] == "provider"


def test_therapist_cannot_be_booked_for_toxin(clinic, front_desk, patient):
    response = front_desk.post(
        "/api/v1/appointments/",
        booking(clinic, patient, appointment_type="toxin", provider=clinic.therapist.pk),
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "provider_not_allowed"
    assert "provider" in response.json()["fields"]


@pytest.mark.parametrize(
    ("override", "status", "code"),
    [
        ({"start": "2027-03-02T07:00:00+00:00"}, 409, "outside_working_hours"),
        ({"start": "2027-02-26T10:00:00+00:00"}, 400, "in_the_past"),
        ({"start": "2027-03-02T10:05:00+00:00"}, 400, "off_grid"),
        ({"start": "not a time"}, 400, "invalid"),
        ({"patient": BIG}, 400, "invalid"),
        ({"provider": "abc"}, 400, "invalid"),
        ({"room": -1}, 400, "invalid"),
        ({"notes": "a\x00b"}, 400, "invalid"),
        ({"duration_minutes": BIG}, 400, "invalid"),
        ({"duration_minutes": 90}, 400, "invalid_duration"),
        ({"appointment_type": "missing"}, 400, "invalid"),
    ],
)
def test_bad_bookings_get_a_clear_code(clinic, front_desk, patient, override, status, code):
    response = front_desk.post("/api/v1/appointments/", booking(clinic, patient, **override), format="json")
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert not Appointment.objects.exists()


def test_missing_fields_are_named(front_desk):
    response = front_desk.post("/api/v1/appointments/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"patient", "appointment_type", "provider", "start"}


def _old_toxin(clinic, patient):
    AppointmentFactory(
        patient=patient,
        appointment_type=clinic.toxin,
        provider=clinic.injector,
        room=clinic.procedure_room,
        starts_at=local(2027, 1, 4, 10),
        status="completed",
    )
    return booking(clinic, patient, appointment_type="toxin", provider=clinic.injector.pk)


def test_reinjection_too_soon_is_409_with_the_earliest_date(clinic, front_desk, patient):
    response = front_desk.post("/api/v1/appointments/", _old_toxin(clinic, patient), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "reinjection_too_soon"
    assert response.json()["earliest"] == "2027-03-29"


def test_injector_overrides_with_a_reason(clinic, injector, patient):
    payload = {**_old_toxin(clinic, patient), "override_reason": "Agreed top-up"}
    response = injector.post("/api/v1/appointments/", payload, format="json")
    assert response.status_code == 201
    assert response.json()["interval_override_reason"] == "Agreed top-up"


def test_front_desk_override_is_403(clinic, front_desk, patient):
    payload = {**_old_toxin(clinic, patient), "override_reason": "Patient insists"}
    response = front_desk.post("/api/v1/appointments/", payload, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "override_not_permitted"


def test_anonymous_cannot_book(anon_api, clinic, patient):
    assert anon_api.post("/api/v1/appointments/", booking(clinic, patient), format="json").status_code == 401


def test_a_user_without_a_role_cannot_book(clinic, patient):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(UserFactory(username="norole"))
    assert client.post("/api/v1/appointments/", booking(clinic, patient), format="json").status_code == 403


def test_surgery_duration_is_given_per_booking(clinic, front_desk, patient):
    payload = booking(clinic, patient, appointment_type="surgery", duration_minutes=120)
    response = front_desk.post("/api/v1/appointments/", payload, format="json")
    assert response.status_code == 201
    assert response.json()["ends_at"].startswith("2027-03-02T12:00:00")


# --- lifecycle -------------------------------------------------------------------------------


@pytest.fixture
def booked(clinic, front_desk, patient):
    response = front_desk.post(
        "/api/v1/appointments/", booking(clinic, patient, start="2027-03-01T10:00:00+00:00"), format="json"
    )
    return response.json()["id"]


def test_lifecycle_actions(front_desk, booked):
    url = f"/api/v1/appointments/{booked}"
    assert front_desk.post(f"{url}/confirm/").json()["status"] == "confirmed"
    assert front_desk.post(f"{url}/check_in/").json()["status"] == "checked_in"
    response = front_desk.post(f"{url}/complete/")
    assert response.status_code == 409 and response.json()["code"] == "too_early"


def test_cancel_requires_a_reason_and_then_cannot_check_in(front_desk, booked):
    url = f"/api/v1/appointments/{booked}"
    missing = front_desk.post(f"{url}/cancel/", {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]
    done = front_desk.post(f"{url}/cancel/", {"reason": "Unwell", "cancelled_by": "patient"}, format="json")
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["cancellation_reason"]) == ("cancelled", "Unwell")
    again = front_desk.post(f"{url}/check_in/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_reschedule_via_api(front_desk, booked):
    response = front_desk.post(
        f"/api/v1/appointments/{booked}/reschedule/", {"start": "2027-03-03T14:00:00+00:00"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["starts_at"].startswith("2027-03-03T14:00:00")
    assert response.json()["events"][-1]["action"] == "rescheduled"


def test_no_show_and_correction_via_api(front_desk, booked):
    import time_machine

    with time_machine.travel(local(2027, 3, 1, 11), tick=False):
        assert front_desk.post(f"/api/v1/appointments/{booked}/no_show/").json()["status"] == "no_show"
        response = front_desk.post(
            f"/api/v1/appointments/{booked}/correct/",
            {"to_status": "completed", "reason": "Was seen"},
            format="json",
        )
    assert response.json()["status"] == "completed"


def test_unknown_appointment_is_404(front_desk):
    assert front_desk.post(f"/api/v1/appointments/{BIG}/confirm/").status_code == 404
    assert front_desk.post("/api/v1/appointments/999999/confirm/").status_code == 404


def test_retrieve_is_audited_as_a_view_of_the_patient(front_desk, booked, patient):
    front_desk.get(f"/api/v1/appointments/{booked}/")
    assert AuditEvent.objects.filter(action="appointment.viewed", patient_id=patient.pk).count() == 1


# --- list ------------------------------------------------------------------------------------


def test_list_filters(clinic, front_desk):
    AppointmentFactory(
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        room=clinic.consultation_room,
        starts_at=local(2027, 3, 2, 10),
    )
    AppointmentFactory(
        appointment_type=clinic.therapy,
        provider=clinic.therapist,
        room=clinic.therapy_room,
        starts_at=local(2027, 3, 3, 10),
        status="cancelled",
    )

    def ids(**params):
        response = front_desk.get("/api/v1/appointments/", params)
        assert response.status_code == 200, response.json()
        return [a["appointment_type"]["code"] for a in response.json()["results"]]

    assert ids() == ["consultation", "therapy"]
    assert ids(date_from="2027-03-03") == ["therapy"]
    assert ids(date_to="2027-03-02") == ["consultation"]
    assert ids(provider=clinic.therapist.pk) == ["therapy"]
    assert ids(room=clinic.consultation_room.pk) == ["consultation"]
    assert ids(status="cancelled") == ["therapy"]
    assert ids(appointment_type="therapy") == ["therapy"]
    assert ids(ordering="-starts_at") == ["therapy", "consultation"]


@pytest.mark.parametrize(
    "params", [{"provider": BIG}, {"status": "lost"}, {"date_from": "soon"}, {"patient": "x"}]
)
def test_list_bad_filters_are_400(front_desk, params):
    response = front_desk.get("/api/v1/appointments/", params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_list_keeps_to_one_location_as_the_pages_do(clinic, front_desk):
    elsewhere = RoomFactory(location=LocationFactory(name="Harbour Clinic"), name="Harbour 1")
    AppointmentFactory(
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        room=clinic.consultation_room,
        starts_at=local(2027, 3, 2, 10),
    )
    away = AppointmentFactory(
        appointment_type=clinic.therapy,
        provider=clinic.therapist,
        room=elsewhere,
        starts_at=local(2027, 3, 2, 10),
    )
    response = front_desk.get("/api/v1/appointments/", {"location": elsewhere.location_id})
    assert [a["id"] for a in response.json()["results"]] == [away.pk]
    bad = front_desk.get("/api/v1/appointments/", {"location": BIG})
    assert bad.status_code == 400 and "location" in bad.json()["fields"]


def test_list_ignores_ordering_outside_the_allow_list(clinic, front_desk):
    # Surnames sort the other way round from the times: sorting by them would show.
    for hour, surname in ((9, "Young"), (10, "Adams"), (11, "Morris")):
        AppointmentFactory(
            patient=PatientFactory(last_name=surname),
            appointment_type=clinic.consultation,
            provider=clinic.surgeon,
            room=clinic.consultation_room,
            starts_at=local(2027, 3, 2, hour),
        )
    baseline = [a["id"] for a in front_desk.get("/api/v1/appointments/").json()["results"]]
    response = front_desk.get("/api/v1/appointments/", {"ordering": "patient__last_name"})
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["results"]] == baseline
    reversed_ = front_desk.get("/api/v1/appointments/", {"ordering": "-starts_at"})
    assert [a["id"] for a in reversed_.json()["results"]] == baseline[::-1]


def test_list_names_the_patient_and_leaves_the_rest_of_their_record(clinic, front_desk):
    patient = PatientFactory(first_name="Ada", preferred_name="Addy", last_name="Lovelace")
    AppointmentFactory(
        patient=patient,
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        room=clinic.consultation_room,
        starts_at=local(2027, 3, 2, 10),
    )
    (row,) = front_desk.get("/api/v1/appointments/").json()["results"]
    assert row["patient"] == {"id": patient.pk, "mrn": patient.mrn, "name": "Addy Lovelace"}


def test_list_query_count_does_not_grow(clinic, front_desk):
    one, thirty = queries_with_1_and_30(
        clinic, lambda: front_desk.get("/api/v1/appointments/", {"date_from": "2027-03-01", "page_size": 50})
    )
    assert one == thirty  # one page holds all thirty, so the pager has nothing to count


# --- calendar set-up -------------------------------------------------------------------------


def test_staff_read_the_set_up(clinic, front_desk):
    for url in ("providers", "rooms", "locations", "appointment-types", "working-hours", "time-off"):
        assert front_desk.get(f"/api/v1/{url}/").status_code == 200, url
    providers = front_desk.get("/api/v1/providers/").json()["results"]
    assert {p["role"] for p in providers} == {"surgeon", "injector", "therapist"}
    assert providers[0]["working_hours"]


def test_only_managers_write_the_set_up(clinic, front_desk, manager):
    payload = {
        "code": "review",
        "name": "Review",
        "duration_minutes": 30,
        "provider_roles": ["surgeon"],
        "room_kind": "consultation",
    }
    assert front_desk.post("/api/v1/appointment-types/", payload, format="json").status_code == 403
    response = manager.post("/api/v1/appointment-types/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert AppointmentType.objects.get(code="review").buffer_after_minutes == 0
    assert AuditEvent.objects.filter(action="schedule.appointmenttype_created").exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"provider_roles": ["janitor"]}, "provider_roles"),
        ({"provider_roles": []}, "provider_roles"),
        ({"duration_minutes": 99999999999}, "duration_minutes"),
        ({"buffer_after_minutes": 500}, "buffer_after_minutes"),
        ({"colour": "red"}, "colour"),
        (
            {"follow_up_plan": [{"after_days": 0, "appointment_type": "post_op", "label": "x"}]},
            "follow_up_plan",
        ),
        ({"code": "toxin"}, "code"),
    ],
)
def test_bad_appointment_types_are_400(clinic, manager, payload, field):
    base = {
        "code": "review",
        "name": "Review",
        "duration_minutes": 30,
        "provider_roles": ["surgeon"],
        "room_kind": "consultation",
    }
    response = manager.post("/api/v1/appointment-types/", {**base, **payload}, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_manager_adds_and_removes_time_off(clinic, manager):
    payload = {
        "provider": clinic.surgeon.pk,
        "starts_at": "2027-03-02T09:00:00Z",
        "ends_at": "2027-03-02T12:00:00Z",
        "reason": "Meeting",
    }
    response = manager.post("/api/v1/time-off/", payload, format="json")
    assert response.status_code == 201
    both = manager.post("/api/v1/time-off/", {**payload, "room": clinic.consultation_room.pk}, format="json")
    assert both.status_code == 400
    assert manager.delete(f"/api/v1/time-off/{response.json()['id']}/").status_code == 204
    assert not TimeOff.objects.exists()


def test_set_up_records_are_not_deleted(clinic, manager):
    assert manager.delete(f"/api/v1/rooms/{clinic.therapy_room.pk}/").status_code == 405


def test_working_hours_must_end_after_they_start(clinic, manager):
    payload = {
        "provider": clinic.surgeon.pk,
        "location": clinic.therapy_room.location_id,
        "weekday": 5,
        "start_time": "12:00",
        "end_time": "09:00",
    }
    response = manager.post("/api/v1/working-hours/", payload, format="json")
    assert response.status_code == 400 and "end_time" in response.json()["fields"]
    assert manager.post("/api/v1/working-hours/", {**payload, "weekday": 9}, format="json").status_code == 400


# --- waitlist --------------------------------------------------------------------------------


def test_waitlist_add_offer_and_book_via_api(clinic, front_desk, patient):
    first = front_desk.post("/api/v1/appointments/", booking(clinic, PatientFactory()), format="json").json()
    added = front_desk.post(
        "/api/v1/waitlist/", {"patient": patient.pk, "appointment_type": "consultation"}, format="json"
    )
    assert added.status_code == 201
    entry = added.json()["id"]
    assert (
        front_desk.post(
            "/api/v1/waitlist/", {"patient": patient.pk, "appointment_type": "consultation"}, format="json"
        ).json()["code"]
        == "already_waiting"
    )

    front_desk.post(f"/api/v1/appointments/{first['id']}/cancel/", {"reason": "Unwell"}, format="json")

    offers = front_desk.get(f"/api/v1/waitlist/{entry}/").json()["open_offers"]
    assert len(offers) == 1
    booked = front_desk.post(f"/api/v1/waitlist/{entry}/book/", {"offer": offers[0]["id"]}, format="json")
    assert booked.status_code == 201
    assert booked.json()["patient"]["id"] == patient.pk
    assert front_desk.get(f"/api/v1/waitlist/{entry}/").json()["status"] == "booked"
    assert (
        front_desk.post(f"/api/v1/waitlist/{entry}/book/", {"offer": BIG}, format="json").status_code == 400
    )


def test_waitlist_and_set_up_lists_have_constant_query_counts(clinic, front_desk, front_desk_user):
    from scheduling.services import waitlist_add

    def counts():
        return [
            count_queries(lambda url=url: front_desk.get(url))
            for url in ("/api/v1/waitlist/", "/api/v1/providers/", "/api/v1/appointment-types/")
        ]

    waitlist_add(patient=PatientFactory(), appointment_type=clinic.therapy, actor=front_desk_user)
    few = counts()
    for i in range(10):
        waitlist_add(patient=PatientFactory(), appointment_type=clinic.consultation, actor=front_desk_user)
        provider_for("therapist", f"therapist{i}")
    assert counts() == few
