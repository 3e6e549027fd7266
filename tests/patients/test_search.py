"""Finding a patient from one box: each key, typo tolerance, ranking, and the index it uses."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.models import Patient
from patients.search import parse_query
from patients.selectors import patient_search
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="typo-tolerant search needs PostgreSQL (pg_trgm)"
)


def _names(query, **kw):
    return [f"{p.first_name} {p.last_name}" for p in patient_search(query=query, **kw)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FN00000018", {"mrn": "FN00000018"}),
        ("fn 0000 0018", {"mrn": "FN00000018"}),
        ("31/12/1970", {"dates": (date(1970, 12, 31),)}),
        ("1970-12-31", {"dates": (date(1970, 12, 31),)}),
        ("07700 100123", {"phone": "+447700100123"}),
        ("+44 (0)7700-100-123", {"phone": "+447700100123"}),
        ("Ada.Lovelace@Example.com", {"email": "ada.lovelace@example.com"}),
        ("Smith, John", {"names": ("smith", "john")}),
        ("smith 31.12.1970", {"names": ("smith",), "dates": (date(1970, 12, 31),)}),
        ("O'Brien", {"names": ("o'brien",)}),
    ],
)
def test_parse_query_reads_each_key(text, expected):
    parsed = parse_query(text)
    for key, value in expected.items():
        assert getattr(parsed, key) == value


@pytest.mark.parametrize("text", ["", "   ", "a", "12", "\x00\x01", "31/02/1970x"])
def test_parse_query_finds_nothing_to_search_for(text):
    assert parse_query(text).is_empty or parse_query(text).ignored


def test_search_by_part_of_a_name():
    PatientFactory(first_name="Margaret", last_name="Thompson")
    PatientFactory(first_name="Peter", last_name="Jones")
    assert _names("thomps") == ["Margaret Thompson"]


def test_search_by_mrn():
    patient = PatientFactory(mrn="FN00000018")
    PatientFactory()
    assert list(patient_search(query="fn00000018")) == [patient]


@pytest.mark.parametrize("typed", ["12/03/1970", "1970-03-12"])
def test_search_by_date_of_birth_in_either_format(typed):
    patient = PatientFactory(date_of_birth=date(1970, 3, 12))
    PatientFactory(date_of_birth=date(1970, 3, 13))
    assert list(patient_search(query=typed)) == [patient]


@pytest.mark.parametrize("typed", ["07700 100123", "+447700100123", "(07700) 100-123", "+44 7700 100 123"])
def test_search_by_phone_in_any_format(typed):
    patient = PatientFactory(mobile="+447700100123")
    PatientFactory(mobile="+447700100124")
    assert list(patient_search(query=typed)) == [patient]


def test_search_by_email_ignores_case():
    patient = PatientFactory(email="ada.lovelace@example.com")
    PatientFactory(email="charles.babbage@example.com")
    assert list(patient_search(query="Ada.Lovelace@EXAMPLE.com")) == [patient]


def test_search_by_name_and_date_of_birth_narrows_to_both():
    wanted = PatientFactory(first_name="Anne", last_name="Smith", date_of_birth=date(1980, 5, 1))
    PatientFactory(first_name="Anne", last_name="Smith", date_of_birth=date(1981, 5, 1))
    PatientFactory(first_name="Anne", last_name="Jones", date_of_birth=date(1980, 5, 1))
    assert list(patient_search(query="smith 01/05/1980")) == [wanted]


def test_inactive_patients_are_found_only_when_asked():
    PatientFactory(first_name="Olive", last_name="Hartley", status="inactive", inactive_reason="deceased")
    assert _names("hartley") == []
    assert _names("hartley", include_inactive=True) == ["Olive Hartley"]


def test_search_is_limited():
    PatientFactory.create_batch(5, last_name="Walker")
    assert len(patient_search(query="walker", limit=3)) == 3


def test_nothing_searchable_finds_nothing():
    PatientFactory()
    assert list(patient_search(query="  ")) == []
    assert list(patient_search(query="x")) == []


@postgres_only
def test_typo_jon_smyth_finds_john_smith():
    PatientFactory(first_name="John", last_name="Smith")
    PatientFactory(first_name="Peter", last_name="Jones")
    assert _names("jon smyth") == ["John Smith"]


@postgres_only
@pytest.mark.parametrize("typed", ["thomson", "smiht joan", "simth", "jhon", "katherine wiliams"])
def test_typos_in_either_word_are_tolerated(typed):
    PatientFactory(first_name="Joan", last_name="Smith")
    PatientFactory(first_name="John", last_name="Thompson")
    PatientFactory(first_name="Catherine", last_name="Williams")
    PatientFactory(first_name="Peter", last_name="Jones")
    assert _names(typed), typed
    assert "Peter Jones" not in _names(typed)


@postgres_only
def test_closest_name_ranks_first():
    PatientFactory(first_name="Jonathan", last_name="Smithers")
    PatientFactory(first_name="John", last_name="Smith")
    PatientFactory(first_name="Joan", last_name="Smyth")
    assert _names("john smith")[0] == "John Smith"


# The plans of every kind of search on a realistic registry: tests/perf/test_query_plans.py.


@postgres_only
def test_the_trigram_thresholds_are_set_on_every_connection():
    with connection.cursor() as cursor:
        cursor.execute("SHOW pg_trgm.word_similarity_threshold")
        assert cursor.fetchone()[0] == "0.4"
        cursor.execute("SHOW pg_trgm.similarity_threshold")
        assert cursor.fetchone()[0] == "0.49"


@postgres_only
def test_trigram_matches_are_searched_only_when_nobody_sounds_right():
    for first in ("Ann", "Bea", "Cal", "Dee"):
        PatientFactory(first_name=first, last_name="Hartridge")
    PatientFactory(first_name="Gus", last_name="Hartrige")  # a slip that sounds the same
    PatientFactory(first_name="Hal", last_name="Bradridge")  # shares a syllable only
    found = _names("hartrydge")  # begins no name; sounds like the Hartridges
    assert len(found) == 5 and "Hal Bradridge" not in found
    # Nobody sounds like "harbridge": the trigram-similar names are searched.
    assert "Ann Hartridge" in _names("harbridge")


@postgres_only
def test_a_short_word_must_begin_a_name_or_sound_like_it_not_share_its_trigrams():
    PatientFactory(first_name="Amin", last_name="Hartridge")  # "min" inside the name, not its start
    PatientFactory(first_name="Minnie", last_name="Hartridge")
    # Nobody sounds like both words, so the trigram-similar names are read ("harbridge" for
    # Hartridge); there "min" counts only as the beginning of a name (search.SHORT_WORD).
    assert _names("min harbridge") == ["Minnie Hartridge"]


def test_exact_surnames_come_first_then_prefixes_then_sound_alikes():
    PatientFactory(first_name="Zed", last_name="Smith")
    PatientFactory(first_name="Al", last_name="Smyth")  # sounds the same
    PatientFactory(first_name="Bo", last_name="Smithers")  # begins with the word
    PatientFactory(first_name="Cy", last_name="Smith")
    PatientFactory(first_name="Smith", last_name="Adams")  # the word is the first name
    PatientFactory(first_name="Peter", last_name="Jones")
    assert _names("smith") == ["Cy Smith", "Zed Smith", "Smith Adams", "Bo Smithers", "Al Smyth"]
    assert _names("SMITH", limit=2) == ["Cy Smith", "Zed Smith"]


def test_part_names_find_the_names_they_begin_in_name_order():
    PatientFactory(first_name="Johanna", last_name="Smithson")
    PatientFactory(first_name="John", last_name="Smith")
    PatientFactory(first_name="Joan", last_name="Smith")
    PatientFactory(first_name="Mary", last_name="Smith")
    # Then, on PostgreSQL, "Joan Smith" (typo-tolerant: "joh" is trigram-similar to "joan").
    assert _names("joh smi")[:2] == ["John Smith", "Johanna Smithson"]
    assert _names("smi jo") == ["Joan Smith", "John Smith", "Johanna Smithson"]


def test_a_whole_first_and_last_name_comes_before_longer_ones_in_either_order():
    PatientFactory(first_name="Johnny", last_name="Smith")
    PatientFactory(first_name="John", last_name="Smithers")
    PatientFactory(first_name="John", last_name="Smith")
    assert _names("john smith")[0] == "John Smith"
    assert _names("smith john")[0] == "John Smith"
    assert set(_names("john smith")) == {"John Smith", "Johnny Smith", "John Smithers"}


def test_a_first_name_alone_finds_its_surname_namesakes_first():
    PatientFactory(first_name="Alice", last_name="Thomas")
    PatientFactory(first_name="Thomas", last_name="Baker")
    PatientFactory(first_name="Thomas", last_name="Abbott")
    assert _names("thomas") == ["Alice Thomas", "Thomas Abbott", "Thomas Baker"]


def test_accents_and_case_do_not_matter_to_exact_matches():
    PatientFactory(first_name="Zoë", last_name="Brontë")
    PatientFactory(first_name="Zoe", last_name="Bronte")
    assert sorted(_names("zoe bronte")) == ["Zoe Bronte", "Zoë Brontë"]
    assert sorted(_names("ZOË BRONTË")) == ["Zoe Bronte", "Zoë Brontë"]


@postgres_only
def test_typos_still_fill_the_page_after_the_exact_matches():
    PatientFactory(first_name="Ann", last_name="Smith")
    PatientFactory(first_name="Bea", last_name="Smyth")
    PatientFactory(first_name="Cal", last_name="Smithe")
    PatientFactory(first_name="Peter", last_name="Jones")
    assert _names("smith") == ["Ann Smith", "Cal Smithe", "Bea Smyth"]
    # No exact match or prefix: the typo-tolerant tier alone, as before.
    assert set(_names("smiht")) == {"Ann Smith", "Bea Smyth", "Cal Smithe"}
    assert _names("bea smiht") == ["Bea Smyth"]


@postgres_only
def test_a_page_of_exact_matches_is_read_from_the_name_index_without_ranking():
    PatientFactory.create_batch(5, last_name="Walker")
    PatientFactory(first_name="Wal", last_name="Walkers")
    with CaptureQueriesContext(connection) as run:
        found = list(patient_search(query="walker", limit=5))
    assert [p.last_name for p in found] == ["Walker"] * 5
    sql = " ".join(q["sql"] for q in run.captured_queries).lower()
    assert "patients_fold" in sql
    assert "similarity(" not in sql and "%>" not in sql, "the typo-tolerant tier ran for a full page"
    # One more than the exact matches: the prefix tier fills it, still without ranking.
    with CaptureQueriesContext(connection) as run:
        assert [p.last_name for p in patient_search(query="walker", limit=6)][-1] == "Walkers"
    assert "similarity(" not in " ".join(q["sql"] for q in run.captured_queries).lower()
    # A page the btree tiers cannot fill: the typo-tolerant tier fills the rest.
    with CaptureQueriesContext(connection) as run:
        assert len(patient_search(query="walker", limit=20)) == 6
    assert "similarity(" in " ".join(q["sql"] for q in run.captured_queries).lower()


def test_patient_model_age_counts_whole_years():
    patient = Patient(date_of_birth=date(2000, 12, 31))
    assert patient.age >= 25
