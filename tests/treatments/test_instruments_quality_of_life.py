"""eFACE, the FaCE scale and the Facial Disability Index: scoring on worked examples computed
by hand (the arithmetic is in the comments), item-by-item refusal, the API, the patient link."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from scheduling.models import Message
from scheduling.reminders import services as reminders
from scheduling.reminders.links import Action, link_url
from tests.factories import PatientFactory
from tests.scheduling.messaging_helpers import grant_all
from treatments import instruments
from treatments.instruments import ItemsInvalid
from treatments.models import Assessment, InstrumentItemWording

EFACE_EXAMPLE = {
    # Static, 100 = symmetric: 80 -> 80; 120 -> 100 - 20 = 80; 60 -> 60; 100 -> 100.
    "static_brow": 80,
    "static_palpebral_fissure": 120,
    "static_nasolabial_fold": 60,
    "static_oral_commissure": 100,
    "dynamic_brow_elevation": 70,
    "dynamic_gentle_eye_closure": 90,
    "dynamic_full_eye_closure": 100,
    "dynamic_oral_commissure_smile": 50,
    "dynamic_nasolabial_fold_depth_smile": 60,
    "dynamic_nasolabial_fold_orientation_smile": 40,
    "dynamic_lower_lip": 80,
    "synkinesis_ocular": 90,
    "synkinesis_midfacial": 60,
    "synkinesis_mentalis": 80,
    "synkinesis_platysmal": 70,
}
FACE_EXAMPLE = {
    "face_movement_1": 2,
    "face_movement_2": 3,
    "face_movement_3": 1,
    "face_comfort_1": 4,
    "face_comfort_2": 4,
    "face_comfort_3": 5,
    "face_oral_1": 5,
    "face_oral_2": 3,
    "face_eye_1": 2,
    "face_eye_2": 2,
    "face_lacrimal_1": 3,
    "face_social_1": 1,
    "face_social_2": 2,
    "face_social_3": 3,
    "face_social_4": 4,
}
FDI_EXAMPLE = {
    "fdi_1": "no_difficulty",  # 5
    "fdi_2": "some_difficulty",  # 3
    "fdi_3": "much_difficulty",  # 2
    "fdi_4": "not_applicable",  # not counted
    "fdi_5": "not_done_health",  # 1
    "fdi_6": "most_of_the_time",  # positive wording: 5
    "fdi_7": "none_of_the_time",  # negative wording: 6
    "fdi_8": "some_of_the_time",  # negative: 4
    "fdi_9": "all_of_the_time",  # negative: 1
    "fdi_10": "a_little_of_the_time",  # negative: 5
}


def score(code, items):
    definition = instruments.get(code)
    return instruments.compute(definition, instruments.validate_items(definition, items))


def errors(code, items):
    with pytest.raises(ItemsInvalid) as excinfo:
        instruments.validate_items(instruments.get(code), items)
    return excinfo.value.errors


# --- eFACE ---------------------------------------------------------------------------------------


def test_eface_worked_example():
    # Static 80 + 80 + 60 + 100 = 320, / 4 = 80.0
    # Dynamic 70 + 90 + 100 + 50 + 60 + 40 + 80 = 490, / 7 = 70.0
    # Synkinesis 90 + 60 + 80 + 70 = 300, / 4 = 75.0
    # Total, dynamic items counted twice: (320 + 2 x 490 + 300) / (4 + 14 + 4) = 1600 / 22 = 72.727 -> 72.7
    assert score("eface", EFACE_EXAMPLE) == {
        "static": 80.0,
        "dynamic": 70.0,
        "synkinesis": 75.0,
        "total": 72.7,
    }


def test_eface_normal_face_scores_100_everywhere():
    normal = dict.fromkeys(EFACE_EXAMPLE, 100)
    assert score("eface", normal) == {"static": 100.0, "dynamic": 100.0, "synkinesis": 100.0, "total": 100.0}


def test_eface_static_deviation_counts_the_same_either_way():
    # A brow 30 too high (130) and 30 too low (70) both count 70.
    high = score("eface", {**EFACE_EXAMPLE, "static_brow": 130})
    low = score("eface", {**EFACE_EXAMPLE, "static_brow": 70})
    # (70 + 80 + 60 + 100) / 4 = 77.5
    assert high["static"] == low["static"] == 77.5


def test_eface_worst_face():
    worst = {key: (0 if key.startswith(("dynamic", "synkinesis")) else 200) for key in EFACE_EXAMPLE}
    assert score("eface", worst) == {"static": 0.0, "dynamic": 0.0, "synkinesis": 0.0, "total": 0.0}


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("static_brow", 201),
        ("static_brow", -1),
        ("dynamic_lower_lip", 101),
        ("synkinesis_ocular", 100.5),
        ("synkinesis_platysmal", "80"),
        ("dynamic_brow_elevation", True),
        ("static_oral_commissure", None),
    ],
)
def test_eface_refuses_each_bad_item_by_name(key, bad):
    assert list(errors("eface", {**EFACE_EXAMPLE, key: bad})) == [key]


@pytest.mark.parametrize("key", list(EFACE_EXAMPLE))
def test_every_eface_item_is_required(key):
    assert list(errors("eface", {k: v for k, v in EFACE_EXAMPLE.items() if k != key})) == [key]


# --- FaCE ----------------------------------------------------------------------------------------


def test_face_worked_example():
    # Each domain ((mean - 1) / 4) x 100:
    # movement 2, 3, 1: mean 2 -> 25.0; comfort 4, 4, 5: mean 13/3 -> (10/3)/4 x 100 = 83.33 -> 83.3
    # oral 5, 3: mean 4 -> 75.0; eye 2, 2: mean 2 -> 25.0; lacrimal 3 -> 50.0
    # social 1, 2, 3, 4: mean 2.5 -> 37.5
    # Total over all 15: sum 6 + 13 + 8 + 4 + 3 + 10 = 44, mean 44/15 -> (29/15)/4 x 100 = 48.33 -> 48.3
    assert score("face", FACE_EXAMPLE) == {
        "movement": 25.0,
        "comfort": 83.3,
        "oral": 75.0,
        "eye": 25.0,
        "lacrimal": 50.0,
        "social": 37.5,
        "total": 48.3,
    }


def test_face_extremes():
    assert set(score("face", dict.fromkeys(FACE_EXAMPLE, 1)).values()) == {0.0}
    assert set(score("face", dict.fromkeys(FACE_EXAMPLE, 5)).values()) == {100.0}


def test_face_has_fifteen_items_in_six_domains():
    definition = instruments.get("face")
    assert len(definition.items) == 15
    assert [s.key for s in definition.scores] == [
        "movement",
        "comfort",
        "oral",
        "eye",
        "lacrimal",
        "social",
        "total",
    ]


@pytest.mark.parametrize("key", list(FACE_EXAMPLE))
@pytest.mark.parametrize("bad", [0, 6, "3", None, 2.5])
def test_face_refuses_each_bad_item_by_name(key, bad):
    assert list(errors("face", {**FACE_EXAMPLE, key: bad})) == [key]


# --- Facial Disability Index ---------------------------------------------------------------------


def test_fdi_worked_example():
    # Physical: 5 + 3 + 2 + 1 = 11 over N = 4 (item 4 not applicable): (11 - 4) / 4 x 25 = 43.75 -> 43.8
    # Social: 5 + 6 + 4 + 1 + 5 = 21 over N = 5: (21 - 5) / 5 x 20 = 64.0
    assert score("fdi", FDI_EXAMPLE) == {"physical": 43.8, "social_wellbeing": 64.0}


def test_fdi_best_and_worst():
    best = {
        **{f"fdi_{n}": "no_difficulty" for n in range(1, 6)},
        "fdi_6": "all_of_the_time",
        **{f"fdi_{n}": "none_of_the_time" for n in range(7, 11)},
    }
    # (25 - 5) / 5 x 25 = 100; (30 - 5) / 5 x 20 = 100
    assert score("fdi", best) == {"physical": 100.0, "social_wellbeing": 100.0}
    worst = {
        **{f"fdi_{n}": "not_done_health" for n in range(1, 6)},
        "fdi_6": "none_of_the_time",
        **{f"fdi_{n}": "all_of_the_time" for n in range(7, 11)},
    }
    # (5 - 5) / 5 x 25 = 0; (5 - 5) / 5 x 20 = 0
    assert score("fdi", worst) == {"physical": 0.0, "social_wellbeing": 0.0}


def test_fdi_physical_is_empty_when_no_item_counts():
    none_apply = {**FDI_EXAMPLE, **{f"fdi_{n}": "not_done_other" for n in range(1, 6)}}
    assert score("fdi", none_apply)["physical"] is None


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("fdi_1", "none_of_the_time"),
        ("fdi_3", 5),
        ("fdi_6", "no_difficulty"),
        ("fdi_10", ""),
        ("fdi_2", None),
    ],
)
def test_fdi_refuses_each_bad_item_by_name(key, bad):
    assert list(errors("fdi", {**FDI_EXAMPLE, key: bad})) == [key]


# --- Through the API, the forms and the patient link ---------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "items", "expected"),
    [("eface", EFACE_EXAMPLE, 72.7), ("face", FACE_EXAMPLE, 48.3), ("fdi", FDI_EXAMPLE, 64.0)],
)
def test_api_records_each_new_instrument(surgeon, code, items, expected):
    patient = PatientFactory()
    payload = {
        "patient": patient.pk,
        "instrument": code,
        "items": items,
        "assessed_at": (timezone.now() - timedelta(hours=1)).isoformat(),
    }
    response = surgeon.post("/api/v1/assessments/", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["items"] == items
    assert body["formula_version"] == instruments.get(code).formula_version
    trend = instruments.get(code).trend_score
    assert body["scores"][trend] == expected


@pytest.mark.django_db
def test_api_refuses_bad_eface_items_one_by_one(surgeon):
    patient = PatientFactory()
    items = {**EFACE_EXAMPLE, "static_brow": 250, "dynamic_lower_lip": -3}
    items.pop("synkinesis_ocular")
    payload = {
        "patient": patient.pk,
        "instrument": "eface",
        "items": items,
        "assessed_at": timezone.now().isoformat(),
    }
    response = surgeon.post("/api/v1/assessments/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body["fields"]["items"]) == {"static_brow", "dynamic_lower_lip", "synkinesis_ocular"}
    assert not Assessment.objects.filter(patient=patient).exists()


@pytest.mark.django_db
def test_the_eface_form_takes_numbers_and_names_the_bad_one(client, login_as, surgeon_user):
    login_as(surgeon_user)
    surgeon_client = client
    patient = PatientFactory()
    url = f"/clinical/assessments/new/?patient={patient.pk}&instrument=eface"
    page = surgeon_client.get(url)
    assert page.status_code == 200
    assert b'type="number"' in page.content
    data = {"assessed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "side": ""}
    data.update({f"item_{k}": v for k, v in EFACE_EXAMPLE.items()})
    data["item_static_brow"] = 250
    refused = surgeon_client.post(url, data)
    assert refused.status_code == 200
    assert not Assessment.objects.filter(patient=patient).exists()
    data["item_static_brow"] = 80
    saved = surgeon_client.post(url, data)
    assert saved.status_code == 302
    assert Assessment.objects.get(patient=patient, instrument="eface").scores["total"] == 72.7


NOW = datetime(2027, 3, 15, 10, 0, tzinfo=timezone.get_default_timezone())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "answers", "trend"), [("face", FACE_EXAMPLE, 48.3), ("fdi", FDI_EXAMPLE, 64.0)]
)
def test_the_patient_answers_from_a_link_and_it_is_scored(client, code, answers, trend):
    patient = PatientFactory(email="sam@example.org")
    grant_all(patient)
    with time_machine.travel(NOW, tick=False):
        reminders.questionnaire_request_schedule(
            patient=patient, anchor_date=NOW.date(), source="manual:1", instrument=code, after_days=0
        )
        request = Message.objects.get(kind="questionnaire", patient=patient, channel="email")
        for message_id in reminders.messages_claim_due(now=NOW + timedelta(hours=1)):
            reminders.message_send(message_id=message_id, now=NOW + timedelta(hours=1))
        url = (
            "/"
            + link_url(patient_id=patient.pk, action=Action.QUESTIONNAIRE, target=request.pk).split("/", 3)[3]
        )
        page = client.get(url)
        assert page.status_code == 200
        # A tampered answer is not stored: the question is asked again.
        bad = {key: str(value) for key, value in answers.items()}
        first = next(iter(answers))
        bad[first] = "99"
        again = client.post(url, bad)
        assert b"Please choose an answer" in again.content
        assert not Assessment.objects.filter(patient=patient).exists()
        done = client.post(url, {key: str(value) for key, value in answers.items()})
        assert done.status_code == 200
    assessment = Assessment.objects.get(patient=patient, instrument=code)
    assert assessment.items == answers
    assert assessment.scores[instruments.get(code).trend_score] == trend
    assert assessment.rater_kind == "patient"


@pytest.mark.django_db
def test_the_clinic_loads_licensed_wording_and_the_link_shows_it(client, tmp_path):
    path = tmp_path / "face.json"
    path.write_text('{"face_movement_1": "Licensed question one"}')
    call_command("instrument_wording_load", "face", str(path))
    assert InstrumentItemWording.objects.get(item_key="face_movement_1").text == "Licensed question one"
    bad = tmp_path / "bad.json"
    bad.write_text('{"face_movement_9": "No such item"}')
    with pytest.raises(CommandError):
        call_command("instrument_wording_load", "face", str(bad))
    assert InstrumentItemWording.objects.count() == 1
    patient = PatientFactory(email="sam@example.org")
    grant_all(patient)
    reminders.questionnaire_request_schedule(
        patient=patient, anchor_date=timezone.localdate(), source="manual:2", instrument="face", after_days=0
    )
    request = Message.objects.get(kind="questionnaire", patient=patient, channel="email")
    url = (
        "/" + link_url(patient_id=patient.pk, action=Action.QUESTIONNAIRE, target=request.pk).split("/", 3)[3]
    )
    page = client.get(url)
    assert b"Licensed question one" in page.content
    assert b"Facial movement, question 2" in page.content
