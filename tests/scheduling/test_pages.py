"""Front-desk and clinician pages: rendering, booking from the grid, actions, exports."""

import re

import pytest
import time_machine

from patients.models import Patient
from scheduling.models import Appointment, WaitlistEntry
from scheduling.services import appointment_book, appointment_cancel, waitlist_add
from tests.factories import AppointmentFactory, LocationFactory, PatientFactory, RoomFactory, UserFactory
from tests.scheduling.conftest import local, provider_for, queries_with_1_and_30

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(client, front_desk_user):
    client.force_login(front_desk_user)
    return client


def booked(clinic, patient, start, actor=None, **kw):
    return appointment_book(
        patient=patient,
        appointment_type=kw.pop("type_", clinic.consultation),
        provider=kw.pop("provider", clinic.surgeon),
        starts_at=start,
        actor=actor,
        **kw,
    )


def no_inline_script(html: str) -> bool:
    return not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) and not re.search(r"\son[a-z]+=", html)


# --- calendars ---------------------------------------------------------------------------------


def test_day_view_shows_a_column_per_provider_with_bookable_slots(clinic, desk, patient):
    booked(clinic, patient, local(2027, 3, 2, 10))
    response = desk.get("/schedule/", {"date": "2027-03-02"})
    html = response.content.decode()
    assert response.status_code == 200
    for provider in (clinic.surgeon, clinic.injector, clinic.therapist):
        assert str(provider) in html
    assert patient.display_name in html
    assert 'rowspan="4"' in html  # a 60-minute visit spans four quarter hours
    assert "Book " in html and "/schedule/book/?" in html
    assert no_inline_script(html)


def test_day_view_defaults_to_today_in_the_clinic_zone(clinic, client, front_desk_user):
    with time_machine.travel(local(2027, 3, 2, 0, 30), tick=False):
        client.force_login(front_desk_user)
        response = client.get("/schedule/")
    assert "Tuesday 2 March 2027" in response.content.decode()


def test_day_view_with_nobody_working_says_what_to_do(clinic, desk):
    response = desk.get("/schedule/", {"date": "2027-03-07"})  # a Sunday
    assert "No one works on this day" in response.content.decode()


def test_day_view_ignores_a_bad_date(clinic, desk):
    assert desk.get("/schedule/", {"date": "2027-13-45"}).status_code == 200


def test_day_view_query_count_is_constant(clinic, desk):
    one, thirty = queries_with_1_and_30(clinic, lambda: desk.get("/schedule/", {"date": "2027-03-02"}))
    assert one == thirty


def test_room_view_query_count_is_constant(clinic, desk):
    one, thirty = queries_with_1_and_30(clinic, lambda: desk.get("/schedule/rooms/", {"date": "2027-03-02"}))
    assert one == thirty


def test_week_view_query_count_is_constant(clinic, desk):
    params = {"date": "2027-03-02", "provider": clinic.surgeon.pk}
    one, thirty = queries_with_1_and_30(clinic, lambda: desk.get("/schedule/week/", params))
    assert one == thirty


def test_arrivals_and_my_day_query_counts_are_constant(clinic, client):
    client.force_login(clinic.surgeon.user)
    with time_machine.travel(local(2027, 3, 2, 8), tick=False):
        for url in ("/schedule/arrivals/", "/schedule/my-day/"):
            one, thirty = queries_with_1_and_30(clinic, lambda url=url: client.get(url))
            assert one == thirty, url
            AppointmentFactory._meta.model.objects.all().delete()


def test_week_view_shows_the_providers_week_and_an_ics_link(clinic, desk, patient):
    booked(clinic, patient, local(2027, 3, 4, 14))
    html = desk.get("/schedule/week/", {"provider": clinic.surgeon.pk, "date": "2027-03-03"}).content.decode()
    assert "Mon 01 Mar" in html and "Sun 07 Mar" in html
    assert patient.display_name in html
    assert f"/schedule/providers/{clinic.surgeon.pk}/calendar.ics" in html


def test_room_view_shows_rooms_as_columns(clinic, desk, patient):
    booked(clinic, patient, local(2027, 3, 2, 10), type_=clinic.toxin, provider=clinic.injector)
    html = desk.get("/schedule/rooms/", {"date": "2027-03-02"}).content.decode()
    assert "Procedure 1" in html and "Therapy 1" in html
    assert patient.display_name in html


