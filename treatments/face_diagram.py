"""The face diagram of the injection map: a front view drawn in SVG, one clickable region per
muscle of ``Muscle`` and per side (docs/treatments.md, "Face diagram").

Coordinates: the drawing is WIDTH x HEIGHT user units; a point is stored normalised (x / WIDTH,
y / HEIGHT, each 0..1). Front view as clinical photographs are taken: the patient's right is on
the viewer's left (x < 0.5), the midline is x = 0.5. Each region is drawn once, for the patient's
right (the viewer's left half); the patient's left is its mirror image.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .models import Injection, Muscle, Side

WIDTH = 400
HEIGHT = 520
MIDLINE = WIDTH // 2


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> str:
    return f"M{cx - rx} {cy} a{rx} {ry} 0 1 0 {2 * rx} 0 a{rx} {ry} 0 1 0 {-2 * rx} 0 Z"


@dataclass(frozen=True)
class Region:
    muscle: str
    path: str
    # An optional SVG transform (e.g. a rotation) of the shape, inside the side's mirror.
    transform: str = ""

    @property
    def label(self) -> str:
        return str(Muscle(self.muscle).label)


# Drawn bottom to top: the later regions lie over the earlier ones where they touch.
REGIONS: tuple[Region, ...] = (
    Region(Muscle.PLATYSMA, "M112 418 C140 448 170 458 200 462 L200 520 L96 520 C98 480 104 446 112 418 Z"),
    Region(Muscle.FRONTALIS, "M200 62 C150 60 104 80 82 128 L90 138 C116 126 156 122 200 124 Z"),
    Region(Muscle.BUCCINATOR, _ellipse(108, 350, 22, 28)),
    Region(Muscle.ORBICULARIS_OCULI_ORBITAL, _ellipse(140, 196, 56, 40) + " " + _ellipse(140, 196, 36, 20)),
    Region(Muscle.ORBICULARIS_OCULI_PRETARSAL, _ellipse(140, 196, 34, 14)),
    Region(Muscle.CORRUGATOR, _ellipse(170, 146, 24, 7), "rotate(-12 170 146)"),
    Region(Muscle.PROCERUS, "M186 140 L200 140 L200 200 L190 200 Z"),
    Region(Muscle.NASALIS, _ellipse(186, 256, 9, 22)),
    Region(Muscle.LEVATOR_LABII_SUPERIORIS, _ellipse(166, 280, 9, 32), "rotate(-14 166 280)"),
    Region(Muscle.ZYGOMATICUS_MINOR, _ellipse(143, 282, 9, 36), "rotate(-26 143 282)"),
    Region(Muscle.ZYGOMATICUS_MAJOR, _ellipse(120, 294, 10, 50), "rotate(-36 120 294)"),
    Region(Muscle.RISORIUS, _ellipse(124, 354, 26, 6)),
    Region(Muscle.ORBICULARIS_ORIS, "M200 318 A46 28 0 0 0 200 374 L200 356 A28 10 0 0 1 200 336 Z"),
    Region(Muscle.DEPRESSOR_ANGULI_ORIS, "M154 362 L124 418 L160 428 Z"),
    Region(Muscle.DEPRESSOR_LABII_INFERIORIS, "M166 378 L186 380 L184 432 L164 428 Z"),
    Region(Muscle.MENTALIS, "M189 382 L200 382 L200 448 L186 440 Z"),
)

# The side of each drawn half: the patient's right untransformed (viewer's left), the left mirrored.
SIDES: tuple[tuple[str, str], ...] = (
    (Side.RIGHT, ""),
    (Side.LEFT, f"matrix(-1 0 0 1 {WIDTH} 0)"),
)


@dataclass(frozen=True)
class Marker:
    muscle: str
    side: str
    units: Decimal
    points: int
    cx: float
    cy: float
    text: str
    label: str


def markers(injections: Iterable[Injection]) -> list[Marker]:
    """The marked rows of a map as points in the drawing's units (unmarked rows have none)."""
    out = []
    for row in injections:
        if row.diagram_x is None or row.diagram_y is None:
            continue
        # As the form's points say it: "2.5 U", and "x 2" (a multiplication sign) for two points.
        text = f"{row.units.normalize():f} U" + (f" \u00d7{row.points}" if row.points > 1 else "")
        out.append(
            Marker(
                muscle=row.muscle,
                side=row.side,
                units=row.units,
                points=row.points,
                cx=round(float(row.diagram_x) * WIDTH, 1),
                cy=round(float(row.diagram_y) * HEIGHT, 1),
                text=text,
                label=f"{Muscle(row.muscle).label} ({row.side}): {text}",
            )
        )
    return out


def context(
    injections: Iterable[Injection] = (), *, affected_side: str = "", editable: bool = False
) -> dict[str, object]:
    """What ``treatments/_face_diagram.html`` draws."""
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "midline": MIDLINE,
        "regions": REGIONS,
        "sides": SIDES,
        "markers": markers(injections),
        "affected_side": affected_side,
        "editable": editable,
    }
