"""The application renamed in one place; bad values refused before any change; bad batch settings
never reach the live env file."""

import json
import os
import re
import subprocess

import pytest
from conftest import run_cron_command

testinfra_hosts = ["ansible://acme"]

# Files the roles manage: none may change when a value is refused.
MANAGED = ["/etc/ssh/sshd_config", "/etc/fail2ban/jail.local", "/etc/cron.d/acme-batch",
           "/srv/acme/app/.env", "/srv/acme/app/app.py", "/etc/postgresql/15/main/pg_hba.conf",
           "/etc/postgresql/15/main/conf.d/50-demoapp.conf", "/etc/passwd", "/etc/group",
           "/etc/sudoers.d/50-app-account-admins", "/etc/logrotate.d/acme"]


def playbook(name, *args):
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    return subprocess.run(
        ["ansible-playbook", "-i", inventory, *args, os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], name)],
        capture_output=True, text=True, check=False,
        env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"))


def one_role(role, values):
    return playbook("one_role.yml", "-e", f"role_under_test={role}", "-e", json.dumps(values))


def checksums(host):
    return {path: host.file(path).sha256sum for path in MANAGED}


def rows(host):
    return int(host.check_output("runuser -u postgres -- psql -X -At -d acme_db -c 'SELECT count(*) FROM app_logs'"))


def test_the_cron_command_writes_a_row_into_acme_db_and_logs_under_the_new_directory(host):
    before = rows(host)
    result = run_cron_command(host, "acme")
    assert result.rc == 0, result.stderr
    assert rows(host) == before + 1
    assert " OK row id=" in host.file("/srv/acme/logs/acme.log").content_string.splitlines()[-1]
    env = host.file("/srv/acme/app/.env")
    assert (env.user, env.group, env.mode) == ("acme", "acme", 0o600)


def test_nothing_named_demoapp_was_created(host):
    assert host.run("getent passwd demoapp").rc != 0
    assert host.run("getent group demoapp").rc != 0
    assert not host.file("/opt/app/demoapp").exists
    assert not host.file("/logs/app").exists
    assert host.run("crontab -l -u demoapp").rc != 0
    databases = host.check_output("runuser -u postgres -- psql -X -At -c 'SELECT datname FROM pg_database'")
    roles = host.check_output("runuser -u postgres -- psql -X -At -c 'SELECT rolname FROM pg_roles'")
    assert "acme_db" in databases.split() and "demoapp_db" not in databases.split()
    assert "acme_user" in roles.split() and "demoapp_user" not in roles.split()


# Every bad value of the bad-input tests (renamed, operations' fail2ban, multihost's firewall, default's API,
# aws), each given to its role alone, and the message names the variable the user set, not a derived one.
REGION = {"aws_region": "eu-west-3"}
BAD_VALUES = [
    ("cron", {"cron_minute": "61"}, "cron_minute"),
    ("cron", {"cron_hour": "abc"}, "cron_hour"),
    ("ssh_hardening", {"ssh_hardening_port": 70000}, "ssh_hardening_port"),
    ("ssh_hardening", {"ssh_hardening_port": "x"}, "ssh_hardening_port"),
    ("fail2ban", {"fail2ban_jails": [{"name": "sshd", "maxretry": "abc"}]}, "fail2ban_jails"),
    ("batch", {"batch_db_port": 0}, "batch_db_port"),
    ("app_account", {"app_account_home": "relative/dir"}, "app_account_home"),
    ("postgresql", {"postgresql_app_database": "bad'name"}, "postgresql_app_database"),
    ("postgresql", {"postgresql_app_client_networks": ["not-a-cidr"]}, "postgresql_app_client_networks"),
    ("host_hardening", {"host_hardening_timezone": "Mars/Olympus"}, "host_hardening_timezone"),
    ("host_hardening", {"host_hardening_timezone": "Europe/Paris; rm -rf /"}, "host_hardening_timezone"),
    ("firewall", {"firewall_ssh_sources": ["anywhere"]}, "firewall_ssh_sources"),
    ("firewall", {"firewall_allowed": [{"port": 70000}]}, "firewall_allowed"),
    ("securestack", {"securestack_jwt_minutes": 0}, "securestack_jwt_minutes"),
    ("securestack", {"securestack_public_url": "http://acme"}, "securestack_public_url"),
    ("securestack", {"securestack_secret_key": ""}, "securestack_secret_key"),
    ("aws_network", {"aws_region": ""}, "aws_region"),
    ("aws_storage", {**REGION, "aws_storage_bucket": "Not_A_Bucket"}, "aws_storage_bucket"),
    ("aws_database", {**REGION, "aws_database_enabled": True, "aws_database_backup_retention_days": 0},
     "aws_database_backup_retention_days"),
    ("aws_security", {**REGION, "aws_security_trusted_cidrs": ["0.0.0.0/0"]}, "aws_security_trusted_cidrs"),
    ("aws_network", {**REGION, "aws_network_private_subnets": [{"cidr": "10.20.0.128/25", "az": "a"}]},
     "aws_network_private_subnets"),
    # a value the roles derive others from: the message names it, not postgresql_app_password or application_account
    ("postgresql", {"application_db_password": "short"}, "application_db_password"),
    ("batch", {"application_db_password": "short"}, "application_db_password"),
    ("cron", {"application_name": "bad name"}, "application_name"),
]


