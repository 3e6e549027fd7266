"""Personal reinjection timing: learned from the patient's history, never inside the minimum
interval."""

import random
from datetime import date, timedelta

import pytest
from django.utils import timezone

from clinic.models import ClinicSettings
from scheduling.models import Recall
from tests.treatments.factories import ToxinLotFactory, record_toxin
from treatments.insights import Sample, reinjection_timing

ANCHOR = date(2027, 3, 1)


def _history(durations=(), returns=()):
    n = max(len(durations), len(returns)) + 1
    durations = [None] * (n - len(durations)) + list(durations)
    returns = [None] * (n - len(returns)) + list(returns)
    return [
        Sample(
            on=ANCHOR - timedelta(days=100 * (n - 1 - i)), reported_duration_weeks=d, days_since_previous=r
        )
        for i, (d, r) in enumerate(zip(durations, returns, strict=True))
    ]


def test_recall_follows_the_reported_wear_off():
    timing = reinjection_timing(history=_history(durations=[13, 14, 13]), anchor=ANCHOR, min_interval_days=84)

    assert timing.due_date == ANCHOR + timedelta(days=91)
    assert timing.explanation == "Recall at 13 weeks: the last three sessions wore off at 13-14 weeks."


def test_return_intervals_are_used_when_durations_were_not_reported():
    timing = reinjection_timing(history=_history(returns=[112, 105]), anchor=ANCHOR, min_interval_days=84)

    assert timing.due_date == ANCHOR + timedelta(days=108)
    assert "repeated after 15-16 weeks" in timing.explanation


def test_short_effect_is_clamped_to_the_minimum_interval():
    timing = reinjection_timing(history=_history(durations=[8, 9, 8]), anchor=ANCHOR, min_interval_days=84)

    assert timing.due_date == ANCHOR + timedelta(days=84)
    assert timing.clamped
    assert "minimum interval" in timing.explanation


def test_too_little_history_uses_the_minimum_interval():
    timing = reinjection_timing(history=_history(durations=[20]), anchor=ANCHOR, min_interval_days=84)

    assert timing.due_date == ANCHOR + timedelta(days=84)
    assert timing.estimate_days is None


def test_never_offers_a_date_inside_the_minimum_interval():
    rng = random.Random(20270301)
    for _ in range(2000):
        n = rng.randint(0, 8)
        durations = [rng.choice([None, rng.randint(0, 104)]) for _ in range(n)]
        returns = [rng.choice([None, rng.randint(0, 400)]) for _ in range(n)]
        minimum = rng.randint(1, 200)

        timing = reinjection_timing(
            history=_history(durations=durations, returns=returns), anchor=ANCHOR, min_interval_days=minimum
        )

        assert timing.due_date >= ANCHOR + timedelta(days=minimum), (durations, returns, minimum)
        assert timing.earliest_date == ANCHOR + timedelta(days=minimum)


@pytest.mark.django_db
def test_session_opens_a_recall_at_the_personal_estimate(patient, injector_user, recall_types):
    lot = ToxinLotFactory()
    now = timezone.now()
    record_toxin(patient, injector_user, lot=lot, occurred_at=now - timedelta(days=300))
    record_toxin(
        patient, injector_user, lot=lot, occurred_at=now - timedelta(days=200), response_duration_weeks=15
    )
    record_toxin(
        patient, injector_user, lot=lot, occurred_at=now - timedelta(hours=1), response_duration_weeks=16
    )

    recall = Recall.objects.get(patient=patient, kind=Recall.Kind.REINJECTION, status=Recall.Status.OPEN)

    today = timezone.localdate()
    assert recall.earliest_date == today + timedelta(days=ClinicSettings.load().min_reinjection_interval_days)
    assert recall.due_date == today + timedelta(days=round(15.5 * 7))
    assert recall.overdue_date > recall.due_date
