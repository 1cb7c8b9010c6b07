"""fail2ban: brute force from the client container gets it banned, in the jail and in nftables."""

import socket

from conftest import banned_addresses, brute_force_until_banned, run_scenario_playbook, target_ip, target_name

# Debian 13 only (why: molecule/operations/molecule.yml).
testinfra_hosts = ["ansible://debian13"]


def test_sshd_jail_runs_with_the_spec_values(host):
    assert host.service("fail2ban").is_running
    for setting, value in (("maxretry", "5"), ("findtime", "600"), ("bantime", "3600")):
        assert host.check_output(f"fail2ban-client get sshd {setting}").strip() == value
    assert not host.file("/var/log/auth.log").exists  # journal only: the jail must read it


def test_brute_force_is_banned_and_others_are_not(host, client):
    attacker = brute_force_until_banned(host, client)
    target = target_name(host)
    try:
        assert attacker in banned_addresses(host)
        assert attacker in host.check_output("nft list ruleset")
        assert client.run(f"nc -z -w 3 {target} 22").rc != 0
        # The controller's address (another source) is not banned and still connects.
        with socket.create_connection((target_ip(host), 22), timeout=5) as conn:
            assert conn.recv(64).startswith(b"SSH-2.0-")
        assert banned_addresses(host) == [attacker]
    finally:
        host.run(f"fail2ban-client set sshd unbanip {attacker}")


def test_bad_jail_value_fails_argument_validation_before_any_change(host):
    before = host.file("/etc/fail2ban/jail.local").sha256sum
    proc = run_scenario_playbook("fail2ban_bad_value.yml", "--limit", target_name(host))
    output = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "maxretry" in output and "Validating arguments against arg spec" in output
    assert host.file("/etc/fail2ban/jail.local").sha256sum == before
