"""Signed links that let a patient read and sign one consent, and later fetch its signed PDF,
without a login. Made like the appointment links (scheduling.reminders.links): signed with
SECRET_KEY under a salt of their own (a link of one kind is never one of the other), stamped
with the time, valid for CONSENT_LINK_MAX_AGE_DAYS. The view re-checks that the consent is
that patient's.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "clinic.consent-link.v1"


class LinkInvalid(Exception):
    pass


class LinkExpired(Exception):
    pass


@dataclass(frozen=True)
class ConsentLink:
    patient_id: int
    consent_id: int


def consent_link_token(*, patient_id: int, consent_id: int) -> str:
    return signing.dumps({"p": patient_id, "c": consent_id}, salt=SALT, compress=True)


def consent_link_url(*, patient_id: int, consent_id: int) -> str:
    token = consent_link_token(patient_id=patient_id, consent_id=consent_id)
    return settings.SITE_URL + reverse("consent_links:sign", kwargs={"token": token})


def consent_link_read(token: str) -> ConsentLink:
    try:
        data = signing.loads(token, salt=SALT, max_age=timedelta(days=settings.CONSENT_LINK_MAX_AGE_DAYS))
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    except signing.BadSignature as exc:
        raise LinkInvalid from exc
    if not isinstance(data, dict) or not isinstance(data.get("p"), int) or not isinstance(data.get("c"), int):
        raise LinkInvalid
    return ConsentLink(patient_id=data["p"], consent_id=data["c"])
