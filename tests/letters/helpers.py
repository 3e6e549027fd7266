"""Helpers for the letters tests: a patient with a GP and a referrer, and clinical records."""

from datetime import timedelta

from django.utils import timezone

from letters import services
from tests.factories import PatientFactory, UserFactory
from tests.treatments.factories import SUNNYBROOK_NORMAL, record_consultation
from treatments.services import assessment_record


def surgeon(username="dr_letter"):
    return UserFactory(username=username, first_name="Ann", last_name="Hart", roles=["surgeon"])


def patient(**kw):
    defaults = {
        "first_name": "Maeve",
        "last_name": "Doyle",
        "gp_name": "Dr Gill",
        "gp_practice": "Riverside Surgery",
        "gp_email": "riverside.surgery@nhs.example",
        "referring_clinician": "Mr Obi, ENT",
        "referrer_email": "ent.referrals@hospital.example",
    }
    return PatientFactory(**{**defaults, **kw})


def consultation(patient, actor, **extra):
    detail = record_consultation(
        patient,
        actor,
        history_of_palsy="Bell's palsy in 2021, incomplete recovery.",
        examination="Oral-ocular synkinesis on the left.",
        plan_summary="Botulinum toxin to the left orbicularis oculi; NMRT.",
        **extra,
    )
    assessment_record(
        patient=patient,
        instrument="sunnybrook",
        items=SUNNYBROOK_NORMAL,
        assessed_at=detail.encounter.occurred_at,
        actor=actor,
        rater=actor,
        encounter=detail.encounter,
    )
    return detail.encounter


def signed_letter(patient, actor, kind="consultation"):
    if kind == "consultation" and not patient.encounters.exists():
        consultation(patient, actor)
    letter = services.letter_draft(actor=actor, patient=patient, kind=kind)
    return services.letter_sign(actor=actor, letter=letter)


def hours_ago(n):
    return timezone.now() - timedelta(hours=n)
