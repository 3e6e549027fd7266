"""One table of what the front desk types and whom it must find, run on both databases.

The suite runs on PostgreSQL (trigram and double metaphone in SQL); ``test_the_table_on_sqlite``
runs this same file again in a subprocess with DATABASE_URL pointing at SQLite (the quick start's
database), where the search uses the same double metaphone and rapidfuzz as SQLite functions.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from patients.selectors import patient_search
from tests.factories import PatientFactory

REGISTRY = [
    ("Margaret", "Reynolds", "FN00000018"),
    ("Giovanni", "Matthews", "FN00000026"),
    ("Agnes", "Wilson", "FN00000034"),
    ("Siobhan", "O'Brien", "FN00000042"),
    ("John", "Smith", "FN00000059"),
    ("Catherine", "Williams", "FN00001230"),
    ("Peter", "Jones", "FN00004567"),
    ("Joan", "Thompson", "FN00012345"),
]

# (typed, the patients who must be found, first the one that must rank first)
TABLE = [
    ("margret reynods", ["Margaret Reynolds"]),
    ("giovani mathews", ["Giovanni Matthews"]),
    ("agnes wilsen", ["Agnes Wilson"]),
    ("O'Brian", ["Siobhan O'Brien"]),
    ("siobhan o'brian", ["Siobhan O'Brien"]),
    ("smiht", ["John Smith"]),  # transposition
    ("jhon smtih", ["John Smith"]),  # a transposition in each word
    ("catherine wiliams", ["Catherine Williams"]),
    ("katherine williams", ["Catherine Williams"]),
    ("thomps", ["Joan Thompson"]),  # the beginning of a name
    ("reynolds margaret", ["Margaret Reynolds"]),  # either order
    ("FN0001234", ["Joan Thompson"]),  # part of an MRN
    ("fn 0000 12", ["Catherine Williams"]),
    ("0123", ["Catherine Williams", "Joan Thompson"]),
    ("4567", ["Peter Jones"]),
    ("00000034", None),  # a whole MRN's digits without FN is not an MRN: nobody
]

NOT_FOUND = ["zzyzx", "margaret jones", "peter reynolds"]


@pytest.fixture
def registry(db):
    for first, last, mrn in REGISTRY:
        PatientFactory(first_name=first, last_name=last, mrn=mrn)


def _found(typed):
    return [f"{p.first_name} {p.last_name}" for p in patient_search(query=typed)]


@pytest.mark.parametrize(("typed", "expected"), TABLE, ids=[t for t, _ in TABLE])
def test_the_front_desk_finds_the_patient(registry, typed, expected):
    found = _found(typed)
    if expected is None:
        assert found == []
        return
    assert found[:1] == expected[:1], (connection.vendor, found)
    assert set(expected) <= set(found), (connection.vendor, found)
    assert "Peter Jones" not in found or "Peter Jones" in expected


@pytest.mark.parametrize("typed", NOT_FOUND)
def test_unrelated_text_finds_nobody(registry, typed):
    assert _found(typed) == [], connection.vendor


PHONETIC_SAMPLE = [
    *(name for row in REGISTRY for name in row[:2]),
    *(word for typed, _ in TABLE for word in typed.split() if word.isalpha()),
    "Schmidt",
    "Wright",
    "Knight",
    "Czerny",
    "Zoë",
    "Ng",
    "Aoife",
    "Nguyen",
    "Psmith",
    "Eoghan",
]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares with PostgreSQL's dmetaphone")
def test_the_sqlite_phonetic_keys_are_postgresqls(db):
    """The Python double metaphone used on SQLite gives the keys of fuzzystrmatch's dmetaphone."""
    from patients.search import phonetic_key

    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["dmetaphone(%s)"] * len(PHONETIC_SAMPLE)), PHONETIC_SAMPLE)
        in_postgres = list(cursor.fetchone())
    assert [phonetic_key(name) for name in PHONETIC_SAMPLE] == in_postgres


@pytest.mark.slow
@pytest.mark.skipif(connection.vendor == "sqlite", reason="this is the SQLite run")
def test_the_table_on_sqlite(tmp_path):
    """The same table against SQLite, in a pytest of its own (Django has one database per run)."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'search.sqlite3'}"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-p", "no:randomly", "-m", "not slow"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(TABLE) + len(NOT_FOUND)} passed" in result.stdout, result.stdout[-2000:]
