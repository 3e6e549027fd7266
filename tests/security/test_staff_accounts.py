"""The practice manager's staff accounts, on the Staff page and in the API: invite, roles,
deactivation, two-factor reset, password-reset link, sign out. Every action is audited; every
change to someone's credentials ends their sessions (a logged-in client of theirs is signed out)
and sends credentials_changed, which API token revocation listens to."""

import pytest
from django.core import mail

from clinic.accounts.models import AccountLink
from clinic.models import AuditEvent
from clinic.signals import CredentialChange, credentials_changed
from tests.factories import PASSWORD, UserFactory
from tests.security.otp import emailed_link, path_of

NEW_PASSWORD = "seven quiet herons at dawn"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def changes():
    seen = []

    def receiver(sender, user, reason, actor=None, **kwargs):
        seen.append((user.pk, reason, getattr(actor, "pk", None)))

    credentials_changed.connect(receiver, dispatch_uid="test-staff-accounts")
    yield seen
    credentials_changed.disconnect(dispatch_uid="test-staff-accounts")


@pytest.fixture
def staff_page(client, manager_user):
    client.force_login(manager_user)
    return client


def _logged_in(client_class, user):
    client = client_class()
    client.force_login(user)
    assert client.get("/patients/").status_code == 200
    return client


def _audited(action: str, user) -> AuditEvent:
    return AuditEvent.objects.filter(action=action, target_id=str(user.pk)).latest("id")


# --- Pages


def test_invite_with_the_link_shown_once_for_hand_delivery(staff_page, manager_user):
    response = staff_page.post(
        "/clinic/staff/invite/",
        {
            "username": "tmarsh",
            "first_name": "Theo",
            "last_name": "Marsh",
            "roles": ["therapist"],
            "delivery": "show",
        },
    )
    assert response["Location"] == "/clinic/staff/"
    user = AccountLink.objects.get(user__username="tmarsh").user
    assert user.role_names == ["therapist"] and not user.has_usable_password()
    page = staff_page.get("/clinic/staff/")
    shown = page.context["shown_link"]["url"]
    assert shown in page.content.decode() and "/account/set-up/" in shown
    assert staff_page.get("/clinic/staff/").context["shown_link"] is None  # once
    assert not mail.outbox
    assert _audited("staff.invited", user).actor == manager_user
    assert _audited("account.link_issued", user).changes == {"purpose": "invite", "by_email": False}


def test_invite_refuses_a_taken_username_and_bad_roles(staff_page, surgeon_user):
    taken = staff_page.post(
        "/clinic/staff/invite/",
        {"username": surgeon_user.username.upper(), "roles": ["surgeon"], "delivery": "show"},
    )
    assert taken.status_code == 200 and "taken" in taken.content.decode()
    no_email = staff_page.post(
        "/clinic/staff/invite/", {"username": "newbie", "roles": ["surgeon"], "delivery": "email"}
    )
    assert no_email.status_code == 200 and not AccountLink.objects.exists()


def test_role_change_is_audited_and_not_on_oneself(staff_page, manager_user, front_desk_user):
    staff_page.post(f"/clinic/staff/{front_desk_user.pk}/roles/", {"roles": ["front_desk", "therapist"]})
    assert front_desk_user.role_names == ["front_desk", "therapist"]
    assert _audited("staff.roles_changed", front_desk_user).changes == {
        "roles": [["front_desk"], ["front_desk", "therapist"]]
    }
    staff_page.post(f"/clinic/staff/{manager_user.pk}/roles/", {"roles": ["front_desk"]})
    assert manager_user.role_names == ["manager"]


def test_deactivation_signs_the_user_out_and_keeps_them_out(
    client, staff_page, manager_user, surgeon_user, changes
):
    theirs = _logged_in(type(client), surgeon_user)

    staff_page.post(f"/clinic/staff/{surgeon_user.pk}/deactivate/")

    assert theirs.get("/patients/")["Location"].startswith("/login/")
    fresh = type(client)()
    assert fresh.post("/login/", {"username": surgeon_user.username, "password": PASSWORD}).status_code == 200
    assert "_auth_user_id" not in fresh.session
    assert (surgeon_user.pk, CredentialChange.DEACTIVATED, manager_user.pk) in changes
    assert _audited("staff.deactivated", surgeon_user).actor == manager_user
    # Not oneself.
    staff_page.post(f"/clinic/staff/{manager_user.pk}/deactivate/")
    manager_user.refresh_from_db()
    assert manager_user.is_active


def test_sign_out_ends_every_session_of_the_user(client, staff_page, manager_user, therapist_user, changes):
    one, two = _logged_in(type(client), therapist_user), _logged_in(type(client), therapist_user)
    staff_page.post(f"/clinic/staff/{therapist_user.pk}/sign-out/")
    assert one.get("/patients/")["Location"].startswith("/login/")
    assert two.get("/api/v1/me/").status_code in (401, 403)
    assert (therapist_user.pk, CredentialChange.SIGN_OUT_EVERYWHERE, manager_user.pk) in changes
    assert staff_page.get("/patients/").status_code == 200  # the manager's own session is untouched
    # They log in again as before.
    therapist_user.refresh_from_db()
    assert _logged_in(type(client), therapist_user)


