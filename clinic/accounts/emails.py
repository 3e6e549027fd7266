"""Emails to a member of staff about their own account: their set-up or reset link, and notices
that something changed (a new authenticator, a two-factor reset, a new password), so that a
change they did not make does not go unnoticed."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

KINDS = {"link_invite", "link_enrol", "link_password_reset", "mfa_enrolled", "mfa_reset", "password_changed"}


def account_email_send(*, user, kind: str, **context) -> bool:
    """Send one of the account emails (templates/accounts/<kind>.{subject,email}.txt) to the
    user's own address. Returns whether it was handed to the mail server; a failure is logged
    (user id only) and reported to the caller, never raised."""
    if kind not in KINDS:
        raise ValueError(kind)
    if not user.email:
        return False
    context = {"user": user, "clinic_name": settings.CLINIC_NAME, "site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"accounts/{kind}.subject.txt", context, using="text").strip()
    body = render_to_string(f"accounts/{kind}.email.txt", context, using="text")
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    except Exception:
        logger.warning("account email not sent", extra={"user_id": user.pk, "kind": kind}, exc_info=True)
        return False
    return True
