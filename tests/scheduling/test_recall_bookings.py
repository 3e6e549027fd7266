"""Recalls and bookings (finding 8): a patient who has the recalled appointment booked is not
due, is not reminded, and sees their booking on the recall link.

The usual way in: the injector's patient books the next session at the desk on the way out,
before the session is recorded (which is what opens the reinjection recall). Time is Monday
1 March 2027, 08:00 in London.
"""

from datetime import date

import pytest
import time_machine
from django.core import mail

from clinic.models import AuditEvent, ClinicSettings
from scheduling.models import Appointment, Message, Recall
from scheduling.reminders import services as reminders
from scheduling.reminders.links import Action, link_token
from scheduling.reminders.selectors import Bucket, recall_worklist
from scheduling.services import appointment_book, appointment_cancel
from tests.factories import AppointmentTypeFactory
from tests.scheduling.conftest import local
from tests.scheduling.messaging_helpers import grant_all
from tests.scheduling.test_reinjection_paths import book_toxin, session

pytestmark = pytest.mark.django_db


def _reinjection_recall(patient) -> Recall:
    return Recall.objects.get(patient=patient, kind=Recall.Kind.REINJECTION)


def test_a_booking_made_before_the_session_is_recorded_books_the_recall(clinic, patient, injector_user):
    # Booked at the desk for 13 weeks on, then the session of last Friday is recorded.
    booked = book_toxin(clinic, patient, local(2027, 5, 31, 10))
    given = session(patient, injector_user, local(2027, 2, 26, 10))
    recall = _reinjection_recall(patient)
    assert recall.status == Recall.Status.BOOKED
    assert recall.booked_appointment == booked
    assert AuditEvent.objects.filter(action="recall.booked", target_id=str(recall.pk)).exists()
    # Off every due list, whatever the day.
    for day in (date(2027, 5, 24), date(2027, 7, 1)):
        due = recall_worklist(today=day, bucket=Bucket.DUE) | recall_worklist(
            today=day, bucket=Bucket.OVERDUE
        )
        assert recall not in due
    assert recall in recall_worklist(today=date(2027, 5, 24), bucket=Bucket.BOOKED)
    assert given.encounter.patient_id == patient.pk


def test_the_booked_patient_is_never_emailed_to_book(clinic, patient, injector_user):
    # Only the reinjection recall: the therapy offered after the session has its own reminders.
    ClinicSettings.load()
    ClinicSettings.objects.filter(pk=1).update(therapy_after_toxin_offered=False)
    grant_all(patient)
    book_toxin(clinic, patient, local(2027, 5, 31, 10))
    session(patient, injector_user, local(2027, 2, 26, 10))
    recall = _reinjection_recall(patient)
    mail.outbox.clear()
    for moment in [m.due_at for m in Message.objects.filter(recall=recall)]:
        with time_machine.travel(moment, tick=False):
            for message_id in reminders.messages_claim_due():
                reminders.message_send(message_id=message_id)
    subjects = [m.subject for m in mail.outbox]
    assert "Time to book your next appointment" not in subjects
    assert not Message.objects.filter(recall=recall, status=Message.Status.SENT).exists()


def test_any_toxin_appointment_satisfies_a_toxin_recall(clinic, patient, injector_user):
    review = AppointmentTypeFactory(
        code="toxin_review",
        name="Toxin top-up",
        is_toxin=True,
        room_kind="procedure",
        provider_roles=["injector"],
    )
    session(patient, injector_user, local(2027, 2, 26, 10))
    appointment = appointment_book(
        patient=patient,
        appointment_type=review,
        provider=clinic.injector,
        starts_at=local(2027, 5, 31, 10),
        actor=None,
    )
    recall = _reinjection_recall(patient)
    assert (recall.status, recall.booked_appointment) == (Recall.Status.BOOKED, appointment)