def test_password_reset_link(client, staff_page, manager_user, front_desk_user, changes):
    theirs = _logged_in(type(client), front_desk_user)
    staff_page.post(f"/clinic/staff/{front_desk_user.pk}/password-reset/")
    link = emailed_link(front_desk_user.email)
    assert theirs.get("/patients/").status_code == 200  # nothing changes until it is used

    browser = type(client)()
    browser.get(path_of(link))
    page = browser.get("/account/set-up/")
    assert "current_password" not in page.context["form"].fields and "code" not in page.context["form"].fields
    response = browser.post(
        "/account/set-up/", {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    )
    assert response.status_code == 302

    assert theirs.get("/patients/")["Location"].startswith("/login/")  # the old sessions ended
    front_desk_user.refresh_from_db()
    assert front_desk_user.check_password(NEW_PASSWORD) and not front_desk_user.check_password(PASSWORD)
    assert (front_desk_user.pk, CredentialChange.PASSWORD_RESET, front_desk_user.pk) in changes
    assert any("password was changed" in m.subject for m in mail.outbox if m.to == [front_desk_user.email])
    assert type(client)().get(path_of(link)).status_code == 404


def test_a_superusers_account_is_not_managed_from_the_page(staff_page):
    admin = UserFactory(username="root", is_superuser=True)
    staff_page.post(f"/clinic/staff/{admin.pk}/deactivate/")
    staff_page.post(f"/clinic/staff/{admin.pk}/password-reset/")
    admin.refresh_from_db()
    assert admin.is_active and not AccountLink.objects.filter(user=admin).exists()


def test_only_managers_manage_staff(login_as, surgeon_user, therapist_user):
    client = login_as(surgeon_user)
    for path in ("deactivate", "sign-out", "password-reset", "two-factor/reset"):
        assert client.post(f"/clinic/staff/{therapist_user.pk}/{path}/").status_code == 403
    assert client.post("/clinic/staff/invite/", {"username": "x", "roles": ["surgeon"]}).status_code == 403
    therapist_user.refresh_from_db()
    assert therapist_user.is_active and not AccountLink.objects.exists()


# --- API


def test_api_invite_roles_and_actions(manager, manager_user, surgeon_user, changes):
    invited = manager.post(
        "/api/v1/staff/",
        {"username": "pr", "email": "pr@clinic.test", "roles": ["surgeon"], "send_email": False},
        format="json",
    )
    assert invited.status_code == 201
    body = invited.json()
    assert body["staff"]["roles"] == ["surgeon"] and body["staff"]["mfa_enrolled"] is False
    assert body["set_up"]["emailed"] is False and "/account/set-up/" in body["set_up"]["link"]
    new_id = body["staff"]["id"]

    emailed = manager.post(f"/api/v1/staff/{new_id}/password-reset/", {}, format="json").json()
    assert emailed["emailed"] is True and emailed["link"] is None  # not in the answer: in their inbox

    patched = manager.patch(f"/api/v1/staff/{new_id}/", {"roles": ["injector"]}, format="json")
    assert patched.status_code == 200 and patched.json()["roles"] == ["injector"]
    assert manager.patch(f"/api/v1/staff/{new_id}/", {"roles": ["king"]}, format="json").status_code == 400

    assert manager.post(f"/api/v1/staff/{surgeon_user.pk}/sign-out/").status_code == 200
    reset = manager.post(
        f"/api/v1/staff/{surgeon_user.pk}/two-factor-reset/", {"reason": "lost"}, format="json"
    )
    assert reset.status_code == 200 and reset.json()["emailed"] is True
    gone = manager.post(f"/api/v1/staff/{surgeon_user.pk}/deactivate/")
    assert gone.status_code == 200 and gone.json()["is_active"] is False
    own = manager.post(f"/api/v1/staff/{manager_user.pk}/deactivate/")
    assert own.status_code == 403 and own.json()["code"] == "not_allowed"
    taken = manager.post(
        "/api/v1/staff/", {"username": "PR", "roles": ["surgeon"], "send_email": False}, format="json"
    )
    assert taken.status_code == 409 and taken.json()["code"] == "username_taken"

    reasons = [reason for pk, reason, _ in changes if pk == surgeon_user.pk]
    assert reasons == [
        CredentialChange.SIGN_OUT_EVERYWHERE,
        CredentialChange.MFA_RESET,
        CredentialChange.DEACTIVATED,
    ]
    listed = manager.get("/api/v1/staff/?is_active=true").json()["results"]
    assert surgeon_user.pk not in {row["id"] for row in listed}


def test_api_is_for_managers_only(surgeon, therapist_user):
    assert surgeon.get("/api/v1/staff/").status_code == 403
    assert surgeon.post(f"/api/v1/staff/{therapist_user.pk}/deactivate/").status_code == 403
