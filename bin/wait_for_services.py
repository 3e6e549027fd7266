"""Say clearly, without a traceback, when the database the tests need is not reachable."""

import os
import sys
import time

import psycopg
import psycopg.sql

url = os.environ["DATABASE_URL"]
if not url.startswith("postgres"):
    sys.exit(0)

# Connect to the server's maintenance database: the test database is created by the tests.
conninfo = url.rsplit("/", 1)[0] + "/postgres"
last_error = None
for _ in range(10):
    try:
        with psycopg.connect(conninfo, connect_timeout=3, autocommit=True) as conn:
            dbname = url.rsplit("/", 1)[1].split("?")[0]
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
            if not exists:
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname)))
        sys.exit(0)
    except psycopg.OperationalError as exc:
        last_error = exc
        time.sleep(1)

host = url.split("@")[-1]
sys.stderr.write(
    f"\nPostgreSQL is not reachable at {host}: {str(last_error).strip().splitlines()[0]}\n"
    "Start it (e.g. `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`)\n"
    "or point DATABASE_URL at a running server.\n\n"
)
sys.exit(2)
