"""Demo data for the quick start. Idempotent: running it again changes nothing."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
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

    def handle(self, *args, **options):
        with transaction.atomic():
            sync_roles()
            staff = self._staff()
            self._extend(staff)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

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
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            user.groups.set(Group.objects.filter(name__in=roles))
            staff[username] = user
        return staff

    def _extend(self, staff: dict) -> None:
        """Each app contributes its demo records through its own demo module, in layer order."""
        from importlib import import_module

        for app in ("patients", "scheduling", "treatments"):
            try:
                module = import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            module.seed(staff=staff, stdout=self.stdout)
