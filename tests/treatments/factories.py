"""Factories and builders for clinical records. Records go through the services, so that tests
arrange data the way the clinic creates it."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from treatments import services
from treatments.models import Product, ToxinLot


class ToxinLotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ToxinLot

    product = Product.ONABOTULINUMTOXIN_A
    lot_number = factory.Sequence(lambda n: f"C{n:05d}")
    expiry_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=365))
    vial_units = 100


def injection(muscle="mentalis", side="left", units="2.5", points=1) -> dict:
    return {"muscle": muscle, "side": side, "units": Decimal(str(units)), "points": points}


DEFAULT_MAP = [
    injection("orbicularis_oculi_orbital", "left", "5", 2),
    injection("mentalis", "left", "2.5", 1),
    injection("depressor_anguli_oris", "right", "5", 2),
]


def toxin_data(*, lot=None, occurred_at=None, injections=None, **extra) -> dict:
    lot = lot or ToxinLotFactory()
    return {
        "occurred_at": occurred_at or timezone.now() - timedelta(hours=1),
        "product": lot.product,
        "lot": lot,
        "dilution_ml": Decimal("2.5"),
        "injections": injections if injections is not None else [dict(row) for row in DEFAULT_MAP],
        **extra,
    }


def record_toxin(patient, actor, **kw):
    return services.encounter_record(services.TOXIN, patient=patient, actor=actor, data=toxin_data(**kw))


def therapy_data(*, occurred_at=None, recommendations=None, **extra) -> dict:
    return {
        "occurred_at": occurred_at or timezone.now() - timedelta(hours=1),
        "techniques": ["mirror_exercises", "semg_biofeedback"],
        "duration_minutes": 45,
        "adherence": "most_days",
        "exercises": [
            {
                "exercise": "Gentle smile in the mirror",
                "repetitions": 10,
                "hold_seconds": 5,
                "times_per_day": 3,
            }
        ],
        "patterns": [{"trigger": "smiling", "region": "eye", "severity": "moderate"}],
        "recommendations": recommendations
        if recommendations is not None
        else [{"muscle": "orbicularis_oculi_orbital", "side": "left", "note": "Eye closes on smiling"}],
        **extra,
    }


def record_therapy(patient, actor, **kw):
    return services.encounter_record(services.THERAPY, patient=patient, actor=actor, data=therapy_data(**kw))


def surgery_data(*, started_at=None, procedures=None, follow_up_plan=None, **extra) -> dict:
    started_at = started_at or timezone.now() - timedelta(hours=3)
    return {
        "started_at": started_at,
        "ended_at": started_at + timedelta(minutes=50),
        "side": "left",
        "anaesthesia": "local",
        "procedures": procedures if procedures is not None else [{"kind": "dao_excision"}],
        "follow_up_plan": follow_up_plan
        if follow_up_plan is not None
        else [
            {"label": "1 week", "after_days": 7},
            {"label": "6 weeks", "after_days": 42},
            {"label": "3 months", "after_days": 91},
        ],
        **extra,
    }


def record_surgery(patient, actor, **kw):
    return services.encounter_record(services.SURGERY, patient=patient, actor=actor, data=surgery_data(**kw))


def record_consultation(patient, actor, **extra):
    data = {
        "occurred_at": timezone.now() - timedelta(hours=1),
        "symptoms": "Eye closes when smiling",
        "severity": "moderate",
        **extra,
    }
    return services.consultation_record(patient=patient, actor=actor, data=data)


SUNNYBROOK_NORMAL = {
    "rest_eye": "normal",
    "rest_cheek": "normal",
    "rest_mouth": "normal",
    **{
        f"voluntary_{k}": 5
        for k in ("brow_lift", "gentle_eye_closure", "open_mouth_smile", "snarl", "lip_pucker")
    },
    **{
        f"synkinesis_{k}": 0
        for k in ("brow_lift", "gentle_eye_closure", "open_mouth_smile", "snarl", "lip_pucker")
    },
}
SAQ_ITEMS = {f"saq_{n}": 3 for n in range(1, 10)}
