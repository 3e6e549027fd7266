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


def _one_decimal(value) -> float:
    return float(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# --- eFACE (Banks, Bhama, Park, Hadlock, Hadlock 2015) -----------------------------------------
#
# Fifteen clinician-graded items on visual analogue scales, entered as whole numbers. Static
# items are graded 0-200 with 100 meaning symmetric with the normal side (below 100: lower,
# narrower or flatter; above 100: higher, wider or deeper, i.e. hypertonic), and count
# 100 - |value - 100| towards the scores. Dynamic items are 0 (no movement) to 100 (normal);
# synkinesis items are 0 (severe, disfiguring) to 100 (none). docs/instruments.md has the
# formulas and the reading of the published weighting.

EFACE_STATIC = [
    ("brow", "Brow at rest"),
    ("palpebral_fissure", "Palpebral fissure at rest"),
    ("nasolabial_fold", "Nasolabial fold depth at rest"),
    ("oral_commissure", "Oral commissure at rest"),
]
EFACE_DYNAMIC = [
    ("brow_elevation", "Brow elevation"),
    ("gentle_eye_closure", "Gentle eye closure"),
    ("full_eye_closure", "Full eye closure"),
    ("oral_commissure_smile", "Oral commissure movement with smile"),
    ("nasolabial_fold_depth_smile", "Nasolabial fold depth with smile"),
    ("nasolabial_fold_orientation_smile", "Nasolabial fold orientation with smile"),
    ("lower_lip", "Lower lip movement (saying 'eee')"),
]
EFACE_SYNKINESIS = [
    ("ocular", "Ocular synkinesis"),
    ("midfacial", "Midfacial synkinesis"),
    ("mentalis", "Mentalis synkinesis"),
    ("platysmal", "Platysmal synkinesis"),
]
EFACE_STATIC_ANCHORS = {
    0: "much lower / narrower / flatter",
    100: "normal",
    200: "much higher / wider / deeper",
}
EFACE_DYNAMIC_ANCHORS = {0: "no movement", 100: "normal"}
EFACE_SYNKINESIS_ANCHORS = {0: "severe, disfiguring", 100: "none"}

EFACE_ITEMS = (
    *(
        Item(f"static_{key}", label, group="static", minimum=0, maximum=200, anchors=EFACE_STATIC_ANCHORS)
        for key, label in EFACE_STATIC
    ),
    *(
        Item(f"dynamic_{key}", label, group="dynamic", minimum=0, maximum=100, anchors=EFACE_DYNAMIC_ANCHORS)
        for key, label in EFACE_DYNAMIC
    ),
    *(
        Item(
            f"synkinesis_{key}",
            label,
            group="synkinesis",
            minimum=0,
            maximum=100,
            anchors=EFACE_SYNKINESIS_ANCHORS,
        )
        for key, label in EFACE_SYNKINESIS
    ),
)


def eface_item_points(item: Item, value: int) -> int:
    """An item's contribution: static deviations count the same whichever way they go."""
    if item.group == "static":
        return 100 - abs(value - 100)
    return value


def _score_eface(items: Mapping) -> dict:
    groups: dict[str, list[int]] = {"static": [], "dynamic": [], "synkinesis": []}
    for item in EFACE_ITEMS:
        groups[item.group].append(eface_item_points(item, items[item.key]))
    static, dynamic, synkinesis = (Decimal(sum(groups[g])) / len(groups[g]) for g in groups)
    # Dynamic items weigh twice as much as static and synkinesis items (Banks 2015).
    weighted = Decimal(sum(groups["static"]) + 2 * sum(groups["dynamic"]) + sum(groups["synkinesis"]))
    weights = len(groups["static"]) + 2 * len(groups["dynamic"]) + len(groups["synkinesis"])
    return {
        "static": _one_decimal(static),
        "dynamic": _one_decimal(dynamic),
        "synkinesis": _one_decimal(synkinesis),
        "total": _one_decimal(weighted / weights),
    }


EFACE = register(
    Instrument(
        code="eface",
        name="eFACE",
        items=EFACE_ITEMS,
        scores=(
            Score("static", "Static", 0, 100),
            Score("dynamic", "Dynamic", 0, 100),
            Score("synkinesis", "Synkinesis", 0, 100),
            Score("total", "Total", 0, 100),
        ),
        scorer=_score_eface,
        formula_version="eface-2015.1",
        trend_score="total",
        higher_is_better=True,
        reference="Banks, Bhama, Park, Hadlock, Hadlock. Plast Reconstr Surg 2015;136:223e-230e.",
    )
)


# --- FaCE scale (Kahn, Gliklich, Boyev, Stewart, Metson, McKenna 2001) -------------------------
#
# Fifteen items, each answered on five points, grouped in six domains. The question wording is
# the authors'; the clinic loads it (InstrumentItemWording), and the item ids here name the
# domain and the item's place in it. Each answer is stored as its function level: 1 the
# lowest function the item describes, 5 the highest, whichever way the printed form orders the
# answers (an item the form prints with the best answer first is stored reversed when answered,
# by the wording the clinic loads, never in the formula). Domain = ((mean - 1) / 4) x 100; total
# = the same over all fifteen items.

FACE_DOMAINS = [
    ("movement", "Facial movement", 3),
    ("comfort", "Facial comfort", 3),
    ("oral", "Oral function", 2),
    ("eye", "Eye comfort", 2),
    ("lacrimal", "Lacrimal control", 1),
    ("social", "Social function", 4),
]
FACE_ANCHORS = {1: "lowest function", 5: "highest function"}

FACE_ITEMS = tuple(
    Item(
        f"face_{domain}_{n}",
        f"{label}, question {n}",
        group=domain,
        minimum=1,
        maximum=5,
        anchors=FACE_ANCHORS,
    )
    for domain, label, count in FACE_DOMAINS
    for n in range(1, count + 1)
)


def _face_percent(values: list[int]) -> float:
    # ((mean - 1) / 4) x 100, written as (sum - n) x 25 / n to stay exact until rounding.
    return _one_decimal(Decimal(sum(values) - len(values)) * 25 / len(values))


def _score_face(items: Mapping) -> dict:
    scores = {
        domain: _face_percent([items[i.key] for i in FACE_ITEMS if i.group == domain])
        for domain, _label, _count in FACE_DOMAINS
    }
    scores["total"] = _face_percent([items[i.key] for i in FACE_ITEMS])
    return scores


FACE = register(
    Instrument(
        code="face",
        name="Facial Clinimetric Evaluation (FaCE) scale",
        items=FACE_ITEMS,
        scores=(
            *(Score(domain, label, 0, 100) for domain, label, _count in FACE_DOMAINS),
            Score("total", "Total", 0, 100),
        ),
        scorer=_score_face,
        formula_version="face-2001.1",
        trend_score="total",
        higher_is_better=True,
        reported_by="patient",
        reference="Kahn, Gliklich, Boyev, Stewart, Metson, McKenna. Laryngoscope 2001;111:387-98.",
    )
)


# --- Facial Disability Index (VanSwearingen, Brach 1996) ---------------------------------------
#
# Physical function: five items, each answered as how much difficulty the task gave over the
# past month (5 none ... 2 much; 1 not done because of health; 0 not done for other reasons) or
# not applicable. Social / well-being: five items on how much of the time (six answers); item 6
# is worded positively, items 7-10 negatively, so "none of the time" is 1 point on item 6 and
# 6 points on the others. Physical = (sum - N) / N x 25 and social = (sum - N) / N x 20, N the
# items that count (an item not done for other reasons, or not applicable, counts in neither).

FDI_PHYSICAL = [
    ("fdi_1", "Keeping food in the mouth and moving it around while eating"),
    ("fdi_2", "Drinking from a cup"),
    ("fdi_3", "Saying specific sounds when speaking"),
    ("fdi_4", "The eye tearing too much or becoming dry"),
    ("fdi_5", "Brushing teeth or rinsing the mouth"),
]
FDI_SOCIAL = [
    ("fdi_6", "Felt calm and peaceful", True),
    ("fdi_7", "Kept away from people around you", False),
    ("fdi_8", "Got irritable with people around you", False),
    ("fdi_9", "Woke early or several times at night", False),
    ("fdi_10", "Facial function kept you from eating out, shopping or family or social activities", False),
]
# Answers that do not count towards the physical score (neither in the sum nor in N).
FDI_NOT_COUNTED = frozenset({"not_done_other", "not_applicable"})
FDI_PHYSICAL_OPTIONS = (
    Option("no_difficulty", "No difficulty", 5),
    Option("a_little_difficulty", "A little difficulty", 4),
    Option("some_difficulty", "Some difficulty", 3),
    Option("much_difficulty", "Much difficulty", 2),
    Option("not_done_health", "Did not do it, because of my health", 1),
    Option("not_done_other", "Did not do it, for other reasons", 0),
    Option("not_applicable", "Does not apply to me", 0),
)
FDI_TIME = [
    ("all_of_the_time", "All of the time"),
    ("most_of_the_time", "Most of the time"),
    ("a_good_bit_of_the_time", "A good bit of the time"),
    ("some_of_the_time", "Some of the time"),
    ("a_little_of_the_time", "A little of the time"),
    ("none_of_the_time", "None of the time"),
]


def _fdi_time_options(positive: bool) -> tuple[Option, ...]:
    # Positive wording: all of the time is best (6). Negative wording: none of the time is best.
    return tuple(
        Option(value, label, 6 - n if positive else n + 1) for n, (value, label) in enumerate(FDI_TIME)
    )


FDI_ITEMS = (
    *(Item(key, label, group="physical", options=FDI_PHYSICAL_OPTIONS) for key, label in FDI_PHYSICAL),
    *(
        Item(key, label, group="social", options=_fdi_time_options(positive))
        for key, label, positive in FDI_SOCIAL
    ),
)


def _score_fdi(items: Mapping) -> dict:
    physical = [
        i.points(items[i.key])
        for i in FDI_ITEMS
        if i.group == "physical" and items[i.key] not in FDI_NOT_COUNTED
    ]
    social = [i.points(items[i.key]) for i in FDI_ITEMS if i.group == "social"]
    return {
        # None when no physical item applies: a score out of nothing is not zero.
        "physical": _one_decimal(Decimal(sum(physical) - len(physical)) * 25 / len(physical))
        if physical
        else None,
        "social_wellbeing": _one_decimal(Decimal(sum(social) - len(social)) * 20 / len(social)),
    }


FDI = register(
    Instrument(
        code="fdi",
        name="Facial Disability Index",
        items=FDI_ITEMS,
        scores=(
            Score("physical", "Physical function", 0, 100),
            Score("social_wellbeing", "Social / well-being", 0, 100),
        ),
        scorer=_score_fdi,
        formula_version="fdi-1996.1",
        trend_score="social_wellbeing",
        higher_is_better=True,
        reported_by="patient",
        reference="VanSwearingen, Brach. Phys Ther 1996;76:1288-98.",
    )
)
