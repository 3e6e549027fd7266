"""What a toxin session sets going in the reminders: the recall, the SAQ request, the link."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from scheduling.models import Message, Recall
from scheduling.reminders import services as reminders
from scheduling.reminders.links import Action, link_url
from tests.factories import AppointmentTypeFactory, PatientFactory, ProviderFactory
from tests.scheduling.messaging_helpers import grant_all
from treatments.models import Assessment

from .factories import record_toxin

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 15, 10, 0, tzinfo=timezone.get_default_timezone())


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def patient():
    p = PatientFactory(email="sam@example.org", mobile="+447700100555")
    grant_all(p)
    AppointmentTypeFactory(code="toxin", room_kind="procedure")
    return p


def test_a_session_asks_for_the_saq_two_weeks_later(patient, injector_user):
    session = record_toxin(patient, injector_user, occurred_at=NOW - timedelta(days=1))
    rows = Message.objects.filter(kind="questionnaire", patient=patient)
    assert rows.count() == 2
    assert {m.due_at.date() for m in rows} == {(NOW - timedelta(days=1)).date() + timedelta(days=14)}
    assert {m.context["source"] for m in rows} == {f"toxin_session:{session.pk}"}


def test_a_session_recorded_long_after_the_fact_asks_nothing(patient, injector_user):
    record_toxin(patient, injector_user, occurred_at=NOW - timedelta(days=40))
    assert not Message.objects.filter(kind="questionnaire").exists()


def test_a_new_session_supersedes_the_previous_reinjection_recall(patient, injector_user):
    ProviderFactory(user=injector_user, role="injector")
    first = record_toxin(patient, injector_user, occurred_at=NOW - timedelta(days=120))
    second = record_toxin(patient, injector_user, occurred_at=NOW - timedelta(days=1))
    old = Recall.objects.get(source=f"toxin_session:{first.pk}")
    new = Recall.objects.get(source=f"toxin_session:{second.pk}")
    assert (old.status, new.status) == ("completed", "open")
    assert set(Message.objects.filter(recall=old).values_list("status", flat=True)) == {"cancelled"}
    assert Message.objects.filter(recall=new, status="scheduled").count() == 4


def test_the_patient_answers_the_saq_from_the_link(client, patient, injector_user):
    record_toxin(patient, injector_user, occurred_at=NOW - timedelta(days=1))
    request = Message.objects.filter(kind="questionnaire", channel="email").get()
    with time_machine.travel(request.due_at, tick=False):
        ids = reminders.messages_claim_due()
        for message_id in ids:
            reminders.message_send(message_id=message_id)
    url = (
        "/" + link_url(patient_id=patient.pk, action=Action.QUESTIONNAIRE, target=request.pk).split("/", 3)[3]
    )
    page = client.get(url)
    assert page.status_code == 200
    assert b"When I smile, my eye closes" in page.content or b"saq_1" in page.content
    answers = {f"saq_{n}": "3" for n in range(1, 10)}
    response = client.post(url, answers)
    assert response.status_code == 200
    assessment = Assessment.objects.get(patient=patient, instrument="saq")
    assert assessment.scores["total"] == 60.0
    assert assessment.rater is None
