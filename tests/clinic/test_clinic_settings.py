"""The clinic settings: the page, the service and the API (GET/PATCH /api/v1/clinic-settings/)."""

from datetime import time

import pytest
from django.utils.html import escape

from clinic.configuration import clinic_settings_update, settings_sections
from clinic.errors import Invalid
from clinic.models import AuditEvent, ClinicSettings

pytestmark = pytest.mark.django_db

URL = "/clinic/settings/"
API = "/api/v1/clinic-settings/"


def _form(**changes) -> dict:
    """The page's form as the browser posts it: every setting, with ``changes``."""
    current = ClinicSettings.load()
    data = {
        "min_reinjection_interval_days": current.min_reinjection_interval_days,
        "appointment_reminder_hours": current.appointment_reminder_hours,
        "recall_first_reminder_weeks_before_due": current.recall_first_reminder_weeks_before_due,
        "recall_second_reminder_weeks_after_due": current.recall_second_reminder_weeks_after_due,
        "recall_overdue_weeks_after_due": current.recall_overdue_weeks_after_due,
        "questionnaire_after_toxin_days": current.questionnaire_after_toxin_days,
        "quiet_hours_start": current.quiet_hours_start.strftime("%H:%M"),
        "quiet_hours_end": current.quiet_hours_end.strftime("%H:%M"),
        "booking_horizon_days": current.booking_horizon_days,
        "medicines_terminology": current.medicines_terminology,
        "therapy_after_toxin_from_day": current.therapy_after_toxin_from_day,
        "therapy_after_toxin_to_day": current.therapy_after_toxin_to_day,
        "first_toxin_review_days": current.first_toxin_review_days,
        "toxin_consent_valid_months": current.toxin_consent_valid_months,
        "photo_retention_days": current.photo_retention_days,
    }
    for flag in ("calendar_feed_shows_patient_names", "therapy_after_toxin_offered", "aftercare_messages"):
        if getattr(current, flag):
            data[flag] = "on"
    data.update(changes)
    return data


# --- The page ------------------------------------------------------------------------------------


def test_manager_sees_the_settings_and_every_product(client, manager_user):
    client.force_login(manager_user)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="min_reinjection_interval_days"' in html
    assert 'min="1"' in html and 'max="365"' in html  # the model's bounds, on the input
    # The product intervals are treatments' section, registered in its AppConfig.
    assert "toxin-intervals" in [s.key for s in settings_sections()]
    assert "abobotulinumtoxinA (Dysport)" in html
    assert html.count("clinic default (84 days)") == 6


def test_manager_changes_a_setting_with_history_and_audit(client, manager_user):
    client.force_login(manager_user)
    response = client.post(URL, _form(min_reinjection_interval_days=90, booking_horizon_days=120))
    assert response.status_code == 302
    assert response["Location"] == URL

    settings = ClinicSettings.load()
    assert settings.min_reinjection_interval_days == 90
    assert settings.booking_horizon_days == 120
    latest = settings.history.latest()
    assert latest.history_user == manager_user
    event = AuditEvent.objects.get(action="clinic_settings.updated")
    assert event.actor == manager_user
    assert event.changes == {"min_reinjection_interval_days": [84, 90], "booking_horizon_days": [180, 120]}

    page = client.get(URL).content.decode()
    assert "Clinic settings saved." in page
    assert "Minimum reinjection interval (days): 84 → 90" in page
    assert escape(manager_user.display_name) in page


def test_saving_unchanged_settings_writes_nothing(client, manager_user):
    ClinicSettings.load()
    client.force_login(manager_user)
    before = ClinicSettings.history.count()
    assert client.post(URL, _form()).status_code == 302
    assert ClinicSettings.history.count() == before
    assert not AuditEvent.objects.filter(action="clinic_settings.updated").exists()


def test_recall_weeks_out_of_order_is_a_form_error(client, manager_user):
    client.force_login(manager_user)
    response = client.post(
        URL, _form(recall_second_reminder_weeks_after_due=5, recall_overdue_weeks_after_due=4)
    )
    assert response.status_code == 400
    assert "A recall becomes overdue after its second reminder" in response.content.decode()
    assert ClinicSettings.load().recall_overdue_weeks_after_due == 4
    assert ClinicSettings.load().recall_second_reminder_weeks_after_due == 0


@pytest.mark.parametrize("value", [0, 366, "abc"])
def test_interval_out_of_bounds_is_a_field_error(client, manager_user, value):
    client.force_login(manager_user)
    response = client.post(URL, _form(min_reinjection_interval_days=value))
    assert response.status_code == 400
    assert response.context["form"].errors["min_reinjection_interval_days"]
    assert ClinicSettings.load().min_reinjection_interval_days == 84


