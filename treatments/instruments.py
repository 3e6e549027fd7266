"""Grading instruments: their items, the values each item accepts, and how they are scored.

This is the one place scores are computed. An instrument is data (its items) plus a scoring
function, registered under a code; callers (the API, the forms, the patient questionnaire
links, the chart) only use ``get``, ``validate_items`` and ``compute``, so adding eFACE or FaCE
is a new ``register(Instrument(...))`` and nothing else.

Each scoring function has a ``formula_version``; the version that produced a stored score is
stored beside it, so that a corrected formula never silently changes old results.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    points: int


@dataclass(frozen=True)
class Item:
    """One raw item: either categorical (``options``) or an integer scale (``minimum``..``maximum``)."""

    key: str
    label: str
    group: str = ""
    options: tuple[Option, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    # Words for scale points, e.g. {1: "unable to initiate movement", 5: "movement complete"}.
    anchors: Mapping[int, str] = field(default_factory=dict)

    @property
    def is_categorical(self) -> bool:
        return bool(self.options)

    def error_for(self, value) -> str | None:
        """A message if ``value`` is not acceptable for this item, else None."""
        if self.is_categorical:
            allowed = [o.value for o in self.options]
            if not isinstance(value, str) or value not in allowed:
                return f"Must be one of: {', '.join(allowed)}."
            return None
        # bool is an int in Python; a checkbox value is not a scale point.
        if isinstance(value, bool) or not isinstance(value, int):
            return f"Must be a whole number from {self.minimum} to {self.maximum}."
        if not (self.minimum <= value <= self.maximum):
            return f"Must be from {self.minimum} to {self.maximum}."
        return None

    def points(self, value) -> int:
        if self.is_categorical:
            return next(o.points for o in self.options if o.value == value)
        return value

    @property
    def choices(self) -> list[tuple]:
        """(value, label) pairs for a form."""
        if self.is_categorical:
            return [(o.value, o.label) for o in self.options]
        return [
            (n, f"{n}: {self.anchors[n]}" if n in self.anchors else str(n))
            for n in range(self.minimum, self.maximum + 1)
        ]


@dataclass(frozen=True)
class Score:
    key: str
    label: str
    minimum: float
    maximum: float


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    items: tuple[Item, ...]
    scores: tuple[Score, ...]
    # Validated items -> {score key: value}.
    scorer: Callable[[Mapping], dict]
    formula_version: str
    # The score the trend chart plots, and which way is better.
    trend_score: str
    higher_is_better: bool
    # "clinician" or "patient": who fills it in.
    reported_by: str = "clinician"
    reference: str = ""

    @property
    def item_keys(self) -> list[str]:
        return [i.key for i in self.items]

    def score(self, key: str) -> Score:
        return next(s for s in self.scores if s.key == key)


class ItemsInvalid(Exception):
    """Raised with {item key: [message]} when items are missing, unknown or out of range."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(errors)


_registry: dict[str, Instrument] = {}


def register(instrument: Instrument) -> Instrument:
    _registry[instrument.code] = instrument
    return instrument


def unregister(code: str) -> None:
    _registry.pop(code, None)


def get(code: str) -> Instrument | None:
    return _registry.get(code)


def all_instruments() -> list[Instrument]:
    return list(_registry.values())


def validate_items(instrument: Instrument, items) -> dict:
    """The items, checked: every item present, none unknown, each value acceptable."""
    if not isinstance(items, Mapping):
        raise ItemsInvalid({"non_field_errors": ["Items must be an object of item key to value."]})
    errors: dict[str, list[str]] = {}
    for item in instrument.items:
        if item.key not in items or items[item.key] is None:
            errors[item.key] = ["This item is required."]
            continue
        message = item.error_for(items[item.key])
        if message:
            errors[item.key] = [message]
    known = set(instrument.item_keys)
    for key in items:
        if key not in known:
            errors[str(key)[:64]] = [f"Unknown item for {instrument.name}."]
    if errors:
        raise ItemsInvalid(errors)
    return {item.key: items[item.key] for item in instrument.items}


def compute(instrument: Instrument, items: Mapping) -> dict:
    """Scores of already validated items."""
    return instrument.scorer(items)


def _group_points(definitions: tuple[Item, ...], items: Mapping, group: str) -> int:
    return sum(item.points(items[item.key]) for item in definitions if item.group == group)


# --- Sunnybrook Facial Grading System (Ross, Fradet, Nedzelski 1996) ---------------------------

EXPRESSIONS = [
    ("brow_lift", "Forehead wrinkle (brow lift)"),
    ("gentle_eye_closure", "Gentle eye closure"),
    ("open_mouth_smile", "Open mouth smile"),
    ("snarl", "Snarl"),
    ("lip_pucker", "Lip pucker"),
]

VOLUNTARY_ANCHORS = {
    1: "unable to initiate movement",
    2: "initiates slight movement",
    3: "initiated movement with mild excursion",
    4: "movement almost complete",
    5: "movement complete",
}
SYNKINESIS_ANCHORS = {0: "none", 1: "mild", 2: "moderate", 3: "severe"}

