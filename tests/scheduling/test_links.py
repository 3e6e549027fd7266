"""Patient links: signed, expiring, one patient; unsubscribe and SMS STOP take effect at once."""

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from clinic.models import AuditEvent
from patients.models import MessagingConsent
from patients.selectors import consent_current
from scheduling.reminders.links import Action, LinkExpired, LinkInvalid, link_read, link_token, link_url
from tests.factories import PatientFactory
from tests.scheduling.messaging_helpers import grant_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient():
    p = PatientFactory(email="ana@example.org", mobile="+447700100010")
    grant_all(p)
    return p


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_link_round_trip():
    token = link_token(patient_id=7, action=Action.BOOK, target=42)
    link = link_read(token)
    assert (link.patient_id, link.action, link.target) == (7, "book", "42")


def test_tampered_link_is_refused():
    token = link_token(patient_id=7, action=Action.BOOK, target=42)
    with pytest.raises(LinkInvalid):
        link_read(("A" if token[1] != "A" else "B").join([token[:1], token[2:]]))


def test_link_expires():
    token = link_token(patient_id=7, action=Action.BOOK, target=42)
    with time_machine.travel(timezone.now() + timedelta(days=31)), pytest.raises(LinkExpired):
        link_read(token)


def test_expired_link_shows_a_friendly_page(client, patient):
    url = link_url(patient_id=patient.pk, action=Action.UNSUBSCRIBE, target="email:recalls")
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        response = client.get(_path(url))
    assert response.status_code == 410
    assert b"This link has expired" in response.content
    assert patient.last_name.encode() not in response.content


def test_tampered_link_shows_a_friendly_page(client):
    response = client.get("/p/not-a-real-token/")
    assert response.status_code == 400
    assert b"This link does not work" in response.content


def test_unsubscribe_link_withdraws_that_consent_at_once(client, patient):
    url = _path(link_url(patient_id=patient.pk, action=Action.UNSUBSCRIBE, target="email:recalls"))
    page = client.get(url)
    assert page.status_code == 200
    assert b"Stop messages" in page.content
    assert consent_current(patient=patient, channel="email", purpose="recalls")  # GET changes nothing

    response = client.post(url, {"scope": "one"})
    assert response.status_code == 200
    assert not consent_current(patient=patient, channel="email", purpose="recalls")
    assert consent_current(patient=patient, channel="email", purpose="appointment_reminders")
    latest = MessagingConsent.objects.filter(patient=patient, channel="email", purpose="recalls").first()
    assert latest.method == "link"
    assert AuditEvent.objects.filter(action="consent.withdrawn", patient_id=patient.pk).exists()


def test_unsubscribe_everything_by_one_channel(client, patient):
    url = _path(link_url(patient_id=patient.pk, action=Action.UNSUBSCRIBE, target="sms:recalls"))
    client.post(url, {"scope": "all"})
    for purpose in MessagingConsent.Purpose.values:
        assert not consent_current(patient=patient, channel="sms", purpose=purpose)
        assert consent_current(patient=patient, channel="email", purpose=purpose)


def test_link_for_an_inactive_patient_does_not_work(client, patient):
    patient.status, patient.inactive_reason = "inactive", "moved_away"
    patient.save()
    url = _path(link_url(patient_id=patient.pk, action=Action.UNSUBSCRIBE, target="sms:recalls"))
    assert client.get(url).status_code == 400


def _twilio_post(client, settings, params, *, signature=None):
    settings.TWILIO_AUTH_TOKEN = "tw-secret"
    url = settings.SITE_URL + "/p/sms/twilio/inbound/"
    payload = url + "".join(f"{k}{v}" for k, v in sorted(params.items()))
    good = base64.b64encode(hmac.new(b"tw-secret", payload.encode(), hashlib.sha1).digest()).decode()
    return client.post("/p/sms/twilio/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature or good)


def test_sms_stop_withdraws_every_sms_consent(client, settings, patient):
    response = _twilio_post(client, settings, {"From": "+447700100010", "Body": " stop "})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    for purpose in MessagingConsent.Purpose.values:
        assert not consent_current(patient=patient, channel="sms", purpose=purpose)
    assert consent_current(patient=patient, channel="email", purpose="recalls")


def test_sms_webhook_refuses_a_bad_signature(client, settings, patient):
    response = _twilio_post(client, settings, {"From": "+447700100010", "Body": "STOP"}, signature="forged")
    assert response.status_code == 403
    assert consent_current(patient=patient, channel="sms", purpose="recalls")


def test_other_sms_replies_change_nothing(client, settings, patient):
    _twilio_post(client, settings, {"From": "+447700100010", "Body": "Thanks see you then"})
    assert consent_current(patient=patient, channel="sms", purpose="recalls")
