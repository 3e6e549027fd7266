"""Scoring formulas on worked examples and validation of every item (docs/domain.md)."""

import pytest

from treatments import instruments
from treatments.instruments import ItemsInvalid

from .factories import SAQ_ITEMS, SUNNYBROOK_NORMAL

EXPRESSIONS = ("brow_lift", "gentle_eye_closure", "open_mouth_smile", "snarl", "lip_pucker")


def sunnybrook(**changes):
    items = {**SUNNYBROOK_NORMAL, **changes}
    definition = instruments.get("sunnybrook")
    return instruments.compute(definition, instruments.validate_items(definition, items))


def test_sunnybrook_normal_face_scores_100():
    assert sunnybrook() == {
        "resting_symmetry": 0,
        "voluntary_movement": 100,
        "synkinesis": 0,
        "composite": 100,
    }


def test_sunnybrook_worst_face_scores_minus_15_unclamped():
    worst = {
        "rest_eye": "narrow",
        "rest_cheek": "absent",
        "rest_mouth": "corner_drooped",
        **{f"voluntary_{e}": 1 for e in EXPRESSIONS},
        **{f"synkinesis_{e}": 3 for e in EXPRESSIONS},
    }
    assert sunnybrook(**worst) == {
        "resting_symmetry": 20,
        "voluntary_movement": 20,
        "synkinesis": 15,
        "composite": -15,
    }


def test_sunnybrook_worked_example():
    scores = sunnybrook(
        rest_eye="normal",
        rest_cheek="less_pronounced",
        rest_mouth="corner_drooped",
        voluntary_brow_lift=3,
        voluntary_gentle_eye_closure=4,
        voluntary_open_mouth_smile=2,
        voluntary_snarl=3,
        voluntary_lip_pucker=4,
        synkinesis_brow_lift=1,
        synkinesis_gentle_eye_closure=2,
        synkinesis_open_mouth_smile=2,
        synkinesis_snarl=1,
        synkinesis_lip_pucker=0,
    )
    # Resting (0 + 1 + 1) x 5 = 10; voluntary 16 x 4 = 64; synkinesis 6; composite 64 - 10 - 6.
    assert scores == {"resting_symmetry": 10, "voluntary_movement": 64, "synkinesis": 6, "composite": 48}


@pytest.mark.parametrize(
    ("item", "value", "points"),
    [
        ("rest_eye", "narrow", 1),
        ("rest_eye", "wide", 1),
        ("rest_eye", "eyelid_surgery", 1),
        ("rest_cheek", "absent", 2),
        ("rest_cheek", "less_pronounced", 1),
        ("rest_cheek", "more_pronounced", 1),
        ("rest_mouth", "corner_drooped", 1),
        ("rest_mouth", "corner_pulled_up_out", 1),
    ],
)
def test_sunnybrook_resting_weights(item, value, points):
    assert sunnybrook(**{item: value})["resting_symmetry"] == points * 5


def test_house_brackmann_score_is_the_grade():
    definition = instruments.get("house_brackmann")
    assert instruments.compute(definition, instruments.validate_items(definition, {"grade": 4})) == {
        "grade": 4
    }


@pytest.mark.parametrize(
    ("answers", "total"),
    [
        ([1] * 9, 20.0),
        ([5] * 9, 100.0),
        ([3] * 9, 60.0),
        ([2, 2, 2, 2, 3, 3, 2, 2, 2], 44.4),  # 20 / 45 x 100 = 44.44...
        ([2, 2, 2, 2, 3, 3, 3, 2, 2], 46.7),  # 21 / 45 x 100 = 46.66...
    ],
)
def test_saq_total_is_sum_over_45_times_100(answers, total):
    definition = instruments.get("saq")
    items = {f"saq_{n}": v for n, v in enumerate(answers, start=1)}
    assert instruments.compute(definition, instruments.validate_items(definition, items)) == {"total": total}


def _errors(code, items):
    with pytest.raises(ItemsInvalid) as excinfo:
        instruments.validate_items(instruments.get(code), items)
    return excinfo.value.errors


@pytest.mark.parametrize("key", list(SUNNYBROOK_NORMAL))
def test_every_sunnybrook_item_is_required(key):
    items = {k: v for k, v in SUNNYBROOK_NORMAL.items() if k != key}
    assert list(_errors("sunnybrook", items)) == [key]


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        *[(k, v) for k in ("rest_eye", "rest_cheek", "rest_mouth") for v in ("closed", 1, "", None)],
        *[(f"voluntary_{e}", v) for e in EXPRESSIONS for v in (0, 6, 2.5, "3", True)],
        *[(f"synkinesis_{e}", v) for e in EXPRESSIONS for v in (-1, 4, "1", False)],
    ],
)
def test_every_sunnybrook_item_refuses_values_out_of_its_range(key, bad):
    assert key in _errors("sunnybrook", {**SUNNYBROOK_NORMAL, key: bad})


def test_unknown_item_is_named():
    assert _errors("sunnybrook", {**SUNNYBROOK_NORMAL, "rest_nose": "normal"}) == {
        "rest_nose": ["Unknown item for Sunnybrook Facial Grading System."]
    }


@pytest.mark.parametrize("bad", [0, 7, "II", 2.0])
def test_house_brackmann_grade_is_1_to_6(bad):
    assert "grade" in _errors("house_brackmann", {"grade": bad})


@pytest.mark.parametrize("n", range(1, 10))
@pytest.mark.parametrize("bad", [0, 6, None])
def test_every_saq_item_is_1_to_5(n, bad):
    assert f"saq_{n}" in _errors("saq", {**SAQ_ITEMS, f"saq_{n}": bad})


def test_items_must_be_an_object():
    assert "non_field_errors" in _errors("saq", [1, 2, 3])


def test_each_instrument_declares_a_formula_version():
    assert {i.code: i.formula_version for i in instruments.all_instruments()} == {
        "sunnybrook": "sunnybrook-1996.1",
        "house_brackmann": "house-brackmann-1985.1",
        "saq": "saq-2007.1",
        "eface": "eface-2015.1",
        "face": "face-2001.1",
        "fdi": "fdi-1996.1",
    }
