"""ssh_hardening: real SSH logins from the client container, effective config, anti-lockout."""

import json
import subprocess
import time

import pytest
from conftest import (
    REFUSED_AT,
    ansible_over_ssh,
    long_paths_only,
    side_by_side,
    ssh_with_key,
    ssh_with_password,
    target_ip,
    target_name,
    targets_by_name,
)

testinfra_hosts = ["ansible://targets"]


def test_admin_key_login_works(host, client):
    result = ssh_with_key(client, "appadmin", target_name(host), "id -un")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "appadmin"


def test_password_login_is_refused_even_with_the_right_password(host, client):
    result = ssh_with_password(client, "pwuser", target_name(host), "Passw0rd-for-tests")
    assert result.rc != 0
    assert "Permission denied (publickey)" in result.stderr


def test_root_login_is_refused_even_with_a_valid_key(host, client):
    result = ssh_with_key(client, "root", target_name(host))
    assert result.rc == 255
    assert "Permission denied" in result.stderr


def test_password_dropin_does_not_win(host):
    assert host.file("/etc/ssh/sshd_config.d/50-cloud-init.conf").exists
    effective = host.check_output("sshd -T")
    assert "passwordauthentication no" in effective
    assert "permitrootlogin no" in effective
    assert "kbdinteractiveauthentication no" in effective


def test_post_quantum_key_exchange_first(host):
    kex = host.check_output("sshd -T | grep ^kexalgorithms").split()[1].split(",")
    assert kex[0] in ("mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com")


def test_lockout_is_refused_before_any_change(host):
    before = host.file("/etc/ssh/sshd_config").sha256sum
    proc = ansible_over_ssh(host, "over_ssh.yml", {"ssh_hardening_allow_users": ["someoneelse"]})
    assert proc.returncode != 0
    assert "would lock out 'appadmin'" in " ".join((proc.stdout + proc.stderr).split())
    assert host.file("/etc/ssh/sshd_config").sha256sum == before
    assert ansible_over_ssh(host, None).returncode == 0, "host not reachable any more"


SESSIONS = (5, 10)


@pytest.fixture(scope="module")
def changes_over_ssh():
    """Per target, each MaxSessions value applied over SSH in turn and what held after it: (the run,
    `sshd -T`, the rollback timer's state). The targets run side by side (one after another, the four
    runs took about 80 s); each target still gets one run of its own per value."""
    def change(host):
        seen = {}
        for sessions in SESSIONS:
            proc = ansible_over_ssh(host, "over_ssh.yml", {"ssh_hardening_max_sessions": sessions})
            seen[sessions] = (proc, host.check_output("sshd -T"),
                              host.run("systemctl is-active demoapp-access-rollback.timer").stdout.strip())
        return seen

    return side_by_side(change, targets_by_name(testinfra_hosts))


@pytest.mark.parametrize("sessions", SESSIONS)
def test_change_over_ssh_is_kept_after_fresh_connection(host, sessions, changes_over_ssh):
    proc, effective, timer = changes_over_ssh[target_name(host)][sessions]
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f"maxsessions {sessions}" in effective
    assert timer != "active"


# After the other tests (its wait overlaps them), before ssh-audit (which makes Debian 13's sshd
# penalise the controller): the refusal of test_anti_lockout.py left the key in use working.
def test_the_key_in_use_still_works_three_minutes_after_the_refusal(host):
    long_paths_only(host)
    remaining = REFUSED_AT[target_name(host)] + 180 - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    assert ansible_over_ssh(host, None).returncode == 0
    assert host.run("systemctl is-active demoapp-access-rollback.timer").stdout.strip() != "active"


# Last on purpose: ssh-audit's many half-open connections make OpenSSH >= 9.8
# (Debian 13) penalise the scanning address (PerSourcePenalties) for a while.
def test_ssh_audit_reports_no_failure(host):
    proc = subprocess.run(
        ["ssh-audit", "--json", "--timeout=10", target_ip(host)],
        capture_output=True, text=True, check=False,
    )
    report = json.loads(proc.stdout)
    failures = [
        (section, item.get("algorithm"), item.get("notes", {}).get("fail"))
        for section in ("kex", "key", "enc", "mac")
        for item in report.get(section, [])
        if item.get("notes", {}).get("fail")
    ]
    assert not failures, failures
