"""The patient's home programme: what a visit changed, the message sent once when it changes,
the signed page (and its PDF), and the weekly check-ins."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEvent
from scheduling.models import Message
from scheduling.reminders import services as reminders
from scheduling.reminders.links import link_token, link_url
from tests.factories import PatientFactory
from tests.scheduling.messaging_helpers import grant_all
from treatments.models import Encounter, HomeExercise, ProgrammeCheckIn
from treatments.programme import programme_current, programme_diff
from treatments.services import encounter_sign
from treatments.services.programme import PROGRAMME_ACTION, programme_after_sign

from .factories import record_therapy

pytestmark = pytest.mark.django_db

SMILE = {
    "exercise": "Gentle smile in the mirror",
    "repetitions": 10,
    "hold_seconds": 5,
    "times_per_day": 3,
    "instructions": "Sit before a mirror and smile slowly, keeping the eye open.",
}
PUCKER = {"exercise": "Lip pucker", "repetitions": 8, "times_per_day": 2, "notes": "Stop if it hurts."}
BROW = {"exercise": "Brow lift", "repetitions": 5}


def _ex(name, **kw):
    return HomeExercise(exercise=name, repetitions=kw.pop("repetitions", 10), **kw)


def test_diff_names_what_was_added_removed_and_changed():
    before = [_ex("Gentle smile", hold_seconds=5), _ex("Lip pucker"), _ex("Cheek puff")]
    after = [_ex("gentle  SMILE", hold_seconds=10), _ex("Lip pucker"), _ex("Brow lift")]
    diff = programme_diff(before, after)
    assert diff.added == ("Brow lift",)
    assert diff.removed == ("Cheek puff",)
    assert [(c.name, [(x.label, x.before, x.after) for x in c.changes]) for c in diff.changed] == [
        ("gentle  SMILE", [("Hold (seconds)", "5", "10")])
    ]
    assert diff.is_changed


def test_diff_of_the_same_programme_is_empty_and_notes_count_as_a_change():
    same = programme_diff([_ex("A", notes="x")], [_ex("a", notes="x")])
    assert not same.is_changed and same.as_dict() == {"added": [], "removed": [], "changed": []}
    noted = programme_diff([_ex("A")], [_ex("A", notes="Slowly")])
    assert [c.label for c in noted.changed[0].changes] == ["Notes"]


def _patient():
    patient = PatientFactory(email="ada@example.org", mobile="+447700100555")
    grant_all(patient)
    return patient


def _visit(patient, therapist, exercises, *, hours_ago=1, sign=True, **kw):
    visit = record_therapy(
        patient,
        therapist,
        exercises=exercises,
        occurred_at=timezone.now() - timedelta(hours=hours_ago),
        **kw,
    )
    if sign:
        encounter_sign(encounter=Encounter.objects.get(pk=visit.pk), actor=therapist)
    return visit


def _programme_messages(patient):
    return Message.objects.filter(patient=patient, kind=Message.Kind.HOME_PROGRAMME)


def _send_due():
    ids = reminders.messages_claim_due(now=timezone.now() + timedelta(seconds=1))
    return {i: reminders.message_send(message_id=i) for i in ids}


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _page(patient, visit) -> str:
    return _path(link_url(patient_id=patient.pk, action=PROGRAMME_ACTION, target=visit.pk))


def test_a_changed_programme_is_sent_exactly_once_and_an_unchanged_one_not_at_all(therapist_user):
    patient = _patient()
    first = _visit(patient, therapist_user, [SMILE], sign=False)
    assert not _programme_messages(patient).exists()  # a draft sends nothing
    encounter_sign(encounter=Encounter.objects.get(pk=first.pk), actor=therapist_user)
    rows = _programme_messages(patient)
    assert sorted(rows.values_list("channel", flat=True)) == ["email", "sms"]
    assert set(rows.values_list("purpose", flat=True)) == {"appointment_reminders"}
    assert sorted(_send_due().values()) == ["sent", "sent"]
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "Your home exercise programme has changed"
    assert "/p/" in mail.outbox[0].body
    assert "/p/" in Message.objects.get(kind="home_programme", channel="sms").body
    # Exactly once: asking again for the same visit plans nothing.
    assert programme_after_sign(encounter=Encounter.objects.get(pk=first.pk)) == 0
    assert rows.count() == 2
    # The next visit keeps the programme as it was: nothing is sent.
    _visit(patient, therapist_user, [SMILE], hours_ago=0.5)
    assert _programme_messages(patient).count() == 2
    # A visit that changes it sends the new one.
    _visit(patient, therapist_user, [SMILE, PUCKER], hours_ago=0.25)
    assert _programme_messages(patient).count() == 4
    assert AuditEvent.objects.filter(action="home_programme.sent", patient_id=patient.pk).count() == 2


def test_without_consent_the_programme_message_is_skipped(therapist_user):
    patient = PatientFactory(email="bo@example.org")
    _visit(patient, therapist_user, [SMILE])
    assert set(_send_due().values()) == {"skipped"}
    assert set(_programme_messages(patient).values_list("reason_code", flat=True)) == {"no_consent"}


def test_a_visit_with_no_exercises_and_no_programme_before_sends_nothing(therapist_user):
    patient = _patient()
    _visit(patient, therapist_user, [])
    assert not _programme_messages(patient).exists()


def test_the_page_shows_the_current_programme_its_changes_and_the_therapist(client, therapist_user):
    patient = _patient()
    first = _visit(patient, therapist_user, [SMILE, BROW], hours_ago=2)
    changed = {**SMILE, "hold_seconds": 10}
    _visit(patient, therapist_user, [changed, PUCKER], hours_ago=1)
    # The first visit's link shows the current programme, and says it changed since.
    page = client.get(_page(patient, first))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Lip pucker" in html and "Stop if it hurts." in html and "keeping the eye open" in html
    assert "10 repetitions, hold 10 seconds, 3 times a day" in html
    assert "Added:</strong> Lip pucker" in html
    assert "Stopped:</strong> Brow lift" in html
    assert "Hold (seconds): 5 → 10" in html
    assert "changed again since this link was sent" in html
    assert therapist_user.get_full_name() in html
    assert "no-store" in page["Cache-Control"]
    pdf = client.get(_page(patient, first) + "?format=pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_tampered_foreign_unsigned_and_expired_links_are_refused(client, therapist_user):
    patient = _patient()
    other = _patient()
    visit = _visit(patient, therapist_user, [SMILE])
    draft = _visit(patient, therapist_user, [SMILE, PUCKER], sign=False, hours_ago=0.5)
    good = _page(patient, visit)
    assert client.get(good).status_code == 200
    assert client.get(good[:-4] + "xx/").status_code == 400
    # Another patient's token naming this visit, and a draft's visit, reach nothing.
    assert client.get(_page(other, visit)).status_code == 400
    assert client.get(_page(patient, draft)).status_code == 400
    # A token for an action nobody registered is not a link of ours.
    token = link_token(patient_id=patient.pk, action=PROGRAMME_ACTION, target=visit.pk)
    assert client.post(good, {"days_done": "3", "difficulty": "4"}).status_code == 302
    with time_machine.travel(timezone.now() + timedelta(days=settings.PATIENT_LINK_MAX_AGE_DAYS + 1)):
        assert client.get(reverse("links:open", kwargs={"token": token})).status_code == 410
        expired = client.post(good, {"days_done": "3", "difficulty": "4"})
        assert expired.status_code == 410
    assert ProgrammeCheckIn.objects.count() == 1


def test_a_check_in_is_recorded_with_history_and_audit(client, therapist_user):
    patient = _patient()
    visit = _visit(patient, therapist_user, [SMILE])
    url = _page(patient, visit)
    answer = client.post(url, {"days_done": "5", "difficulty": "3", "note": " Easier now "})
    assert answer.status_code == 302 and answer["Location"].endswith("?checked_in=1#checkin")
    checkin = ProgrammeCheckIn.objects.get()
    assert (checkin.patient, checkin.visit_id, checkin.days_done, checkin.difficulty, checkin.note) == (
        patient,
        visit.pk,
        5,
        3,
        "Easier now",
    )
    assert checkin.source == f"link:{visit.pk}"
    assert checkin.history.count() == 1
    assert AuditEvent.objects.filter(action="programme_checkin.recorded", patient_id=patient.pk).exists()
    assert "Thank you" in client.get(url + "?checked_in=1").content.decode()


@pytest.mark.parametrize(
    ("posted", "field", "message"),
    [
        ({"difficulty": "3"}, "days_done", "Please answer this question."),
        ({"days_done": "", "difficulty": "3"}, "days_done", "Please answer this question."),
        ({"days_done": "abc", "difficulty": "3"}, "days_done", "from 0 to 7"),
        ({"days_done": "8", "difficulty": "3"}, "days_done", "from 0 to 7"),
        ({"days_done": "-1", "difficulty": "3"}, "days_done", "from 0 to 7"),
        ({"days_done": "99999999999999999999", "difficulty": "3"}, "days_done", "from 0 to 7"),
        ({"days_done": "2"}, "difficulty", "Please answer this question."),
        ({"days_done": "2", "difficulty": "11"}, "difficulty", "from 0 to 10"),
        ({"days_done": "2", "difficulty": "5.5"}, "difficulty", "from 0 to 10"),
        ({"days_done": "2", "difficulty": "4", "note": "x" * 501}, "note", "500 characters"),
    ],
)
def test_a_bad_check_in_answer_is_named_and_nothing_is_saved(client, therapist_user, posted, field, message):
    patient = _patient()
    visit = _visit(patient, therapist_user, [SMILE])
    page = client.post(_page(patient, visit), posted)
    assert page.status_code == 400
    assert message in " ".join(page.context["errors"][field])
    assert set(page.context["errors"]) == {field}
    assert not ProgrammeCheckIn.objects.exists()


def test_weekly_prompts_only_when_the_therapist_asked_and_a_newer_visit_cancels_them(therapist_user):
    patient = _patient()
    _visit(patient, therapist_user, [SMILE], hours_ago=3)
    assert not Message.objects.filter(kind=Message.Kind.PROGRAMME_CHECKIN).exists()
    asked = _visit(
        patient,
        therapist_user,
        [SMILE, PUCKER],
        hours_ago=2,
        weekly_checkins=True,
        course_visits=2,
        course_every_weeks=2,
    )
    prompts = Message.objects.filter(kind=Message.Kind.PROGRAMME_CHECKIN, patient=patient)
    today = timezone.localdate()
    assert sorted({timezone.localdate(m.due_at) for m in prompts}) == [
        today + timedelta(weeks=1),
        today + timedelta(weeks=2),
    ]
    assert set(prompts.values_list("purpose", flat=True)) == {"questionnaires"}
    assert {m.context["link"]["target"] for m in prompts} == {str(asked.pk)}
    _visit(patient, therapist_user, [SMILE, PUCKER], hours_ago=1)
    assert set(prompts.values_list("status", flat=True)) == {"cancelled"}


def test_the_therapy_form_shows_the_check_ins_since_the_last_visit(client, therapist_user):
    patient = _patient()
    visit = _visit(patient, therapist_user, [SMILE])
    page_url = _page(patient, visit)
    client.post(page_url, {"days_done": "6", "difficulty": "2", "note": "Smile feels looser"})
    client.force_login(therapist_user)
    form = client.get(reverse("treatments:therapy_new") + f"?patient={patient.pk}")
    assert form.status_code == 200
    assert [c.note for c in form.context["checkins"]] == ["Smile feels looser"]
    assert "Smile feels looser" in form.content.decode()


def test_the_api_reads_the_programme_and_lists_check_ins(therapist, therapist_user, client):
    patient = _patient()
    _visit(patient, therapist_user, [SMILE, PUCKER])
    client.post(
        _page(patient, programme_current(patient_id=patient.pk).visit), {"days_done": "4", "difficulty": "5"}
    )
    current = therapist.get(f"/api/v1/home-programmes/{patient.pk}/")
    assert current.status_code == 200
    body = current.json()
    assert [e["exercise"] for e in body["exercises"]] == ["Gentle smile in the mirror", "Lip pucker"]
    assert body["changes"]["added"] == ["Gentle smile in the mirror", "Lip pucker"]
    assert body["therapist"] == therapist_user.get_full_name()
    assert therapist.get("/api/v1/home-programmes/999999999/").status_code == 404
    listed = therapist.get(f"/api/v1/programme-checkins/?patient={patient.pk}")
    assert listed.status_code == 200
    assert [(r["days_done"], r["difficulty"]) for r in listed.json()["results"]] == [(4, 5)]


def test_the_visit_record_shows_how_to_do_each_exercise_and_the_check_in_choice(client, therapist_user):
    patient = _patient()
    visit = _visit(patient, therapist_user, [SMILE, PUCKER], weekly_checkins=True)
    client.force_login(therapist_user)
    html = client.get(reverse("treatments:encounter", kwargs={"pk": visit.pk})).content.decode()
    assert "keeping the eye open" in html and "Stop if it hurts." in html
    assert "Weekly home-programme check-ins asked for." in html
