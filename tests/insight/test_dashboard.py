"""The clinic dashboard: figures, SVG charts without inline script or style, CSV, access."""

import csv
import io
import itertools
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from insight.dashboard import bar_chart, clinic_dashboard, label_width
from scheduling.models import Appointment, Message, Recall
from scheduling.services import recall_open
from tests.factories import AppointmentFactory, PatientFactory, ProviderFactory, RoomFactory
from tests.scheduling.factories import WorkingHoursFactory
from tests.treatments.factories import SUNNYBROOK_NORMAL, ToxinLotFactory, record_toxin
from treatments import services

pytestmark = pytest.mark.django_db


def _past(days, **kw):
    return AppointmentFactory(starts_at=timezone.now() - timedelta(days=days), **kw)


def test_no_show_rate_counts_appointments_that_were_due():
    _past(3, status=Appointment.Status.COMPLETED)
    _past(3, status=Appointment.Status.NO_SHOW)
    _past(3, status=Appointment.Status.CANCELLED)

    weeks = clinic_dashboard(weeks=4).weeks

    total = sum(w["appointments"] for w in weeks)
    week = next(w for w in weeks if w["appointments"])
    assert total == 3
    assert week["no_show_rate"] == 50.0


def test_provider_utilisation_is_booked_over_working_hours():
    provider = ProviderFactory()
    for weekday in range(7):
        WorkingHoursFactory(provider=provider, weekday=weekday, start_time="09:00", end_time="10:00")
    _past(2, provider=provider, status=Appointment.Status.COMPLETED)  # 60 minutes

    providers = clinic_dashboard(weeks=4).providers

    row = next(p for p in providers if p["name"] == str(provider))
    assert row["available_hours"] == 28.0
    assert row["booked_hours"] == 1.0


def test_toxin_units_per_product_and_lot(injector_user, recall_types):
    lot = ToxinLotFactory(lot_number="DASH-1")
    record_toxin(PatientFactory(), injector_user, lot=lot)
    record_toxin(PatientFactory(), injector_user, lot=lot)

    toxin = clinic_dashboard(weeks=4).toxin

    assert [(t["lot"], t["units"], t["sessions"]) for t in toxin] == [("DASH-1", 25, 2)]


def test_outcome_change_pairs_gradings_around_a_treatment(injector_user, recall_types):
    patient = PatientFactory()
    worse = {**SUNNYBROOK_NORMAL, "synkinesis_snarl": 3}
    services.assessment_record(
        patient=patient,
        instrument="sunnybrook",
        items=worse,
        assessed_at=timezone.now() - timedelta(days=20),
        actor=injector_user,
    )
    record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=15))
    services.assessment_record(
        patient=patient,
        instrument="sunnybrook",
        items=SUNNYBROOK_NORMAL,
        assessed_at=timezone.now(),
        actor=injector_user,
    )

    outcomes = {o["modality"]: o for o in clinic_dashboard(weeks=4).outcomes}

    assert outcomes["Toxin session"]["mean_change"] == 3.0
    assert outcomes["Toxin session"]["paired"] == 1


def _reminded_recall(*, due_days_ago: int, sent_days_ago: tuple[int, ...]) -> Recall:
    """A reinjection recall due ``due_days_ago``, with a reminder sent on each of those days."""
    patient = PatientFactory()
    due = timezone.localdate() - timedelta(days=due_days_ago)
    recall = recall_open(
        patient=patient,
        kind=Recall.Kind.REINJECTION,
        appointment_type_code="toxin",
        anchor_date=due - timedelta(days=84),
        earliest_date=due,
        due_date=due,
        overdue_date=due + timedelta(days=26),
        source=f"test:{due_days_ago}",
        label="Toxin reinjection",
        actor=None,
    )
    for days_ago in sent_days_ago:
        at = timezone.now() - timedelta(days=days_ago)
        Message.objects.create(
            patient=patient,
            kind=Message.Kind.RECALL_DUE,
            channel=Message.Channel.EMAIL,
            purpose="recalls",
            due_at=at,
            sent_at=at,
            status=Message.Status.SENT,
            recall=recall,
            dedupe_key=f"test-recall-{recall.pk}-{days_ago}",
        )
    return recall


