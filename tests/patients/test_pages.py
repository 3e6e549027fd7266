"""The patient pages: search as you type, registration with the duplicate step, chart, actions."""

import copy
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.models import AuditEvent
from patients import chart as chart_registry
from patients.models import MessagingConsent, Patient
from scheduling.models import Appointment
from tests.factories import AppointmentFactory, PatientFactory
from tests.patients.factories import ConsentFactory, valid_patient_data

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _form(**overrides):
    """What the browser posts: every field, as text."""
    data = {"language": "en", "country": "GB", **valid_patient_data(**overrides)}
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def desk(client, front_desk_user):
    client.force_login(front_desk_user)
    return client


@pytest.fixture
def clinician(client, surgeon_user):
    client.force_login(surgeon_user)
    return client


@pytest.fixture
def boss(client, manager_user):
    client.force_login(manager_user)
    return client


# --- list and search -------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client):
    response = client.get("/patients/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_list_shows_patients_and_a_search_box_wired_for_htmx(desk):
    PatientFactory(first_name="Ada", last_name="Lovelace")
    html = desk.get("/patients/").content.decode()
    assert "LOVELACE, Ada" in html
    assert 'hx-get="/patients/search/"' in html
    assert 'hx-trigger="input changed delay:250ms, search"' in html
    assert "js/patients.js" in html


def test_list_without_patients_says_what_to_do(desk):
    html = desk.get("/patients/").content.decode()
    assert "Register the first patient" in html


def test_list_query_count_does_not_grow_with_rows(desk):
    PatientFactory.create_batch(3)
    desk.get("/patients/")
    with CaptureQueriesContext(connection) as few:
        desk.get("/patients/")
    PatientFactory.create_batch(30)
    with CaptureQueriesContext(connection) as many:
        desk.get("/patients/")
    assert len(many) == len(few)


def test_search_partial_returns_only_the_rows(desk):
    PatientFactory(first_name="Ada", last_name="Lovelace", mobile="+447700100123")
    response = desk.get("/patients/search/", {"q": "07700100123"}, **HTMX)
    html = response.content.decode()
    assert "<html" not in html
    assert "LOVELACE, Ada" in html
    assert response["HX-Replace-Url"] == "/patients/?q=07700100123"


def test_search_without_results_offers_registration(desk):
    html = desk.get("/patients/search/", {"q": "nobody here"}, **HTMX).content.decode()
    assert "No patient matches" in html
    assert "register a new patient" in html


def test_search_too_short_explains(desk):
    html = desk.get("/patients/search/", {"q": "a"}, **HTMX).content.decode()
    assert "Type at least 2 letters" in html


def test_search_partial_in_pick_mode_renders_select_buttons(desk):
    patient = PatientFactory(first_name="Ada", last_name="Lovelace")
    html = desk.get("/patients/search/", {"q": "lovelace", "pick": "id_patient"}, **HTMX).content.decode()
    assert 'class="btn btn-sm patient-pick result-link"' in html
    assert 'data-pick-target="id_patient"' in html
    assert f'data-patient-id="{patient.pk}"' in html
    assert f'href="/patients/{patient.pk}/"' not in html


def test_pick_target_must_be_a_plain_element_id(desk):
    PatientFactory(last_name="Lovelace")
    html = desk.get("/patients/search/", {"q": "lovelace", "pick": '"><script>'}, **HTMX).content.decode()
    assert "patient-pick" not in html
    assert "<script>" not in html


# --- registration ----------------------------------------------------------------------------


def test_front_desk_form_has_no_clinical_fields(desk):
    html = desk.get("/patients/new/").content.decode()
    assert 'name="first_name"' in html
    assert 'name="allergies"' not in html
    assert "Facial palsy history" not in html


def test_clinician_form_has_the_palsy_history(clinician):
    html = clinician.get("/patients/new/").content.decode()
    assert 'name="affected_side"' in html
    assert 'name="on_anticoagulants"' in html


def test_register_creates_the_patient_and_opens_the_chart(desk):
    response = desk.post("/patients/new/", _form())
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{patient.pk}/"
    assert str(patient.mobile) == "+447700100123"


def test_register_shows_errors_next_to_the_fields_and_saves_nothing(desk):
    response = desk.post("/patients/new/", _form(mobile="12345", date_of_birth="2999-01-01", last_name=""))
    html = response.content.decode()
    assert response.status_code == 400
    for name in ("mobile", "date_of_birth", "last_name"):
        slot = html.split(f'id="errors-{name}"', 1)[1].split("</div>", 1)[0]
        assert "<li>" in slot, name
    assert 'aria-invalid="true"' in html
    assert not Patient.objects.exists()


def test_register_warns_about_duplicates_then_registers_anyway(desk):
    existing = PatientFactory(email="ada.lovelace@example.com")
    response = desk.post("/patients/new/", _form())
    html = response.content.decode()
    assert response.status_code == 409
    assert "may already be registered" in html
    assert f'href="/patients/{existing.pk}/"' in html
    assert 'name="confirm_not_duplicate" value="1"' in html
    assert Patient.objects.count() == 1

    confirmed = desk.post("/patients/new/", {**_form(), "confirm_not_duplicate": "1"})
    assert confirmed.status_code == 302
    assert Patient.objects.count() == 2


def test_front_desk_cannot_slip_clinical_fields_into_the_form(desk):
    desk.post("/patients/new/", {**_form(), "allergies": "Latex"})
    assert Patient.objects.get().allergies == ""


def test_live_validation_answers_with_out_of_band_error_slots(desk):
    PatientFactory(mobile="+447700100123")
    response = desk.post(
        "/patients/validate/",
        {"first_name": "Ada", "date_of_birth": "2999-01-01", "mobile": "07700 100123"},
        **HTMX,
    )
    html = response.content.decode()
    assert 'id="errors-date_of_birth" class="field-errors" hx-swap-oob="true"><ul' in html
    # Fields not reached yet are not nagged about.
    assert 'id="errors-last_name" class="field-errors" hx-swap-oob="true"></div>' in html
    assert "Possible duplicate" in html


# --- edit ------------------------------------------------------------------------------------


def test_edit_saves_and_returns_to_the_chart(desk):
    patient = PatientFactory(city="Leeds", mobile="+447700100555", date_of_birth=date(1970, 1, 1))
    data = _form(first_name=patient.first_name, last_name=patient.last_name, date_of_birth="1970-01-01")
    data.update({"city": "York", "mobile": "07700 100555", "email": patient.email})
    response = desk.post(f"/patients/{patient.pk}/edit/", data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.city == "York"
    assert AuditEvent.objects.filter(action="patient.updated", patient_id=patient.pk).exists()


def test_a_merged_record_cannot_be_edited(desk):
    survivor = PatientFactory()
    merged = PatientFactory(status="inactive", inactive_reason="merged", merged_into=survivor)
    response = desk.get(f"/patients/{merged.pk}/edit/")
    assert response.status_code == 302


# --- chart -----------------------------------------------------------------------------------


def test_chart_view_is_audited(desk, front_desk_user):
    patient = PatientFactory()
    assert desk.get(f"/patients/{patient.pk}/").status_code == 200
    event = AuditEvent.objects.get(action="patient.viewed")
    assert (event.actor, event.patient_id, event.changes, event.source) == (
        front_desk_user,
        patient.pk,
        {"via": "chart"},
        "web",
    )


def test_front_desk_chart_shows_demographics_but_no_clinical_detail(desk):
    patient = PatientFactory(allergies="Penicillin", on_anticoagulants=True, city="Harrogate")
    html = desk.get(f"/patients/{patient.pk}/").content.decode()
    assert "Harrogate" in html
    assert "Penicillin" not in html
    assert "Facial palsy history" not in html
    assert "anticoagulants" not in html.lower()


def test_clinician_chart_shows_the_palsy_history_and_safety_flags(clinician):
    patient = PatientFactory(allergies="Penicillin", on_anticoagulants=True, affected_side="left")
    html = clinician.get(f"/patients/{patient.pk}/").content.decode()
    assert "Facial palsy history" in html
    assert "Penicillin" in html
    assert "On anticoagulants" in html


@pytest.fixture
def test_panel(settings, tmp_path):
    (tmp_path / "test_panel.html").write_text("<p>Panel for {{ patient.mrn }}: {{ note }}</p>")
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], tmp_path]
    settings.TEMPLATES = templates
    panel = chart_registry.ChartPanel(
        key="test_panel",
        title="Test panel",
        template="test_panel.html",
        context=lambda *, patient, user: {"note": f"seen by {user.username}"},
        permission="clinic.view_clinical",
        order=1,
    )
    chart_registry.register_panel(panel)
    yield panel
    chart_registry._panels.pop("test_panel")


