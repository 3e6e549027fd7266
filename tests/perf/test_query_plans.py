"""The hot reads use their indexes on realistic data (PostgreSQL).

Tens of thousands of rows are inserted with generate_series, the tables analysed, and the
planner left at its defaults. ``SET enable_seqscan = off`` would only show that an index *can*
serve a query; at this size the planner has to *choose* it, as it would in a clinic.

Each check EXPLAINs the SQL a page or endpoint actually sent while it answered (captured from
the connection), not a copy of the selector's query: a change to a view, a selector or a
filter is what gets checked.
"""

import os
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.db.models import Max, Min, Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.roles import Role
from patients.models import Patient
from scheduling import clock
from scheduling.models import Appointment, Message, Recall, RecallContact
from tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    RoomFactory,
    UserFactory,
)
from treatments.models import Addendum, Consultation, Encounter

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="query plans are PostgreSQL's (the deployment database)"
)

SHOW_PLANS = os.environ.get("SHOW_PLANS") == "1"  # print every plan checked (pytest -s)
PATIENTS = 20_000
PROVIDERS = 12
APPOINTMENTS = 10_000  # six months of a clinic with twelve providers
RECALLS = 12_000  # most of them long done
ENCOUNTERS = 15_000

FIRST_NAMES = ["John", "Joan", "Mary", "Peter", "Sarah", "David", "Emma", "James", "Olivia", "Thomas",
               "Sophie", "Daniel", "Grace", "William", "Chloe", "Samuel", "Lucy", "Henry", "Amelia",
               "George", "Ella", "Jack", "Isla", "Oliver", "Mia", "Harry", "Ava", "Noah", "Lily",
               "Charlie", "Freya", "Jacob", "Evie", "Oscar", "Ruby", "Leo", "Alice", "Arthur", "Rosie"]  # fmt: skip
LAST_NAMES = ["Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
              "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
              "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood",
              "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King",
              "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis",
              "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook"]  # fmt: skip

SURNAME_STARTS = ["Ash", "Black", "Brad", "Brook", "Cald", "Chad", "Craw", "Dal", "Den", "Elms", "Fair",
                  "Farn", "Gold", "Green", "Hart", "Hay", "Hol", "Kings", "Lang", "Mar", "Mid", "Nor",
                  "Oak", "Pen", "Rad", "Red", "Ross", "Sal", "Shel", "Stan", "Thorn", "Wake", "Wal",
                  "West", "Whit", "Wind", "Wood"]  # fmt: skip
SURNAME_ENDS = ["bury", "by", "combe", "den", "field", "ford", "gate", "ham", "hurst", "ington", "ley",
                "low", "more", "mouth", "ridge", "sey", "stead", "stock", "ton", "well", "wick", "worth",
                "wood"]  # fmt: skip


def _text_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


def _id_array(objs: Iterable[Model]) -> str:
    return "ARRAY[" + ", ".join(str(o.pk) for o in objs) + "]::bigint[]"


def _timestamp(moment: datetime) -> str:
    return f"'{moment.isoformat()}'::timestamptz"


def insert_rows(model: type[Model], *, template: Model, vary: dict[str, str], source: str) -> None:
    """One INSERT ... SELECT ... FROM ``source``: the columns in ``vary`` are SQL expressions
    (of ``i`` from generate_series, or of the source's columns); every other column takes the
    value ``template`` would be saved with, and the primary key its default unless it is in
    ``vary`` (a one-to-one primary key). Then what autovacuum would soon do."""
    columns, values, params = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key and f.attname not in vary:
            continue
        columns.append(connection.ops.quote_name(f.column))
        if f.attname in vary:
            values.append(vary[f.attname].replace("%", "%%"))
        else:
            values.append("%s")
            params.append(f.get_db_prep_save(f.pre_save(template, add=True), connection))
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {source}"  # noqa: S608 (our own SQL)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # New GIN entries wait in a pending list that the planner prices as a scan of its own;
        # autovacuum soon merges them into the index, and so does this (VACUUM cannot run in
        # the test's transaction).
        cursor.execute(
            "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam"
            " WHERE a.amname = 'gin' AND i.indrelid = %s::regclass",
            [model._meta.db_table],
        )
        cursor.execute(f"ANALYZE {table}")


