"""The one query of the bare app (bench/bare.py) and of this app's baseline_query view: one
patient's id and surname by key, answered with the id only. Kept apart (Django alone, nothing of
the project) so that both send the same text and give the same answer."""

from django.db import connection
from django.http import Http404, JsonResponse

QUERY = "SELECT id, last_name FROM patients_patient WHERE id = %s"


def one_row(pk: int) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(QUERY, [pk])
        row = cursor.fetchone()
    if row is None:
        raise Http404
    return JsonResponse({"status": "ok", "id": row[0]})
