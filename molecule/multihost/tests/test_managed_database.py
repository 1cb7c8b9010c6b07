"""The postgresql role's `managed` entry point (site.yml with a managed database such as Amazon RDS): from a
batch host, with an admin that is no superuser, over TLS verify-full, it creates the application's role,
database, tables and privileges; a second run changes nothing; a CA that did not sign the server is refused."""

import json
import re
import shlex

import pytest
from conftest import run_scenario_playbook, target_ip
from managed_server import managed_server, sql

testinfra_hosts = ["ansible://batch1"]
ADMIN_PASSWORD = "Managed-Admin pw 42"
APP_PASSWORD = "Managed-App pw 4242"


@pytest.fixture(scope="module")
def managed(host):
    """The database host as a managed database, its admin let in from batch1 over TLS."""
    address = target_ip(host)
    lines = [f"hostssl all dbadmin {address}/32 scram-sha-256",
             f"hostssl managed_db managed_user {address}/32 scram-sha-256"]
    with managed_server("dbadmin", ADMIN_PASSWORD, lines, ["managed_db"], ["managed_user"]) as db:
        values = {"postgresql_managed_host": target_ip(db), "postgresql_managed_admin_user": "dbadmin",
                  "postgresql_managed_admin_password": ADMIN_PASSWORD,
                  "postgresql_managed_ca_cert": host.file("/opt/app/demoapp/db-ca.crt").content_string,
                  "postgresql_app_role": "managed_user", "postgresql_app_database": "managed_db",
                  "postgresql_app_password": APP_PASSWORD}
        yield db, values


def run(values):
    return run_scenario_playbook("managed_database.yml", "-e", json.dumps(values))


def test_the_entry_point_creates_the_database_owned_by_the_application_role_twice_unchanged(host, managed):
    db, values = managed
    first, second = run(values), run(values)
    assert first.returncode == 0, first.stdout[-3000:]
    assert second.returncode == 0, second.stdout[-3000:]
    assert re.search(r"batch1\s+: ok=\d+\s+changed=0 ", second.stdout), second.stdout[-2000:]
    assert sql(db, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'managed_db'") == "managed_user"
    assert sql(db, "SELECT rolsuper FROM pg_roles WHERE rolname = 'dbadmin'") == "f"
    assert sql(db, "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'",
               "managed_db") == "app_logs"
    # The application role writes a row over TLS, verified against the same CA bundle.
    script = ("import psycopg2; c = psycopg2.connect(dbname='managed_db', user='managed_user', sslmode='verify-full', "
              "sslrootcert='/opt/app/demoapp/db-ca.crt'); cur = c.cursor(); "
              "cur.execute(\"INSERT INTO app_logs (run_date, message) VALUES (now(), 'managed')\"); c.commit()")
    libpq = f"PGHOST={target_ip(db)} PGPASSWORD={shlex.quote(APP_PASSWORD)}"
    assert host.run(f"{libpq} python3 -c {shlex.quote(script)}").rc == 0
    assert sql(db, "SELECT count(*) FROM app_logs WHERE message = 'managed'", "managed_db") == "1"


def test_a_ca_bundle_that_did_not_sign_the_server_is_refused(host, managed):
    _db, values = managed
    host.run_expect([0], "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other-ca "
                         "-keyout /tmp/other-ca.key -out /tmp/other-ca.pem 2>/dev/null")
    proc = run({**values, "postgresql_managed_ca_cert": host.file("/tmp/other-ca.pem").content_string})
    assert proc.returncode != 0
    assert "certificate verify failed" in proc.stdout + proc.stderr, proc.stdout[-2000:]


def test_missing_admin_values_are_refused_before_any_change(managed):
    _db, values = managed
    proc = run({**values, "postgresql_managed_admin_password": "", "postgresql_managed_ca_cert": "not a cert"})
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "postgresql_managed_admin_password (application_db_admin_password) must be set" in out
    assert "postgresql_managed_ca_cert (application_db_ca_cert) must hold the PEM CA bundle" in out