def series(count: int) -> str:
    return f"generate_series(1, {count}) AS i"


def add_patients(count: int) -> tuple[int, int]:
    """``count`` patients with common names; returns the first and last of their ids."""
    template = PatientFactory.build()
    template.mrn = "-"
    insert_rows(
        Patient,
        template=template,
        source=series(count),
        vary={
            "mrn": "'FN' || lpad(i::text, 8, '0')",
            "first_name": f"({_text_array(FIRST_NAMES)})[1 + i % {len(FIRST_NAMES)}]",
            # A registry's surnames: three in ten from the commonest fifty, the rest a long tail.
            "last_name": f"CASE WHEN i % 10 < 3 THEN ({_text_array(LAST_NAMES)})[1 + (i / 7) % {len(LAST_NAMES)}] "
            f"ELSE ({_text_array(SURNAME_STARTS)})[1 + i % {len(SURNAME_STARTS)}] "
            f"|| ({_text_array(SURNAME_ENDS)})[1 + (i / 31) % {len(SURNAME_ENDS)}] END",
            "date_of_birth": "date '1935-01-01' + (i * 7919) % 27000",
            "email": "'patient' || i || '@example.org'",
            "mobile": "'+4477' || lpad(i::text, 8, '0')",
        },
    )
    ids = Patient.objects.filter(mrn__startswith="FN").aggregate(first=Min("id"), last=Max("id"))
    # One statement draws one run of ids from the sequence: the rows below rely on it.
    assert ids["last"] - ids["first"] + 1 == count
    return ids["first"], ids["last"]


def add_appointments(patients: tuple[int, int]) -> list:
    """Six months of a clinic around today: every provider sees a patient every 5 h 15 min,
    twelve at once, each in their own room with their own patient (as the exclusion
    constraints require). Returns the providers."""
    location = LocationFactory()
    providers = [ProviderFactory() for _ in range(PROVIDERS)]
    rooms = [RoomFactory(location=location, kind="consultation") for _ in range(PROVIDERS)]
    visit = AppointmentTypeFactory(code="review", duration_minutes=30)
    start = clock.at(clock.local_today() - timedelta(days=110), time(8, 0))
    at = f"{_timestamp(start)} + (i / {PROVIDERS}) * interval '5 hours 15 minutes'"
    first, last = patients
    insert_rows(
        Appointment,
        template=Appointment(
            patient_id=first, appointment_type=visit, provider=providers[0], room=rooms[0], starts_at=start
        ),
        source=series(APPOINTMENTS),
        vary={
            "patient_id": f"{first} + i % {last - first + 1}",
            "provider_id": f"({_id_array(providers)})[1 + i % {PROVIDERS}]",
            "room_id": f"({_id_array(rooms)})[1 + i % {PROVIDERS}]",
            "starts_at": at,
            "ends_at": f"{at} + interval '30 minutes'",
            "blocked_until": f"{at} + interval '30 minutes'",
            "status": f"CASE WHEN i % 20 = 0 THEN 'cancelled' WHEN {at} < now() THEN 'completed' ELSE 'booked' END",
        },
    )
    return providers