def test_my_day_lists_the_clinicians_own_appointments(clinic, client, patient):
    booked(clinic, patient, local(2027, 3, 1, 10))
    other = booked(
        clinic, PatientFactory(), local(2027, 3, 1, 10), type_=clinic.therapy, provider=clinic.therapist
    )
    client.force_login(clinic.surgeon.user)
    html = client.get("/schedule/my-day/").content.decode()
    assert patient.display_name in html
    assert other.patient.display_name not in html


def test_my_day_for_staff_who_are_not_providers(clinic, desk):
    assert "not set up as a bookable provider" in desk.get("/schedule/my-day/").content.decode()


def test_each_clinical_role_lands_on_my_day(clinic, client):
    client.force_login(clinic.injector.user)
    assert client.get("/")["Location"] == "/schedule/my-day/"


def test_anonymous_is_sent_to_login_and_roleless_users_get_403(client, clinic):
    assert client.get("/schedule/")["Location"].startswith("/login/")
    client.force_login(UserFactory(username="nobody"))
    assert client.get("/schedule/").status_code == 403


# --- booking dialog ----------------------------------------------------------------------------


def test_clicking_a_free_slot_opens_a_prefilled_dialog(clinic, desk):
    response = desk.get(
        "/schedule/book/",
        {"provider": clinic.surgeon.pk, "start": "2027-03-02T10:00:00+00:00"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html  # a partial for the dialog
    assert 'value="2027-03-02T10:00"' in html
    assert f'<option value="{clinic.surgeon.pk}" selected>' in html


def test_booking_from_the_dialog(clinic, desk, patient):
    response = desk.post(
        "/schedule/book/",
        {
            "patient": patient.pk,
            "appointment_type": clinic.consultation.pk,
            "provider": clinic.surgeon.pk,
            "start": "2027-03-02T10:00",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/schedule/?date=2027-03-02"
    appt = Appointment.objects.get()
    assert (appt.patient, appt.starts_at, appt.booked_via) == (patient, local(2027, 3, 2, 10), "staff")
    page = desk.get(response["HX-Redirect"]).content.decode()
    assert "Booked New patient consultation" in page


def test_conflicts_show_as_form_errors(clinic, desk, patient):
    booked(clinic, PatientFactory(), local(2027, 3, 2, 10))
    response = desk.post(
        "/schedule/book/",
        {
            "patient": patient.pk,
            "appointment_type": clinic.consultation.pk,
            "provider": clinic.surgeon.pk,
            "start": "2027-03-02T10:30",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "already booked at that time" in response.content.decode()
    assert Appointment.objects.count() == 1


def test_reinjection_too_soon_shows_the_earliest_date(clinic, desk, patient):
    AppointmentFactory(
        patient=patient,
        appointment_type=clinic.toxin,
        provider=clinic.injector,
        room=clinic.procedure_room,
        starts_at=local(2027, 1, 4, 10),
        status="completed",
    )
    response = desk.post(
        "/schedule/book/",
        {
            "patient": patient.pk,
            "appointment_type": clinic.toxin.pk,
            "provider": clinic.injector.pk,
            "start": "2027-03-02T10:00",
        },
    )
    assert "29 Mar 2027" in response.content.decode()


def test_the_override_field_is_offered_to_clinicians_only(clinic, client, desk):
    assert "override_reason" not in desk.get("/schedule/book/").content.decode()
    client.force_login(clinic.injector.user)
    assert "override_reason" in client.get("/schedule/book/").content.decode()


def test_missing_patient_is_a_form_error(clinic, desk):
    response = desk.post(
        "/schedule/book/",
        {
            "appointment_type": clinic.consultation.pk,
            "provider": clinic.surgeon.pk,
            "start": "2027-03-02T10:00",
        },
    )
    assert "Find and choose a patient." in response.content.decode()


def test_inline_patient_search(clinic, desk):
    PatientFactory(first_name="Ottoline", last_name="Quill")
    PatientFactory(first_name="Bob", last_name="Smith")
    html = desk.get("/schedule/book/patients/", {"q": "quill"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Ottoline" in html and "Bob" not in html
    assert 'type="radio" name="patient"' in html
    assert "No patient matches" in desk.get("/schedule/book/patients/", {"q": "zzzz"}).content.decode()


def test_register_a_new_patient_in_place(clinic, desk):
    response = desk.post(
        "/schedule/book/register-patient/",
        {
            "new-first_name": "Ada",
            "new-last_name": "Byron",
            "new-date_of_birth": "1980-12-10",
            "new-mobile": "07912 345678",
        },
        HTTP_HX_REQUEST="true",
    )
    patient = Patient.objects.get(last_name="Byron")
    assert str(patient.mobile) == "+447912345678"
    assert f'value="{patient.pk}" checked' in response.content.decode()


def test_register_with_bad_details_shows_errors(clinic, desk):
    response = desk.post(
        "/schedule/book/register-patient/",
        {"new-first_name": "Ada", "new-date_of_birth": "tomorrow-ish", "new-mobile": "12"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "This field is required." in html
    assert not Patient.objects.exists()


def test_register_without_javascript_returns_to_the_dialog_with_the_patient(clinic, desk):
    response = desk.post(
        "/schedule/book/register-patient/",
        {
            "new-first_name": "Ada",
            "new-last_name": "Byron",
            "new-date_of_birth": "1980-12-10",
            "provider": clinic.surgeon.pk,
        },
    )
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert (
        f"patient={patient.pk}" in response["Location"]
        and f"provider={clinic.surgeon.pk}" in response["Location"]
    )


# --- arrivals and actions ----------------------------------------------------------------------


def test_check_in_from_todays_arrivals(clinic, desk, patient):
    appt = booked(clinic, patient, local(2027, 3, 1, 10))
    assert patient.display_name in desk.get("/schedule/arrivals/").content.decode()
    response = desk.post(f"/schedule/arrivals/{appt.pk}/check-in/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Checked in" in html and 'hx-swap-oob="true"' in html
    appt.refresh_from_db()
    assert appt.status == "checked_in"


def _two_sites(clinic):
    """A patient at the clinic's site and one at a second site, both today (1 March) at 10:00."""
    elsewhere = LocationFactory(name="Harbour Clinic")
    RoomFactory(location=elsewhere, name="Harbour Consult", kind="consultation")
    far = provider_for("surgeon", "dr_far", location=elsewhere)
    here = PatientFactory(first_name="Hannah", last_name="Here")
    there = PatientFactory(first_name="Tom", last_name="There")
    booked(clinic, here, local(2027, 3, 1, 10))
    booked(clinic, there, local(2027, 3, 1, 10), provider=far)
    return clinic.consultation_room.location, elsewhere, here, there


def test_arrivals_keep_to_one_location(clinic, desk):
    _, elsewhere, here, there = _two_sites(clinic)
    everyone = desk.get("/schedule/arrivals/").content.decode()
    assert here.display_name in everyone and there.display_name in everyone
    assert 'name="location"' in everyone  # more than one site: the picker is offered
    html = desk.get("/schedule/arrivals/", {"location": elsewhere.pk}).content.decode()
    assert there.display_name in html and here.display_name not in html
    assert "at Harbour Clinic" in html
    # Checking in without JavaScript comes back to the same site's list.
    appointment = Appointment.objects.get(patient=there)
    assert f"/check-in/?location={elsewhere.pk}" in html
    response = desk.post(f"/schedule/arrivals/{appointment.pk}/check-in/?location={elsewhere.pk}")
    assert (
        response.status_code == 302 and response["Location"] == f"/schedule/arrivals/?location={elsewhere.pk}"
    )


def test_print_day_list_keeps_to_one_location(clinic, desk):
    home, _, here, there = _two_sites(clinic)
    html = desk.get("/schedule/print/", {"date": "2027-03-01", "location": home.pk}).content.decode()
    assert here.mrn in html and there.mrn not in html
    day = desk.get("/schedule/", {"date": "2027-03-01", "location": home.pk}).content.decode()
    assert f"/schedule/print/?date=2027-03-01&amp;location={home.pk}" in day


def test_appointment_page_shows_history_and_actions(clinic, desk, patient):
    appt = booked(clinic, patient, local(2027, 3, 2, 10))
    html = desk.get(f"/schedule/appointments/{appt.pk}/").content.decode()
    assert "Confirm" in html and "Cancel this appointment" in html and "Booked" in html


def test_confirm_from_the_appointment_page(clinic, desk, patient):
    appt = booked(clinic, patient, local(2027, 3, 2, 10))
    response = desk.post(f"/schedule/appointments/{appt.pk}/confirm/")
    assert response.status_code == 302
    appt.refresh_from_db()
    assert appt.status == "confirmed"


def test_an_illegal_action_is_a_flash_error_not_a_500(clinic, desk, patient):
    appt = booked(clinic, patient, local(2027, 3, 2, 10))
    response = desk.post(f"/schedule/appointments/{appt.pk}/no_show/", follow=True)
    assert "only possible once the appointment has started" in response.content.decode()


def test_unknown_action_is_refused(clinic, desk, patient):
    appt = booked(clinic, patient, local(2027, 3, 2, 10))
    assert desk.post(f"/schedule/appointments/{appt.pk}/explode/").status_code == 403


def test_cancel_needs_a_reason_on_the_page(clinic, desk, patient):
    appt = booked(clinic, patient, local(2027, 3, 2, 10))
    response = desk.post(
        f"/schedule/appointments/{appt.pk}/cancel/", {"reason": "", "cancelled_by": "patient"}
    )
    assert response.status_code == 400
    response = desk.post(
        f"/schedule/appointments/{appt.pk}/cancel/", {"reason": "Unwell", "cancelled_by": "clinic"}
    )
    assert response.status_code == 302
    appt.refresh_from_db()
    assert (appt.status, appt.cancellation_reason) == ("cancelled", "Unwell")


def test_correct_a_no_show_on_the_page(clinic, desk, patient):
    appt = booked(clinic, patient, local(2027, 3, 1, 10))
    with time_machine.travel(local(2027, 3, 1, 12), tick=False):
        desk.post(f"/schedule/appointments/{appt.pk}/no_show/")
        desk.post(
            f"/schedule/appointments/{appt.pk}/correct/", {"to_status": "completed", "reason": "Was seen"}
        )
    appt.refresh_from_db()
    assert appt.status == "completed"


def test_reschedule_page_offers_slots_and_moves(clinic, desk, patient):
    appt = booked(clinic, patient, local(2027, 3, 2, 10))
    html = desk.get(f"/schedule/appointments/{appt.pk}/reschedule/", {"date": "2027-03-03"}).content.decode()
    assert "Wednesday 3 March" in html
    response = desk.post(
        f"/schedule/appointments/{appt.pk}/reschedule/",
        {"start": "2027-03-03T14:00", "provider": clinic.surgeon.pk},
    )
    assert response.status_code == 302
    appt.refresh_from_db()
    assert appt.starts_at == local(2027, 3, 3, 14)


def test_drag_and_drop_onto_a_busy_slot_explains_why(clinic, desk, patient):
    appt = booked(clinic, patient, local(2027, 3, 2, 10))
    booked(clinic, PatientFactory(), local(2027, 3, 3, 14))
    response = desk.post(
        f"/schedule/appointments/{appt.pk}/reschedule/",
        {"start": "2027-03-03T14:00", "provider": clinic.surgeon.pk},
        HTTP_HX_REQUEST="true",
    )
    assert "already booked" in response.content.decode()
    assert 'id="sched-flash"' in response.content.decode()


def test_next_available(clinic, desk):
    html = desk.get(
        "/schedule/next/", {"appointment_type": clinic.therapy.pk, "provider": clinic.therapist.pk}
    ).content.decode()
    assert "Monday 1 March 2027" in html
    assert "09:00" in html


# --- waitlist ----------------------------------------------------------------------------------


def test_waitlist_add_and_one_click_booking_of_a_freed_slot(clinic, desk, patient, front_desk_user):
    freed = booked(clinic, PatientFactory(), local(2027, 3, 2, 10))
    response = desk.post(
        "/schedule/waitlist/", {"patient": patient.pk, "appointment_type": clinic.consultation.pk}
    )
    assert response.status_code == 302
    appointment_cancel(appointment=freed, reason="Unwell", actor=front_desk_user)

    day = desk.get("/schedule/", {"date": "2027-03-02"}).content.decode()
    assert "Waitlist matches" in day and f"Book for {patient.display_name}" in day
    offer = WaitlistEntry.objects.get().offers.get()
    response = desk.post(f"/schedule/waitlist/offers/{offer.pk}/book/")
    assert response.status_code == 302
    assert Appointment.objects.get(patient=patient).starts_at == local(2027, 3, 2, 10)


def test_waitlist_page_lists_entries(clinic, desk, patient, front_desk_user):
    waitlist_add(patient=patient, appointment_type=clinic.therapy, actor=front_desk_user)
    html = desk.get("/schedule/waitlist/").content.decode()
    assert patient.display_name in html and "NMRT therapy visit" in html


# --- exports -----------------------------------------------------------------------------------


def test_ics_export_of_a_providers_schedule(clinic, desk, patient):
    booked(clinic, patient, local(2027, 3, 2, 10))
    response = desk.get(f"/schedule/providers/{clinic.surgeon.pk}/calendar.ics")
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    assert "BEGIN:VEVENT" in body and "DTSTART:20270302T100000Z" in body
    assert patient.mrn in body and patient.last_name not in body


def test_print_day_list(clinic, desk, patient):
    booked(clinic, patient, local(2027, 3, 2, 10))
    html = desk.get("/schedule/print/", {"date": "2027-03-02"}).content.decode()
    assert patient.mrn in html and "data-print" in html


# --- chart panel -------------------------------------------------------------------------------


def test_chart_panel_lists_upcoming_and_past(clinic, patient):
    from django.template.loader import render_to_string

    from patients.chart import panels_for

    booked(clinic, patient, local(2027, 3, 2, 10))
    panel = next(p for p in panels_for(clinic.surgeon.user) if p.key == "appointments")
    html = render_to_string(panel.template, panel.context(patient=patient, user=clinic.surgeon.user))
    assert "Tue 2 Mar 2027 10:00" in html and "No past appointments." in html


def test_the_day_grid_is_a_well_formed_table(clinic, desk, patient):
    # Every row, counting cells still covered by an appointment above, has one cell per column.
    from html.parser import HTMLParser

    booked(clinic, patient, local(2027, 3, 2, 9, 30))
    booked(clinic, PatientFactory(), local(2027, 3, 2, 11), type_=clinic.toxin, provider=clinic.injector)
    booked(clinic, PatientFactory(), local(2027, 3, 2, 11), type_=clinic.therapy, provider=clinic.therapist)

    class Rows(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.in_body = [], False

        def handle_starttag(self, tag, attrs):
            if tag == "tbody":
                self.in_body = True
            elif self.in_body and tag == "tr":
                self.rows.append([])
            elif self.in_body and tag == "td":
                self.rows[-1].append(int(dict(attrs).get("rowspan", 1)))

    parser = Rows()
    parser.feed(desk.get("/schedule/", {"date": "2027-03-02"}).content.decode())
    covered = [0] * 3
    for cells in parser.rows:
        free = [i for i, left in enumerate(covered) if left == 0]
        assert len(cells) == len(free)
        covered = [max(left - 1, 0) for left in covered]
        for column, span in zip(free, cells, strict=True):
            covered[column] = span - 1
    assert len(parser.rows) == 40  # 08:00 to 18:00 in quarter hours


def test_drag_and_drop_onto_a_free_slot_moves_and_redraws(clinic, desk, patient):
    appt = booked(clinic, patient, local(2027, 3, 2, 10))
    response = desk.post(
        f"/schedule/appointments/{appt.pk}/reschedule/",
        {"start": "2027-03-02T14:00", "provider": clinic.surgeon.pk, "room": clinic.consultation_room.pk},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/schedule/?date=2027-03-02"
    appt.refresh_from_db()
    assert appt.starts_at == local(2027, 3, 2, 14)


def test_booking_without_javascript_redirects_to_the_day(clinic, desk, patient):
    response = desk.post(
        "/schedule/book/",
        {
            "patient": patient.pk,
            "appointment_type": clinic.therapy.pk,
            "provider": clinic.therapist.pk,
            "start": "2027-03-03T11:15",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/schedule/?date=2027-03-03"
    assert Appointment.objects.get().starts_at == local(2027, 3, 3, 11, 15)


def test_the_booking_forms_long_selects_write_djangos_html(clinic):
    from django import forms
    from django.test.html import parse_html

    from clinic.widgets import FastSelect
    from scheduling.forms import BookingForm

    initial = {"provider": clinic.surgeon.pk, "room": clinic.theatre.pk}
    fast, plain = BookingForm(initial=initial), BookingForm(initial=initial)
    for name in ("provider", "room"):
        assert isinstance(fast.fields[name].widget, FastSelect)
        plain.fields[name].widget = forms.Select(choices=plain.fields[name].choices)
        assert parse_html(str(fast[name])) == parse_html(str(plain[name]))
        assert " selected>" in str(fast[name])
