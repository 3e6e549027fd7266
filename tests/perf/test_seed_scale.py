"""The scale seed: the CI size loads quickly, into the real tables, and the data is valid.

The load runs once for the module, inside a transaction that is rolled back at the end (each
test runs in a savepoint inside it), so nothing leaks into other tests.
"""

import hashlib
import io
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import phonenumbers
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import IntegrityError, InternalError, connection, transaction

from devtools.scale_seed import SIZES, ScaleSeed, Sizes, check_columns
from patients.models import MessagingConsent, Patient
from patients.selectors import patient_search
from patients.services import mrn_for, mrn_is_valid
from scheduling.models import Appointment, Message, Recall
from treatments.models import (
    Assessment,
    Encounter,
    Injection,
    Procedure,
    Surgery,
    TherapyVisit,
    ToxinSession,
    TreatmentPlan,
)

pytestmark = pytest.mark.django_db

CI_PATIENTS, CI_APPOINTMENTS, CI_ENCOUNTERS, CI_YEARS = SIZES["ci"]


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        seed = ScaleSeed(
            Sizes(CI_PATIENTS, CI_APPOINTMENTS, CI_ENCOUNTERS, CI_YEARS, seed=7),
            stdout=io.StringIO(),
            progress=False,
        )
        started = time.perf_counter()
        report = seed.run()
        elapsed = time.perf_counter() - started
        yield SimpleNamespace(seed=seed, report=report.as_dict(), elapsed=elapsed)
        transaction.set_rollback(True)


def _rows(table: str, seeded) -> int:
    return seeded.report["tables"].get(table, {}).get("rows", 0)


def test_ci_size_loads_in_seconds_with_the_requested_volume(seeded):
    # A few seconds on a quiet machine; the bound leaves room for a busy CI runner.
    assert seeded.elapsed < 120, seeded.report
    assert Patient.objects.count() == CI_PATIENTS
    assert abs(Appointment.objects.count() - CI_APPOINTMENTS) <= CI_APPOINTMENTS * 0.1
    assert abs(Encounter.objects.count() - CI_ENCOUNTERS) <= CI_ENCOUNTERS * 0.25
    for table in (
        "patients_messagingconsent",
        "scheduling_appointmentevent",
        "scheduling_recall",
        "scheduling_message",
        "treatments_toxinsession",
        "treatments_injection",
        "treatments_therapyvisit",
        "treatments_homeexercise",
        "treatments_surgery",
        "treatments_procedure",
        "treatments_assessment",
        "treatments_treatmentplan",
    ):
        assert _rows(table, seeded) > 0, table
    assert seeded.report["rows_per_second"] > 0


def test_every_column_of_every_table_is_written():
    check_columns()  # raises if a model gained or lost a column


@pytest.mark.parametrize(
    "model",
    [
        Patient,
        MessagingConsent,
        Appointment,
        Encounter,
        ToxinSession,
        Injection,
        TherapyVisit,
        Surgery,
        Procedure,
        Assessment,
        TreatmentPlan,
        Recall,
        Message,
    ],
)
def test_a_sample_of_each_table_passes_model_validation(seeded, model):
    sample = list(model.objects.order_by("?")[:40])
    assert sample
    for row in sample:
        row.full_clean()


def test_mrns_come_from_the_ids_and_carry_a_valid_check_digit(seeded):
    for pk, mrn in Patient.objects.values_list("pk", "mrn"):
        assert mrn == mrn_for(pk)
        assert mrn_is_valid(mrn)


def test_mobiles_are_valid_mobiles_from_three_countries(seeded):
    mobiles = list(Patient.objects.exclude(mobile="").values_list("mobile", flat=True))
    assert len(set(mobiles)) == len(mobiles)
    countries = set()
    for number in mobiles[:400]:
        parsed = phonenumbers.parse(str(number))
        assert phonenumbers.is_valid_number(parsed), number
        assert phonenumbers.number_type(parsed) in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        countries.add(parsed.country_code)
    assert countries == {44, 33, 1}


def test_names_include_accents(seeded):
    assert Patient.objects.filter(last_name__regex=r"[^\x00-\x7F]").count() > CI_PATIENTS * 0.02


