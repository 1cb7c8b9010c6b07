"""Drift: what an administrator breaks by hand, one site.yml run puts back and says so; the run after is changed=0.

The breakages are shared between the two targets (both in every group), so that one converge of the scenario
proves them all: on api12 the rule set is flushed while fail2ban runs (its ban is then no longer enforced),
pg_hba.conf gets a trust line and the declared index is dropped; on api13 sshd is given password logins, the
firewall service and fail2ban are stopped, the monitor stopped and disabled, the batch's cron.d file deleted and
the .env file made 0644, and its PostgreSQL cluster stopped.
Each item is proven by what it does (a connection, a login, a query, a run; the .env file by its mode), before
the converge (broken) and after it (restored). The run after the repairs must change nothing: nothing is left to
repair, and it is this scenario's idempotence check (molecule.yml leaves Molecule's own out: one whole-stack run
fewer; check mode on a converged host is proven by the other scenarios, which run the same roles).
"""

import re

import pytest
from conftest import (
    changed_tasks,
    psql_as_app,
    run_cron_command,
    run_cron_file_entry,
    run_scenario_playbook,
    ssh_with_password,
    targets_by_name,
)

testinfra_hosts = ["ansible://api13"]  # the fixture works on both targets
TRUST = "host all all 127.0.0.1/32 trust"
HIDDEN = 8111  # a port no rule lets in


def reaches(client, target, port):
    return client.run(f"nc -z -w 3 {target} {port}").rc == 0


def trusted_login(host):
    """A passwordless login as the application role over TCP: refused unless pg_hba.conf trusts it."""
    return psql_as_app(host, "SELECT 1", password=None).rc == 0


def recap(stdout):
    return {name: int(changed) for name, changed in re.findall(r"(?m)^(\S+)\s+: ok=\d+\s+changed=(\d+)", stdout)}


def env_mode(host):
    return host.check_output("stat -c %a /opt/app/demoapp/.env")


@pytest.fixture(scope="module")
def drift(client):
    """Break both targets and note what an administrator would find, then converge twice (whatever happened: the
    other tests need repaired hosts); yields (what was found broken, first run, second run, hosts)."""
    hosts = targets_by_name(["ansible://targets"])
    api12, api13 = hosts["api12"], hosts["api13"]
    attacker = client.check_output("hostname -I").split()[0]
    found = {}
    try:
        # api13: sshd allows passwords; the firewall service, fail2ban, the monitor and the PostgreSQL cluster
        # (not the umbrella unit) stopped; the batch's cron.d file deleted, the .env file made 0644.
        api13.run_expect([0], "sed -i 's/^PasswordAuthentication no/PasswordAuthentication yes/' "
                              "/etc/ssh/sshd_config && systemctl reload ssh")
        api13.run_expect([0], "systemctl stop demoapp-firewall.service fail2ban")
        api13.run_expect([0], "systemctl disable --now demoapp-monitor.service")
        api13.run_expect([0], "rm /etc/cron.d/demoapp-batch && chmod 0644 /opt/app/demoapp/.env")
        api13.run_expect([0], "systemctl stop postgresql@17-main")
        # api12: a ban of the client and a listener no rule lets in, then the whole rule set flushed while
        # fail2ban runs; pg_hba.conf trusts; the declared index dropped. (Docker's own NAT table, the container's
        # DNS, is put back at once: it is the platform's, not the host's.)
        api12.run_expect([0], f"fail2ban-client set sshd banip {attacker}")
        api12.run_expect([0], f"systemd-run --unit=drift-listener python3 -m http.server {HIDDEN} --bind 0.0.0.0")
        found["hidden before the flush"] = not reaches(client, "api12", HIDDEN)
        found["banned before the flush"] = not reaches(client, "api12", 22)
        api12.run_expect([0], "nft list table ip nat > /run/docker-nat.nft 2>/dev/null || true")
        api12.run_expect([0], "nft flush ruleset && (test ! -s /run/docker-nat.nft || nft -f /run/docker-nat.nft)")
        hba = api12.check_output("ls /etc/postgresql/*/main/pg_hba.conf")
        api12.run_expect([0], f"sed -i '1i {TRUST}' {hba} && systemctl reload postgresql")
        api12.run_expect([0], "runuser -u postgres -- psql -d demoapp_db -c 'DROP INDEX app_logs_run_date_idx'")
        # Broken, as an administrator would find it.
        found["listener reachable"] = reaches(client, "api12", HIDDEN)
        found["ban not enforced"] = reaches(client, "api12", 22)
        found["trusted login"] = trusted_login(api12)
        found["maintenance exit"] = run_cron_file_entry(api12, "demoapp-maintenance").rc  # 6: schema drift
        found["password offered"] = "password" in ssh_with_password(client, "appadmin", "api13", "x").stderr
        found["env mode"] = env_mode(api13)
        found["database answers"] = psql_as_app(api13, "SELECT 1").rc == 0
    finally:
        first = run_scenario_playbook("converge.yml")
        second = run_scenario_playbook("converge.yml")
    yield found, first, second, hosts
    api12.run(f"fail2ban-client set sshd unbanip {attacker}; systemctl stop drift-listener")


def test_each_item_was_broken_before_the_run(drift):
    assert drift[0] == {"hidden before the flush": True, "banned before the flush": True,
                        "listener reachable": True, "ban not enforced": True, "trusted login": True,
                        "maintenance exit": 6, "password offered": True, "env mode": "644",
                        "database answers": False}


def test_one_run_reports_the_repairs_and_the_next_one_changes_nothing(drift):
    _found, first, second, _hosts = drift
    assert first.returncode == 0, first.stdout[-3000:]
    assert recap(first.stdout)["api13"] > 0 and recap(first.stdout)["api12"] > 0
    for said in ("Compare the live table with the one the rule file loaded",
                 "Check that every address fail2ban lists as banned is in its nftables table"):
        assert re.search(rf"TASK \[[^]]*{re.escape(said)}[^]]*\][^\n]*\n(?:[^\n]*\n)*?changed: \[api12\]",
                         first.stdout), said
    assert second.returncode == 0, second.stdout[-3000:]
    assert recap(second.stdout) == {"api12": 0, "api13": 0}, changed_tasks(second.stdout)


def test_the_firewall_and_the_ban_are_enforced_again(drift, client):
    assert not reaches(client, "api12", HIDDEN)  # the firewall's drop policy holds again
    assert not reaches(client, "api12", 22)  # fail2ban's ban of the client holds again
    api13 = drift[3]["api13"]
    assert api13.service("demoapp-firewall").is_running and api13.service("fail2ban").is_running
    assert "Currently banned" in api13.check_output("fail2ban-client status sshd")


def test_password_logins_and_trust_are_refused_again(drift, client):
    result = ssh_with_password(client, "appadmin", "api13", "x")
    assert "Permission denied (publickey)" in result.stderr, result.stderr
    assert not trusted_login(drift[3]["api12"])


def test_the_secrets_file_the_monitor_the_schedule_and_the_index_are_back(drift):
    api12, api13 = drift[3]["api12"], drift[3]["api13"]
    assert run_cron_file_entry(api12, "demoapp-maintenance").rc == 0  # the declared index is there again
    assert env_mode(api13) == "600"
    assert api13.service("demoapp-monitor").is_running and api13.service("demoapp-monitor").is_enabled
    before = int(psql_as_app(api13, "SELECT count(*) FROM app_logs").stdout)
    assert run_cron_command(api13).rc == 0  # the cron.d line exists again and writes a row
    assert int(psql_as_app(api13, "SELECT count(*) FROM app_logs").stdout) == before + 1