def test_chart_renders_the_panels_the_user_may_see(client, surgeon_user, front_desk_user, test_panel):
    patient = PatientFactory()
    client.force_login(surgeon_user)
    # The chart holds a placeholder that loads the panel when it scrolls into view ...
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Test panel" in html
    assert f'hx-get="/patients/{patient.pk}/panels/test_panel/"' in html
    assert "Panel for" not in html
    # ... from the panel's own address ...
    panel = client.get(f"/patients/{patient.pk}/panels/test_panel/")
    assert panel.status_code == 200
    assert f"Panel for {patient.mrn}: seen by {surgeon_user.username}" in panel.content.decode()
    assert 'id="panel-body-test_panel"' in panel.content.decode()
    # ... and ?panels=all renders every panel inline (print, no JavaScript).
    inline = client.get(f"/patients/{patient.pk}/?panels=all").content.decode()
    assert f"Panel for {patient.mrn}: seen by {surgeon_user.username}" in inline
    assert 'hx-trigger="intersect once"' not in inline

    client.force_login(front_desk_user)
    assert "Test panel" not in client.get(f"/patients/{patient.pk}/").content.decode()
    assert client.get(f"/patients/{patient.pk}/panels/test_panel/").status_code == 403


def test_chart_panel_is_audited_and_unknown_panels_are_404(client, surgeon_user, test_panel):
    patient = PatientFactory()
    client.force_login(surgeon_user)
    assert client.get(f"/patients/{patient.pk}/panels/no_such_panel/").status_code == 404
    assert client.get(f"/patients/{patient.pk + 1000}/panels/test_panel/").status_code == 404
    assert not AuditEvent.objects.filter(action="patient.viewed").exists()
    assert client.get(f"/patients/{patient.pk}/panels/test_panel/").status_code == 200
    event = AuditEvent.objects.get(action="patient.viewed")
    assert (event.actor, event.patient_id, event.changes) == (
        surgeon_user,
        patient.pk,
        {"via": "chart:test_panel"},
    )


