"""The operations API on a managed database (Amazon RDS, say: application_db_managed): no inventory host holds it,
its admin is no superuser. The securestack role creates the database and both roles with that admin over TLS
verify-full, the service answers, and a second run changes nothing. A second instance of the role on api1, with
its own account, directories and port, so that the tiers' API is left alone."""

import json
import re
import shlex

import pytest
import testinfra
from conftest import INVENTORY, run_scenario_playbook, target_ip

testinfra_hosts = ["ansible://api1"]
ADMIN_PASSWORD = "Managed-Admin pw 42"


def sql(db, statement, database="postgres"):
    return db.check_output(f"runuser -u postgres -- psql -X -At -d {database} -c {shlex.quote(statement)}")


@pytest.fixture(scope="module")
def managed(host):
    """The database host as a managed database: an admin with CREATEDB CREATEROLE (like RDS's master user), let in
    from api1 over TLS, and the second API's lines; removed afterwards, with what the role created."""
    db = testinfra.get_host("ansible://database", ansible_inventory=INVENTORY)
    address = target_ip(host)
    sql(db, f"CREATE ROLE apiadmin LOGIN CREATEDB CREATEROLE PASSWORD '{ADMIN_PASSWORD}'")
    hba = db.check_output("runuser -u postgres -- psql -X -At -c 'SHOW hba_file'")
    db.run_expect([0], f"cp {hba} /root/pg_hba.conf.api && sed -i "
                       f"'1i hostssl all apiadmin {address}/32 scram-sha-256\\nhostssl managedapi "
                       f"managedapi,managedapi_owner {address}/32 scram-sha-256' {hba} && systemctl reload postgresql")
    values = {"securestack_account": "managedapi", "securestack_db_owner": "managedapi_owner",
              "securestack_code_dir": "/opt/managedapi", "securestack_env_file": "/etc/managedapi/managedapi.env",
              "securestack_bind": "127.0.0.1:8001", "securestack_proxy_hosts": [], "securestack_servers": [],
              "securestack_db_inventory_host": "", "securestack_db_host": target_ip(db),
              "securestack_db_admin_user": "apiadmin", "securestack_db_admin_password": ADMIN_PASSWORD,
              "securestack_db_ca_cert": host.file("/etc/securestack/database-ca.pem").content_string,
              "securestack_db_password": "Managed-API-pw-4242", "securestack_db_owner_password": "Managed-Own-pw-4242"}
    yield db, values
    host.run("systemctl disable --now managedapi.service")
    sql(db, "DROP DATABASE IF EXISTS managedapi")
    for role in ("managedapi", "managedapi_owner", "apiadmin"):
        sql(db, f"DROP ROLE IF EXISTS {role}")
    db.run_expect([0], f"cp /root/pg_hba.conf.api {hba} && systemctl reload postgresql")


def run(values):
    return run_scenario_playbook("managed_api.yml", "-e", json.dumps(values))


def test_the_role_brings_the_api_up_on_a_managed_database_and_a_second_run_changes_nothing(host, managed):
    db, values = managed
    first, second = run(values), run(values)
    assert first.returncode == 0, first.stdout[-3000:]
    assert second.returncode == 0, second.stdout[-3000:]
    assert re.search(r"api1\s+: ok=\d+\s+changed=0 ", second.stdout), second.stdout[-3000:]
    assert host.check_output("curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Host: localhost' "
                             "http://127.0.0.1:8001/api/health") == "200"
    assert sql(db, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'managedapi'") == "managedapi_owner"
    assert sql(db, "SELECT rolsuper FROM pg_roles WHERE rolname = 'apiadmin'") == "f"
    # The administrator was created in that database, through the owner's login over TLS.
    assert sql(db, "SELECT count(*) FROM auth_user WHERE username = 'admin' AND is_staff", "managedapi") == "1"
    assert "SECURESTACK_DB_SSLMODE=verify-full" in host.check_output("cat /etc/managedapi/managedapi.env")


def test_missing_managed_values_are_refused_before_any_change(managed):
    _db, values = managed
    proc = run({**values, "securestack_db_admin_password": "", "securestack_db_ca_cert": "not a cert"})
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "securestack_db_admin_password (application_db_admin_password) must be set" in out
    assert "securestack_db_ca_cert (application_db_ca_cert) must hold the PEM CA bundle" in out
