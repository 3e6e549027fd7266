"""The minimum reinjection interval per toxin product: the services, the clinic settings page's
section and the API (/api/v1/toxin-intervals/)."""

import pytest

from clinic.errors import Invalid
from clinic.models import AuditEvent, ClinicSettings
from treatments.models import ToxinProductInterval
from treatments.services import toxin_interval_clear, toxin_interval_set

pytestmark = pytest.mark.django_db

DYSPORT = "abobotulinumtoxinA"
PAGE = "/clinic/settings/"
POST = f"/clinical/settings/toxin-intervals/{DYSPORT}/"
API = "/api/v1/toxin-intervals/"


def _events():
    return list(AuditEvent.objects.filter(action__startswith="toxin_interval.").order_by("id"))


# --- The services --------------------------------------------------------------------------------


def test_set_change_and_clear_keep_history_and_audit(manager_user):
    row = toxin_interval_set(product=DYSPORT, actor=manager_user, days=70)
    assert row.min_interval_days == 70
    assert row.updated_by == manager_user
    toxin_interval_set(product=DYSPORT, actor=manager_user, days=70)  # the same: nothing
    toxin_interval_set(product=DYSPORT, actor=manager_user, days=60)
    toxin_interval_clear(product=DYSPORT, actor=manager_user)
    toxin_interval_clear(product=DYSPORT, actor=manager_user)  # nothing left: nothing

    assert not ToxinProductInterval.objects.filter(product=DYSPORT).exists()
    history = list(ToxinProductInterval.history.filter(product=DYSPORT).order_by("history_id"))
    assert [(h.history_type, h.min_interval_days) for h in history] == [("+", 70), ("~", 60), ("-", 60)]
    assert {h.history_user for h in history} == {manager_user}
    events = _events()
    assert [(e.action, e.changes) for e in events] == [
        ("toxin_interval.set", {"min_interval_days": [None, 70]}),
        ("toxin_interval.set", {"min_interval_days": [70, 60]}),
        ("toxin_interval.cleared", {"min_interval_days": [60, None]}),
    ]
    assert {e.actor for e in events} == {manager_user}
    assert events[0].target_label == f"reinjection interval {DYSPORT}"


def test_set_none_clears(manager_user):
    toxin_interval_set(product=DYSPORT, actor=manager_user, days=70)
    assert toxin_interval_set(product=DYSPORT, actor=manager_user, days=None) is None
    assert not ToxinProductInterval.objects.exists()


@pytest.mark.parametrize("days", [0, 366])
def test_set_refuses_days_out_of_bounds(manager_user, days):
    with pytest.raises(Invalid) as refused:
        toxin_interval_set(product=DYSPORT, actor=manager_user, days=days)
    assert list(refused.value.fields) == ["min_interval_days"]
    assert not ToxinProductInterval.objects.exists()
    assert _events() == []


def test_set_refuses_an_unknown_product(manager_user):
    with pytest.raises(Invalid) as refused:
        toxin_interval_set(product="snake-oil", actor=manager_user, days=70)
    assert refused.value.fields == {"product": ["Unknown product."]}


# --- The settings page ---------------------------------------------------------------------------


def test_manager_sets_the_dysport_interval_on_the_page(client, manager_user):
    client.force_login(manager_user)
    response = client.post(POST, {f"{DYSPORT}-min_interval_days": "70"})
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}#toxin-intervals"
    assert ToxinProductInterval.objects.get(product=DYSPORT).min_interval_days == 70

    page = client.get(PAGE).content.decode()
    assert "Minimum reinjection interval for abobotulinumtoxinA (Dysport) set to 70 days." in page
    assert "70 days" in page
    assert page.count("clinic default (84 days)") == 5  # the other products
    assert "Reinjection interval abobotulinumtoxinA" in page  # the history
    assert "Minimum interval (days): clinic default → 70" in page


