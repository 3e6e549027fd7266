"""Give the application's database role its rights (run as the owner, after each migrate)."""

import environ
from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction

from clinic.db_roles import app_role_grant_sql


class Command(BaseCommand):
    help = (
        "Grant ROLE what the application needs: read and write on every table, but only INSERT and "
        "SELECT on the audit trail. Run it connected as the tables' owner (DATABASE_URL set to the "
        "owner's URL), after migrate. --sql prints the statements instead of running them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "role", nargs="?", help="The role the web and worker processes connect as, e.g. clinic_app."
        )
        parser.add_argument(
            "--role-from-url",
            metavar="URL",
            help="Take the role from the user of this database URL (the application's DATABASE_URL).",
        )
        parser.add_argument("--create", action="store_true", help="Create the role first (NOLOGIN).")
        parser.add_argument("--schema", default="public")
        parser.add_argument("--sql", action="store_true", help="Print the SQL; run nothing.")
        parser.add_argument("--database", default="default")

    def handle(self, *args, role, role_from_url, create, schema, sql, database, **options):
        if role_from_url:
            role = environ.Env.db_url_config(role_from_url).get("USER") or role
        if not role:
            raise CommandError("Name the role, or give --role-from-url.")
        try:
            statements = app_role_grant_sql(role=role, schema=schema, create=create)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if sql:
            self.stdout.write(";\n".join(statements) + ";")
            return
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError("Database roles exist on PostgreSQL only.")
        with transaction.atomic(using=database), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(self.style.SUCCESS(f"{role}: the application's rights granted."))
