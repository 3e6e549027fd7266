"""Demo photo sets: schematic faces drawn with Pillow (no real face, no photograph of anyone),
for the demo's own patients only, so that a new user sees comparisons at once.

Each drawn face shows the expression of its view, weaker on the affected side by the patient's
severity, which improves from one set to the next (and after a surgery). Every set is
registered in the demo registry (clinic.demo) under its own key and is made once."""

import io
import random
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from clinic.demo import demo_has, demo_mark
from devtools.demo.patients import demo_patients
from photos import services
from photos.models import STANDARD_VIEWS, View
from treatments.models import Encounter

SIZE = (480, 640)
SKIN = (224, 189, 160)
INK = (70, 45, 35)
# How many demo patients get photographs (the first ones with clinical records).
PATIENTS = 6


def draw_face(view: str, *, weak: float, affected: str, label: str = "") -> bytes:
    """A JPEG of a schematic face making ``view``'s expression; ``weak`` (0-1) is how little the
    affected side moves."""
    w, h = SIZE
    image = Image.new("RGB", SIZE, (236, 240, 244))
    d = ImageDraw.Draw(image)
    cx, cy = w // 2, h // 2 - 20
    d.ellipse((cx - 150, cy - 200, cx + 150, cy + 210), fill=SKIN, outline=INK, width=3)
    # Patient's left is the viewer's right.
    sides = {"right": -1, "left": 1}
    move = {s: (1.0 - weak) if s == affected else 1.0 for s in sides}

    for side, sign in sides.items():
        m = move[side]
        ex = cx + sign * 65
        brow_lift = 30 * m if view == View.BROW_RAISE else 0
        droop = 0 if side != affected else 14 * weak
        d.line(
            (ex - 40, cy - 80 - brow_lift + droop, ex + 40, cy - 85 - brow_lift + droop), fill=INK, width=7
        )
        if view in (View.GENTLE_EYE_CLOSURE, View.TIGHT_EYE_CLOSURE):
            gap = 14 * weak if side == affected else 0  # incomplete closure on the weak side
            width = 5 if view == View.GENTLE_EYE_CLOSURE else 9
            if gap > 2:
                d.ellipse(
                    (ex - 30, cy - 30 - gap / 2, ex + 30, cy - 30 + gap / 2),
                    fill="white",
                    outline=INK,
                    width=2,
                )
            d.line((ex - 32, cy - 30, ex + 32, cy - 30), fill=INK, width=width)
        else:
            d.ellipse((ex - 30, cy - 48, ex + 30, cy - 12 + droop / 2), fill="white", outline=INK, width=3)
            d.ellipse((ex - 10, cy - 40, ex + 10, cy - 20), fill=INK)
    # Nose.
    d.line((cx, cy - 20, cx - 12, cy + 45, cx + 12, cy + 45), fill=INK, width=3)
    if view == View.SNARL:
        for side, sign in sides.items():
            for k in range(int(3 * move[side]) + 1):
                d.arc(
                    (cx + sign * 25 - 15, cy + 5 + k * 10, cx + sign * 25 + 15, cy + 25 + k * 10),
                    200,
                    340,
                    fill=INK,
                    width=2,
                )
    # Mouth.
    my = cy + 110
    left_corner = (
        my - (40 * move["left"] if view == View.SMILE else 0) + (12 * weak if affected == "left" else 0)
    )
    right_corner = (
        my - (40 * move["right"] if view == View.SMILE else 0) + (12 * weak if affected == "right" else 0)
    )
    if view == View.LIP_PUCKER:
        r = 22 + 10 * weak
        d.ellipse((cx - r, my - 18, cx + r, my + 18), outline=(150, 60, 60), width=8)
    elif view in (View.SMILE, View.LOWER_TEETH):
        top = my - 10
        bottom = my + (45 if view == View.LOWER_TEETH else 30)
        d.polygon(
            [(cx - 75, right_corner), (cx, top), (cx + 75, left_corner), (cx, bottom)],
            fill=(120, 40, 40),
            outline=INK,
        )
        teeth_y = bottom - 14 if view == View.LOWER_TEETH else top + 2
        d.rectangle((cx - 40, teeth_y, cx + 40, teeth_y + 12), fill="white")
    else:
        d.line((cx - 70, right_corner, cx, my + 4, cx + 70, left_corner), fill=(150, 60, 60), width=6)
    d.rectangle((0, h - 44, w, h), fill=(40, 60, 90))
    d.text((12, h - 34), f"DEMO drawing - {View(view).label}{(' - ' + label) if label else ''}", fill="white")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _moments(patient) -> list[tuple]:
    """When the demo photographs a patient: the first consultation, around a surgery (before and
    some weeks after) and the latest toxin session, with the encounter of each."""
    encounters = list(
        Encounter.objects.filter(
            patient=patient,
            kind__in=[Encounter.Kind.CONSULTATION, Encounter.Kind.TOXIN, Encounter.Kind.SURGERY],
        ).order_by("occurred_at")
    )
    moments = []
    first = next((e for e in encounters if e.kind == Encounter.Kind.CONSULTATION), None)
    if first:
        moments.append((first.occurred_at, first))
    surgery = next((e for e in encounters if e.kind == Encounter.Kind.SURGERY), None)
    if surgery:
        moments.append((surgery.occurred_at - timedelta(days=7), None))
        after = surgery.occurred_at + timedelta(days=60)
        if after < timezone.now():
            moments.append((after, None))
    toxins = [e for e in encounters if e.kind == Encounter.Kind.TOXIN]
    if toxins:
        moments.append((toxins[-1].occurred_at, toxins[-1]))
    moments.sort(key=lambda m: m[0])
    return moments[:4]


def seed(*, staff: dict, stdout) -> None:
    surgeon = staff.get("surgeon")
    if surgeon is None:
        return
    patients = [
        p
        for p in demo_patients().order_by("pk")
        if Encounter.objects.filter(patient=p, kind=Encounter.Kind.CONSULTATION).exists()
    ][:PATIENTS]
    made = 0
    for patient in patients:
        rng = random.Random(f"photos-demo:{patient.mrn}")
        affected = patient.affected_side if patient.affected_side in ("left", "right") else "left"
        weak = rng.uniform(0.45, 0.8)
        moments = _moments(patient)
        for index, (taken_at, encounter) in enumerate(moments):
            key = f"photos:set:{patient.mrn}:{index}"
            if demo_has(key):
                continue
            photo_set = services.photo_set_create(
                patient=patient, actor=surgeon, taken_at=taken_at, encounter=encounter, note="Demo drawings"
            )
            demo_mark(photo_set, key)
            strength = max(0.05, weak - 0.15 * index)
            for view in STANDARD_VIEWS:
                data = draw_face(view, weak=strength, affected=affected, label=taken_at.strftime("%d %b %Y"))
                item = services.media_upload(
                    photo_set=photo_set,
                    actor=surgeon,
                    upload=SimpleUploadedFile(f"{view}.jpg", data, "image/jpeg"),
                    view=view,
                    enqueue=False,
                )
                services.media_process(item_id=item.pk)
            made += 1
        if moments and not demo_has(f"photos:consent:{patient.mrn}"):
            consent = services.photo_consent_record(
                patient=patient,
                actor=surgeon,
                level=rng.choice(["clinical", "teaching_no_face", "teaching_with_face"]),
                given_on=timezone.localdate(moments[0][0]),
            )
            demo_mark(consent, f"photos:consent:{patient.mrn}")
    stdout.write(f"photos: {made} demo photo sets of drawn faces.")