@pytest.mark.parametrize("body", [{f"{DYSPORT}-min_interval_days": ""}, {"action": "clear"}])
def test_manager_clears_an_interval_on_the_page(client, manager_user, body):
    toxin_interval_set(product=DYSPORT, actor=manager_user, days=70)
    client.force_login(manager_user)
    assert client.post(POST, body).status_code == 302
    assert not ToxinProductInterval.objects.exists()
    page = client.get(PAGE).content.decode()
    assert "now uses the clinic default interval" in page
    assert page.count("clinic default (84 days)") == 6
    assert "70 → clinic default" in page


def test_a_bad_interval_on_the_page_is_reported_not_saved(client, manager_user):
    client.force_login(manager_user)
    response = client.post(POST, {f"{DYSPORT}-min_interval_days": "400"}, follow=True)
    assert "Interval for abobotulinumtoxinA (Dysport) not saved" in response.content.decode()
    assert not ToxinProductInterval.objects.exists()


def test_an_unknown_product_on_the_page_is_404(client, manager_user):
    client.force_login(manager_user)
    assert client.post("/clinical/settings/toxin-intervals/snake-oil/", {}).status_code == 404


@pytest.mark.parametrize("role", ["front_desk", "surgeon", "injector"])
def test_only_the_manager_sets_intervals_on_the_page(client, role, request):
    client.force_login(request.getfixturevalue(f"{role}_user"))
    assert client.post(POST, {f"{DYSPORT}-min_interval_days": "70"}).status_code == 403
    assert not ToxinProductInterval.objects.exists()


# --- The API -------------------------------------------------------------------------------------


def test_staff_read_every_product_with_the_interval_that_applies(front_desk, manager_user):
    toxin_interval_set(product=DYSPORT, actor=manager_user, days=70)
    rows = {row["product"]: row for row in front_desk.get(API).json()}
    assert len(rows) == 6
    assert rows[DYSPORT]["min_interval_days"] == 70
    assert rows[DYSPORT]["effective_interval_days"] == 70
    assert rows[DYSPORT]["updated_by"]["id"] == manager_user.pk
    botox = rows["onabotulinumtoxinA"]
    assert botox["min_interval_days"] is None
    assert botox["effective_interval_days"] == ClinicSettings.load().min_reinjection_interval_days
    assert front_desk.get(f"{API}{DYSPORT}/").json()["min_interval_days"] == 70


def test_manager_puts_and_deletes_an_interval(manager, manager_user):
    response = manager.put(f"{API}{DYSPORT}/", {"min_interval_days": 70}, format="json")
    assert response.status_code == 200
    assert response.json()["effective_interval_days"] == 70
    assert ToxinProductInterval.history.latest().history_user == manager_user

    response = manager.delete(f"{API}{DYSPORT}/")
    assert response.status_code == 204
    assert manager.get(f"{API}{DYSPORT}/").json()["effective_interval_days"] == 84
    assert [e.action for e in _events()] == ["toxin_interval.set", "toxin_interval.cleared"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"min_interval_days": 0}, "invalid"),
        ({"min_interval_days": 366}, "invalid"),
        ({"min_interval_days": None}, "invalid"),
        ({}, "invalid"),
        ({"min_interval_days": 70, "product": "onabotulinumtoxinA"}, "unknown_field"),
    ],
)
def test_bad_interval_input_is_400_with_a_code(manager, body, code):
    response = manager.put(f"{API}{DYSPORT}/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["fields"]
    assert not ToxinProductInterval.objects.exists()


def test_an_unknown_product_is_404(manager):
    assert manager.get(f"{API}snake-oil/").status_code == 404
    assert manager.put(f"{API}snake-oil/", {"min_interval_days": 70}, format="json").status_code == 404
    assert manager.delete(f"{API}snake-oil/").status_code == 404


def test_only_the_manager_writes_intervals(front_desk, surgeon, injector):
    for client in (front_desk, surgeon, injector):
        assert client.put(f"{API}{DYSPORT}/", {"min_interval_days": 70}, format="json").status_code == 403
        assert client.delete(f"{API}{DYSPORT}/").status_code == 403
    assert not ToxinProductInterval.objects.exists()
