"""Reset a staff member's two-factor authentication from the server (a lost phone, when no other
practice manager can do it from the Staff page). Audited as auth.mfa_reset."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from clinic.mfa.services import mfa_reset


class Command(BaseCommand):
    help = "Remove a staff member's authenticator app and recovery codes; they set them up again."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", default="", help="Why, for the audit trail.")

    def handle(self, *args, username: str, reason: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        had = mfa_reset(user=user, actor=None, reason=reason or "reset from the command line")
        if had:
            self.stdout.write(f"Two-factor authentication of {username} reset.")
        else:
            self.stdout.write(f"{username} had no two-factor authentication set up; nothing changed.")