@pytest.mark.parametrize(("role", "values", "variable"), BAD_VALUES,
                         ids=[f"{r}-{v}" for r, _values, v in BAD_VALUES])
def test_a_bad_value_is_refused_before_any_change_naming_the_variable(host, role, values, variable):
    before = checksums(host)
    proc = one_role(role, values)
    output = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, output[-2000:]
    assert variable in output, output[-2000:]
    recap = next(line for line in proc.stdout.splitlines() if line.startswith("acme "))
    assert "changed=0" in recap, recap
    assert checksums(host) == before


@pytest.mark.parametrize(("values", "error"), [
    ({"batch_db_port": 1}, "database unreachable"),
    ({"batch_db_password": "not-the-password-123"}, "authentication refused"),
])
def test_wrong_batch_settings_leave_the_live_env_file_and_tonights_run(host, values, error):
    env_before = host.file("/srv/acme/app/.env").sha256sum
    proc = one_role("batch", values)
    output = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "refused and /srv/acme/app/.env was left as it was" in output, output[-2000:]
    assert error in output
    assert "not-the-password-123" not in output
    assert host.file("/srv/acme/app/.env").sha256sum == env_before
    before = rows(host)
    assert run_cron_command(host, "acme").rc == 0
    assert rows(host) == before + 1


def test_a_dry_run_of_site_yml_on_a_bare_server_completes_and_changes_nothing():
    import testinfra

    bare = testinfra.get_host("ansible://bare", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])
    snapshot = ("sha256sum /var/lib/dpkg/status /etc/passwd /etc/group; "
                "find /etc/ssh -type f -exec sha256sum {} + 2>/dev/null | sort; dpkg -l | sha256sum")
    before = bare.check_output(snapshot)
    assert bare.run("python3 -c 'import apt'").rc != 0, "the bare image already has python3-apt"
    proc = playbook("dry_run.yml", "--check", "--diff", "--limit", "bare")
    output = proc.stdout + proc.stderr
    errors = [output[max(0, match.start() - 200):match.start() + 800] for match in re.finditer(r"\[ERROR\]", output)]
    assert proc.returncode == 0, "\n".join(errors) or output[-4000:]  # the diffs would hide the error in the tail
    recap = next(line for line in proc.stdout.splitlines() if line.startswith("bare "))
    assert "failed=0" in recap, recap
    assert "changed=0" not in recap, recap
    assert "+openssh-server" in output, output[-4000:]  # the diff of what would be installed
    assert "python3-apt is not installed" in output, output[-4000:]
    assert bare.check_output(snapshot) == before
