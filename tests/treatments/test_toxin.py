"""Toxin sessions: lots, the interval rule, units per product, recalls, dose-limit warnings."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError
from django.utils import timezone

from clinic.audit import AuditEvent
from clinic.errors import Invalid
from clinic.models import ClinicSettings
from scheduling.models import Recall
from tests.factories import AppointmentTypeFactory, PatientFactory, ProviderFactory, UserFactory
from treatments import selectors
from treatments.exceptions import LotExpired, LotProductMismatch, ReinjectionTooSoon
from treatments.models import Encounter, ToxinDoseLimit, ToxinSession

from .factories import ToxinLotFactory, injection, record_toxin

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 15, 10, 0, tzinfo=timezone.get_default_timezone())


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def patient():
    return PatientFactory()


def at(days_ago: int) -> datetime:
    return NOW - timedelta(days=days_ago)


def test_session_is_recorded_as_a_draft_with_its_map(patient, injector_user):
    session = record_toxin(patient, injector_user)
    assert session.encounter.status == Encounter.Status.DRAFT
    assert session.encounter.clinician == injector_user
    assert session.injections.count() == 3
    assert (
        session.encounter.summary
        == "onabotulinumtoxinA (Botox) 12.5 U in 5 points · lot " + session.lot.lot_number
    )


def test_units_per_0_1_ml_derive_from_vial_and_saline(patient, injector_user):
    session = record_toxin(patient, injector_user, lot=ToxinLotFactory(vial_units=100))
    assert session.units_per_0_1_ml == Decimal("4.00")  # 100 U in 2.5 mL


def test_expired_lot_is_refused(patient, injector_user):
    lot = ToxinLotFactory(expiry_date=date(2027, 3, 14))
    with pytest.raises(LotExpired) as excinfo:
        record_toxin(patient, injector_user, lot=lot)
    assert excinfo.value.code == "lot_expired"
    assert "lot" in excinfo.value.fields
    assert not Encounter.objects.exists()


def test_lot_is_usable_on_its_expiry_date(patient, injector_user):
    lot = ToxinLotFactory(expiry_date=date(2027, 3, 15))
    assert record_toxin(patient, injector_user, lot=lot).lot == lot


def test_expiry_is_judged_at_the_session_date(patient, injector_user):
    lot = ToxinLotFactory(expiry_date=date(2027, 3, 1))
    assert record_toxin(patient, injector_user, lot=lot, occurred_at=at(20)).lot == lot


def test_lot_of_another_product_is_refused(patient, injector_user):
    lot = ToxinLotFactory(product="abobotulinumtoxinA")
    with pytest.raises(LotProductMismatch):
        record_toxin(patient, injector_user, lot=lot, product="onabotulinumtoxinA")
    assert not Encounter.objects.exists()


def test_database_refuses_a_lot_of_another_product(patient, injector_user):
    session = record_toxin(patient, injector_user)
    other = ToxinLotFactory(product="incobotulinumtoxinA")
    with pytest.raises(IntegrityError):
        ToxinSession.objects.filter(pk=session.pk).update(lot=other)


def test_session_inside_minimum_interval_is_refused_with_earliest_date(patient, injector_user):
    record_toxin(patient, injector_user, occurred_at=at(80))
    with pytest.raises(ReinjectionTooSoon) as excinfo:
        record_toxin(patient, injector_user)
    assert excinfo.value.status == 409
    assert (
        excinfo.value.extra["earliest"] == (NOW.date() - timedelta(days=80) + timedelta(days=84)).isoformat()
    )
    assert excinfo.value.extra["override_allowed"] is True
    assert Encounter.objects.count() == 1


def test_session_at_exactly_the_minimum_interval_is_allowed(patient, injector_user):
    record_toxin(patient, injector_user, occurred_at=at(84))
    assert record_toxin(patient, injector_user).days_since_previous == 84


def test_minimum_interval_is_the_clinic_setting(patient, injector_user):
    settings = ClinicSettings.load()
    settings.min_reinjection_interval_days = 70
    settings.save()
    record_toxin(patient, injector_user, occurred_at=at(75))
    assert record_toxin(patient, injector_user).days_since_previous == 75


def test_override_with_reason_records_and_audits(patient, injector_user):
    previous = record_toxin(patient, injector_user, occurred_at=at(60))
    session = record_toxin(
        patient, injector_user, override_reason="Severe oral synkinesis, wore off at 7 weeks"
    )
    assert session.interval_override_reason == "Severe oral synkinesis, wore off at 7 weeks"
    assert session.interval_overridden_by == injector_user
    event = AuditEvent.objects.get(action="toxin.interval_overridden")
    assert event.actor == injector_user
    assert event.changes == {
        "reason": "Severe oral synkinesis, wore off at 7 weeks",
        "days_since_previous": 60,
        "minimum_days": 84,
        "blocking": {
            "date": previous.encounter.occurred_at.date().isoformat(),
            "product": previous.product,
            "encounter": previous.pk,
            "appointment": None,
        },
        "days_apart": 60,
    }


def test_override_needs_the_capability(patient, injector_user):
    record_toxin(patient, injector_user, occurred_at=at(60))
    # A custom role that may record toxin but not override the interval.
    no_override = UserFactory(roles=["injector"])
    no_override.user_permissions.clear()
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="toxin_without_override")
    group.permissions.set(
        Permission.objects.filter(codename__in=["view_clinical", "record_toxin", "view_demographics"])
    )
    no_override.groups.set([group])
    no_override = type(no_override).objects.get(pk=no_override.pk)
    with pytest.raises(ReinjectionTooSoon) as excinfo:
        record_toxin(patient, no_override, override_reason="Please")
    assert excinfo.value.extra["override_allowed"] is False


def test_blank_override_reason_is_no_override(patient, injector_user):
    record_toxin(patient, injector_user, occurred_at=at(60))
    with pytest.raises(ReinjectionTooSoon):
        record_toxin(patient, injector_user, override_reason="   ")


def test_previous_session_of_another_patient_does_not_count(patient, injector_user):
    record_toxin(PatientFactory(), injector_user, occurred_at=at(10))
    assert record_toxin(patient, injector_user).days_since_previous is None


def test_units_are_never_summed_across_products(patient, injector_user):
    record_toxin(patient, injector_user, occurred_at=at(200), injections=[injection(units="40")])
    dysport = ToxinLotFactory(product="abobotulinumtoxinA", vial_units=300)
    record_toxin(patient, injector_user, lot=dysport, injections=[injection(units="100")])
    totals = selectors.units_by_product(patient_id=patient.pk)
    assert [(t["product"], t["units"]) for t in totals] == [
        ("abobotulinumtoxinA", Decimal("100")),
        ("onabotulinumtoxinA", Decimal("40")),
    ]
    assert all(t["units"] != Decimal("140") for t in totals)


def test_a_row_above_the_product_ceiling_is_taken_for_a_typing_slip(patient, injector_user):
    with pytest.raises(Invalid) as excinfo:
        record_toxin(patient, injector_user, injections=[injection(units="250")])
    assert "units" in excinfo.value.fields["injections"][0]


def test_dysport_allows_its_larger_unit_counts(patient, injector_user):
    lot = ToxinLotFactory(product="abobotulinumtoxinA", vial_units=300)
    assert record_toxin(patient, injector_user, lot=lot, injections=[injection(units="250")])


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (injection(units="0"), "units"),
        (injection(units="-1"), "units"),
        (injection(points=0), "points"),
        (injection(points=51), "points"),
        (injection(muscle="biceps"), "muscle"),
        (injection(side="middle"), "side"),
    ],
)
def test_bad_rows_are_refused_per_row_and_field(patient, injector_user, row, field):
    with pytest.raises(Invalid) as excinfo:
        record_toxin(patient, injector_user, injections=[injection("frontalis"), row])
    assert excinfo.value.fields["injections"][0] == {}
    assert field in excinfo.value.fields["injections"][1]


def test_same_muscle_and_side_twice_is_refused(patient, injector_user):
    with pytest.raises(Invalid) as excinfo:
        record_toxin(patient, injector_user, injections=[injection(), injection()])
    assert "muscle" in excinfo.value.fields["injections"][1]


def test_empty_map_is_refused(patient, injector_user):
    with pytest.raises(Invalid) as excinfo:
        record_toxin(patient, injector_user, injections=[])
    assert "injections" in excinfo.value.fields


def test_future_session_is_refused(patient, injector_user):
    with pytest.raises(Invalid) as excinfo:
        record_toxin(patient, injector_user, occurred_at=NOW + timedelta(days=1))
    assert "occurred_at" in excinfo.value.fields


def test_therapist_cannot_be_the_injector(patient, therapist_user):
    with pytest.raises(Invalid) as excinfo:
        record_toxin(patient, therapist_user)
    assert "clinician" in excinfo.value.fields


def test_session_opens_a_reinjection_recall(patient, injector_user):
    AppointmentTypeFactory(code="toxin", room_kind="procedure")
    provider = ProviderFactory(user=injector_user, role="injector")
    session = record_toxin(patient, injector_user, occurred_at=at(2))
    recall = Recall.objects.get(source=f"toxin_session:{session.pk}")
    anchor = NOW.date() - timedelta(days=2)
    assert recall.kind == Recall.Kind.REINJECTION
    assert recall.appointment_type.code == "toxin"
    assert recall.anchor_date == anchor
    assert recall.earliest_date == anchor + timedelta(days=84)
    assert recall.due_date == anchor + timedelta(days=84)
    assert recall.overdue_date == anchor + timedelta(weeks=16)
    assert recall.preferred_provider == provider


def test_backfilled_older_session_opens_no_recall(patient, injector_user):
    AppointmentTypeFactory(code="toxin", room_kind="procedure")
    record_toxin(patient, injector_user, occurred_at=at(1))
    record_toxin(patient, injector_user, occurred_at=at(200))
    assert Recall.objects.count() == 1


def test_dose_limits_warn_but_do_not_refuse(patient, injector_user):
    ToxinDoseLimit.objects.create(
        product="onabotulinumtoxinA", max_units_per_session=Decimal("10"), max_units_per_site=Decimal("2.5")
    )
    session = record_toxin(patient, injector_user)
    warnings = selectors.dose_warnings(
        product=session.product,
        injections=session.injections.all(),
        limit=selectors.dose_limits().get(session.product),
    )
    assert warnings == [
        "12.5 U in this session is above the clinic's limit of 10 U of onabotulinumtoxinA (Botox) per session."
    ]


def test_update_of_a_draft_replaces_the_map(patient, injector_user):
    from treatments import services

    session = record_toxin(patient, injector_user)
    services.encounter_update(
        services.TOXIN,
        detail=session,
        actor=injector_user,
        data={"injections": [injection("platysma", "right", "10", 4)]},
    )
    assert [(i.muscle, i.units) for i in session.injections.all()] == [("platysma", Decimal("10.00"))]
    assert Encounter.objects.get(pk=session.pk).summary.startswith(
        "onabotulinumtoxinA (Botox) 10 U in 4 points"
    )
