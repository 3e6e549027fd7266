"""No patient data in the logs: a realistic workload (searches by name that end in 2xx and
4xx, patient create and edit with a bad field, a booking and a double booking, an export, 404s
on a patient, log-in failures with a patient's email as the username) runs with every logger
at DEBUG, and every line, formatted as production formats it, is searched for the seeded
patient's name, date of birth, MRN, email and phone number.

The slow twin of this test runs the same kind of workload through nginx and gunicorn and
searches gunicorn's access and error logs and nginx's access log
(tests/security/test_proxy_end_to_end.py).
"""

import logging
from datetime import date

import pytest

from clinic.logging import JsonFormatter
from tests.factories import PatientFactory
from tests.scheduling.conftest import clinic, frozen  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

FIRST, LAST = "Zephyrine", "Quillfeather"
MRN = "QZ4417093"
EMAIL = "zq.patient@example.org"
MOBILE = "+447700900417"
DOB = date(1961, 3, 17)


def seeded_patient():
    return PatientFactory(first_name=FIRST, last_name=LAST, mrn=MRN, email=EMAIL, mobile=MOBILE, date_of_birth=DOB)


def needles() -> list[str]:
    """Every form in which the patient's identifying data could show up in a log line."""
    return [
        FIRST,
        LAST,
        MRN,
        EMAIL,
        EMAIL.replace("@", "%40"),
        MOBILE,
        MOBILE.replace("+", "%2B"),
        "7700900417",
        "07700 900417",
        DOB.isoformat(),
        DOB.strftime("%d/%m/%Y"),
        "17 March 1961",
    ]


def leaks(lines: list[str]) -> list[tuple[str, str]]:
    lowered = [(line, line.lower()) for line in lines]
    return [(needle, line) for needle in needles() for line, low in lowered if needle.lower() in low]


@pytest.fixture
def every_log_line(caplog):
    """Every record of every logger at DEBUG, formatted by the production formatter."""
    manager = logging.root.manager
    caplog.set_level(logging.DEBUG)
    for name, logger in list(manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level not in (logging.NOTSET, logging.DEBUG):
            caplog.set_level(logging.DEBUG, logger=name)
    formatter = JsonFormatter()

    def lines() -> list[str]:
        out = []
        for record in caplog.records:
            out.append(formatter.format(record))
            out.append(record.getMessage())
        return out

    return lines


def test_a_realistic_workload_logs_no_patient_data(
    clinic,  # noqa: F811
    front_desk,
    surgeon,
    anon_api,
    client,
    front_desk_user,
    caplog,
    every_log_line,
):
    patient = seeded_patient()
    caplog.clear()  # the seeding itself (factory_boy logs what it builds at DEBUG)

    # Searches by name, MRN, email and phone: some answered, some refused.
    assert front_desk.get("/api/v1/patients/", {"search": LAST}).status_code == 200
    assert front_desk.get("/api/v1/patients/", {"search": FIRST, "status": "bogus"}).status_code == 400
    assert front_desk.get("/api/v1/patients/", {"search": MRN, "page": 99}).status_code == 404
    assert front_desk.get("/api/v1/patients/", {"search": MOBILE, "ordering": "date_of_birth"}).status_code in (
        200,
        400,
    )
    client.force_login(front_desk_user)
    assert client.get("/patients/", {"q": f"{FIRST} {LAST}"}).status_code == 200
    assert client.get("/patients/search/", {"q": EMAIL}).status_code == 200

    # Create and edit through the API, with a field the endpoint does not take.
    body = {
        "first_name": FIRST,
        "last_name": LAST,
        "date_of_birth": DOB.isoformat(),
        "sex": "female",
        "email": EMAIL,
        "mobile": MOBILE,
        "favourite_colour": LAST,
    }
    assert front_desk.post("/api/v1/patients/", body, format="json").status_code == 400
    assert front_desk.post("/api/v1/patients/", {**body, "date_of_birth": "17/03/1961"}).status_code == 400
    patch = {"email": EMAIL, "nickname": FIRST}
    assert front_desk.patch(f"/api/v1/patients/{patient.pk}/", patch, format="json").status_code == 400
    assert front_desk.patch(f"/api/v1/patients/{patient.pk}/", {"mobile": "not a phone " + MOBILE}).status_code == 400
    assert front_desk.patch(f"/api/v1/patients/{patient.pk}/", {"email": EMAIL}).status_code == 200

    # A booking, and the same slot again (409).
    booking = {
        "patient": patient.pk,
        "appointment_type": "consultation",
        "provider": clinic.surgeon.pk,
        "start": "2027-03-02T10:00:00+00:00",
    }
    assert front_desk.post("/api/v1/appointments/", booking, format="json").status_code == 201
    assert front_desk.post("/api/v1/appointments/", booking, format="json").status_code == 409

    # The export, the chart, and a patient that does not exist.
    assert surgeon.get(f"/api/v1/patients/{patient.pk}/export/").status_code == 200
    assert front_desk.get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    assert front_desk.get("/api/v1/patients/999999/", {"search": LAST}).status_code == 404
    assert client.get("/patients/999999/", {"q": LAST}).status_code == 404

    # Log-in failures, with patient data typed where the username goes.
    client.logout()
    client.post("/login/?next=/patients/%3Fq%3D" + LAST, {"username": EMAIL, "password": LAST})
    anon_api.post("/api/v1/auth/token/", {"username": f"{FIRST} {LAST}", "password": MRN}, format="json")

    lines = every_log_line()
    assert any("404" in line or "Not Found" in line for line in lines)  # the 4xx were logged
    assert leaks(lines) == []
