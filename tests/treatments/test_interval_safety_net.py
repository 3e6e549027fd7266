"""The reinjection interval's safety net: pairs that reached the records outside its paths."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.audit import AuditEvent
from clinic.errors import Invalid
from treatments.interval import interval_finding_review, interval_findings_scan
from treatments.models import Encounter, IntervalFinding, ToxinSession
from treatments.tasks import interval_findings_scan_task

from .factories import record_toxin

pytestmark = pytest.mark.django_db


def imported_pair(patient, actor, days_apart=20):
    """Two sessions, then the earlier one moved by a raw update, as an import would."""
    earlier = record_toxin(patient, actor, occurred_at=timezone.now() - timedelta(days=200))
    later = record_toxin(patient, actor, occurred_at=timezone.now() - timedelta(days=100))
    Encounter.objects.filter(pk=earlier.pk).update(
        occurred_at=later.encounter.occurred_at - timedelta(days=days_apart)
    )
    return earlier, later


def test_the_nightly_scan_lists_a_pair_inside_the_interval_once_and_audits_it(patient, injector_user):
    earlier, later = imported_pair(patient, injector_user)
    assert interval_findings_scan_task.apply().get() == 1
    finding = IntervalFinding.objects.get()
    assert (finding.earlier_id, finding.later_id, finding.days_apart, finding.minimum_days) == (
        earlier.pk,
        later.pk,
        20,
        84,
    )
    assert AuditEvent.objects.filter(action="interval_finding.opened", patient_id=patient.pk).count() == 1
    # Found once: the next night adds nothing.
    assert interval_findings_scan() == []


def test_a_pair_with_a_recorded_override_is_not_a_finding(patient, injector_user):
    _, later = imported_pair(patient, injector_user)
    ToxinSession.objects.filter(pk=later.pk).update(
        interval_override_reason="Severe spasm", interval_overridden_by=injector_user
    )
    assert interval_findings_scan() == []


def test_sessions_kept_apart_are_not_findings(patient, injector_user):
    record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=200))
    record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=100))
    assert interval_findings_scan() == []


def test_the_clinical_lead_reviews_a_finding_on_the_page(patient, injector_user, surgeon_user, client):
    imported_pair(patient, injector_user)
    (finding_id,) = interval_findings_scan()
    client.force_login(surgeon_user)
    page = client.get("/clinical/interval-findings/")
    assert page.status_code == 200
    assert patient.mrn in page.content.decode()
    response = client.post(
        f"/clinical/interval-findings/{finding_id}/review/", {"note": "Import error: dates checked"}
    )
    assert response.status_code == 302
    finding = IntervalFinding.objects.get(pk=finding_id)
    assert finding.status == "reviewed" and finding.reviewed_by == surgeon_user
    assert AuditEvent.objects.filter(action="interval_finding.reviewed", actor=surgeon_user).exists()


def test_a_review_needs_a_note_and_happens_once(patient, injector_user, surgeon_user, surgeon):
    imported_pair(patient, injector_user)
    (finding_id,) = interval_findings_scan()
    finding = IntervalFinding.objects.get(pk=finding_id)
    with pytest.raises(Invalid):
        interval_finding_review(finding=finding, actor=surgeon_user, note=" ")
    response = surgeon.post(
        f"/api/v1/interval-findings/{finding_id}/review/", {"note": "Checked"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "reviewed"
    again = surgeon.post(f"/api/v1/interval-findings/{finding_id}/review/", {"note": "Again"}, format="json")
    assert again.status_code == 409


def test_only_the_clinical_lead_sees_findings(injector, front_desk, manager):
    for client in (injector, front_desk, manager):
        assert client.get("/api/v1/interval-findings/").status_code == 403
