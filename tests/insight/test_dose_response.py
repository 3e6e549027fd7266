"""Dose-response on the chart: units per muscle and side, gradings after, rolling units per
product, and the secondary non-response flag."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.treatments.factories import SAQ_ITEMS, ToxinLotFactory, injection, record_toxin
from treatments import services
from treatments.insights import dose_response

pytestmark = pytest.mark.django_db


def _session(patient, user, lot, days_ago, units="5", duration=None):
    extra = {"response_duration_weeks": duration} if duration else {}
    return record_toxin(
        patient,
        user,
        lot=lot,
        occurred_at=timezone.now() - timedelta(days=days_ago),
        injections=[injection("mentalis", "left", units, 1)],
        **extra,
    )


def test_units_per_muscle_and_side_over_sessions(patient, injector_user, recall_types):
    lot = ToxinLotFactory()
    _session(patient, injector_user, lot, 200, "4")
    _session(patient, injector_user, lot, 100, "6")

    view = dose_response(patient_id=patient.pk)

    assert [r["cells"] for r in view["rows"]] == [[Decimal("4"), Decimal("6")]]
    assert view["rows"][0]["side"] == "left"


def test_rolling_units_never_mix_products(patient, injector_user, recall_types):
    botox = ToxinLotFactory(product="onabotulinumtoxinA")
    dysport = ToxinLotFactory(product="abobotulinumtoxinA")
    _session(patient, injector_user, botox, 180, "10")
    _session(patient, injector_user, dysport, 90, "30")
    _session(patient, injector_user, botox, 5, "10")

    columns = dose_response(patient_id=patient.pk)["columns"]

    # The Dysport session 85 days earlier is inside 12 weeks but another product's units.
    assert [c["rolling_units"] for c in columns] == [Decimal("10"), Decimal("30"), Decimal("10")]


def test_saq_after_each_session_is_shown_beside_it(patient, injector_user, recall_types):
    lot = ToxinLotFactory()
    _session(patient, injector_user, lot, 100)
    services.assessment_record(
        patient=patient,
        instrument="saq",
        items=SAQ_ITEMS,
        assessed_at=timezone.now() - timedelta(days=86),
        rater_kind="patient",
    )

    columns = dose_response(patient_id=patient.pk)["columns"]

    assert columns[0]["saq"] == 60.0


def test_flags_shorter_effect_at_a_stable_dose(patient, injector_user, recall_types):
    lot = ToxinLotFactory()
    _session(patient, injector_user, lot, 400, "5")
    _session(patient, injector_user, lot, 300, "5", duration=14)
    _session(patient, injector_user, lot, 200, "5", duration=12)
    _session(patient, injector_user, lot, 100, "6", duration=9)

    flag = dose_response(patient_id=patient.pk)["flag"]

    assert flag.startswith("Possible secondary non-response")
    assert "12 -> 9 weeks" in flag


def test_no_flag_when_the_dose_was_lowered(patient, injector_user, recall_types):
    lot = ToxinLotFactory()
    _session(patient, injector_user, lot, 300, "10")
    _session(patient, injector_user, lot, 200, "6", duration=14)
    _session(patient, injector_user, lot, 100, "4", duration=9)

    assert dose_response(patient_id=patient.pk)["flag"] is None


def test_chart_panel_explains_the_timing(client, patient, injector_user, recall_types):
    lot = ToxinLotFactory()
    _session(patient, injector_user, lot, 300)
    _session(patient, injector_user, lot, 200, duration=13)
    _session(patient, injector_user, lot, 100, duration=14)
    client.force_login(injector_user)

    page = client.get(f"/patients/{patient.pk}/panels/dose_response/").content.decode()

    assert "Recall at 13 weeks: the last two sessions wore off at 13-14 weeks." in page
    assert "Toxin: timing and dose-response" in client.get(f"/patients/{patient.pk}/").content.decode()


def test_dose_response_query_count_does_not_grow(
    patient, injector_user, recall_types, django_assert_num_queries
):
    lot = ToxinLotFactory()
    _session(patient, injector_user, lot, 300)
    with django_assert_num_queries(3):
        dose_response(patient_id=patient.pk)
    _session(patient, injector_user, lot, 200, duration=13)
    _session(patient, injector_user, lot, 100, duration=14)

    with django_assert_num_queries(3):
        dose_response(patient_id=patient.pk)
