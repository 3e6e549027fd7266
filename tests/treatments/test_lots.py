"""The lot register's rules: withdrawn lots, expiry against the sessions that used a lot, and the
reason (audited) for any change to a used lot, through the services, the API and the pages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.audit import AuditEvent
from tests.factories import PatientFactory
from treatments import services
from treatments.exceptions import LotInUse, LotWithdrawn, ReasonRequired
from treatments.models import Encounter, ToxinLot

from .factories import ToxinLotFactory, record_toxin
from .test_api_encounters import toxin_payload
from .test_pages import toxin_post

pytestmark = pytest.mark.django_db


def withdrawn_lot(**kw) -> ToxinLot:
    return ToxinLotFactory(is_active=False, **kw)


# --- Withdrawn lots and sessions ---------------------------------------------------------------


def test_a_withdrawn_lot_is_refused_for_a_new_session(patient, injector_user):
    lot = withdrawn_lot()
    with pytest.raises(LotWithdrawn) as excinfo:
        record_toxin(patient, injector_user, lot=lot)
    assert excinfo.value.code == "lot_withdrawn"
    assert excinfo.value.status == 400
    assert lot.lot_number in excinfo.value.fields["lot"][0]
    assert not Encounter.objects.exists()


def test_a_withdrawn_lot_cannot_be_newly_chosen_on_a_draft(patient, injector_user):
    session = record_toxin(patient, injector_user)
    other = withdrawn_lot()
    with pytest.raises(LotWithdrawn):
        services.encounter_update(services.TOXIN, detail=session, actor=injector_user, data={"lot": other})
    session.refresh_from_db()
    assert session.lot_id != other.pk


def test_a_draft_keeps_the_lot_it_had_when_the_lot_is_withdrawn_later(patient, injector_user, manager_user):
    session = record_toxin(patient, injector_user)
    services.toxin_lot_update(
        lot=session.lot, actor=manager_user, data={"is_active": False, "reason": "Quarantined by supplier"}
    )
    services.encounter_update(
        services.TOXIN, detail=session, actor=injector_user, data={"note": "Good effect", "lot": session.lot}
    )
    assert Encounter.objects.get(pk=session.pk).note == "Good effect"


def test_api_refuses_a_withdrawn_lot_with_its_code(injector, patient):
    response = injector.post(
        "/api/v1/toxin-sessions/", toxin_payload(patient, withdrawn_lot()), format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "lot_withdrawn"
    assert "withdrawn" in body["fields"]["lot"][0]


def test_api_refuses_changing_a_draft_to_a_withdrawn_lot(injector, injector_user, patient):
    session = record_toxin(patient, injector_user)
    response = injector.patch(
        f"/api/v1/toxin-sessions/{session.pk}/", {"lot": withdrawn_lot().pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "lot_withdrawn"


def test_api_edits_a_draft_whose_lot_was_withdrawn_since(injector, injector_user, patient):
    session = record_toxin(patient, injector_user)
    ToxinLot.objects.filter(pk=session.lot_id).update(is_active=False)
    response = injector.patch(f"/api/v1/toxin-sessions/{session.pk}/", {"note": "Reviewed"}, format="json")
    assert response.status_code == 200, response.json()


def test_toxin_page_puts_the_withdrawal_on_the_lot_field(client, injector_user, patient):
    lot = withdrawn_lot()
    client.force_login(injector_user)
    response = client.post(f"/clinical/toxin/new/?patient={patient.pk}", toxin_post(lot))
    assert response.status_code == 200
    assert any("withdrawn" in e for e in response.context["form"].errors["lot"])
    assert not Encounter.objects.exists()


def test_toxin_page_refuses_changing_a_draft_to_a_withdrawn_lot(client, injector_user, patient):
    session = record_toxin(patient, injector_user)
    client.force_login(injector_user)
    response = client.post(f"/clinical/encounters/{session.pk}/edit/", toxin_post(withdrawn_lot()))
    assert response.status_code == 200
    assert any("withdrawn" in e for e in response.context["form"].errors["lot"])


def test_toxin_page_saves_a_draft_whose_lot_was_withdrawn_since(client, injector_user, patient):
    session = record_toxin(patient, injector_user)
    ToxinLot.objects.filter(pk=session.lot_id).update(is_active=False)
    client.force_login(injector_user)
    response = client.post(
        f"/clinical/encounters/{session.pk}/edit/", toxin_post(session.lot, note="Second note")
    )
    assert response.status_code == 302
    assert Encounter.objects.get(pk=session.pk).note == "Second note"


# --- Changes to a lot that sessions used -------------------------------------------------------


@pytest.fixture
def used_lot(patient, injector_user):
    lot = ToxinLotFactory(expiry_date=timezone.localdate() + timedelta(days=100))
    record_toxin(PatientFactory(), injector_user, lot=lot, occurred_at=timezone.now() - timedelta(days=10))
    record_toxin(patient, injector_user, lot=lot, occurred_at=timezone.now() - timedelta(hours=1))
    return lot


def test_expiry_cannot_move_before_a_session_that_used_the_lot(used_lot, manager_user):
    today = timezone.localdate()
    with pytest.raises(LotInUse) as excinfo:
        services.toxin_lot_update(
            lot=used_lot,
            actor=manager_user,
            data={"expiry_date": today - timedelta(days=5), "reason": "Typo in the expiry"},
        )
    assert excinfo.value.code == "lot_in_use"
    message = excinfo.value.fields["expiry_date"][0]
    assert f"{today:%d %b %Y}" in message
    used_lot.refresh_from_db()
    assert used_lot.expiry_date == today + timedelta(days=100)


def test_expiry_may_move_earlier_down_to_the_last_session_date(used_lot, manager_user):
    today = timezone.localdate()
    services.toxin_lot_update(
        lot=used_lot, actor=manager_user, data={"expiry_date": today, "reason": "Supplier's corrected date"}
    )
    used_lot.refresh_from_db()
    assert used_lot.expiry_date == today


@pytest.mark.parametrize(
    "change",
    [
        {"lot_number": "Z99999"},
        {"expiry_date": "later"},
        {"vial_units": 200},
        {"is_active": False},
        {"notes": "Box damaged"},
    ],
)
def test_any_change_to_a_used_lot_needs_a_reason(used_lot, manager_user, change):
    if change.get("expiry_date") == "later":
        change = {"expiry_date": used_lot.expiry_date + timedelta(days=30)}
    for reason in (None, "", "   "):
        data = {**change} if reason is None else {**change, "reason": reason}
        with pytest.raises(ReasonRequired) as excinfo:
            services.toxin_lot_update(lot=used_lot, actor=manager_user, data=data)
        assert excinfo.value.code == "reason_required"
        assert excinfo.value.fields["reason"]
    assert ToxinLot.objects.get(pk=used_lot.pk).lot_number == used_lot.lot_number
    assert not AuditEvent.objects.filter(action__startswith="toxin_lot.", target_id=str(used_lot.pk)).exists()


def test_a_change_to_a_used_lot_is_audited_with_its_reason(used_lot, manager_user):
    services.toxin_lot_update(
        lot=used_lot, actor=manager_user, data={"vial_units": 200, "reason": "Relabelled 200 U vials"}
    )
    event = AuditEvent.objects.get(action="toxin_lot.updated", target_id=str(used_lot.pk))
    assert event.actor == manager_user
    assert event.changes == {"vial_units": [100, 200], "reason": "Relabelled 200 U vials"}


def test_withdrawing_a_used_lot_is_audited_as_a_withdrawal(used_lot, manager_user):
    services.toxin_lot_update(
        lot=used_lot, actor=manager_user, data={"is_active": False, "reason": "Recall notice from supplier"}
    )
    assert not ToxinLot.objects.get(pk=used_lot.pk).is_active
    event = AuditEvent.objects.get(action="toxin_lot.withdrawn", target_id=str(used_lot.pk))
    assert event.changes["reason"] == "Recall notice from supplier"
    assert event.changes["is_active"] == [True, False]


def test_an_unused_lot_changes_without_a_reason(manager_user):
    lot = ToxinLotFactory()
    services.toxin_lot_update(lot=lot, actor=manager_user, data={"vial_units": 50, "is_active": False})
    lot.refresh_from_db()
    assert (lot.vial_units, lot.is_active) == (50, False)
    assert AuditEvent.objects.filter(action="toxin_lot.withdrawn", target_id=str(lot.pk)).exists()


def test_saving_a_used_lot_unchanged_needs_no_reason(used_lot, manager_user):
    services.toxin_lot_update(
        lot=used_lot, actor=manager_user, data={"lot_number": used_lot.lot_number, "vial_units": 100}
    )


def test_api_expiry_before_a_session_answers_409_on_expiry_date(manager, used_lot):
    response = manager.patch(
        f"/api/v1/toxin-lots/{used_lot.pk}/",
        {"expiry_date": (timezone.localdate() - timedelta(days=20)).isoformat(), "reason": "Typo"},
        format="json",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "lot_in_use"
    assert f"{timezone.localdate():%d %b %Y}" in body["fields"]["expiry_date"][0]


def test_api_change_to_a_used_lot_without_reason_answers_400(manager, used_lot):
    response = manager.patch(f"/api/v1/toxin-lots/{used_lot.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "reason_required"
    assert body["fields"]["reason"]
    assert ToxinLot.objects.get(pk=used_lot.pk).is_active


def test_api_withdraws_a_used_lot_with_a_reason(manager, used_lot):
    response = manager.patch(
        f"/api/v1/toxin-lots/{used_lot.pk}/",
        {"is_active": False, "reason": "Cold chain broken"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["is_active"] is False
    assert "reason" not in response.json()
    event = AuditEvent.objects.get(action="toxin_lot.withdrawn", target_id=str(used_lot.pk))
    assert event.changes["reason"] == "Cold chain broken"


def test_api_creates_a_lot_with_a_reason_given(manager):
    response = manager.post(
        "/api/v1/toxin-lots/",
        {
            "product": "onabotulinumtoxinA",
            "lot_number": "N1",
            "expiry_date": "2028-01-31",
            "vial_units": 100,
            "reason": "New delivery",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def _lot_form(lot, **extra) -> dict:
    return {
        "product": lot.product,
        "lot_number": lot.lot_number,
        "expiry_date": lot.expiry_date.isoformat(),
        "vial_units": str(lot.vial_units),
        "is_active": "on" if lot.is_active else "",
        **extra,
    }


def test_lot_page_asks_for_the_reason_of_a_change_to_a_used_lot(client, manager_user, used_lot):
    client.force_login(manager_user)
    page = client.get(f"/clinical/lots/{used_lot.pk}/")
    assert 'name="reason"' in page.content.decode()
    response = client.post(f"/clinical/lots/{used_lot.pk}/", _lot_form(used_lot, is_active=""))
    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    assert ToxinLot.objects.get(pk=used_lot.pk).is_active
    response = client.post(
        f"/clinical/lots/{used_lot.pk}/", _lot_form(used_lot, is_active="", reason="Recall notice")
    )
    assert response.status_code == 302
    assert not ToxinLot.objects.get(pk=used_lot.pk).is_active
    event = AuditEvent.objects.get(action="toxin_lot.withdrawn", target_id=str(used_lot.pk))
    assert event.changes["reason"] == "Recall notice"


def test_lot_page_puts_an_expiry_before_a_session_on_the_expiry_field(client, manager_user, used_lot):
    client.force_login(manager_user)
    early = timezone.localdate() - timedelta(days=30)
    response = client.post(
        f"/clinical/lots/{used_lot.pk}/", _lot_form(used_lot, expiry_date=early.isoformat(), reason="x")
    )
    assert response.status_code == 409
    assert "cannot be earlier" in response.context["form"].errors["expiry_date"][0]
