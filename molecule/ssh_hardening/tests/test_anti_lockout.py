"""Anti-lockout over real SSH from the controller: the key in use, the account and its sudo are kept,
key rotation works, and a change whose fresh connection fails is rolled back (sshd and keys).

Key A is the controller's key (the converge authorized it for appadmin), key B a new key made here.
Runs before test_ssh_hardening.py (whose last test makes sshd penalise the controller).
"""

import base64
import subprocess
import time

import pytest
from conftest import REFUSED_AT, ansible_over_ssh, controller_key, long_paths_only, ssh_with_key, target_name

testinfra_hosts = ["ansible://targets"]

ACCESS_FILES = ["/etc/ssh/sshd_config", "/home/appadmin/.ssh/authorized_keys",
                "/etc/sudoers.d/50-app-account-admins", "/etc/passwd"]
# The refusals run on both releases (the key is found in each one's sshd log); the longer paths
# on the newer OpenSSH only (conftest.long_paths_only); the three-minute check is in
# test_ssh_hardening.py, so that its wait overlaps those tests.


def public_key(private):
    with open(private + ".pub") as handle:
        return handle.read().strip()


def fingerprint(private):
    return subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", private + ".pub"],
                          capture_output=True, text=True, check=True).stdout.split()[1]


@pytest.fixture(scope="module")
def key_b(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("keys") / "id_b")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "key-b", "-f", path], check=True)
    return path


@pytest.fixture(scope="module")
def client_key(client):
    return client.check_output("cat /root/.ssh/id_ed25519.pub").strip()


def admins(*keys, **extra):
    return {"app_account_admins": [dict({"name": "appadmin", "ssh_keys": list(keys)}, **extra)]}


def checksums(host):
    return {path: host.file(path).sha256sum for path in ACCESS_FILES}


def output(proc):
    return " ".join((proc.stdout + proc.stderr).split())


def test_removing_the_key_in_use_is_refused_before_any_change(host, client_key, key_b):
    before = checksums(host)
    proc = ansible_over_ssh(host, "access.yml", admins(client_key, public_key(key_b)))
    assert proc.returncode != 0
    assert "would lock out 'appadmin'" in output(proc)
    assert fingerprint(controller_key()) in output(proc)
    assert "changed=0" in proc.stdout
    assert checksums(host) == before
    assert ansible_over_ssh(host, None).returncode == 0, "key A no longer logs in"
    REFUSED_AT[target_name(host)] = time.monotonic()


@pytest.mark.parametrize(("case", "expected"), [
    ("absent", "remove the account appadmin"),
    ("not_listed", "take away the sudo rights of appadmin"),
])
def test_removing_the_connecting_admin_or_its_sudo_is_refused(host, client_key, case, expected):
    before = checksums(host)
    plan = (admins(client_key, public_key(controller_key()), state="absent") if case == "absent"
            else {"app_account_admins": [{"name": "helper", "ssh_keys": [client_key]}]})
    proc = ansible_over_ssh(host, "access.yml", plan)
    assert proc.returncode != 0
    assert expected in output(proc)
    assert checksums(host) == before
    assert ansible_over_ssh(host, None).returncode == 0


def test_key_rotation(host, client_key, key_b):
    long_paths_only(host)
    keys_file = host.file("/home/appadmin/.ssh/authorized_keys")
    original = keys_file.content_string
    a, b = public_key(controller_key()), public_key(key_b)
    try:
        step1 = ansible_over_ssh(host, "access.yml", admins(client_key, a, b))
        assert step1.returncode == 0, step1.stdout[-3000:]
        assert ansible_over_ssh(host, None, key=key_b).returncode == 0, "B does not log in after [A, B]"
        step2 = ansible_over_ssh(host, "access.yml", admins(client_key, b), key=key_b)
        assert step2.returncode == 0, step2.stdout[-3000:]
        refused = ansible_over_ssh(host, None)
        assert refused.returncode != 0
        assert "Permission denied" in output(refused)
        assert ansible_over_ssh(host, None, key=key_b).returncode == 0
    finally:  # give key A back for the next tests (as root, outside the product)
        encoded = base64.b64encode(original.encode()).decode()
        host.run(f"echo {encoded} | base64 -d > /home/appadmin/.ssh/authorized_keys")
    assert ansible_over_ssh(host, None).returncode == 0


def test_a_failed_fresh_connection_rolls_back_sshd_and_keys(host, client, client_key, key_b):
    long_paths_only(host)
    before = checksums(host)
    timeout = 30
    proc = ansible_over_ssh(host, "access.yml", {
        **admins(client_key, public_key(controller_key()), public_key(key_b)),
        # sshd -t accepts it, the anti-lockout check does not read it: only the fresh connection fails.
        "ssh_hardening_extra_settings": {"DenyUsers": "appadmin"},
        "access_guard_rollback_timeout": timeout,
    })
    text = output(proc)
    assert proc.returncode != 0
    assert "restored automatically" in text
    assert "/etc/ssh/sshd_config" in text and "/home/appadmin/.ssh/authorized_keys" in text
    applied = checksums(host)
    assert applied["/etc/ssh/sshd_config"] != before["/etc/ssh/sshd_config"], "the change was never applied"
    assert applied["/home/appadmin/.ssh/authorized_keys"] != before["/home/appadmin/.ssh/authorized_keys"]
    for _second in range(timeout + 30):
        if checksums(host) == before:
            break
        time.sleep(1)
    assert checksums(host) == before, "not rolled back"
    assert "denyusers" not in host.check_output("sshd -T")
    assert ansible_over_ssh(host, None).returncode == 0, "key A does not log in after the rollback"
    assert ssh_with_key(client, "appadmin", target_name(host)).rc == 0
