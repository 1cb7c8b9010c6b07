"""site.yml with a managed database (application_db_managed, e.g. Amazon RDS): no PostgreSQL server play runs,
the first batch host ensures the database, and the batch's env file points at the endpoint with verify-full and
the CA bundle; a database host alongside a managed database is refused."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "playbooks" / "site.yml"
TOP_SITE = ROOT / "site.yml"  # what administrators run (the collection resolves through collections/)
ENDPOINT = "demoapp.abcdefghijkl.eu-west-3.rds.amazonaws.com"
CA = "-----BEGIN CERTIFICATE-----\nMIIBrdsGlobalBundleStandIn\n-----END CERTIFICATE-----"
MANAGED = {"application_db_managed": True, "application_db_host": ENDPOINT, "application_db_ca_cert": CA,
           "application_db_password": "unit-App pw 0123", "application_db_admin_user": "dbadmin",
           "application_db_admin_password": "unit-Admin pw 0123"}


def ansible(tmp_path, *args, inventory=None):
    (tmp_path / "vars.yml").write_text(yaml.safe_dump(MANAGED))
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory or {"all": {"children": {
        "batch": {"hosts": {"app1": {}, "app2": {}}}, "db": {"hosts": {}}}}}))
    return subprocess.run(["ansible-playbook", "-i", str(tmp_path / "hosts.yml"), "-e", f"@{tmp_path / 'vars.yml'}",
                           "-e", f"ansible_python_interpreter={sys.executable}", *args],
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                                   ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections")))


def plays_and_hosts(listing):
    """{play name: [hosts]} from ansible-playbook --list-hosts."""
    plays, current = {}, None
    for line in listing.splitlines():
        stripped = line.strip()
        if stripped.startswith("play #"):
            current = stripped.split("): ", 1)[1].split("\tTAGS:", 1)[0].strip()
            plays[current] = []
        elif current and line.startswith("      ") and stripped and not stripped.startswith("pattern:"):
            plays[current].append(stripped)
    return plays


def test_with_a_managed_database_no_server_play_runs_and_the_first_batch_host_ensures_it(tmp_path):
    proc = ansible(tmp_path, "--list-hosts", str(TOP_SITE))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plays = plays_and_hosts(proc.stdout)
    assert plays["Database"] == []
    assert plays["Database on a managed service (application_db_managed, e.g. Amazon RDS)"] == ["app1"]
    assert sorted(plays["Batch and its schedule"]) == ["app1", "app2"]


def test_the_batch_env_file_points_at_the_endpoint_with_verify_full_and_the_ca_bundle(tmp_path):
    batch = ROOT / "roles" / "batch"
    site_batch_play = next(p for p in yaml.safe_load(SITE.read_text()) if p["name"] == "Batch and its schedule")
    site_vars = site_batch_play["roles"][0]["vars"]  # exactly what site.yml passes to the batch role
    out = tmp_path / "env"
    play = [{"hosts": "app1", "gather_facts": False, "connection": "local",
             "vars_files": [str(ROOT / "roles" / "application" / "defaults" / "main.yml"),
                            str(batch / "defaults" / "main.yml"), str(batch / "vars" / "main.yml")],
             "tasks": [{"name": "Render the env file", "vars": site_vars,
                        "ansible.builtin.template": {"src": str(batch / "templates" / "env.j2"), "dest": str(out)}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    proc = ansible(tmp_path, str(tmp_path / "play.yml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    env = out.read_text().splitlines()
    assert f'DB_HOST="{ENDPOINT}"' in env
    assert 'DB_SSLMODE="verify-full"' in env
    assert 'DB_SSLROOTCERT="/opt/app/demoapp/db-ca.crt"' in env


def test_a_database_host_alongside_a_managed_database_is_refused_before_any_change(tmp_path):
    inventory = {"all": {"children": {"batch": {"hosts": {"app1": {}}}, "db": {"hosts": {"db1": {}}}},
                         "vars": {"ansible_connection": "local"}}}
    proc = ansible(tmp_path, "--check", str(TOP_SITE), "--limit", "db1", inventory=inventory)  # check: nothing changes
    assert proc.returncode != 0
    assert "application_db_managed is true" in proc.stdout and "must stay empty" in proc.stdout
    assert "changed=0" in proc.stdout.split("PLAY RECAP")[1]
