"""The API's pager (clinic.api.pagination): pages by number, a count that never reads more than
COUNT_CAP + 1 rows, and null beyond it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.api.pagination import Pagination
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/patients/"


@pytest.fixture
def cap_of_five(monkeypatch):
    monkeypatch.setattr(Pagination, "count_cap", 5)


def _counts(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]


def test_a_short_list_is_counted_from_its_page_without_a_count_query(front_desk):
    PatientFactory.create_batch(3)
    with CaptureQueriesContext(connection) as ctx:
        body = front_desk.get(URL).json()
    assert body["count"] == 3 and body["next"] is None and body["previous"] is None
    assert _counts(ctx) == []


def test_the_count_stops_at_its_cap_and_says_null_beyond_it(front_desk, cap_of_five):
    PatientFactory.create_batch(5)
    exact = front_desk.get(URL, {"page_size": 2}).json()
    assert exact["count"] == 5
    PatientFactory()
    with CaptureQueriesContext(connection) as ctx:
        capped = front_desk.get(URL, {"page_size": 2}).json()
    assert capped["count"] is None
    assert len(capped["results"]) == 2 and capped["next"].endswith("page=2&page_size=2")
    (count,) = _counts(ctx)
    assert "LIMIT 6" in count and "ORDER BY" not in count  # cap + 1 rows, unsorted


def test_pages_link_on_past_the_cap_and_the_last_one_knows_the_total(front_desk, cap_of_five):
    ids = [p.pk for p in PatientFactory.create_batch(7)]
    seen, url, pages = [], URL + "?page_size=3", 0
    while url:
        body = front_desk.get(url).json()
        seen += [p["id"] for p in body["results"]]
        url, pages = body["next"], pages + 1
    assert sorted(seen) == sorted(ids) and len(seen) == 7 and pages == 3
    assert body["count"] == 7  # the last page counts itself: 2 pages of 3 and its 1
    assert body["previous"].endswith("page=2&page_size=3")
    second = front_desk.get(URL, {"page_size": 3, "page": 2}).json()
    assert second["previous"].endswith("?page_size=3")  # page 1 has no page parameter


@pytest.mark.parametrize("page", ["last", "0", "-1", "1.5", "", "9" * 10])
def test_a_page_that_is_not_a_number_from_one_is_400(front_desk, page):
    response = front_desk.get(URL, {"page": page})
    assert response.status_code == 400
    assert "page" in response.json()["fields"]


def test_a_page_past_the_end_is_404(front_desk):
    PatientFactory.create_batch(2)
    assert front_desk.get(URL, {"page": 2}).status_code == 404
    assert front_desk.get(URL, {"page": 1}).status_code == 200


def test_the_schema_says_the_count_may_be_null(front_desk):
    schema = front_desk.get("/api/schema/", {"format": "json"}).json()
    page = schema["components"]["schemas"]["PaginatedPatientList"]["properties"]["count"]
    assert page["nullable"] is True and "1,000" in page["description"]


def test_the_browsable_page_shows_previous_and_next(front_desk):
    PatientFactory.create_batch(3)
    html = front_desk.get(URL, {"page_size": 1, "page": 2, "format": "api"}).content.decode()
    assert "page_size=1" in html and "Previous" in html and "Next" in html
