from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _set_trigram_thresholds(sender, connection, **kwargs) -> None:
    """Name search needs a looser word-similarity threshold than pg_trgm's default, and its own
    whole-name similarity threshold (search.py).

    Set per session so that the index-backed operators (%>) uses it; behind a pooler in
    transaction mode, set the same values on the database role instead (docs/patients.md).
    """
    if connection.vendor == "sqlite":
        from .search import sqlite_functions

        sqlite_functions(connection.connection)
        return
    if connection.vendor != "postgresql":
        return
    from .search import SIMILARITY_THRESHOLD, WORD_SIMILARITY_THRESHOLD

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, false),"
            " set_config('pg_trgm.similarity_threshold', %s, false)",
            [str(WORD_SIMILARITY_THRESHOLD), str(SIMILARITY_THRESHOLD)],
        )


class PatientsConfig(AppConfig):
    name = "patients"

    def ready(self) -> None:
        connection_created.connect(_set_trigram_thresholds, dispatch_uid="patients_trigram_thresholds")
