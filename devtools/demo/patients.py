"""Demo patients for the quick start: 60 people with varied histories and consents.

Idempotent: each demo patient has a stable key in the demo registry (clinic.demo), and the
random choices come from a fixed seed, so a second run finds everyone and creates nothing. A
patient registered through the app is never taken for a demo patient, even with the same name
and date of birth: only the registry says what the demo made.
"""

import random
from datetime import date, timedelta

from django.utils import timezone

from clinic.demo import demo_get, demo_ids, demo_mark
from patients.models import MessagingConsent, Patient
from patients.names import FEMALE_FIRST_NAMES, LAST_NAMES, MALE_FIRST_NAMES, STREETS, TOWNS, uk_mobile
from patients.services import consent_record, patient_register

COUNT = 60
SEED = 20261127

# People the demo and the documentation refer to by name.
FIXED = [
    # first, last, sex, date of birth, side, cause
    ("John", "Smith", "male", date(1968, 4, 12), "left", "bells_palsy"),  # try "jon smyth"
    ("Sarah", "O'Brien", "female", date(1985, 9, 3), "right", "ramsay_hunt"),
    ("Priya", "Patel", "female", date(1979, 1, 22), "left", "surgery"),
    ("Tomasz", "Nowak", "male", date(1990, 6, 30), "bilateral", "trauma"),
    ("Grace", "Okafor", "female", date(2001, 11, 5), "right", "congenital"),
]
CAUSE_DETAIL = {
    "surgery": ["Acoustic neuroma resection (translabyrinthine)", "Parotidectomy", "Cholesteatoma surgery"],
    "trauma": ["Temporal bone fracture, road traffic collision", "Facial laceration"],
    "congenital": ["Moebius syndrome", "Developmental facial palsy"],
    "other": ["Lyme disease", "Stroke"],
}
GPS = [
    ("Dr A. Hughes", "Park Lane Surgery"),
    ("Dr S. Rahman", "Riverside Medical Centre"),
    ("Dr L. Evans", "Church Street Practice"),
    ("Dr M. Chen", "Northfield Health Centre"),
]
REFERRERS = ["Mr D. Clarke, ENT", "Dr R. Singh, Neurology", "Ms J. Ward, Physiotherapy", "Self-referral"]
ANTICOAGULANTS = ["Apixaban 5 mg twice daily", "Warfarin (INR 2-3)", "Rivaroxaban 20 mg daily"]


def _specs() -> list[dict]:
    """Every demo patient, drawn from the fixed seed (the same list on every run)."""
    rng = random.Random(SEED)
    people = [dict(zip(("first", "last", "sex", "born", "side", "cause"), row, strict=True)) for row in FIXED]
    used = {(p["first"], p["last"]) for p in people}
    while len(people) < COUNT:
        sex = rng.choice(["female", "female", "male"])
        first = rng.choice(FEMALE_FIRST_NAMES if sex == "female" else MALE_FIRST_NAMES)
        last = rng.choice(LAST_NAMES[:120])
        if (first, last) in used:
            continue
        used.add((first, last))
        people.append(
            {
                "first": first,
                "last": last,
                "sex": sex,
                "born": date(1945, 1, 1) + timedelta(days=rng.randint(0, 365 * 60)),
                "side": rng.choice(["left", "left", "right", "right", "bilateral"]),
                "cause": rng.choice(
                    ["bells_palsy"] * 5 + ["ramsay_hunt"] * 2 + ["surgery", "trauma", "congenital"]
                ),
            }
        )
    specs = []
    for index, person in enumerate(people):
        cause = person["cause"]
        onset = person["born"] + timedelta(days=rng.randint(365 * 15, 365 * 45))
        if cause == "congenital":
            onset = person["born"]
        onset = min(onset, date(2025, 6, 1))
        gp, practice = rng.choice(GPS)
        slug = f"{person['first']}.{person['last']}".lower().replace("'", "")
        on_anticoagulants = rng.random() < 0.12
        data = {
            "first_name": person["first"],
            "last_name": person["last"],
            "date_of_birth": person["born"],
            "sex": person["sex"],
            "email": f"{slug}@example.com",
            "mobile": uk_mobile(index),
            "address_line1": f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
            "city": rng.choice(TOWNS),
            "postcode": f"{rng.choice(['LS', 'M', 'B', 'NW', 'SE', 'BS', 'CF'])}{rng.randint(1, 20)} "
            f"{rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}",
            "emergency_contact_name": f"{rng.choice(FEMALE_FIRST_NAMES + MALE_FIRST_NAMES)} {person['last']}",
            "emergency_contact_phone": uk_mobile(500 + index),
            "referring_clinician": rng.choice(REFERRERS),
            "gp_name": gp,
            "gp_practice": practice,
            "affected_side": person["side"],
            "palsy_cause": cause,
            "palsy_cause_detail": rng.choice(CAUSE_DETAIL.get(cause, [""])),
            "palsy_onset_date": onset,
            "prior_toxin": rng.random() < 0.4,
            "prior_therapy": rng.random() < 0.5,
            "prior_surgery": cause == "surgery" or rng.random() < 0.1,
            "allergies": rng.choice(["", "", "", "Penicillin", "Latex", "Chlorhexidine"]),
            "on_anticoagulants": on_anticoagulants,
            "medications": rng.choice(ANTICOAGULANTS)
            if on_anticoagulants
            else rng.choice(["", "", "Ramipril"]),
        }
        if data["prior_toxin"]:
            data["previous_treatments"] = (
                "Botox elsewhere, last dose over a year ago; wore off after about 3 months."
            )
        # Most agree to everything; a couple opted out of SMS; a few were never asked.
        roll = rng.random()
        consent = (
            "all" if roll < 0.75 else "sms_opt_out" if roll < 0.8 else "email_only" if roll < 0.9 else ""
        )
        if index == 1:
            consent = "sms_opt_out"
        specs.append({"data": data, "consent": consent})
    return specs