def test_exclusion_constraints_were_on_and_nothing_overlaps(seeded):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'scheduling_appointment'::regclass AND contype = 'x'"
        )
        assert {r[0] for r in cursor.fetchall()} == {
            "scheduling_appointment_provider_no_overlap",
            "scheduling_appointment_room_no_overlap",
            "scheduling_appointment_patient_no_overlap",
        }
        for column, end in (
            ("provider_id", "blocked_until"),
            ("room_id", "blocked_until"),
            ("patient_id", "ends_at"),
        ):
            # Each active row against the previous one of the same provider, room or patient.
            cursor.execute(
                f"""
                SELECT count(*) FROM (
                    SELECT starts_at, max({end}) OVER (
                        PARTITION BY {column} ORDER BY starts_at, id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                    ) AS busy_until
                    FROM scheduling_appointment
                    WHERE status IN ('booked', 'confirmed', 'checked_in', 'completed')
                ) t WHERE busy_until > starts_at
                """  # noqa: S608 (fixed column names)
            )
            assert cursor.fetchone()[0] == 0, column


def test_appointments_are_mostly_completed_in_the_past_and_booked_ahead(seeded):
    now = datetime.now(tz=UTC)
    past = Appointment.objects.filter(ends_at__lt=now)
    future = Appointment.objects.filter(starts_at__gt=now)
    assert past.filter(status="completed").count() / past.count() > 0.8
    assert set(future.values_list("status", flat=True)) <= {"booked", "confirmed", "cancelled"}
    assert future.exists()


def test_toxin_sessions_have_6_to_15_rows_and_an_in_date_lot_of_their_product(seeded):
    sessions = ToxinSession.objects.select_related("lot", "encounter")
    assert sessions.exists()
    for session in sessions[:300]:
        count = session.injections.count()
        assert 6 <= count <= 15
        assert session.lot.product == session.product
        assert session.lot.expiry_date >= session.encounter.occurred_at.date()


def test_signed_encounters_stay_read_only(seeded):
    encounter = Encounter.objects.filter(status="signed", kind="toxin").first()
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        Injection.objects.filter(session_id=encounter.pk).update(points=2)


def test_recalls_point_at_the_visit_that_answered_them(seeded):
    booked = Recall.objects.filter(status__in=["booked", "completed"]).select_related("booked_appointment")
    assert booked.exists()
    for recall in booked[:200]:
        assert recall.booked_appointment.patient_id == recall.patient_id
        assert recall.booked_appointment.starts_at.date() >= recall.anchor_date
    assert Recall.objects.filter(status="open").exists()


def test_search_finds_a_seeded_patient_by_name_mrn_and_phone(seeded):
    patient = (
        Patient.objects.filter(last_name__regex=r"[^\x00-\x7F]").exclude(mobile="").order_by("pk").first()
    )
    by_name = list(patient_search(query=f"{patient.first_name} {patient.last_name}", limit=50))
    assert patient in by_name
    assert list(patient_search(query=patient.mrn)) == [patient]
    assert patient in list(patient_search(query=str(patient.mobile)))


def test_the_chart_of_a_seeded_patient_renders(seeded, client, surgeon_user):
    encounter = (
        Encounter.objects.filter(kind="toxin", status="signed").select_related("toxin_session__lot").first()
    )
    client.force_login(surgeon_user)
    response = client.get(f"/patients/{encounter.patient_id}/?panels=all")
    assert response.status_code == 200
    html = response.content.decode()
    assert encounter.patient.mrn in html
    assert encounter.toxin_session.lot.lot_number in html


def test_same_seed_same_rows():
    def load() -> str:
        ScaleSeed(Sizes(150, 600, 250, 1, seed=11), stdout=io.StringIO(), progress=False).run(truncate=True)
        digest = hashlib.sha256()
        for model, fields in (
            (Patient, ("id", "mrn", "first_name", "last_name", "date_of_birth", "mobile", "email")),
            (Appointment, ("id", "patient_id", "provider_id", "room_id", "starts_at", "status")),
            (Injection, ("id", "session_id", "muscle", "side", "units")),
        ):
            for row in model.objects.order_by("pk").values_list(*fields):
                digest.update(repr(row).encode())
        return digest.hexdigest()

    with time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=UTC), tick=False):
        first = load()
        second = load()
    assert first == second


def test_refuses_without_the_not_production_flag():
    with pytest.raises(CommandError, match="i-know-this-is-not-production"):
        call_command("seed_scale", "--size", "ci", stdout=io.StringIO())


def test_refuses_on_a_database_other_than_postgresql(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("seed_scale", "--i-know-this-is-not-production", stdout=io.StringIO())