def test_cancelling_the_booking_puts_the_patient_back_on_the_due_list(clinic, patient, injector_user):
    booked = book_toxin(clinic, patient, local(2027, 5, 31, 10))
    session(patient, injector_user, local(2027, 2, 26, 10))
    appointment_cancel(appointment=booked, reason="Moving house", actor=None)
    recall = _reinjection_recall(patient)
    assert (recall.status, recall.booked_appointment) == (Recall.Status.OPEN, None)


def test_a_past_or_cancelled_booking_does_not_book_a_new_recall(clinic, patient, injector_user):
    old = book_toxin(clinic, patient, local(2027, 3, 1, 9))  # today's visit, the one recorded below
    cancelled = book_toxin(clinic, patient, local(2027, 6, 7, 10))
    appointment_cancel(appointment=cancelled, reason="Changed mind", actor=None)
    with time_machine.travel(local(2027, 3, 1, 11), tick=False):
        session(patient, injector_user, local(2027, 3, 1, 9))
    recall = _reinjection_recall(patient)
    assert recall.status == Recall.Status.OPEN
    assert old.status == Appointment.Status.BOOKED


def test_booking_from_the_worklist_row(client, clinic, patient, injector_user, front_desk_user):
    patient.mobile = "+447700900123"
    patient.save()
    session(patient, injector_user, local(2026, 11, 30, 9))  # due about now
    recall = _reinjection_recall(patient)
    client.force_login(front_desk_user)
    page = client.get("/recalls/?bucket=due").content.decode()
    assert "07700 900123" in page
    assert "none booked" in page
    book_url = f"/schedule/book/?patient={patient.pk}&amp;appointment_type={clinic.toxin.pk}"
    assert book_url in page
    # The Book action opens the booking dialog with the patient and the type chosen.
    dialog = client.get(book_url.replace("&amp;", "&"))
    assert dialog.status_code == 200
    assert patient.display_name in dialog.content.decode()

    booked = book_toxin(clinic, patient, local(2027, 3, 8, 10))
    recall.refresh_from_db()
    assert recall.status == Recall.Status.BOOKED
    page = client.get("/recalls/?bucket=booked").content.decode()
    assert "8 Mar 2027 10:00" in page
    assert booked.appointment_type.name in page
    # The same on the API.
    from tests.conftest import _api

    row = _api(front_desk_user).get(f"/api/v1/recalls/{recall.pk}/").json()
    assert row["patient_mobile"] == "+447700900123"
    assert row["next_appointment_at"].startswith("2027-03-08T10:00")


def test_the_recall_link_of_a_booked_patient_shows_the_booking_with_change_and_cancel(
    client, clinic, patient, injector_user
):
    booked = book_toxin(clinic, patient, local(2027, 5, 31, 10))
    session(patient, injector_user, local(2027, 2, 26, 10))
    recall = _reinjection_recall(patient)
    url = f"/p/{link_token(patient_id=patient.pk, action=Action.BOOK, target=recall.pk)}/"
    page = client.get(url).content.decode()
    assert "You are already booked" in page
    assert "Monday 31 May 2027 at 10:00" in page
    assert "No free times" not in page
    cancel = f"/p/{link_token(patient_id=patient.pk, action=Action.CANCEL, target=booked.pk)}/"
    assert cancel in page
    assert "Move to this time" in page

    # Change: pick another offered time; the same appointment moves and the recall stays booked.
    choice = page.split('name="slot" value="')[1].split('"')[0]
    done = client.post(url, {"slot": choice})
    assert "Your appointment has moved" in done.content.decode()
    booked.refresh_from_db()
    assert booked.starts_at.isoformat() == choice.split("|")[0]
    recall.refresh_from_db()
    assert (recall.status, recall.booked_appointment_id) == (Recall.Status.BOOKED, booked.pk)
    assert Appointment.objects.filter(patient=patient, status=Appointment.Status.BOOKED).count() == 1

    # Cancel: the link cancels it, and the recall link offers times again.
    client.post(cancel, {"reason": "cannot_attend"})
    page = client.get(url).content.decode()
    assert "Book your next appointment" in page
