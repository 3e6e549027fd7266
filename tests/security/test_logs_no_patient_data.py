"""No patient data in the logs: a realistic workload (searches by name that end in 2xx and
4xx, patient create and edit with a bad field, a booking and a double booking, an export, 404s
on a patient, log-in failures with a patient's email as the username) runs with every logger
at DEBUG, and every line, formatted as production formats it, is searched for the seeded
patient's name, date of birth, MRN, email and phone number.

The slow twin of this test runs the same kind of workload through nginx and gunicorn and
searches gunicorn's access and error logs and nginx's logs.
"""

import logging
import runpy
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from gunicorn.config import Config

from clinic.logging import JsonFormatter, redact
from tests.factories import PASSWORD, AppointmentTypeFactory, PatientFactory, RoomFactory, UserFactory
from tests.scheduling.conftest import clinic, frozen, provider_for  # noqa: F401  (fixtures)
from tests.security.reverse_proxy import proxied_clinic, web_login  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

FIRST, LAST = "Zephyrine", "Quillfeather"
MRN = "QZ4417093"
EMAIL = "zq.patient@example.org"
MOBILE = "+447700900417"
DOB = date(1961, 3, 17)


def seeded_patient():
    return PatientFactory(
        first_name=FIRST, last_name=LAST, mrn=MRN, email=EMAIL, mobile=MOBILE, date_of_birth=DOB
    )


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
    assert front_desk.get(
        "/api/v1/patients/", {"search": MOBILE, "ordering": "date_of_birth"}
    ).status_code in (
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
    assert (
        front_desk.patch(f"/api/v1/patients/{patient.pk}/", {"mobile": "not a phone " + MOBILE}).status_code
        == 400
    )
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


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_through_nginx_and_gunicorn_no_log_holds_patient_data(proxied_clinic):  # noqa: F811
    """The same kind of workload through nginx and gunicorn at DEBUG: gunicorn's access and
    error logs (with the application's own lines), and nginx's access and error logs, hold none
    of the patient's identifiers, nor a patient link's token."""
    UserFactory(username="desk", roles=["front_desk"])
    surgeon_user = UserFactory(username="surgeon-log", roles=["surgeon"])
    provider = provider_for("surgeon", "surgeon-log", user=surgeon_user, weekdays=range(7), hours=((0, 23),))
    AppointmentTypeFactory(provider_roles=["surgeon"])
    RoomFactory(kind="consultation")
    patient = seeded_patient()
    base = proxied_clinic.base
    desk, surgeon = proxied_clinic.http("127.0.0.2"), proxied_clinic.http("127.0.0.3")
    assert web_login(desk, base, "desk", PASSWORD).status_code == 302
    assert web_login(surgeon, base, "surgeon-log", PASSWORD).status_code == 302

    def api(http, method, path, **kwargs):
        headers = {"X-CSRFToken": http.cookies.get("csrftoken", ""), "Accept": "application/json"}
        return http.request(method, f"{base}{path}", headers=headers, timeout=60, **kwargs)

    assert api(desk, "GET", "/api/v1/patients/", params={"search": LAST}).status_code == 200
    assert (
        api(desk, "GET", "/api/v1/patients/", params={"search": FIRST, "status": "bogus"}).status_code == 400
    )
    assert api(desk, "GET", "/api/v1/patients/", params={"search": MRN, "page": 99}).status_code == 404
    assert desk.get(f"{base}/patients/", params={"q": f"{FIRST} {LAST}"}, timeout=60).status_code == 200
    body = {
        "first_name": FIRST,
        "last_name": LAST,
        "date_of_birth": DOB.isoformat(),
        "sex": "female",
        "email": EMAIL,
        "mobile": MOBILE,
        "favourite_colour": LAST,
    }
    assert api(desk, "POST", "/api/v1/patients/", json=body).status_code == 400
    assert api(desk, "PATCH", f"/api/v1/patients/{patient.pk}/", json={"nickname": EMAIL}).status_code == 400
    assert api(desk, "PATCH", f"/api/v1/patients/{patient.pk}/", json={"email": EMAIL}).status_code == 200
    start = (timezone.localtime() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    booking = {
        "patient": patient.pk,
        "appointment_type": "consultation",
        "provider": provider.pk,
        "start": start.isoformat(),
    }
    booked = api(desk, "POST", "/api/v1/appointments/", json=booking)
    assert booked.status_code == 201, booked.text
    assert api(desk, "POST", "/api/v1/appointments/", json=booking).status_code == 409
    assert api(surgeon, "GET", f"/api/v1/patients/{patient.pk}/export/").status_code == 200
    assert api(desk, "GET", "/api/v1/patients/999999/", params={"search": LAST}).status_code == 404
    link_token = "made-up-link-token-0123456789"
    assert desk.get(f"{base}/p/{link_token}/", params={"q": LAST}, timeout=60).status_code in (400, 403, 404)
    anonymous = proxied_clinic.http("127.0.0.4")
    web_login(anonymous, base, EMAIL, LAST)
    anonymous.post(
        f"{base}/api/v1/auth/token/", json={"username": f"{FIRST} {LAST}", "password": MRN}, timeout=60
    )

    logs = proxied_clinic.logs()
    access = logs[proxied_clinic.access_log.name]
    # The logs were written, with the client's own address, and the 4xx reached them.
    assert '127.0.0.2 "GET /api/v1/patients/" 404' in access, access[-2000:]
    assert "django.request" in logs[proxied_clinic.gunicorn_log.name]
    assert '127.0.0.2 "GET /api/v1/patients/" 404' in logs[proxied_clinic.nginx_access_log.name]
    found = {name: leaks(text.splitlines()) for name, text in logs.items()}
    assert found == {name: [] for name in logs}
    for name in (proxied_clinic.access_log.name, proxied_clinic.gunicorn_log.name):
        assert link_token not in logs[name], name


def test_redact_removes_query_strings_and_link_tokens():
    assert redact("Not Found: /api/v1/patients/?search=Quillfeather") == "Not Found: /api/v1/patients/"
    assert redact("GET /p/AbC.123-xyz/?next=/x") == "GET /p/[token]/"
    assert redact("/feeds/s3cr3t.ics") == "/feeds/[token].ics"
    assert redact("/p/sms/twilio/inbound/") == "/p/sms/twilio/inbound/"


def test_the_gunicorn_access_log_has_no_query_string_and_the_real_client(settings):
    """Whatever access_log_format an operator sets: request line, path, query and referer are
    redacted, and the address is the client's behind a trusted proxy."""
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    config = runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))
    logger = config["Logger"](Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/api/v1/patients/?search={LAST}",
        "PATH_INFO": "/api/v1/patients/",
        "QUERY_STRING": f"search={LAST}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_X_FORWARDED_FOR": "203.0.113.9",
        "HTTP_REFERER": f"https://clinic.example/patients/?q={FIRST}",
    }
    response = SimpleNamespace(status="404 Not Found", sent=10, headers=[])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=5))
    assert atoms["h"] == "203.0.113.9"
    assert atoms["r"] == "GET /api/v1/patients/ HTTP/1.1"
    assert atoms["q"] == ""
    assert leaks([str(value) for value in atoms.values()]) == []
