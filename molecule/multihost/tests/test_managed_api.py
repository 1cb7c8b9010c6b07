"""The operations API on a managed database (Amazon RDS, say: application_db_managed), from site.yml: the inventory's
`db` and `batch` groups are empty, the database host plays the managed server and its admin is no superuser. The
run creates the API's database and both roles with that admin over TLS verify-full, the service answers, and a
second run changes nothing. A second instance of the API on api1 (its own account, directories and port; the run
limited to api1 and --tags securestack), so that the tiers' API is left alone."""

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from conftest import INVENTORY, target_ip
from managed_server import managed_server, sql

testinfra_hosts = ["ansible://api1"]
ADMIN_PASSWORD = "Managed-Admin pw 42"


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    """The scenario's inventory with empty `db` and `batch` groups: the database is a managed one (and no `quiz`
    hosts, whose database site.yml keeps on a `db` host)."""
    directory = tmp_path_factory.mktemp("managed") / "inventory"
    shutil.copytree(INVENTORY.rsplit("/", 1)[0], directory)
    path = directory / "ansible_inventory.yml"
    groups = yaml.safe_load(path.read_text())
    groups["db"]["hosts"] = groups["batch"]["hosts"] = groups["quiz"]["hosts"] = {}
    path.write_text(yaml.safe_dump(groups))
    return directory


@pytest.fixture(scope="module")
def managed(host):
    """The database host as the managed server, its admin and the second API's roles let in from api1 over TLS."""
    address = target_ip(host)
    lines = [f"hostssl all apiadmin {address}/32 scram-sha-256",
             f"hostssl managedapi managedapi,managedapi_owner {address}/32 scram-sha-256"]
    with managed_server("apiadmin", ADMIN_PASSWORD, lines, ["managedapi"], ["managedapi", "managedapi_owner"]) as db:
        # What the inventory of such a deployment holds (the application_db_* values reach the API's role).
        values = {"application_db_managed": True, "application_db_host": target_ip(db),
                  "application_db_admin_user": "apiadmin", "application_db_admin_password": ADMIN_PASSWORD,
                  "application_db_ca_cert": host.file("/etc/securestack/database-ca.pem").content_string,
                  "securestack_db_password": "Managed-API-pw-4242",
                  "securestack_db_owner_password": "Managed-Own-pw-4242",
                  # The second instance, on loopback (not behind the proxy: the run leaves the proxy out).
                  "securestack_account": "managedapi", "securestack_db_owner": "managedapi_owner",
                  "securestack_code_dir": "/opt/managedapi", "securestack_env_file": "/etc/managedapi/managedapi.env",
                  "securestack_bind": "127.0.0.1:8001", "securestack_proxy_hosts": [], "securestack_servers": []}
        try:
            yield db, values
        finally:
            host.run("systemctl disable --now managedapi.service")


def run(inventory, values):
    command = ["ansible-playbook", "-i", str(inventory), "--limit", "api1", "--tags", "securestack",
               "-e", json.dumps(values), os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ)


def test_site_brings_the_api_up_on_a_managed_database_and_a_second_run_changes_nothing(host, inventory, managed):
    db, values = managed
    first, second = run(inventory, values), run(inventory, values)
    assert first.returncode == 0, first.stdout[-3000:]
    assert second.returncode == 0, second.stdout[-3000:]
    assert re.search(r"api1\s+: ok=\d+\s+changed=0 ", second.stdout), second.stdout[-3000:]
    assert host.check_output("curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Host: localhost' "
                             "http://127.0.0.1:8001/api/health") == "200"
    assert sql(db, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'managedapi'") == "managedapi_owner"
    assert sql(db, "SELECT rolsuper FROM pg_roles WHERE rolname = 'apiadmin'") == "f"
    # The administrator was created in that database, through the owner's login over TLS.
    assert sql(db, "SELECT count(*) FROM auth_user WHERE username = 'admin' AND is_staff", "managedapi") == "1"
    env = host.check_output("cat /etc/managedapi/managedapi.env")
    assert "SECURESTACK_DB_SSLMODE=verify-full" in env
    assert f"SECURESTACK_DB_HOST={target_ip(db)}" in env


def test_missing_managed_values_are_refused_before_any_change(inventory, managed):
    _db, values = managed
    proc = run(inventory, {**values, "application_db_admin_password": "", "application_db_ca_cert": "not a cert"})
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "securestack_db_admin_password (application_db_admin_password) must be set" in out
    assert "securestack_db_ca_cert (application_db_ca_cert) must hold the PEM CA bundle" in out
