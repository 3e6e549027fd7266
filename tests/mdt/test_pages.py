"""The MDT pages: meetings, the agenda, flagging, outcomes, my role's tasks, the chart panel."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mdt import services
from mdt.models import MdtItem, MdtTask

pytestmark = pytest.mark.django_db


def test_flag_open_the_agenda_and_record_an_outcome(login_as, surgeon_user, patient, meeting):
    client = login_as(surgeon_user)
    page = client.get(f"/mdt/patients/{patient.pk}/flag/")
    assert page.status_code == 200
    response = client.post(f"/mdt/patients/{patient.pk}/flag/", {"question": "Selective neurolysis?"})
    assert response.status_code == 302
    item = MdtItem.objects.get()
    agenda = client.get(f"/mdt/meetings/{meeting.pk}/").content.decode()
    assert "Selective neurolysis?" in agenda
    prefix = f"item-{item.pk}"
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    missing = client.post(
        f"/mdt/items/{item.pk}/outcome/",
        {f"{prefix}-outcome": "Yes", f"{prefix}-decision": "surgery", f"{prefix}-task_role": "front_desk"},
    )
    assert missing.status_code == 400
    assert "Describe the task." in missing.content.decode()
    done = client.post(
        f"/mdt/items/{item.pk}/outcome/",
        {
            f"{prefix}-outcome": "Offer neurolysis",
            f"{prefix}-decision": "surgery",
            f"{prefix}-task_role": "front_desk",
            f"{prefix}-task_description": "Book pre-op",
            f"{prefix}-task_due": due,
        },
    )
    assert done.status_code == 302
    assert MdtTask.objects.get().role == "front_desk"
    again = client.post(f"/mdt/patients/{patient.pk}/flag/", {"question": "Again"})
    assert again.status_code == 409
    assert "already on that meeting" in again.content.decode()


def test_my_roles_tasks_page(login_as, surgeon_user, front_desk_user, patient, meeting):
    item = services.item_add(actor=surgeon_user, patient=patient, question="?")
    task = services.task_add(
        item=item,
        actor=surgeon_user,
        role="front_desk",
        description="Call the patient",
        due=timezone.localdate(),
    )
    services.task_add(
        item=item, actor=surgeon_user, role="surgeon", description="Surgeon's own", due=timezone.localdate()
    )
    client = login_as(front_desk_user)
    page = client.get("/mdt/tasks/").content.decode()
    assert "Call the patient" in page and "Surgeon&#x27;s own" not in page and "Surgeon's own" not in page
    assert client.post(f"/mdt/tasks/{task.pk}/done/").status_code == 302
    task.refresh_from_db()
    assert task.done
    assert client.get(f"/mdt/meetings/{meeting.pk}/").status_code == 403


def test_the_chart_panel_lists_the_patients_items(login_as, surgeon_user, patient, meeting):
    services.item_add(actor=surgeon_user, patient=patient, question="Eye closure")
    client = login_as(surgeon_user)
    panel = client.get(f"/patients/{patient.pk}/panels/mdt/")
    assert panel.status_code == 200, panel.status_code
    assert "Eye closure" in panel.content.decode()
