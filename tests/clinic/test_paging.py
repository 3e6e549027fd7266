"""CappedPaginator: pages through the first ``cap`` rows and counts no further."""

import pytest
from django.db import connection
from django.db.models.functions import Upper
from django.test.utils import CaptureQueriesContext

from clinic.paging import CappedPaginator
from patients.models import Patient
from tests.factories import PatientFactory


def test_a_short_list_pages_as_djangos_does():
    pager = CappedPaginator(list(range(45)), 10, cap=100)
    assert (pager.count, pager.num_pages, pager.capped) == (45, 5, False)
    assert list(pager.get_page(5).object_list) == list(range(40, 45))


def test_a_long_list_stops_at_the_cap():
    pager = CappedPaginator(list(range(1000)), 10, cap=100)
    assert pager.capped and pager.num_pages == 10
    last = pager.get_page(10)
    assert list(last.object_list) == list(range(90, 100)) and not last.has_next()
    assert pager.get_page(11).number == 10  # beyond the cap: the last page counted


@pytest.mark.django_db
def test_a_queryset_is_counted_with_a_limit():
    PatientFactory.create_batch(12)
    pager = CappedPaginator(Patient.objects.order_by("id"), 5, cap=10)
    with CaptureQueriesContext(connection) as ctx:
        assert pager.count == 11 and pager.capped and pager.num_pages == 2
    assert len(ctx.captured_queries) == 1 and "LIMIT 11" in ctx.captured_queries[0]["sql"]


@pytest.mark.django_db
def test_the_count_leaves_out_the_order_and_what_each_row_computes():
    PatientFactory.create_batch(3)
    rows = Patient.objects.annotate(shouted=Upper("last_name")).order_by("shouted", "id")
    pager = CappedPaginator(rows, 2, cap=10)
    with CaptureQueriesContext(connection) as ctx:
        assert pager.count == 3 and pager.num_pages == 2
    sql = ctx.captured_queries[0]["sql"].upper()
    assert "ORDER BY" not in sql and "UPPER(" not in sql and "LIMIT 11" in sql
    assert [p.pk for p in pager.get_page(2).object_list] == [p.pk for p in rows][2:]


@pytest.mark.django_db
def test_the_patient_list_says_there_are_more(client, front_desk_user, monkeypatch):
    monkeypatch.setattr("clinic.paging.COUNT_CAP", 50)
    PatientFactory.create_batch(60)
    client.force_login(front_desk_user)
    html = client.get("/patients/").content.decode()
    assert "Page 1 of 2+" in html and "more than 50 rows" in html