def add_recalls(patients: tuple[int, int]) -> None:
    """Five years of recalls, a logged contact and a sent reminder for each: the ones due in
    the last two months and the next few are open or booked, the older ones done or closed."""
    today = clock.local_today()
    visit = AppointmentTypeFactory(code="toxin", duration_minutes=30)
    provider = ProviderFactory()
    first, last = patients
    due = f"date '{today.isoformat()}' - 1700 + i % 1800"
    insert_rows(
        Recall,
        template=Recall(
            patient_id=first,
            kind=Recall.Kind.REINJECTION,
            appointment_type=visit,
            anchor_date=today,
            earliest_date=today,
            due_date=today,
            overdue_date=today,
        ),
        source=series(RECALLS),
        vary={
            "patient_id": f"{first} + i % {last - first + 1}",
            "preferred_provider_id": str(provider.pk),
            "anchor_date": f"{due} - 90",
            "earliest_date": f"{due} - 14",
            "due_date": due,
            "overdue_date": f"{due} + 21",
            "source": "'plan:' || i",
            "status": f"CASE WHEN {due} > date '{today.isoformat()}' - 60 "
            "THEN (CASE WHEN i % 5 = 0 THEN 'booked' ELSE 'open' END) "
            "WHEN i % 10 = 0 THEN 'cancelled' ELSE 'completed' END",
        },
    )
    insert_rows(
        RecallContact,
        template=RecallContact(method="phone", outcome="Left a message"),
        source="scheduling_recall AS r",
        vary={"recall_id": "r.id", "at": "r.due_date::timestamptz"},
    )
    insert_rows(
        Message,
        template=Message(
            patient_id=first,
            kind=Message.Kind.RECALL_DUE,
            channel=Message.Channel.EMAIL,
            purpose="recalls",
            due_at=timezone.now(),
            status=Message.Status.SENT,
            dedupe_key="-",
        ),
        source="scheduling_recall AS r",
        vary={
            "patient_id": "r.patient_id",
            "recall_id": "r.id",
            "due_at": "r.due_date::timestamptz",
            "dedupe_key": "'plan:recall:' || r.id",
        },
    )


def add_consultations(patients: tuple[int, int], clinician) -> None:
    """Five years of signed consultations across the patients, an addendum on one in ten
    (written as drafts, then signed: a signed encounter's parts are read-only)."""
    first, last = patients
    insert_rows(
        Encounter,
        template=Encounter(
            patient_id=first,
            kind=Encounter.Kind.CONSULTATION,
            clinician=clinician,
            occurred_at=timezone.now(),
        ),
        source=series(ENCOUNTERS),
        vary={
            "patient_id": f"{first} + i % {last - first + 1}",
            "occurred_at": "now() - i * interval '3 hours'",
        },
    )
    insert_rows(
        Consultation,
        template=Consultation(examination="Synkinesis of the chin on smiling"),
        source="treatments_encounter AS e",
        vary={"encounter_id": "e.id"},
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE treatments_encounter SET status = 'signed', signed_at = occurred_at, signed_by_id = %s",
            [clinician.pk],
        )
        cursor.execute("ANALYZE treatments_encounter")
    insert_rows(
        Addendum,
        template=Addendum(author=clinician, text="Photographs added"),
        source="treatments_encounter AS e WHERE e.id %% 10 = 0",
        vary={"encounter_id": "e.id", "at": "e.occurred_at + interval '1 day'"},
    )


# --- reading plans -----------------------------------------------------------------------------


