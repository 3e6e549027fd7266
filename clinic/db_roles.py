"""The application's database role: everything it needs, and no way to rewrite the audit trail.

Migrations run as the role that owns the tables (MIGRATION_DATABASE_URL); the web and worker
processes connect as a second role (DATABASE_URL) that may read and write the other tables but
only INSERT and SELECT on the audit trail, and only SELECT on its chain head. Not being the
owner, it cannot TRUNCATE, ALTER TABLE ... DISABLE TRIGGER or drop the table, and, not being a
superuser, it cannot SET session_replication_role. See docs/operations.md.
"""

import re

from .audit_chain import AUDIT_TABLE, HEAD_TABLE

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def app_role_grant_sql(*, role: str, schema: str = "public", create: bool = False) -> list[str]:
    """The statements, run as the owner, that give ``role`` the application's rights."""
    if not ROLE_NAME.match(role) or not ROLE_NAME.match(schema):
        raise ValueError("A role or schema name is lower-case letters, digits and underscores.")
    statements = [f"CREATE ROLE {role} NOLOGIN"] if create else []
    return [
        *statements,
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        # The audit trail: append and read, nothing else.
        f"REVOKE ALL ON {AUDIT_TABLE} FROM {role}",
        f"GRANT SELECT, INSERT ON {AUDIT_TABLE} TO {role}",
        # The chain head moves only through the sealing trigger, which runs as the owner.
        f"REVOKE ALL ON {HEAD_TABLE} FROM {role}",
        f"GRANT SELECT ON {HEAD_TABLE} TO {role}",
        # Tables and sequences the owner creates in later migrations.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]