def demo_key(data: dict) -> str:
    slug = f"{data['first_name']}.{data['last_name']}".lower().replace("'", "")
    return f"patient:{slug}:{data['date_of_birth'].isoformat()}"


def demo_patients():
    """The demo's own patients (never one registered through the app)."""
    return Patient.objects.filter(pk__in=demo_ids(Patient, prefix="patient:"))


def unmarked_demo_data() -> bool:
    """True for a database seeded before the demo registry: its demo patients carry no key, so
    nothing can tell them from real ones. The demo then adds nothing (delete var/ to reload)."""
    if demo_ids(Patient, prefix="patient:").exists():
        return False
    first = FIXED[0]
    return Patient.objects.filter(
        first_name=first[0], last_name=first[1], date_of_birth=first[3], email="john.smith@example.com"
    ).exists()


def seed(*, staff: dict, stdout) -> None:
    if unmarked_demo_data():
        stdout.write(
            "Patients: this database was loaded by an older demo that did not mark its records; "
            "no demo records added. Delete var/ and run again for a fresh demo."
        )
        return
    desk = staff.get("frontdesk")
    created = 0
    for spec in _specs():
        data = spec["data"]
        key = demo_key(data)
        if demo_get(Patient, key) is not None:
            continue
        patient = patient_register(data=data, actor=desk, confirm_not_duplicate=True)
        demo_mark(patient, key)
        _consents(patient, spec["consent"], desk)
        created += 1
    stdout.write(f"Patients: {created} created, {Patient.objects.count()} in the register.")


def _consents(patient: Patient, kind: str, actor) -> None:
    if not kind:
        return
    given = timezone.now() - timedelta(days=90)
    channels = {
        "all": ["sms", "email"],
        "sms_opt_out": ["sms", "email"],
        "email_only": ["email"],
    }[kind]
    for channel in channels:
        for purpose in MessagingConsent.Purpose.values:
            consent_record(
                patient=patient,
                channel=channel,
                purpose=purpose,
                granted=True,
                method=MessagingConsent.Method.WRITTEN,
                actor=actor,
                recorded_at=given,
            )
    if kind == "sms_opt_out":
        for purpose in MessagingConsent.Purpose.values:
            consent_record(
                patient=patient,
                channel="sms",
                purpose=purpose,
                granted=False,
                method=MessagingConsent.Method.SMS_REPLY,
                actor=None,
                note="Replied STOP",
                recorded_at=given + timedelta(days=30),
            )
