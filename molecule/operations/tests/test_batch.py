"""batch + cron: the crontab's exact command writes a row; failures are explicit and write
nothing; the password lives only in the env file; runs never overlap."""

import shlex

import pytest
from conftest import DB_PASSWORD, cron_line, psql_as_app, run_cron_command

# Debian 13 only (why: molecule/operations/molecule.yml).
testinfra_hosts = ["ansible://debian13"]


def test_the_batch_is_scheduled_daily_at_one(host):
    assert cron_line(host).split(None, 5)[:5] == ["0", "1", "*", "*", "*"]


def row_count(host):
    return int(psql_as_app(host, "SELECT count(*) FROM app_logs").stdout.strip())


def test_crontab_command_writes_a_row(host):
    before = row_count(host)
    result = run_cron_command(host)
    assert result.rc == 0, host.file("/logs/app/demoapp.log").content_string[-500:]
    assert row_count(host) == before + 1
    assert " OK row id=" in host.file("/logs/app/demoapp.log").content_string.splitlines()[-1]


def test_database_down_gives_connection_error_and_no_row(host):
    before = row_count(host)
    host.run_expect([0], "systemctl stop postgresql")
    try:
        result = run_cron_command(host)
        last = host.file("/logs/app/demoapp.log").content_string.splitlines()[-1]
    finally:
        host.run_expect([0], "systemctl start postgresql")
    assert result.rc == 4
    assert "ERROR exit=4 database unreachable" in last
    assert row_count(host) == before


def test_runs_never_overlap(host):
    before = row_count(host)
    command = cron_line(host).split(None, 5)[5]
    result = host.run(
        "runuser -u demoapp -- flock /logs/app/demoapp.log.lock sleep 3 & sleep 1; "
        f"cd / && /bin/sh -c {shlex.quote(command)}; echo rc=$?; wait"
    )
    assert "rc=7" in result.stdout
    assert "another run holds" in host.file("/logs/app/demoapp.log").content_string.splitlines()[-1]
    assert row_count(host) == before


def test_secrets_file_and_code_permissions(host):
    env = host.file("/opt/app/demoapp/.env")
    assert (env.user, env.mode) == ("demoapp", 0o600)
    app = host.file("/opt/app/demoapp/app.py")
    assert app.user == "root" and not app.mode & 0o022
    assert host.run("runuser -u demoapp -- sh -c 'echo x >> /opt/app/demoapp/app.py'").rc != 0


@pytest.mark.parametrize("where", ["/logs", "/var/spool/cron", "/opt/app", "/etc", "/var/log", "/tmp", "/root"])
def test_password_is_only_in_the_env_file(host, where):
    found = host.run(f"grep -rlF -- {shlex.quote(DB_PASSWORD)} {where}").stdout.split()
    assert set(found) <= {"/opt/app/demoapp/.env"}, found


def test_password_is_not_in_the_journal(host):
    journal = host.run("journalctl --no-pager -o cat").stdout
    assert DB_PASSWORD not in journal


def test_logrotate_rule_is_valid(host):
    assert host.run("logrotate --debug /etc/logrotate.d/demoapp").rc == 0
    rule = host.file("/etc/logrotate.d/demoapp").content_string
    assert "weekly" in rule and "rotate 7" in rule and "compress" in rule
