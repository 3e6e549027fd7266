"""Staff accounts: invitations and set-up links, roles, deactivation, two-factor and password
resets, password changes, and ending a user's sessions.

A password alone never reaches two-factor enrolment: a new account, and an account after a
two-factor reset, is set up only through a single-use, expiring link sent to the staff member's
own email address (or shown once to the practice manager for hand delivery). Every action is
audited; every change to how someone proves who they are ends their other sessions and sends
``clinic.signals.credentials_changed`` (API tokens listen to it).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from clinic.audit import acting_user, audit_record
from clinic.errors import Invalid, LinkInvalid, NotAllowed, UsernameTaken
from clinic.mfa import services as mfa
from clinic.roles import Role
from clinic.signals import CredentialChange, credentials_changed

from .emails import account_email_send
from .models import AccountLink


@dataclass(frozen=True)
class IssuedLink:
    url: str
    expires_at: datetime
    emailed: bool  # False: hand it over (it is shown once)


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _changed(*, user, reason: str, actor) -> None:
    credentials_changed.send(sender=type(user), user=user, reason=reason, actor=acting_user(actor))


# --- Sessions


def sessions_end(*, user) -> None:
    """End every session of ``user``: their session hash changes, so Django's authentication
    middleware signs each one out at its next request (clinic.models.User.session_version)."""
    get_user_model().objects.filter(pk=user.pk).update(session_version=F("session_version") + 1)
    user.refresh_from_db(fields=["session_version"])


@transaction.atomic
def sign_out_everywhere(*, user, actor) -> None:
    sessions_end(user=user)
    _changed(user=user, reason=CredentialChange.SIGN_OUT_EVERYWHERE, actor=actor)
    audit_record(actor=actor, action="auth.signed_out_everywhere", target=user)


# --- Links


def account_link_issue(*, user, purpose: str, actor, send_email: bool) -> IssuedLink:
    """A new single-use link for ``user``; any earlier unused link of theirs stops working.

    Only the hash of its token is stored. With ``send_email`` it goes to the user's own address;
    otherwise (or if that fails) the caller shows it once, for hand delivery.
    """
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        AccountLink.objects.filter(user=user, used_at=None, revoked_at=None).update(revoked_at=now)
        link = AccountLink.objects.create(
            user=user,
            purpose=purpose,
            token_hash=_token_hash(raw),
            created_by=acting_user(actor),
            expires_at=now + timedelta(hours=settings.ACCOUNT_LINK_HOURS),
        )
        audit_record(
            actor=actor,
            action="account.link_issued",
            target=user,
            changes={"purpose": purpose, "by_email": bool(send_email and user.email)},
        )
    url = settings.SITE_URL + reverse("account:link_open", kwargs={"token": raw})
    emailed = bool(send_email) and account_email_send(
        user=user, kind=f"link_{purpose}", link=url, expires_at=link.expires_at
    )
    return IssuedLink(url=url, expires_at=link.expires_at, emailed=emailed)


def account_link_find(raw: str) -> AccountLink | None:
    """The usable link with this token, if there is one (of an active user)."""
    if not raw or len(raw) > 100:
        return None
    link = AccountLink.objects.select_related("user").filter(token_hash=_token_hash(raw)).first()
    if link is None or not link.usable or not link.user.is_active:
        return None
    return link


def link_needs_password(link: AccountLink) -> bool:
    """A new password is chosen on an invitation and a password reset."""
    return link.purpose in (AccountLink.Purpose.INVITE, AccountLink.Purpose.PASSWORD_RESET)


def link_needs_enrolment(link: AccountLink) -> bool:
    """An authenticator is set up after a two-factor reset, and whenever the user has none and
    the clinic requires one."""
    if link.purpose == AccountLink.Purpose.ENROL:
        return True
    return settings.REQUIRE_MFA and not mfa.mfa_enrolled(user=link.user)


@dataclass(frozen=True)
class Redeemed:
    user: object
    device: object | None
    recovery_codes: list[str] | None


def account_link_redeem(
    *,
    link: AccountLink,
    request=None,
    new_password: str | None = None,
    current_password: str | None = None,
    enrol_key: str | None = None,
    code: str | None = None,
) -> Redeemed:
    """Use a link: set the new password and/or confirm the new authenticator, as its purpose asks.

    Raises Invalid (field errors), InvalidCode (the authenticator's code) or LinkInvalid. The
    link is used up only when everything succeeded; a mistake can be corrected and sent again.
    """
    user = link.user
    errors: dict[str, list[str]] = {}
    if link.purpose == AccountLink.Purpose.ENROL:
        # Link and password together: the email account alone does not take over the login.
        # Through authenticate(), so a wrong password counts toward the lockout.
        who = authenticate(request=request, username=user.get_username(), password=current_password or "")
        if who is None or who.pk != user.pk:
            errors["current_password"] = ["That is not your current password."]
    if link_needs_password(link):
        errors.update(_password_errors(new_password, user, field="new_password"))
    if errors:
        raise Invalid("Check the highlighted fields.", fields=errors)
    enrol = link_needs_enrolment(link)
    if enrol and not (enrol_key and code):
        raise mfa.InvalidCode("Enter the 6-digit code your authenticator app shows.")

    with transaction.atomic():
        locked = AccountLink.objects.select_for_update().filter(pk=link.pk).first()
        if locked is None or not locked.usable:
            raise LinkInvalid()
        device = codes = None
        if enrol:
            device, codes = mfa.mfa_enrol(user=user, key=enrol_key, code=code, via_link=True)
        if link_needs_password(link):
            user.set_password(new_password)
            user.save(update_fields=["password"])
            if link.purpose == AccountLink.Purpose.PASSWORD_RESET:
                _changed(user=user, reason=CredentialChange.PASSWORD_RESET, actor=user)
        locked.used_at = timezone.now()
        locked.save(update_fields=["used_at"])
        audit_record(
            actor=user,
            action="account.link_used",
            target=user,
            changes={
                "purpose": link.purpose,
                "password_set": link_needs_password(link),
                "mfa_enrolled": device is not None,
            },
        )
    now = timezone.now()
    if device is not None:
        account_email_send(user=user, kind="mfa_enrolled", at=now)
    if link.purpose == AccountLink.Purpose.PASSWORD_RESET:
        account_email_send(user=user, kind="password_changed", at=now)
    return Redeemed(user=user, device=device, recovery_codes=codes)


# --- Passwords


def _password_errors(password: str | None, user, *, field: str) -> dict:
    if not password:
        return {field: ["Choose a password."]}
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return {field: list(exc.messages)}
    return {}


def password_change(*, user, current_password: str, new_password: str, request=None) -> None:
    """The signed-in user's own password. Other sessions end (the caller keeps the current one
    with update_session_auth_hash); tokens are revoked through credentials_changed; the user is
    emailed."""
    errors = {}
    who = authenticate(request=request, username=user.get_username(), password=current_password or "")
    if who is None or who.pk != user.pk:
        errors["current_password"] = ["That is not your current password."]
    elif new_password == current_password:
        errors["new_password"] = ["Choose a password different from the current one."]
    else:
        errors.update(_password_errors(new_password, user, field="new_password"))
    if errors:
        raise Invalid("Check the highlighted fields.", fields=errors)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        _changed(user=user, reason=CredentialChange.PASSWORD_CHANGED, actor=user)
        audit_record(actor=user, action="auth.password_changed", target=user)
    account_email_send(user=user, kind="password_changed", at=timezone.now())


# --- The practice manager's actions


def _guard(*, actor, user, action: str) -> None:
    if actor is None:
        return  # from the server (a management command): its operator may do anything
    if user.pk == getattr(actor, "pk", None):
        raise NotAllowed(f"You cannot {action} your own account: ask another practice manager.")
    if user.is_superuser and not getattr(actor, "is_superuser", False):
        raise NotAllowed("An administrator's account is managed from the server.")


def _clean_roles(roles) -> list[str]:
    roles = sorted(set(roles or []))
    unknown = [r for r in roles if r not in Role.values]
    if unknown or not roles:
        raise Invalid(fields={"roles": [f"Choose one or more of: {', '.join(Role.values)}."]})
    return roles


def staff_invite(
    *,
    actor,
    username: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    title: str = "",
    roles: list[str],
    send_email: bool = True,
):
    """Create a member of staff with no usable password, and their set-up link. Returns
    (user, IssuedLink)."""
    User = get_user_model()
    roles = _clean_roles(roles)
    username = (username or "").strip()
    if send_email and not email:
        raise Invalid(fields={"email": ["Enter their email address, or show the link to hand over instead."]})
    if User.objects.filter(username__iexact=username).exists():
        raise UsernameTaken(fields={"username": ["That username is taken."]})
    try:
        with transaction.atomic():
            user = User(
                username=username, email=email, first_name=first_name, last_name=last_name, title=title
            )
            user.set_unusable_password()
            user.full_clean(exclude=["password"])
            user.save()
            user.groups.set(Group.objects.filter(name__in=roles))
            audit_record(
                actor=actor,
                action="staff.invited",
                target=user,
                changes={"username": username, "roles": roles},
            )
    except IntegrityError as exc:
        raise UsernameTaken(fields={"username": ["That username is taken."]}) from exc
    except ValidationError as exc:
        raise Invalid(fields=exc.message_dict) from exc
    link = account_link_issue(
        user=user, purpose=AccountLink.Purpose.INVITE, actor=actor, send_email=send_email
    )
    return user, link


@transaction.atomic
def staff_roles_set(*, actor, user, roles) -> list[str]:
    roles = _clean_roles(roles)
    _guard(actor=actor, user=user, action="change the roles of")
    before = user.role_names
    user.groups.set(Group.objects.filter(name__in=roles))
    if before != roles:
        audit_record(
            actor=actor, action="staff.roles_changed", target=user, changes={"roles": [before, roles]}
        )
    return roles


@transaction.atomic
def staff_deactivate(*, actor, user) -> bool:
    """Sign a member of staff out everywhere and stop them logging in. Returns whether they were
    active."""
    _guard(actor=actor, user=user, action="deactivate")
    was_active = user.is_active
    user.is_active = False
    user.save(update_fields=["is_active"])
    sessions_end(user=user)
    AccountLink.objects.filter(user=user, used_at=None, revoked_at=None).update(revoked_at=timezone.now())
    _changed(user=user, reason=CredentialChange.DEACTIVATED, actor=actor)
    audit_record(actor=actor, action="staff.deactivated", target=user, changes={"was_active": was_active})
    return was_active


def staff_mfa_reset(*, actor, user, reason: str = "", send_email: bool = True) -> IssuedLink:
    """A lost phone: remove the authenticator and recovery codes, end the user's sessions and
    tokens, and give them a set-up link (their password and the link set up a new app)."""
    _guard(actor=actor, user=user, action="reset two-factor authentication of")
    if not user.is_active:
        raise NotAllowed("Reactivate the account first.")
    with transaction.atomic():
        mfa.mfa_reset(user=user, actor=actor, reason=reason)
        sessions_end(user=user)
        _changed(user=user, reason=CredentialChange.MFA_RESET, actor=actor)
    purpose = AccountLink.Purpose.ENROL if user.has_usable_password() else AccountLink.Purpose.INVITE
    link = account_link_issue(user=user, purpose=purpose, actor=actor, send_email=send_email)
    account_email_send(user=user, kind="mfa_reset", at=timezone.now(), link_sent=link.emailed)
    return link


def staff_password_reset(*, actor, user, send_email: bool = True) -> IssuedLink:
    """A forgotten password: a link to choose a new one (the current one works until then)."""
    _guard(actor=actor, user=user, action="reset the password of")
    if not user.is_active:
        raise NotAllowed("Reactivate the account first.")
    purpose = AccountLink.Purpose.PASSWORD_RESET if user.has_usable_password() else AccountLink.Purpose.INVITE
    return account_link_issue(user=user, purpose=purpose, actor=actor, send_email=send_email)


def staff_sign_out(*, actor, user) -> None:
    """End every session and token of a member of staff (a shared computer left signed in)."""
    _guard(actor=actor, user=user, action="sign out")
    sign_out_everywhere(user=user, actor=actor)
