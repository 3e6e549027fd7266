"""The demo seed: realistic, rule-abiding histories for existing patients, and idempotent."""

from io import StringIO

import pytest
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from clinic.demo import demo_mark
from clinic.roles import Role
from devtools.demo import treatments as demo
from scheduling.models import Recall
from tests.factories import PatientFactory, UserFactory
from treatments import selectors
from treatments.models import Assessment, Encounter, Injection, ToxinLot, ToxinSession, TreatmentPlan

pytestmark = pytest.mark.django_db


def demo_patient(**fields):
    """A patient the demo owns (registered under a demo key): the demo seeds only those."""
    patient = PatientFactory(**fields)
    demo_mark(patient, f"patient:test:{patient.pk}")
    return patient


STAFF = {
    "frontdesk": Role.FRONT_DESK,
    "surgeon": Role.SURGEON,
    "surgeon2": Role.SURGEON,
    "injector": Role.INJECTOR,
    "therapist": Role.THERAPIST,
    "therapist2": Role.THERAPIST,
    "manager": Role.MANAGER,
}


@pytest.fixture
def staff(db):
    return {username: UserFactory(username=username, roles=[role]) for username, role in STAFF.items()}


@pytest.fixture
def seeded(staff, recall_types):
    patients = [demo_patient(affected_side=side) for side in ("left", "right", "")]
    out = StringIO()
    demo.seed(staff=staff, stdout=out)
    return patients, out.getvalue()


def test_without_patients_nothing_is_created(staff):
    out = StringIO()
    demo.seed(staff=staff, stdout=out)
    assert not ToxinLot.objects.exists()
    assert not Encounter.objects.exists()
    assert "no demo patients" in out.getvalue()


def test_every_patient_gets_a_consultation_baseline_gradings_and_a_plan(seeded):
    patients, out = seeded
    for patient in patients:
        kinds = set(Encounter.objects.filter(patient=patient).values_list("kind", flat=True))
        assert "consultation" in kinds
        instruments = set(Assessment.objects.filter(patient=patient).values_list("instrument", flat=True))
        assert {"sunnybrook", "house_brackmann", "saq"} <= instruments
        assert TreatmentPlan.objects.filter(patient=patient).exists()
    assert "clinical histories for 3 patients" in out


def test_the_history_follows_the_clinical_rules(seeded):
    patients, _ = seeded
    sessions = list(ToxinSession.objects.select_related("encounter", "lot"))
    assert len(sessions) >= 3
    for session in sessions:
        if session.days_since_previous is not None:
            assert session.days_since_previous >= 84 or session.interval_override_reason
        assert session.lot.product == session.product
        assert session.lot.expiry_date >= timezone.localdate(session.encounter.occurred_at)
    for patient in patients:
        products = [t["product"] for t in selectors.units_by_product(patient_id=patient.pk)]
        assert len(products) == len(set(products))
    assert not Encounter.objects.filter(occurred_at__gt=timezone.now()).exists()
    assert not Assessment.objects.filter(assessed_at__gt=timezone.now()).exists()
    assert Recall.objects.filter(kind="reinjection").exists()


def test_maps_give_the_affected_side_lower_doses_per_point(seeded):
    patients, _ = seeded
    checked = 0
    for patient in patients:
        rows = list(Injection.objects.filter(session__encounter__patient=patient))
        if not patient.affected_side or not rows:
            continue
        affected = [r.units / r.points for r in rows if r.side == patient.affected_side]
        other = [r.units / r.points for r in rows if r.side != patient.affected_side]
        assert max(affected) <= min(other)
        checked += 1
    assert checked


def test_the_clinic_looks_lived_in(seeded):
    patients, _ = seeded
    today = timezone.localdate()
    assert ToxinLot.objects.values("product").distinct().count() == 3
    assert ToxinLot.objects.filter(expiry_date__lt=today).exists()
    assert ToxinLot.objects.filter(expiry_date__gte=today).exists()
    counts = dict(Encounter.objects.values_list("status").annotate(n=Count("id")))
    assert counts["signed"] > counts.get("draft", 0)
    composites = {
        p.pk: [
            a.scores["composite"]
            for a in Assessment.objects.filter(patient=p, instrument="sunnybrook").order_by("assessed_at")
        ]
        for p in patients
    }
    assert any(len(c) > 1 and c[-1] != c[0] for c in composites.values())


def _fingerprint(patient):
    return [
        (e.kind, timezone.localdate(e.occurred_at), e.summary, e.status)
        for e in Encounter.objects.filter(patient=patient).order_by("occurred_at", "kind")
    ]


def test_seeding_twice_changes_nothing(seeded, staff):
    def counts():
        return (
            Encounter.objects.count(),
            Assessment.objects.count(),
            ToxinLot.objects.count(),
            Recall.objects.count(),
        )

    before = counts()
    demo.seed(staff=staff, stdout=StringIO())
    assert counts() == before


def test_a_patients_history_is_the_same_on_every_run(staff, recall_types):
    patient = demo_patient(mrn="FN00000018")
    savepoint = transaction.savepoint()
    demo.seed(staff=staff, stdout=StringIO())
    first = _fingerprint(patient)
    transaction.savepoint_rollback(savepoint)
    assert not Encounter.objects.exists()
    demo.seed(staff=staff, stdout=StringIO())
    assert first
    assert _fingerprint(patient) == first