def test_recall_conversion_counts_bookings_within_four_weeks(recall_types):
    recall = _reminded_recall(due_days_ago=6, sent_days_ago=(6,))
    booking = _past(-3, patient=recall.patient)
    Recall.objects.filter(pk=recall.pk).update(status=Recall.Status.BOOKED, booked_appointment=booking)

    recalls = clinic_dashboard(weeks=4).recalls

    assert (recalls["sent"], recalls["booked"], recalls["rate"]) == (1, 1, 100.0)


def test_recall_conversion_counts_a_recall_in_the_period_of_its_first_message(recall_types):
    # First reminded before the last four weeks, then again within them.
    _reminded_recall(due_days_ago=60, sent_days_ago=(60, 5))

    assert clinic_dashboard(weeks=4).recalls["sent"] == 0
    assert clinic_dashboard(weeks=12).recalls["sent"] == 1


def test_page_draws_svg_without_inline_script_or_style(client, manager_user):
    _past(3, status=Appointment.Status.COMPLETED)
    client.force_login(manager_user)

    page = client.get("/clinical/dashboard/").content.decode()

    assert "<svg" in page
    assert "style=" not in page
    assert "<script>" not in page and "onclick" not in page


def test_csv_export(client, manager_user):
    _past(3, status=Appointment.Status.NO_SHOW)
    client.force_login(manager_user)

    response = client.get("/clinical/dashboard/?weeks=4&format=csv")

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "item", "measure", "value"]
    assert ["no_show", "1"] in [r[2:] for r in rows if r[0] == "appointments"]


def test_clinicians_without_schedule_management_cannot_see_it(client, injector_user):
    client.force_login(injector_user)

    assert client.get("/clinical/dashboard/").status_code == 403


def test_dashboard_query_count_does_not_grow(
    client, manager_user, injector_user, recall_types, django_assert_max_num_queries
):
    client.force_login(manager_user)
    _past(3)
    record_toxin(PatientFactory(), injector_user, occurred_at=timezone.now() - timedelta(days=10))
    with django_assert_max_num_queries(30) as small:
        client.get("/clinical/dashboard/")
    for n in range(4):
        _past(4 + n, room=RoomFactory(), provider=ProviderFactory())
        record_toxin(PatientFactory(), injector_user)

    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get("/clinical/dashboard/")


def test_a_future_appointment_does_not_count_towards_the_no_show_rate():
    noon = timezone.datetime(2026, 6, 10, 12, 0, tzinfo=ZoneInfo(django_settings.TIME_ZONE))
    with time_machine.travel(noon, tick=False):
        AppointmentFactory(starts_at=noon - timedelta(hours=3), status=Appointment.Status.COMPLETED)
        AppointmentFactory(starts_at=noon - timedelta(hours=2), status=Appointment.Status.NO_SHOW)
        # Later today: booked, still to come; it cannot have been missed yet.
        AppointmentFactory(starts_at=noon + timedelta(hours=4), status=Appointment.Status.BOOKED)

        week = next(w for w in clinic_dashboard(weeks=1).weeks if w["appointments"])

    assert week["appointments"] == 3
    assert week["no_show_rate"] == 50.0


def test_chart_labels_never_overlap_and_the_chart_keeps_its_own_size():
    names = ["Dr Hartley-Smi", "Nurse Kayleigh", "Theo Marchett", "Dr Okonkwo-Ad"]
    chart = bar_chart(values=[(name[:12], 50.0) for name in names], maximum=100)

    bars = chart["bars"]
    for left, right in itertools.pairwise(bars):
        room = right["label_x"] - left["label_x"]
        assert room >= (label_width(left["label"]) + label_width(right["label"])) / 2
    assert bars[-1]["label_x"] + label_width(bars[-1]["label"]) / 2 <= chart["width"]


def test_the_svg_is_drawn_at_its_own_size_not_stretched(client, manager_user):
    provider = ProviderFactory()
    WorkingHoursFactory(provider=provider, weekday=0, start_time="09:00", end_time="17:00")
    client.force_login(manager_user)

    page = client.get("/clinical/dashboard/").content.decode()

    start = page.index('id="chart-util-title"')
    svg = page[page.rindex("<svg", 0, start) : start]
    chart_width = svg.split('width="', 1)[1].split('"', 1)[0]
    assert f'viewBox="0 0 {chart_width} ' in svg
    assert 'height="176"' in svg
