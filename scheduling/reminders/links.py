"""Signed, expiring, single-patient links: how patients act without a login.

A token carries the patient's id, the action and its target, signed with SECRET_KEY and a
per-purpose salt, and stamped with the time it was made. The view re-checks that the target
belongs to that patient, so a valid token can never reach another patient's data.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "clinic.patient-link.v1"


class Action:
    CONFIRM = "confirm"  # target: appointment id
    CANCEL = "cancel"  # target: appointment id
    BOOK = "book"  # target: recall id
    QUESTIONNAIRE = "questionnaire"  # target: message id (the request)
    UNSUBSCRIBE = "unsubscribe"  # target: "<channel>:<purpose>"
    AFTERCARE = "aftercare"  # target: message id (the aftercare message)

    ALL = frozenset({CONFIRM, CANCEL, BOOK, QUESTIONNAIRE, UNSUBSCRIBE, AFTERCARE})


# Actions that higher apps add (AppConfig.ready()): name -> the view that answers the link,
# called as view(request, link=..., patient=..., token=...) like this app's own.
_registered: dict[str, Callable] = {}


def register_action(name: str, view: Callable) -> None:
    """Let a higher app answer links of its own action (treatments' plan agreement)."""
    if name in Action.ALL:
        raise ValueError(f"link action {name!r} is scheduling's own")
    _registered[name] = view


def registered_view(name: str) -> Callable | None:
    return _registered.get(name)


def _known(action: object) -> bool:
    return action in Action.ALL or action in _registered


@dataclass(frozen=True)
class PatientLink:
    patient_id: int
    action: str
    target: str


class LinkInvalid(Exception):
    """Tampered with, or not a link of ours."""


class LinkExpired(Exception):
    pass


def link_token(*, patient_id: int, action: str, target: str | int) -> str:
    if not _known(action):
        raise ValueError(f"unknown link action {action!r}")
    return signing.dumps({"p": patient_id, "a": action, "t": str(target)}, salt=SALT, compress=True)


def link_url(*, patient_id: int, action: str, target: str | int) -> str:
    token = link_token(patient_id=patient_id, action=action, target=target)
    return settings.SITE_URL + reverse("links:open", kwargs={"token": token})


def one_click_unsubscribe_url(*, patient_id: int, target: str) -> str:
    """The RFC 8058 one-click URL for an unsubscribe link's target ("<channel>:<purpose>"): a
    POST there withdraws the consent, with no page, no cookie and no CSRF token (the signed
    token is the authority, as for every patient link)."""
    token = link_token(patient_id=patient_id, action=Action.UNSUBSCRIBE, target=target)
    return settings.SITE_URL + reverse("links:one_click", kwargs={"token": token})


def link_read(token: str, *, max_age: timedelta | None = None) -> PatientLink:
    max_age = max_age or timedelta(days=settings.PATIENT_LINK_MAX_AGE_DAYS)
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    except signing.BadSignature as exc:
        raise LinkInvalid from exc
    if not isinstance(data, dict) or not _known(data.get("a")) or not isinstance(data.get("p"), int):
        raise LinkInvalid
    return PatientLink(patient_id=data["p"], action=data["a"], target=str(data.get("t", "")))