SUNNYBROOK_ITEMS = (
    Item(
        "rest_eye",
        "Eye (palpebral fissure)",
        group="resting",
        options=(
            Option("normal", "Normal", 0),
            Option("narrow", "Narrow", 1),
            Option("wide", "Wide", 1),
            Option("eyelid_surgery", "Eyelid surgery", 1),
        ),
    ),
    Item(
        "rest_cheek",
        "Cheek (nasolabial fold)",
        group="resting",
        options=(
            Option("normal", "Normal", 0),
            Option("absent", "Absent", 2),
            Option("less_pronounced", "Less pronounced", 1),
            Option("more_pronounced", "More pronounced", 1),
        ),
    ),
    Item(
        "rest_mouth",
        "Mouth",
        group="resting",
        options=(
            Option("normal", "Normal", 0),
            Option("corner_drooped", "Corner drooped", 1),
            Option("corner_pulled_up_out", "Corner pulled up / out", 1),
        ),
    ),
    *(
        Item(f"voluntary_{key}", label, group="voluntary", minimum=1, maximum=5, anchors=VOLUNTARY_ANCHORS)
        for key, label in EXPRESSIONS
    ),
    *(
        Item(f"synkinesis_{key}", label, group="synkinesis", minimum=0, maximum=3, anchors=SYNKINESIS_ANCHORS)
        for key, label in EXPRESSIONS
    ),
)


def _score_sunnybrook(items: Mapping) -> dict:
    resting = _group_points(SUNNYBROOK_ITEMS, items, "resting") * 5
    voluntary = _group_points(SUNNYBROOK_ITEMS, items, "voluntary") * 4
    synkinesis = _group_points(SUNNYBROOK_ITEMS, items, "synkinesis")
    return {
        "resting_symmetry": resting,
        "voluntary_movement": voluntary,
        "synkinesis": synkinesis,
        # Not clamped: the arithmetic range is -15 to 100, and the raw value is what is reported.
        "composite": voluntary - resting - synkinesis,
    }


SUNNYBROOK = register(
    Instrument(
        code="sunnybrook",
        name="Sunnybrook Facial Grading System",
        items=SUNNYBROOK_ITEMS,
        scores=(
            Score("resting_symmetry", "Resting symmetry", 0, 20),
            Score("voluntary_movement", "Voluntary movement", 20, 100),
            Score("synkinesis", "Synkinesis", 0, 15),
            Score("composite", "Composite", -15, 100),
        ),
        scorer=_score_sunnybrook,
        formula_version="sunnybrook-1996.1",
        trend_score="composite",
        higher_is_better=True,
        reference="Ross, Fradet, Nedzelski. Otolaryngol Head Neck Surg 1996;114:380-6.",
    )
)


# --- House-Brackmann ---------------------------------------------------------------------------

HOUSE_BRACKMANN_GRADES = {
    1: "I, normal",
    2: "II, mild dysfunction",
    3: "III, moderate dysfunction",
    4: "IV, moderately severe dysfunction",
    5: "V, severe dysfunction",
    6: "VI, total paralysis",
}

HOUSE_BRACKMANN = register(
    Instrument(
        code="house_brackmann",
        name="House-Brackmann",
        items=(Item("grade", "Grade", minimum=1, maximum=6, anchors=HOUSE_BRACKMANN_GRADES),),
        scores=(Score("grade", "Grade", 1, 6),),
        scorer=lambda items: {"grade": items["grade"]},
        formula_version="house-brackmann-1985.1",
        trend_score="grade",
        higher_is_better=False,
        reference="House, Brackmann. Otolaryngol Head Neck Surg 1985;93:146-7.",
    )
)


# --- Synkinesis Assessment Questionnaire (Mehta 2007) ------------------------------------------

SAQ_QUESTIONS = [
    "When I smile, my eye closes",
    "When I speak, my eye closes",
    "When I whistle or pucker my lips, my eye closes",
    "When I smile, my neck tightens",
    "When I close my eyes, my face gets tight",
    "When I close my eyes, the corner of my mouth moves",
    "When I close my eyes, my neck tightens",
    "When I eat, my eye waters",
    "When I move my face, my chin develops a dimpled area",
]
SAQ_ANCHORS = {
    1: "seldom or not at all",
    2: "occasionally",
    3: "sometimes",
    4: "most of the time",
    5: "all the time",
}


def _score_saq(items: Mapping) -> dict:
    total = sum(items[f"saq_{n}"] for n in range(1, 10))
    # One decimal: the scale moves in steps of 2.2, and ~13 points is the smallest real change.
    score = (Decimal(total) * 100 / 45).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return {"total": float(score)}


SAQ = register(
    Instrument(
        code="saq",
        name="Synkinesis Assessment Questionnaire (SAQ)",
        items=tuple(
            Item(f"saq_{n}", text, minimum=1, maximum=5, anchors=SAQ_ANCHORS)
            for n, text in enumerate(SAQ_QUESTIONS, start=1)
        ),
        scores=(Score("total", "Total", 20, 100),),
        scorer=_score_saq,
        formula_version="saq-2007.1",
        trend_score="total",
        higher_is_better=False,
        reported_by="patient",
        reference="Mehta, WernickRobinson, Hadlock. Laryngoscope 2007;117:923-6.",
    )
)