def test_chart_page_reads_no_panel(clinician, test_panel):
    """The chart's own request costs the same whatever the panels hold: they load apart."""
    patient = PatientFactory(mobile="+447700100124")
    clinician.get(f"/patients/{patient.pk}/")
    with CaptureQueriesContext(connection) as without_panels:
        clinician.get(f"/patients/{patient.pk}/")
    with CaptureQueriesContext(connection) as inline:
        clinician.get(f"/patients/{patient.pk}/?panels=all")
    assert len(inline) > len(without_panels)


def test_chart_query_count_does_not_grow_with_consent_rows(clinician):
    patient = PatientFactory(mobile="+447700100123")
    clinician.get(f"/patients/{patient.pk}/")
    with CaptureQueriesContext(connection) as few:
        clinician.get(f"/patients/{patient.pk}/")
    ConsentFactory.create_batch(12, patient=patient)
    with CaptureQueriesContext(connection) as many:
        clinician.get(f"/patients/{patient.pk}/")
    assert len(many) == len(few)


def test_unknown_patient_is_404(desk):
    assert desk.get("/patients/99999999999999999999/").status_code == 404


def test_merged_chart_points_to_the_survivor(desk):
    survivor = PatientFactory()
    merged = PatientFactory(status="inactive", inactive_reason="merged", merged_into=survivor)
    html = desk.get(f"/patients/{merged.pk}/").content.decode()
    assert f'href="/patients/{survivor.pk}/"' in html
    assert "was merged into" in html


