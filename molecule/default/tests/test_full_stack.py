"""Full stack on a bare host: access, brute-force protection, the batch on its schedule, the schema."""

import json

from conftest import (
    DB_PASSWORD,
    banned_addresses,
    brute_force_until_banned,
    cron_line,
    psql_as_app,
    run_cron_command,
    ssh_with_key,
    ssh_with_password,
    target_name,
)

testinfra_hosts = ["ansible://targets"]


def test_admin_key_login_and_sudo(host, client):
    result = ssh_with_key(client, "appadmin", target_name(host), "sudo -n true && echo ok")
    assert result.rc == 0 and result.stdout.strip() == "ok", result.stderr


def test_password_and_root_logins_are_refused(host, client):
    assert "Permission denied" in ssh_with_password(client, "appadmin", target_name(host), "x").stderr
    assert "Permission denied" in ssh_with_key(client, "root", target_name(host)).stderr


def test_cron_command_writes_a_row(host):
    assert cron_line(host).startswith("0 1 * * * ")
    count = "SELECT count(*) FROM app_logs"
    before = int(psql_as_app(host, count).stdout)
    assert run_cron_command(host).rc == 0
    assert int(psql_as_app(host, count).stdout) == before + 1


def test_schema_verify_finds_no_drift(host):
    args = {"db": "demoapp_db", "login_host": "127.0.0.1", "login_user": "demoapp_user",
            "login_password": DB_PASSWORD, "state": "verify", "strict": True,
            "tables": [{"name": "app_logs", "columns": [
                {"name": "id", "type": "SERIAL", "primary_key": True},
                {"name": "run_date", "type": "TIMESTAMP", "nullable": False},
                {"name": "message", "type": "TEXT", "nullable": False}]}]}
    result = host.ansible("integration.demoapp.pg_schema", json.dumps(args), check=False)
    assert result["drift"] == [], result.get("msg")


# Last: it bans the client.
def test_brute_force_is_banned(host, client):
    attacker = brute_force_until_banned(host, client)
    try:
        assert attacker in banned_addresses(host)
        assert client.run(f"nc -z -w 3 {target_name(host)} 22").rc != 0
    finally:
        host.run(f"fail2ban-client set sshd unbanip {attacker}")


def test_the_site_installs_every_roles_packages_in_one_apt_transaction(host):
    # site.yml plans the packages of every role a host gets, then installs them with one apt run: the packages of
    # the first play's roles (fail2ban, auditd, unattended-upgrades), the database's and the API's land together.
    wanted = {"fail2ban", "auditd", "unattended-upgrades", "postgresql", "python3-django", "nginx"}
    history = host.file("/var/log/apt/history.log").content_string
    transactions = []
    for block in history.split("Start-Date:")[1:]:
        installed = set()
        for line in block.splitlines():
            if line.startswith("Install: "):
                installed |= {entry.split(":")[0].strip() for entry in line[len("Install: "):].split("), ")}
        if installed & wanted:
            transactions.append(installed & wanted)
    assert transactions == [wanted], transactions
