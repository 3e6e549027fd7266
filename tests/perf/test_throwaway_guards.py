"""The commands that write made-up data refuse a database that may hold real patients."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from bench.management.commands.bench_http import Command as BenchHttp
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