@pytest.mark.parametrize("role", ["front_desk", "surgeon", "injector", "therapist"])
def test_only_the_manager_reaches_the_page(client, role, request):
    client.force_login(request.getfixturevalue(f"{role}_user"))
    assert client.get(URL).status_code == 403
    assert client.post(URL, _form(min_reinjection_interval_days=30)).status_code == 403
    assert ClinicSettings.load().min_reinjection_interval_days == 84


def test_settings_are_in_the_navigation_of_the_manager_only(client, manager_user, front_desk_user):
    client.force_login(manager_user)
    assert f'href="{URL}"' in client.get("/clinic/audit/").content.decode()
    client.force_login(front_desk_user)
    assert f'href="{URL}"' not in client.get("/patients/").content.decode()


# --- The service ---------------------------------------------------------------------------------


def test_service_refuses_unknown_settings_and_bad_values(manager_user):
    with pytest.raises(Invalid) as unknown:
        clinic_settings_update(actor=manager_user, data={"colour": "red"})
    assert unknown.value.fields == {"colour": ["Unknown setting."]}
    with pytest.raises(Invalid) as order:
        clinic_settings_update(actor=manager_user, data={"recall_second_reminder_weeks_after_due": 4})
    assert order.value.code == "recall_weeks_order"
    assert "non_field_errors" in order.value.fields
    with pytest.raises(Invalid) as bound:
        clinic_settings_update(actor=manager_user, data={"booking_horizon_days": 0})
    assert bound.value.code == "invalid"
    assert list(bound.value.fields) == ["booking_horizon_days"]
    assert not AuditEvent.objects.filter(action="clinic_settings.updated").exists()


def test_service_records_quiet_hours_and_who(manager_user):
    clinic_settings_update(actor=manager_user, data={"quiet_hours_start": time(22, 0)})
    event = AuditEvent.objects.get(action="clinic_settings.updated")
    assert event.changes == {"quiet_hours_start": ["21:00:00", "22:00:00"]}
    assert ClinicSettings.history.latest().history_user == manager_user


# --- The API -------------------------------------------------------------------------------------


def test_staff_read_the_settings(front_desk, surgeon):
    for client in (front_desk, surgeon):
        response = client.get(API)
        assert response.status_code == 200
        assert response.json()["min_reinjection_interval_days"] == 84
        assert response.json()["quiet_hours_start"] == "21:00:00"


def test_only_the_manager_writes_the_settings(front_desk, surgeon, anon_api):
    for client in (front_desk, surgeon):
        response = client.patch(API, {"booking_horizon_days": 30}, format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert anon_api.get(API).status_code in (401, 403)
    assert ClinicSettings.load().booking_horizon_days == 180


def test_manager_patches_the_settings(manager, manager_user):
    response = manager.patch(API, {"min_reinjection_interval_days": 70}, format="json")
    assert response.status_code == 200
    assert response.json()["min_reinjection_interval_days"] == 70
    assert response.json()["recall_overdue_weeks_after_due"] == 4
    event = AuditEvent.objects.get(action="clinic_settings.updated")
    assert event.changes == {"min_reinjection_interval_days": [84, 70]}
    assert event.actor == manager_user
    assert ClinicSettings.history.latest().history_user == manager_user


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"min_reinjection_interval_days": 0}, "invalid", "min_reinjection_interval_days"),
        ({"min_reinjection_interval_days": 366}, "invalid", "min_reinjection_interval_days"),
        ({"appointment_reminder_hours": "soon"}, "invalid", "appointment_reminder_hours"),
        ({"quiet_hours_end": "25:00"}, "invalid", "quiet_hours_end"),
        ({"recall_second_reminder_weeks_after_due": 6}, "recall_weeks_order", "non_field_errors"),
        ({"recall_first_reminder_weeks_before_due": 13}, "invalid", "recall_first_reminder_weeks_before_due"),
        ({"updated_at": "2027-01-01T00:00:00Z"}, "unknown_field", "updated_at"),
        ({"colour": "red"}, "unknown_field", "colour"),
    ],
)
def test_bad_input_is_400_with_a_code(manager, body, code, field):
    response = manager.patch(API, body, format="json")
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == code
    assert list(error["fields"]) == [field]
    assert error["fields"][field]
    assert not AuditEvent.objects.filter(action="clinic_settings.updated").exists()


def test_the_settings_cannot_be_replaced_or_deleted(manager):
    assert manager.put(API, {}, format="json").status_code == 405
    assert manager.delete(API).status_code == 405
