"""Patients act from links: confirm, cancel, book a recall slot, answer a questionnaire."""

from datetime import date, timedelta

import pytest
from django.db import transaction

from scheduling.models import Appointment, AppointmentEvent, Message, Recall
from scheduling.reminders.links import Action, link_url
from scheduling.reminders.questionnaires import Questionnaire, register_questionnaire
from scheduling.services import appointment_book, recall_open
from tests.factories import PatientFactory
from tests.scheduling.conftest import local
from tests.scheduling.messaging_helpers import grant_all

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def person():
    patient = PatientFactory(email="lin@example.org", mobile="+447700100321")
    grant_all(patient)
    return patient


def _book(clinic, patient, when=None, provider=None, appointment_type=None):
    return appointment_book(
        patient=patient,
        appointment_type=appointment_type or clinic.consultation,
        provider=provider or clinic.surgeon,
        starts_at=when or local(2027, 3, 4, 10, 0),
        actor=None,
    )


def test_booking_plans_its_messages_in_the_same_transaction(clinic, person):
    appointment = _book(clinic, person)
    kinds = sorted(Message.objects.filter(appointment=appointment).values_list("kind", "channel"))
    assert kinds == [
        ("appointment_confirmation", "email"),
        ("appointment_confirmation", "sms"),
        ("appointment_reminder", "email"),
        ("appointment_reminder", "sms"),
    ]


def test_a_rolled_back_booking_leaves_no_messages(clinic, person):
    with pytest.raises(RuntimeError), transaction.atomic():
        _book(clinic, person)
        raise RuntimeError("the caller failed after booking")
    assert Message.objects.count() == 0
    assert Appointment.objects.count() == 0


def test_confirm_link_confirms_on_post_only(client, clinic, person):
    appointment = _book(clinic, person)
    url = _path(link_url(patient_id=person.pk, action=Action.CONFIRM, target=appointment.pk))
    page = client.get(url)
    assert page.status_code == 200
    assert b"Yes, I will be there" in page.content
    assert b"Thursday 4 March 2027 at 10:00" in page.content  # clinic time zone
    appointment.refresh_from_db()
    assert appointment.status == "booked"  # a link scanner's GET changes nothing

    client.post(url)
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"
    assert AppointmentEvent.objects.filter(
        appointment=appointment, to_status="confirmed", via="patient_link"
    ).exists()


def test_cancel_link_cancels_and_sends_a_notice(client, clinic, person):
    appointment = _book(clinic, person)
    url = _path(link_url(patient_id=person.pk, action=Action.CANCEL, target=appointment.pk))
    response = client.post(url, {"reason": "unwell"})
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert "unwell" in appointment.events.last().reason.lower()
    assert Message.objects.filter(appointment=appointment, kind="appointment_cancelled").count() == 2
    assert (
        Message.objects.filter(
            appointment=appointment, kind="appointment_reminder", status="cancelled"
        ).count()
        == 2
    )


def test_a_link_never_reaches_another_patients_appointment(client, clinic, person):
    other = PatientFactory()
    theirs = _book(clinic, other)
    url = _path(link_url(patient_id=person.pk, action=Action.CANCEL, target=theirs.pk))
    assert client.post(url).status_code == 400
    theirs.refresh_from_db()
    assert theirs.status == "booked"


def _recall(clinic, patient, *, preferred=None):
    return recall_open(
        patient=patient,
        kind=Recall.Kind.REINJECTION,
        appointment_type_code="toxin",
        anchor_date=date(2026, 12, 7),
        earliest_date=date(2027, 3, 1),
        due_date=date(2027, 3, 1),
        overdue_date=date(2027, 3, 29),
        source="toxin_session:77",
        preferred_provider=preferred,
    )


def test_recall_link_offers_slots_from_the_earliest_date_usual_injector_first(client, clinic, person):
    recall = _recall(clinic, person, preferred=clinic.injector)
    url = _path(link_url(patient_id=person.pk, action=Action.BOOK, target=recall.pk))
    page = client.get(url)
    assert page.status_code == 200
    days = page.context["days"]
    assert days and days[0][0] >= date(2027, 3, 1)
    first_day_slots = days[0][1]
    assert first_day_slots[0]["provider"] == clinic.injector


def test_recall_link_never_offers_a_date_inside_the_minimum_interval(client, clinic, person):
    recall = _recall(clinic, person)
    Recall.objects.filter(pk=recall.pk).update(earliest_date=date(2027, 3, 10), due_date=date(2027, 3, 10))
    url = _path(link_url(patient_id=person.pk, action=Action.BOOK, target=recall.pk))
    days = client.get(url + "?from=2027-03-01").context["days"]
    assert min(day for day, _ in days) >= date(2027, 3, 10)
    early = f"{local(2027, 3, 3, 10, 0).isoformat()}|{clinic.injector.pk}|{clinic.procedure_room.pk}"
    response = client.post(url, {"slot": early})
    assert b"Please choose one of the times below" in response.content
    assert not Appointment.objects.filter(patient=person).exists()