def _explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def plans_of(client: Client, path: str, table: str) -> list[tuple[str, str]]:
    """(SQL, plan) of every SELECT that reads ``table`` while ``path`` answers."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    found = []
    for query in ctx.captured_queries:
        sql = query["sql"]
        if sql.startswith("DECLARE"):
            sql = sql.split(" FOR ", 1)[1]  # a server-side cursor: its SELECT
        if sql.startswith(("SELECT", "(SELECT")) and f'"{table}"' in sql:
            found.append((sql, _explain(sql)))
    assert found, f"{path} read nothing from {table}"
    return found


def plan_problems(
    plans: list[tuple[str, str]],
    table: str,
    index: str | tuple[str, ...],
    *,
    also: tuple[str, ...] = (),
    counts_scan: bool = False,
) -> list[str]:
    """What is wrong with the plans: a query that reads all of ``table`` (or of a table in
    ``also``), or none that goes through ``index`` (one of them, if several are as good).

    ``counts_scan``: a pager's COUNT(*) of a whole list reads every row whichever way, and may.
    Index names match as prefixes (Django suffixes its own with a hash).
    """
    problems = []
    for sql, plan in plans:
        if counts_scan and sql.startswith("SELECT COUNT(*)"):
            continue
        problems += [
            f"reads all of {name}:\n{sql}\n{plan}" for name in (table, *also) if f"Seq Scan on {name}" in plan
        ]
    indexes = (index,) if isinstance(index, str) else index
    if not any(f" {name}" in plan for _, plan in plans for name in indexes):
        problems.append(
            f"no query uses {' or '.join(indexes)}:\n" + "\n".join(f"{sql}\n{plan}" for sql, plan in plans)
        )
    if SHOW_PLANS:
        print("\n\n".join(f"{sql[:300]}\n{plan}" for sql, plan in plans))
    return problems


def _login(role) -> Client:
    client = Client()
    client.force_login(UserFactory(username=f"plans-{role}", roles=[role]))
    return client


# --- the checks --------------------------------------------------------------------------------


# What the front desk types. (A lone common word such as "thomas": COMMON_NAMES below.)
# Typo-tolerant name words: by sound when someone sounds like every word, else by trigrams too.
BY_SOUND = ("patients_patient_first_phonetic", "patients_patient_last_phonetic")
SEARCHES: dict[str, str | tuple[str, ...]] = {
    "jon smyth": BY_SOUND,  # name words, typo-tolerant
    "sara thomson": "patients_patient_name_trgm",  # "thomson" sounds like nobody here
    "ashfrod": ("patients_patient_name_trgm", *BY_SOUND),  # a rarer surname, mistyped
    "joh smi": ("patients_patient_last_fold", "patients_patient_first_fold"),  # part names
    "FN00012345": "patients_patient_mrn",  # the unique MRN's indexes
    "12345": "patients_patient_mrn_trgm",  # part of an MRN
    "07700 012345": "patients_patient_mobile",
    "patient12345@example.org": "patients_patient_email",
    "14/02/1961": "patients_patient_dob",
    "smith 14/02/1961": "patients_patient_dob",
}


def test_patient_search_uses_its_indexes(db):
    add_patients(PATIENTS)
    client = _login(Role.FRONT_DESK)
    problems = []
    for search, index in SEARCHES.items():
        plans = plans_of(client, f"/api/v1/patients/?{urlencode({'search': search})}", "patients_patient")
        problems += plan_problems(plans, "patients_patient", index)
    # The list page without a search: the first page in name order, from the name index.
    plans = plans_of(client, "/patients/", "patients_patient")
    problems += plan_problems(plans, "patients_patient", "patients_patient_list", counts_scan=True)
    assert problems == [], "\n\n".join(problems)


# Common names: a page of exact or prefix matches, read in name order from the btree indexes on
# the folded names; no similarity computed, no table scan (about 110 Smiths and Thomases and 510
# Sarahs among the 20,000; the API's page of matches is 100).
COMMON_NAMES = {
    "smith": "patients_patient_last_fold",  # a common surname
    "thomas": "patients_patient_last_fold",  # a surname and a first name
    "sarah": "patients_patient_first_fold",  # a first name alone
    "wood": "patients_patient_last_fold",  # a surname, and the beginning of many others
}


def test_common_name_search_reads_the_name_btree_in_order(db):
    add_patients(PATIENTS)
    client = _login(Role.FRONT_DESK)
    problems = []
    for search, index in COMMON_NAMES.items():
        plans = plans_of(client, f"/api/v1/patients/?{urlencode({'search': search})}", "patients_patient")
        problems += plan_problems(plans, "patients_patient", index)
        problems += [
            f"{search!r} ranked by similarity:\n{sql}" for sql, _ in plans if "similarity(" in sql.lower()
        ]
    assert problems == [], "\n\n".join(problems)


# Either start-time index serves one provider's rows: the provider's own is exact, the clinic's
# reads the other providers' rows of the same days too. The planner weighs them; both are fine.
START = ("scheduling_appt_start",)
PROVIDER_START = ("scheduling_appt_provider_start", "scheduling_appt_start")
# A patient's few rows: by (patient, start), or by the patient foreign key's own index.
PATIENT_START = ("scheduling_appt_patient_start", "scheduling_appointment_patient_id")


def test_calendars_and_appointment_lists_read_by_start_time(db):
    providers = add_appointments(add_patients(1_000))
    client = _login(Role.FRONT_DESK)
    today = clock.local_today().isoformat()
    provider = providers[3].pk
    patient = Appointment.objects.order_by("id").values_list("patient_id", flat=True)[7]
    checks = {
        # The day views of every room: one day of rows by start time. The providers' day view
        # reads one page of providers: one day of theirs (and probes for those without hours).
        f"/schedule/?date={today}": PROVIDER_START,
        f"/schedule/rooms/?date={today}": START,
        "/schedule/arrivals/": START,
        f"/schedule/print/?date={today}": START,
        f"/api/v1/appointments/?date_from={today}&date_to={today}": START,
        # One provider's week, and their list.
        f"/schedule/week/?date={today}&provider={provider}": PROVIDER_START,
        f"/api/v1/appointments/?provider={provider}&date_from={today}&date_to={today}": PROVIDER_START,
        # One patient's appointments.
        f"/api/v1/appointments/?patient={patient}": PATIENT_START,
    }
    problems = []
    for path, index in checks.items():
        plans = plans_of(client, path, "scheduling_appointment")
        problems += [f"{path}: {p}" for p in plan_problems(plans, "scheduling_appointment", index)]
    assert problems == [], "\n\n".join(problems)


def test_recall_worklist_reads_open_recalls_by_due_date(db):
    add_recalls(add_patients(1_000))
    client = _login(Role.FRONT_DESK)
    problems = []
    for path in ("/recalls/", "/recalls/?bucket=overdue", "/api/v1/recalls/?bucket=due"):
        plans = plans_of(client, path, "scheduling_recall")
        # Each row's last contact and sent reminders come from their own indexes, not scans.
        problems += [
            f"{path}: {p}"
            for p in plan_problems(
                plans,
                "scheduling_recall",
                "scheduling_recall_worklist",
                also=("scheduling_recallcontact", "scheduling_message"),
            )
        ]
    assert problems == [], "\n\n".join(problems)


# The whole-register lists, newest first: an ordered walk of a time index that stops after a
# page, not a sort of every row (a consultation reads its encounter by the encounter's index;
# the addendum count is probed per row of the page).
NEWEST_FIRST = {
    "/api/v1/encounters/": ("treatments_encounter", "treatments_enc_time"),
    "/api/v1/consultations/": ("treatments_encounter", "treatments_enc_time"),
    "/api/v1/messages/": ("scheduling_message", "scheduling_message_time"),
}


def test_clinical_lists_and_the_message_log_read_newest_first(db):
    patients = add_patients(1_000)
    add_recalls(patients)  # a sent reminder for each recall
    client = _login(Role.SURGEON)
    add_consultations(patients, UserFactory(username="plans-clinician", roles=[Role.SURGEON]))
    problems = []
    for path, (table, index) in NEWEST_FIRST.items():
        plans = plans_of(client, path, table)
        problems += [
            f"{path}: {p}"
            for p in plan_problems(plans, table, index, also=("treatments_addendum",), counts_scan=True)
        ]
        # Sorting every row to keep a page's worth is what the index is for.
        problems += [f"{path} sorts the whole table:\n{plan}" for sql, plan in plans if "Sort" in plan]
    assert problems == [], "\n\n".join(problems)
