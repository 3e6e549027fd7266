"""The commands that write made-up data refuse a database that may hold real patients."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from bench.management.commands.bench_http import Command as BenchHttp
from devtools.scale_seed import STAFF_PREFIX
from scheduling.models import Message
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_bench_http_refuses_to_book_without_the_flag():
    with pytest.raises(CommandError, match="Refusing to book appointments"):
        call_command("bench_http", "--endpoints=booking", stdout=io.StringIO())


def test_bench_http_will_not_take_over_an_existing_account():
    UserFactory(username="drsmith", roles=["surgeon"])
    command = BenchHttp()
    command.options = {"username": "drsmith", "password": ""}
    with pytest.raises(CommandError, match="drsmith already exists"):
        command._user()


def test_bench_reminders_refuses_without_the_flag(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    with pytest.raises(CommandError, match="Refusing to seed patients"):
        call_command("bench_reminders", "--messages", "10", stdout=io.StringIO())


def test_bench_reminders_refuses_a_database_with_real_reminders_waiting(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    Message.objects.create(
        patient=PatientFactory(mobile="+447700900123"),
        kind=Message.Kind.CAMPAIGN,
        channel=Message.Channel.SMS,
        purpose="recalls",
        due_at=timezone.now(),
        dedupe_key="real:1",
        context={"body": "Hello."},
    )
    with pytest.raises(CommandError, match="other than the benchmark's"):
        call_command(
            "bench_reminders", "--messages", "10", "--i-know-this-is-not-production", stdout=io.StringIO()
        )


def test_explain_hot_queries_says_what_is_missing_on_a_database_too_small():
    from clinic.roles import Role
    from devtools.scale_seed import STAFF_PREFIX

    for role in (Role.FRONT_DESK, Role.SURGEON):
        UserFactory(username=f"{STAFF_PREFIX}{role}.1", roles=[role])
    with pytest.raises(CommandError, match="Too few seeded patients"):
        call_command("explain_hot_queries", stdout=io.StringIO())


def test_time_pages_times_a_page_as_a_seed_account_and_search_at_the_database(front_desk_user):
    front_desk_user.username = f"{STAFF_PREFIX}front_desk.001"
    front_desk_user.save()
    PatientFactory.create_batch(6)
    with pytest.raises(CommandError, match="Refusing"):
        call_command("time_pages", "/recalls/", stdout=io.StringIO())
    out = io.StringIO()
    call_command("time_pages", "/recalls/", "--repeat", "1", "--i-know-this-is-not-production", stdout=out)
    assert out.getvalue().startswith("/recalls/  200  median ")
    out = io.StringIO()
    call_command("time_pages", "--search-sample", "6", stdout=out)
    # (Six patients: the planner rightly reads the table; at scale it must not, see bin/bench.)
    assert out.getvalue().startswith("search at the database: 6 terms, p50 ")
