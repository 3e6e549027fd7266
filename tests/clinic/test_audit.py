"""The audit trail records who did what, and cannot be rewritten."""

import pytest
from django.db import DatabaseError, connection, transaction

from clinic.audit import audit_record
from clinic.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_and_logout_are_audited(client, front_desk_user):
    assert client.post("/login/", {"username": "front_desk", "password": PASSWORD}).status_code == 302
    client.post("/logout/")
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_label"))
    assert actions == [("auth.login", "front_desk"), ("auth.logout", "front_desk")]


def test_failed_login_is_audited_without_an_actor(client, front_desk_user):
    response = client.post("/login/", {"username": "front_desk", "password": "wrong-password"})
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor is None
    assert event.changes == {"username": "front_desk"}


def test_audit_record_carries_request_context(client, manager_user):
    client.force_login(manager_user)
    client.get("/clinic/audit/", REMOTE_ADDR="10.1.2.3")
    # A change made by a service during a request is attributed to the user and the request.
    from clinic import context

    token = context.set_current(
        context.RequestContext(request_id=__import__("uuid").uuid4(), ip="10.9.9.9", source="api")
    )
    try:
        event = audit_record(
            actor=manager_user, action="user.updated", target=manager_user, changes={"title": ["", "Dr"]}
        )
    finally:
        context.reset(token)
    event.refresh_from_db()
    assert event.actor == manager_user
    assert event.ip == "10.9.9.9"
    assert event.source == "api"
    assert event.changes == {"title": ["", "Dr"]}
    assert event.target_id == str(manager_user.pk)


def test_audit_rows_cannot_be_changed_or_deleted_by_the_orm(manager_user):
    event = audit_record(actor=manager_user, action="x.done")
    event.action = "x.undone"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.update(action="x")


def test_audit_rows_cannot_be_changed_by_sql_on_postgresql(manager_user):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    event = audit_record(actor=manager_user, action="x.done")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE clinic_auditevent SET action = 'forged' WHERE id = %s", [event.pk])
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM clinic_auditevent WHERE id = %s", [event.pk])


def test_manager_browses_and_filters_the_trail(client, manager_user, front_desk_user):
    audit_record(actor=front_desk_user, action="patient.viewed", patient_id=42)
    audit_record(actor=front_desk_user, action="appointment.booked", patient_id=7)
    client.force_login(manager_user)
    response = client.get("/clinic/audit/?action=patient.")
    assert response.status_code == 200
    assert b"patient.viewed" in response.content
    assert b"appointment.booked" not in response.content


def test_audit_page_is_for_managers_only(client, front_desk_user):
    client.force_login(front_desk_user)
    assert client.get("/clinic/audit/").status_code == 403


def test_user_changes_keep_history(manager_user):
    manager_user.title = "Dr"
    manager_user.save()
    assert manager_user.history.count() >= 2
    assert manager_user.history.first().title == "Dr"
