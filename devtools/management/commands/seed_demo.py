"""Demo data for the quick start. Idempotent: running it again changes nothing.

With DEBUG on (the quick start) the demo logins get the published password below. With DEBUG off
the command refuses to run unless given ``--allow-without-debug``, and then gives each new login
a random password, printed once. Wherever two-factor authentication is required, each demo login
without an authenticator also gets a single-use set-up link, printed once (a password alone never
sets up an authenticator).
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clinic.roles import Role, sync_roles

DEMO_PASSWORD = "demo-clinic-2026"  # noqa: S105 (a published demo password, quick start only)

DEMO_STAFF = [
    # username, title, first, last, roles
    ("frontdesk", "", "Fran", "Desk", [Role.FRONT_DESK]),
    ("surgeon", "Mr", "Samuel", "Hart", [Role.SURGEON]),
    ("surgeon2", "Ms", "Priya", "Raman", [Role.SURGEON]),
    ("injector", "", "Nadia", "Kowalski", [Role.INJECTOR]),
    ("therapist", "", "Theo", "Marsh", [Role.THERAPIST]),
    ("therapist2", "", "Grace", "Okafor", [Role.THERAPIST]),
    ("manager", "", "Morgan", "Lee", [Role.MANAGER]),
]


class Command(BaseCommand):
    help = "Load idempotent demo data: one login per role (and, with later apps, a living clinic)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Run although DEBUG is off (a demo on a server): new logins get random passwords, "
            "printed once, instead of the published demo password.",
        )

    def handle(self, *args, allow_without_debug: bool = False, **options):
        if not settings.DEBUG and not allow_without_debug:
            raise CommandError(
                "DEBUG is off: this looks like a real deployment, and the demo logins would have a "
                "password anyone can read in the README. Run it with --allow-without-debug to make "
                "demo logins with random passwords (printed once)."
            )
        self.random_passwords = not settings.DEBUG
        self.issued: list[tuple[str, str]] = []
        with transaction.atomic():
            sync_roles()
            staff = self._staff()
            self._extend(staff)
        self._set_up_links(staff)
        for username, password in self.issued:
            self.stdout.write(f"  {username:<12} password: {password}")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def _set_up_links(self, staff: dict) -> None:
        from clinic.accounts.models import AccountLink
        from clinic.accounts.services import account_link_issue
        from clinic.mfa.services import mfa_enrolled

        if not settings.REQUIRE_MFA:
            return
        for username, user in staff.items():
            if not mfa_enrolled(user=user):
                link = account_link_issue(
                    user=user, purpose=AccountLink.Purpose.ENROL, actor=None, send_email=False
                )
                self.stdout.write(f"  {username:<12} set-up link (once): {link.url}")

    def _staff(self) -> dict:
        User = get_user_model()
        staff = {}
        for username, title, first, last, roles in DEMO_STAFF:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "title": title,
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@clinic.test",
                },
            )
            if created:
                password = secrets.token_urlsafe(15) if self.random_passwords else DEMO_PASSWORD
                user.set_password(password)
                user.save(update_fields=["password"])
                if self.random_passwords:
                    self.issued.append((username, password))
            user.groups.set(Group.objects.filter(name__in=roles))
            staff[username] = user
        return staff

    def _extend(self, staff: dict) -> None:
        """Each app's demo records, in layer order."""
        from devtools.demo import patients, photos, scheduling, treatments

        for module in (patients, scheduling, treatments, photos):
            module.seed(staff=staff, stdout=self.stdout)
