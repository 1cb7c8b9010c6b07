"""Firewall: from the outsider SSH answers and nothing else does; the batch hosts reach PostgreSQL;
a re-run changes nothing and fail2ban still bans; bad values and a rule set that would cut the
controller's SSH connection are refused before any change."""

import ipaddress
import re

import pytest
import testinfra
from conftest import (
    INVENTORY,
    ansible_over_ssh,
    banned_addresses,
    brute_force_until_banned,
    connects,
    run_scenario_playbook,
    target_ip,
)

testinfra_hosts = ["ansible://database"]
PROBE_PORT = 8089


def reachable(source, host, port):
    return connects(source, target_ip(host), port)


@pytest.fixture
def listener(host):
    """A test service on another port of the database host, answering on every address."""
    host.check_output(f"systemd-run --unit=probe-listener --collect python3 -m http.server {PROBE_PORT}")
    for _attempt in range(50):
        if connects(host, "127.0.0.1", PROBE_PORT):
            break
    yield PROBE_PORT
    host.run("systemctl stop probe-listener")


def test_from_the_outsider_ssh_answers_and_postgresql_does_not(host, client):
    assert reachable(client, host, 22)
    assert not reachable(client, host, 5432)
    assert host.socket("tcp://0.0.0.0:5432").is_listening or host.socket(f"tcp://{target_ip(host)}:5432").is_listening


def test_a_listener_on_another_port_is_unreachable_from_outside(host, client, listener):
    assert reachable(host, host, listener)  # it answers on the host itself
    assert not reachable(client, host, listener)


# PostgreSQL's clients: the batch hosts (batch1, api2) and the application servers (api1, api2).
CLIENTS = ("batch1", "api1", "api2")


def test_the_batch_hosts_and_the_application_servers_reach_postgresql(host):
    for name in CLIENTS:
        batch = testinfra.get_host(f"ansible://{name}", ansible_inventory=INVENTORY)
        assert reachable(batch, host, 5432), name


def test_the_rule_set_is_one_table_loaded_at_boot(host):
    tables = host.check_output("nft list tables")
    assert "table inet demoapp" in tables
    assert host.service("demoapp-firewall.service").is_enabled
    rules = host.check_output("nft list table inet demoapp")
    assert "policy drop" in rules
    # Only PostgreSQL's clients (nft shows adjacent addresses as a range).
    clients = {ipaddress.ip_address(target_ip(testinfra.get_host(f"ansible://{name}", ansible_inventory=INVENTORY)))
               for name in CLIENTS}
    allowed = re.search(r"ip saddr \{ ([0-9a-f.:, /-]+) \} tcp dport 5432 accept", rules)
    assert allowed, rules
    assert set(expand(allowed.group(1))) == clients, rules


def expand(elements):
    """The addresses of an nft set's elements ("a, b-c, d/32")."""
    for element in elements.replace("/32", "").split(","):
        first, _dash, last = element.strip().partition("-")
        start, end = ipaddress.ip_address(first), ipaddress.ip_address(last or first)
        yield from (ipaddress.ip_address(n) for n in range(int(start), int(end) + 1))


def test_a_rerun_changes_nothing_and_leaves_fail2ban_banning(host, client):
    attacker = brute_force_until_banned(host, client)
    try:
        assert attacker in banned_addresses(host)
        assert not reachable(client, host, 22)
        assert "table inet f2b-table" in host.check_output("nft list tables")  # fail2ban's own table
        proc = run_scenario_playbook("firewall_again.yml")
        assert proc.returncode == 0, proc.stdout[-3000:]
        recap = proc.stdout.split("PLAY RECAP")[1]
        assert all(" changed=0 " in line for line in recap.strip().splitlines() if "ok=" in line), recap
        # The re-run replaced nothing of fail2ban's: its table and the ban are still there.
        assert "table inet f2b-table" in host.check_output("nft list tables")
        assert attacker in host.check_output("nft list table inet f2b-table")
        assert not reachable(client, host, 22)
    finally:
        host.run(f"fail2ban-client set sshd unbanip {attacker}")
    assert reachable(client, host, 22)


@pytest.mark.parametrize(("extra", "message"), [
    ("firewall_ssh_sources=['anywhere']", "firewall_ssh_sources"),
    ("firewall_allowed=[{'port':70000}]", "firewall_allowed"),
])
def test_bad_values_fail_before_any_change(host, extra, message):
    before = host.check_output("nft list table inet demoapp")
    proc = run_scenario_playbook("firewall_again.yml", "-e", "{" + extra.replace("=", ": ", 1) + "}")
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert host.check_output("nft list table inet demoapp") == before


def test_a_rule_set_that_would_cut_the_controllers_ssh_is_refused(host):
    before = host.check_output("nft list table inet demoapp")
    proc = ansible_over_ssh(host, "firewall_over_ssh.yml", {"firewall_ssh_sources": ["198.51.100.0/24"]})
    output = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "the firewall would accept SSH only from 198.51.100.0/24" in output, output[-3000:]
    assert host.check_output("nft list table inet demoapp") == before
    assert ansible_over_ssh(host, None).returncode == 0  # still reachable over SSH
