"""Reset a staff member's two-factor authentication from the server (a lost phone, when no other
practice manager can do it from the Staff page, or the first administrator's set-up). Audited as
auth.mfa_reset; the user's sessions and tokens end, and they get a single-use set-up link."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from clinic.accounts.services import staff_mfa_reset


class Command(BaseCommand):
    help = "Remove a staff member's authenticator app and recovery codes, and make their set-up link."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", default="", help="Why, for the audit trail.")
        parser.add_argument(
            "--email", action="store_true", help="Email the set-up link to them instead of printing it."
        )

    def handle(self, *args, username: str, reason: str, email: bool, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username} is deactivated.")
        link = staff_mfa_reset(
            actor=None, user=user, reason=reason or "reset from the command line", send_email=email
        )
        self.stdout.write(f"Two-factor authentication of {username} reset; their sessions were ended.")
        if link.emailed:
            self.stdout.write(
                f"The set-up link went to their email address; it works until {link.expires_at:%c}."
            )
        else:
            self.stdout.write(
                f"Set-up link (works once, until {link.expires_at:%c}); hand it to them:\n{link.url}"
            )
