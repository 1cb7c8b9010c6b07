"""fail2ban: brute force from the client container gets it banned, in the jail and in nftables."""

import os
import socket
import subprocess
import time

from conftest import target_ip, target_name

testinfra_hosts = ["ansible://targets"]


def banned(host):
    out = host.check_output("fail2ban-client status sshd")
    return out.split("Banned IP list:")[1].split()


def test_sshd_jail_runs_with_the_spec_values(host):
    assert host.service("fail2ban").is_running
    for setting, value in (("maxretry", "5"), ("findtime", "600"), ("bantime", "3600")):
        assert host.check_output(f"fail2ban-client get sshd {setting}").strip() == value
    assert not host.file("/var/log/auth.log").exists  # journal only: the jail must read it


def test_brute_force_is_banned_and_others_are_not(host, client):
    attacker = client.check_output("hostname -I").split()[0]
    target = target_name(host)
    try:
        for attempt in range(7):
            client.run(f"ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                       f"-o ConnectTimeout=5 nosuchuser{attempt}@{target} true")
        for _second in range(30):
            if attacker in banned(host):
                break
            time.sleep(1)
        assert attacker in banned(host)
        assert attacker in host.check_output("nft list ruleset")
        assert client.run(f"nc -z -w 3 {target} 22").rc != 0
        # The controller's address (another source) is not banned and still connects.
        with socket.create_connection((target_ip(host), 22), timeout=5) as conn:
            assert conn.recv(64).startswith(b"SSH-2.0-")
        assert len(banned(host)) == 1
    finally:
        host.run(f"fail2ban-client set sshd unbanip {attacker}")


def test_bad_jail_value_fails_argument_validation_before_any_change(host):
    before = host.file("/etc/fail2ban/jail.local").sha256sum
    proc = subprocess.run(
        ["ansible-playbook", "-i", os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]),
         "--limit", target_name(host),
         os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "bad_value.yml")],
        capture_output=True, text=True, check=False, env=os.environ)
    output = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "maxretry" in output and "Validating arguments against arg spec" in output
    assert host.file("/etc/fail2ban/jail.local").sha256sum == before
