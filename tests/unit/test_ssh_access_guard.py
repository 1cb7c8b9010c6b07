"""ssh_access_guard: which key a connection uses, and which planned changes would lock it out.

Keys are real OpenSSH keys made by ssh-keygen; fingerprints are compared with ssh-keygen's own.
The full path over real SSH (journal lookup, rollback) is proven in molecule/ssh_hardening.
"""

import importlib
import subprocess
import sys

import pytest

CONNECTION = "192.0.2.10 50022 192.0.2.1 22"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Two ed25519 keys and an RSA key: name -> (public key line, fingerprint as ssh-keygen prints it)."""
    out = {}
    for name, kind in (("a", "ed25519"), ("b", "ed25519"), ("r", "rsa")):
        path = tmp_path_factory.mktemp("keys") / name
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"key-{name}", "-f", str(path)], check=True)
        listing = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(path)],
                                 capture_output=True, text=True, check=True).stdout
        out[name] = (path.with_suffix(".pub").read_text().strip(), listing.split()[1])
    return out


@pytest.fixture
def auth_info(tmp_path):
    """Write an ExposeAuthInfo file (what sshd gives the session) for a public key line."""

    def write(public_key):
        path = tmp_path / "auth-info"
        path.write_text(f"publickey {public_key}\n")
        return str(path)

    return write


@pytest.fixture(scope="module")
def guard(collection_path):
    sys.path.insert(0, str(collection_path))
    return importlib.import_module("ansible_collections.integration.demoapp.plugins.modules.ssh_access_guard")


def test_fingerprints_are_those_openssh_prints(guard, keys):
    for line, fingerprint in keys.values():
        assert guard.parse_public_key(line)[1] == fingerprint
        assert guard.parse_public_key('from="192.0.2.0/24",no-pty ' + line)[1] == fingerprint
    assert guard.parse_public_key("not a key") is None


@pytest.mark.parametrize("line", [
    "Accepted publickey for appadmin from 192.0.2.10 port 50022 ssh2: ED25519 SHA256:abc+/def",
    "sshd-session[812]: Accepted publickey for appadmin from 192.0.2.10 port 50022 ssh2: ED25519 SHA256:abc+/def",
])
def test_the_log_line_of_this_connection_is_found(guard, line):
    lines = [
        "Accepted publickey for appadmin from 192.0.2.10 port 50023 ssh2: RSA SHA256:other",
        "Accepted publickey for root from 192.0.2.10 port 50022 ssh2: RSA SHA256:root",
        line,
    ]
    found = guard.match_accepted(lines, "appadmin", "192.0.2.10", "50022")
    assert (found["method"], found["type"], found["fp"]) == ("publickey", "ED25519", "SHA256:abc+/def")
    assert guard.match_accepted(lines, "appadmin", "192.0.2.11", "50022") is None


def test_keeping_the_key_in_use_passes(run_module, keys, auth_info):
    rc, result = run_module("ssh_access_guard", {
        "user": "appadmin", "ssh_connection": CONNECTION, "auth_info_file": auth_info(keys["a"][0]),
        "exclusive_keys": True, "accounts": [{"name": "appadmin", "ssh_keys": [keys["b"][0], keys["a"][0]]}]})
    assert rc == 0, result
    assert result["problems"] == []
    assert result["connection"]["fingerprint"] == keys["a"][1]
    assert result["connection"]["source"] == "auth_info"
    assert result["connection"]["key_type"] == "ED25519"  # as sshd logs it


def test_removing_the_key_in_use_is_refused_naming_account_and_fingerprint(run_module, keys, auth_info):
    rc, result = run_module("ssh_access_guard", {
        "user": "appadmin", "ssh_connection": CONNECTION, "auth_info_file": auth_info(keys["a"][0]),
        "exclusive_keys": True, "accounts": [{"name": "appadmin", "ssh_keys": [keys["b"][0]]}]})
    assert rc == 1
    assert "would lock out 'appadmin'" in result["msg"]
    assert keys["a"][1] in result["msg"]
    assert "Nothing was changed" in result["msg"]


def test_adding_keys_without_exclusive_never_removes_the_key_in_use(run_module, keys, auth_info):
    rc, result = run_module("ssh_access_guard", {
        "user": "appadmin", "ssh_connection": CONNECTION, "auth_info_file": auth_info(keys["a"][0]),
        "exclusive_keys": False, "accounts": [{"name": "appadmin", "ssh_keys": [keys["b"][0]]}]})
    assert rc == 0, result


def test_other_accounts_keys_do_not_matter(run_module, keys, auth_info):
    rc, result = run_module("ssh_access_guard", {
        "user": "appadmin", "ssh_connection": CONNECTION, "auth_info_file": auth_info(keys["a"][0]),
        "exclusive_keys": True, "accounts": [{"name": "other", "ssh_keys": []}]})
    assert rc == 0, result


def test_removing_the_connecting_account_is_refused(run_module, keys, auth_info):
    rc, result = run_module("ssh_access_guard", {
        "user": "appadmin", "ssh_connection": CONNECTION, "auth_info_file": auth_info(keys["a"][0]),
        "accounts": [{"name": "appadmin", "state": "absent", "ssh_keys": [keys["a"][0]]}]})
    assert rc == 1
    assert "remove the account appadmin" in result["msg"]


def test_taking_away_sudo_is_refused(run_module, keys, auth_info, tmp_path):
    sudoers = tmp_path / "sudoers"
    sudoers.write_text("# managed\nappadmin ALL=(ALL:ALL) NOPASSWD: ALL\nother ALL=(ALL:ALL) NOPASSWD: ALL\n")
    base = {"user": "appadmin", "ssh_connection": CONNECTION, "auth_info_file": auth_info(keys["a"][0]),
            "sudoers_file": str(sudoers)}
    rc, result = run_module("ssh_access_guard", dict(base, sudoers_users=["other"]))
    assert rc == 1
    assert "take away the sudo rights of appadmin" in result["msg"]
    rc, result = run_module("ssh_access_guard", dict(base, sudoers_users=["appadmin"], sudoers_nopasswd=False))
    assert rc == 1
    assert "ask appadmin for a password" in result["msg"]
    rc, result = run_module("ssh_access_guard", dict(base, sudoers_users=["appadmin"]))
    assert rc == 0, result


@pytest.mark.parametrize(("sshd", "expected"), [
    ({"allow_users": ["someoneelse", "ops@192.0.2.*"]}, "not in AllowUsers"),
    ({"allow_groups": ["nobody-has-this-group"]}, "AllowGroups"),
    ({"pubkey_authentication": False}, "PubkeyAuthentication no"),
    ({"port": 2222}, "stop listening on 192.0.2.1 port 22"),
    ({"port": 22, "listen_addresses": ["127.0.0.1"]}, "stop listening on 192.0.2.1 port 22"),
])
def test_sshd_settings_that_refuse_the_connection_are_refused(run_module, keys, auth_info, sshd, expected):
    rc, result = run_module("ssh_access_guard", {
        "user": "appadmin", "ssh_connection": CONNECTION, "auth_info_file": auth_info(keys["a"][0]), "sshd": sshd})
    assert rc == 1
    assert expected in result["msg"]


@pytest.mark.parametrize("sshd", [
    {"port": 22, "listen_addresses": []},
    {"port": 2222, "listen_addresses": ["192.0.2.1:22"]},
    {"port": 22, "listen_addresses": ["0.0.0.0", "::"]},  # noqa: S104
    {"allow_users": ["app*"], "permit_root_login": "no", "password_authentication": False},
])
def test_sshd_settings_that_keep_the_connection_pass(run_module, keys, auth_info, sshd):
    rc, result = run_module("ssh_access_guard", {
        "user": "appadmin", "ssh_connection": CONNECTION, "auth_info_file": auth_info(keys["a"][0]), "sshd": sshd})
    assert rc == 0, result


def test_root_is_refused_when_root_logins_are_turned_off(run_module, keys, auth_info):
    rc, result = run_module("ssh_access_guard", {
        "user": "root", "ssh_connection": CONNECTION, "auth_info_file": auth_info(keys["r"][0]),
        "sshd": {"permit_root_login": "no"}})
    assert rc == 1
    assert "would lock out 'root'" in result["msg"]


def test_without_enforce_it_only_warns(run_module, keys, auth_info):
    rc, result = run_module("ssh_access_guard", {
        "user": "appadmin", "ssh_connection": CONNECTION, "auth_info_file": auth_info(keys["a"][0]),
        "exclusive_keys": True, "accounts": [{"name": "appadmin", "ssh_keys": [keys["b"][0]]}], "enforce": False})
    assert rc == 0
    assert result["problems"]
    assert keys["a"][1] in str(result["warnings"])


def test_a_malformed_ssh_connection_is_refused(run_module):
    rc, result = run_module("ssh_access_guard", {"user": "appadmin", "ssh_connection": ""})
    assert rc == 1
    assert "ssh_connection must be" in result["msg"]


@pytest.mark.parametrize(("firewall", "expected"), [
    ({"ssh_ports": [2222]}, "accept SSH only on port 2222, and this connection arrived on port 22"),
    ({"ssh_ports": [22], "ssh_sources": ["198.51.100.0/24", "2001:db8::/32"]},
     "accept SSH only from 198.51.100.0/24, 2001:db8::/32, and this connection comes from 192.0.2.10"),
])
def test_firewall_rules_that_drop_the_connection_are_refused(run_module, keys, auth_info, firewall, expected):
    rc, result = run_module("ssh_access_guard", {
        "user": "appadmin", "ssh_connection": CONNECTION, "auth_info_file": auth_info(keys["a"][0]),
        "firewall": firewall})
    assert rc == 1
    assert expected in result["msg"] and "Nothing was changed" in result["msg"]


@pytest.mark.parametrize(("connection", "sources"), [
    (CONNECTION, []),
    (CONNECTION, ["192.0.2.0/24"]),
    (CONNECTION, ["192.0.2.10"]),
    ("::ffff:192.0.2.10 50022 ::ffff:192.0.2.1 22", ["192.0.2.0/28"]),
    ("2001:db8::7 50022 2001:db8::1 22", ["192.0.2.0/24", "2001:db8::/64"]),
])
def test_firewall_rules_that_keep_the_connection_pass(run_module, keys, auth_info, connection, sources):
    rc, result = run_module("ssh_access_guard", {
        "user": "appadmin", "ssh_connection": connection, "auth_info_file": auth_info(keys["a"][0]),
        "firewall": {"ssh_ports": [22, 2222], "ssh_sources": sources}})
    assert rc == 0, result
