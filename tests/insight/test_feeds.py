"""Private calendar feeds: parsed with the icalendar library, anonymous by default, revocable."""

from datetime import timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from clinic.models import AuditEvent, ClinicSettings
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory, ProviderFactory, RoomFactory

pytestmark = pytest.mark.django_db


def _feed(client, owner):
    return client.get(f"/feeds/{owner.calendar_feed_token}.ics")


def _events(response):
    return list(Calendar.from_ical(response.content).walk("VEVENT"))


@pytest.fixture
def provider(surgeon_user):
    return ProviderFactory(user=surgeon_user)


def test_provider_feed_lists_their_appointments_without_names(client, provider):
    patient = PatientFactory(first_name="Ada", last_name="Lovelace")
    AppointmentFactory(provider=provider, patient=patient, starts_at=timezone.now() + timedelta(days=2))
    AppointmentFactory(starts_at=timezone.now() + timedelta(days=2))  # someone else's

    response = _feed(client, provider)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = _events(response)
    assert len(events) == 1
    assert patient.mrn in str(events[0]["summary"])
    assert b"Lovelace" not in response.content


def test_names_appear_when_the_clinic_turns_them_on(client, provider):
    ClinicSettings.objects.update_or_create(pk=1, defaults={"calendar_feed_shows_patient_names": True})
    AppointmentFactory(
        provider=provider,
        patient=PatientFactory(first_name="Ada", last_name="Lovelace"),
        starts_at=timezone.now() + timedelta(days=2),
    )

    events = _events(_feed(client, provider))

    assert "Ada Lovelace" in str(events[0]["summary"])


def test_cancelled_appointments_leave_the_feed(client, provider):
    AppointmentFactory(
        provider=provider, starts_at=timezone.now() + timedelta(days=2), status=Appointment.Status.CANCELLED
    )

    assert _events(_feed(client, provider)) == []


def test_room_feed_lists_the_rooms_appointments(client):
    room = RoomFactory()
    AppointmentFactory(room=room, starts_at=timezone.now() + timedelta(days=1))
    AppointmentFactory(starts_at=timezone.now() + timedelta(days=1))

    assert len(_events(_feed(client, room))) == 1


def test_unknown_token_is_404(client):
    assert client.get("/feeds/not-a-token.ics").status_code == 404


def test_new_url_revokes_the_old_one(client, provider, surgeon_user):
    old = provider.calendar_feed_token
    client.force_login(surgeon_user)

    response = client.post(f"/schedule/feeds/provider/{provider.pk}/new-url/")

    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.calendar_feed_token != old
    assert client.get(f"/feeds/{old}.ics").status_code == 404
    assert _feed(client, provider).status_code == 200
    assert AuditEvent.objects.filter(action="calendar_feed.rotated", actor=surgeon_user).exists()


def test_another_provider_cannot_revoke_my_feed(client, provider, injector_user):
    client.force_login(injector_user)

    assert client.post(f"/schedule/feeds/provider/{provider.pk}/new-url/").status_code == 403


def test_manager_can_revoke_a_room_feed(client, manager_user):
    room = RoomFactory()
    old = room.calendar_feed_token
    client.force_login(manager_user)

    client.post(f"/schedule/feeds/room/{room.pk}/new-url/")

    room.refresh_from_db()
    assert room.calendar_feed_token != old


def test_feed_page_shows_own_url_only(client, provider, injector_user):
    other = ProviderFactory(user=injector_user, role="injector")
    client.force_login(provider.user)

    page = client.get("/schedule/feeds/").content.decode()

    assert provider.calendar_feed_token in page
    assert other.calendar_feed_token not in page


def test_api_shows_feed_url_to_the_provider_and_managers_only(surgeon, manager, front_desk, provider):
    own = surgeon.get(f"/api/v1/providers/{provider.pk}/").json()
    managed = manager.get(f"/api/v1/providers/{provider.pk}/").json()
    others = front_desk.get(f"/api/v1/providers/{provider.pk}/").json()

    assert own["calendar_feed_url"].endswith(f"/feeds/{provider.calendar_feed_token}.ics")
    assert managed["calendar_feed_url"] == own["calendar_feed_url"]
    assert others["calendar_feed_url"] is None


def test_feed_query_count_does_not_grow(client, provider, django_assert_max_num_queries):
    AppointmentFactory(provider=provider, starts_at=timezone.now() + timedelta(days=1))
    with django_assert_max_num_queries(10) as small:
        _feed(client, provider)
    for n in range(2, 6):
        AppointmentFactory(provider=provider, starts_at=timezone.now() + timedelta(days=n))

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = _feed(client, provider)
    assert len(_events(response)) == 5


def test_provider_revokes_own_feed_through_the_api(surgeon, provider):
    old = provider.calendar_feed_token

    response = surgeon.post(f"/api/v1/providers/{provider.pk}/calendar-feed/new-url/")

    assert response.status_code == 200
    provider.refresh_from_db()
    assert provider.calendar_feed_token != old
    assert response.json()["calendar_feed_url"].endswith(f"/feeds/{provider.calendar_feed_token}.ics")


def test_another_clinician_cannot_revoke_through_the_api(injector, provider):
    assert injector.post(f"/api/v1/providers/{provider.pk}/calendar-feed/new-url/").status_code == 403
