"""A client generated from the schema by openapi-python-client drives the API on a live server.

The schema is what the clinic publishes at /api/schema/; openapi-python-client (the generator
integrators use for Python) turns it into a typed package in a temporary directory, which is
imported and used as an integrator would: a token from the token endpoint (sent as ``Bearer``,
the generator's default), then the front desk's workflow (find the patient, find a slot, book,
reschedule, cancel) and a clinician's read of the record, a patient-rated questionnaire
included (its ``rater`` is null). The generated models parse every answer: a field the schema
gets wrong raises here.
"""

import importlib
import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import (
    PASSWORD,
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    RoomFactory,
    UserFactory,
)
from tests.scheduling.factories import WorkingHoursFactory
from tests.treatments.factories import SAQ_ITEMS, record_consultation
from treatments.services import assessment_record

pytestmark = pytest.mark.slow

PACKAGE = "facial_nerve_clinic_api_client"


@pytest.fixture
def generated(tmp_path, transactional_db):
    """Generate the client from the served schema and import it."""
    staff = APIClient()
    staff.force_authenticate(UserFactory(username="schema-reader", roles=["manager"]))
    schema = staff.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    # The generator reads files as bytes under one content type; photographs, videos and PDFs are
    # files like any other (its documented content_type_overrides setting).
    binary = dict.fromkeys(("image/jpeg", "video/mp4", "application/pdf"), "application/octet-stream")
    (tmp_path / "config.json").write_text(json.dumps({"content_type_overrides": binary}))
    tool = Path(sys.executable).parent / "openapi-python-client"
    if not tool.exists():
        tool = shutil.which("openapi-python-client")
    assert tool, "openapi-python-client is a test dependency (requirements-dev.txt)"
    result = subprocess.run(
        [
            str(tool),
            "generate",
            "--path",
            "schema.json",
            "--config",
            "config.json",
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        package = importlib.import_module(PACKAGE)
        importlib.import_module(f"{PACKAGE}.models")
        yield package
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture
def practice(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    location = LocationFactory()
    room = RoomFactory(location=location, kind="consultation")
    provider = ProviderFactory()
    for weekday in range(7):
        WorkingHoursFactory(provider=provider, location=location, weekday=weekday)
    kind = AppointmentTypeFactory(code="consultation")
    patient = PatientFactory(first_name="Imogen", last_name="Fairweather")
    surgeon = UserFactory(username="client-surgeon", roles=["surgeon"])
    record_consultation(patient, surgeon)
    assessment_record(
        patient=patient, instrument="saq", items=SAQ_ITEMS, assessed_at=timezone.now(), rater_kind="patient"
    )
    UserFactory(username="client-desk", roles=["front_desk"])
    return {"patient": patient, "provider": provider, "room": room, "type": kind}


def _client(api, live_server, username):
    from importlib import import_module

    token_create = import_module(f"{PACKAGE}.api.auth.auth_token_create")
    models = api.models
    anonymous = api.Client(base_url=live_server.url, raise_on_unexpected_status=True)
    issued = token_create.sync(
        client=anonymous, body=models.TokenRequest(username=username, password=PASSWORD, label="generated")
    )
    assert isinstance(issued, models.IssuedToken), issued
    # The generator's default scheme is Bearer.
    return api.AuthenticatedClient(
        base_url=live_server.url, token=issued.token, raise_on_unexpected_status=True
    )


def test_generated_client_runs_the_front_desk_and_a_clinical_read(generated, practice, live_server):
    from importlib import import_module

    def op(name):
        return import_module(f"{PACKAGE}.api.{name}")

    models = generated.models
    desk = _client(generated, live_server, "client-desk")
    patient = practice["patient"]

    # Find the patient.
    found = op("patients.patients_list").sync(client=desk, search="imogen fairweather")
    assert isinstance(found, models.PaginatedPatientList), found
    assert [p.id for p in found.results] == [patient.pk]

    # Find slots a few days ahead.
    first_day = timezone.localdate() + timedelta(days=3)
    slots = op("availability.availability_list").sync(
        client=desk,
        appointment_type="consultation",
        date_from=first_day,
        date_to=first_day + timedelta(days=6),
        provider=practice["provider"].pk,
    )
    assert isinstance(slots, list) and len(slots) > 4, slots
    assert all(isinstance(slot, models.Slot) for slot in slots)

    # Book, reschedule, cancel.
    booked = op("appointments.appointments_create").sync(
        client=desk,
        body=models.AppointmentBookRequest(
            patient=patient.pk,
            appointment_type="consultation",
            provider=practice["provider"].pk,
            start=slots[0].start,
        ),
    )
    assert isinstance(booked, models.AppointmentBooked), booked
    appointment_id = booked.id
    moved = op("appointments.appointments_reschedule_create").sync(
        appointment_id,
        client=desk,
        body=models.AppointmentRescheduleRequest(start=slots[4].start, reason="Asked to"),
    )
    assert isinstance(moved, models.AppointmentDetail), moved
    assert moved.starts_at == slots[4].start
    listed = op("appointments.appointments_list").sync(client=desk, patient=patient.pk)
    assert [a.id for a in listed.results] == [appointment_id]
    cancelled = op("appointments.appointments_cancel_create").sync(
        appointment_id, client=desk, body=models.AppointmentCancelRequest(reason="Patient's request")
    )
    assert isinstance(cancelled, models.AppointmentDetail), cancelled
    assert cancelled.status == models.AppointmentStatusEnum.CANCELLED

    # A clinician reads the record: consultations and gradings, the patient's own included.
    clinician = _client(generated, live_server, "client-surgeon")
    record = op("patients.patients_retrieve").sync(patient.pk, client=clinician)
    assert isinstance(record, models.Patient), record
    consultations = op("consultations.consultations_list").sync(client=clinician, patient=patient.pk)
    assert len(consultations.results) == 1
    assert consultations.results[0].signed_by is None
    assessments = op("assessments.assessments_list").sync(client=clinician, patient=patient.pk)
    assert [a.rater for a in assessments.results] == [None]