def test_patient_books_a_recall_slot_and_it_appears_in_the_schedule(client, clinic, person):
    recall = _recall(clinic, person)
    url = _path(link_url(patient_id=person.pk, action=Action.BOOK, target=recall.pk))
    slot = client.get(url).context["days"][0][1][0]["value"]
    response = client.post(url, {"slot": slot})
    assert response.status_code == 200
    assert b"You are booked" in response.content
    appointment = Appointment.objects.get(patient=person)
    assert appointment.appointment_type.code == "toxin"
    assert appointment.booked_via == "patient_link"
    recall.refresh_from_db()
    assert (recall.status, recall.booked_appointment) == ("booked", appointment)
    # The same link again says so instead of booking twice.
    again = client.get(url)
    assert b"You are already booked" in again.content


def test_a_taken_slot_gets_a_friendly_message(client, clinic, person):
    recall = _recall(clinic, person)
    url = _path(link_url(patient_id=person.pk, action=Action.BOOK, target=recall.pk))
    slot = client.get(url).context["days"][0][1][0]
    start = slot["time"]
    _book(clinic, PatientFactory(), when=start, provider=slot["provider"], appointment_type=clinic.toxin)
    response = client.post(url, {"slot": slot["value"]})
    assert b"that time has just been taken" in response.content
    assert not Appointment.objects.filter(patient=person).exists()


def test_a_forged_slot_value_books_nothing(client, clinic, person):
    recall = _recall(clinic, person)
    url = _path(link_url(patient_id=person.pk, action=Action.BOOK, target=recall.pk))
    for value in ["", "nonsense", "2027-03-02T10:00|x|y", "2027-03-02T10:00:00|999999|999999"]:
        response = client.post(url, {"slot": value})
        assert response.status_code == 200
        assert b"Please choose one of the times below" in response.content
    assert not Appointment.objects.exists()


@pytest.fixture
def answered():
    saved: list[dict] = []
    register_questionnaire(
        Questionnaire(
            instrument="test_q",
            title="Test questionnaire",
            intro="Two questions.",
            items=[("q1", "First?"), ("q2", "Second?")],
            choices=[(1, "Never"), (2, "Sometimes"), (3, "Always")],
            save=lambda **kw: saved.append(kw),
        )
    )
    return saved


def _questionnaire_message(patient):
    return Message.objects.create(
        patient=patient,
        kind="questionnaire",
        channel="email",
        purpose="questionnaires",
        due_at=local(2027, 3, 1, 10),
        dedupe_key="test:q",
        context={"instrument": "test_q"},
        status="sent",
    )


def test_questionnaire_link_stores_the_answers_once(client, clinic, person, answered):
    message = _questionnaire_message(person)
    url = _path(link_url(patient_id=person.pk, action=Action.QUESTIONNAIRE, target=message.pk))
    assert b"First?" in client.get(url).content
    incomplete = client.post(url, {"q1": "2"})
    assert b"Please answer every question" in incomplete.content
    assert answered == []

    client.post(url, {"q1": "2", "q2": "3"})
    client.post(url, {"q1": "1", "q2": "1"})  # a second submit stores nothing
    assert len(answered) == 1
    assert answered[0]["items"] == {"q1": 2, "q2": 3}
    assert answered[0]["patient"] == person
    assert b"already have your answers" in client.get(url).content


def test_questionnaire_rejects_out_of_range_answers(client, clinic, person, answered):
    message = _questionnaire_message(person)
    url = _path(link_url(patient_id=person.pk, action=Action.QUESTIONNAIRE, target=message.pk))
    response = client.post(url, {"q1": "9", "q2": "-1"})
    assert b"Please answer every question" in response.content
    assert answered == []


def test_cancelled_appointment_reminder_is_not_sent(clinic, person):
    appointment = _book(clinic, person, when=local(2027, 3, 4, 10, 0))
    from scheduling.services import appointment_cancel

    appointment_cancel(appointment=appointment, reason="clinic closed", actor=None, cancelled_by="clinic")
    statuses = set(
        Message.objects.filter(appointment=appointment, kind="appointment_reminder").values_list(
            "status", flat=True
        )
    )
    assert statuses == {"cancelled"}
    assert timedelta(0) < appointment.starts_at - local(2027, 3, 1, 8)
