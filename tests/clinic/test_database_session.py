"""What every PostgreSQL connection of the application asks the server for (clinic/settings.py)."""

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL session settings"),
]


def _show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def test_planner_settings_for_an_interactive_application():
    # A short query over big tables is never worth compiling; eight-table list rows are
    # planned in groups of four.
    assert _show("jit") == "off"
    assert _show("join_collapse_limit") == "4"
    # No parallel workers: their start-up cost more than the short queries they would split.
    assert _show("max_parallel_workers_per_gather") == "0"
    # The search's thresholds (patients/apps.py) ride on the same connections.
    assert float(_show("pg_trgm.word_similarity_threshold")) == pytest.approx(0.4)