# --- consent ---------------------------------------------------------------------------------


def test_record_consent_for_several_purposes(desk):
    patient = PatientFactory(mobile="+447700100123")
    response = desk.post(
        f"/patients/{patient.pk}/consents/",
        {
            "consent-channel": "sms",
            "consent-purposes": ["appointment_reminders", "recalls"],
            "consent-granted": "true",
            "consent-method": "verbal",
        },
    )
    assert response.status_code == 302
    assert set(MessagingConsent.objects.values_list("purpose", flat=True)) == {
        "appointment_reminders",
        "recalls",
    }
    html = desk.get(f"/patients/{patient.pk}/").content.decode()
    assert "May send" in html


def test_record_consent_errors_show_on_the_chart(desk):
    patient = PatientFactory(email="")
    response = desk.post(
        f"/patients/{patient.pk}/consents/",
        {
            "consent-channel": "email",
            "consent-purposes": ["recalls"],
            "consent-granted": "true",
            "consent-method": "written",
        },
    )
    assert response.status_code == 400
    assert "no address or number on file" in response.content.decode()
    assert not MessagingConsent.objects.exists()


# --- deactivate, reactivate, merge (managers) ------------------------------------------------


def test_front_desk_cannot_deactivate_or_merge(desk):
    patient = PatientFactory()
    assert desk.get(f"/patients/{patient.pk}/deactivate/").status_code == 403
    assert desk.get(f"/patients/{patient.pk}/merge/").status_code == 403
    assert desk.post(f"/patients/{patient.pk}/reactivate/").status_code == 403


def test_manager_deactivates_with_a_reason(boss):
    patient = PatientFactory()
    missing = boss.post(f"/patients/{patient.pk}/deactivate/", {"reason": "other"})
    assert missing.status_code == 400
    assert "Say why" in missing.content.decode()
    response = boss.post(f"/patients/{patient.pk}/deactivate/", {"reason": "deceased"})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.inactive_reason == "deceased"


def test_manager_reactivates(boss):
    patient = PatientFactory(status="inactive", inactive_reason="moved_away")
    boss.post(f"/patients/{patient.pk}/reactivate/")
    patient.refresh_from_db()
    assert patient.is_active


def test_merge_page_previews_then_merges(boss):
    survivor, duplicate = PatientFactory(), PatientFactory()
    appointment = AppointmentFactory(patient=duplicate)
    picker = boss.get(f"/patients/{survivor.pk}/merge/").content.decode()
    assert "/patients/search/?pick=merge-duplicate" in picker
    preview = boss.get(f"/patients/{survivor.pk}/merge/", {"duplicate": duplicate.pk}).content.decode()
    assert "1 appointments" in preview
    response = boss.post(f"/patients/{survivor.pk}/merge/", {"duplicate": duplicate.pk})
    assert response.status_code == 302
    assert Appointment.objects.get(pk=appointment.pk).patient_id == survivor.pk
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == survivor.pk


def test_all_panels_inline_are_audited_as_such(client, surgeon_user):
    patient = PatientFactory()
    client.force_login(surgeon_user)
    assert client.get(f"/patients/{patient.pk}/?panels=all").status_code == 200
    assert AuditEvent.objects.get(action="patient.viewed").changes == {"via": "chart:all"}


def test_a_panel_asked_for_after_the_session_ended_sends_the_window_to_the_login(client):
    patient = PatientFactory()
    response = client.get(
        f"/patients/{patient.pk}/panels/appointments/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver/patients/{patient.pk}/",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/login/?next=/patients/{patient.pk}/"
    assert not AuditEvent.objects.filter(action="patient.viewed").exists()
    # Without htmx, the usual redirect to the login page.
    assert client.get(f"/patients/{patient.pk}/panels/appointments/").status_code == 302
