"""app_account: real logins, sudo, and least privilege of the application account."""

from conftest import ssh_with_key, target_name

# Debian 13 only (why: molecule/operations/molecule.yml).
testinfra_hosts = ["ansible://debian13"]


def test_admin_logs_in_with_key_and_can_sudo(host, client):
    result = ssh_with_key(client, "appadmin", target_name(host), "sudo -n id -u")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_admin_ssh_files_are_private(host):
    assert host.file("/home/appadmin/.ssh").mode == 0o700
    keys = host.file("/home/appadmin/.ssh/authorized_keys")
    assert keys.mode == 0o600
    assert keys.user == "appadmin"


def test_removed_admin_can_no_longer_log_in(host, client):
    assert not host.user("formeradmin").exists
    result = ssh_with_key(client, "formeradmin", target_name(host))
    assert result.rc == 255
    assert "Permission denied" in result.stderr


def test_application_account_has_no_shell_and_no_sudo(host):
    user = host.user("demoapp")
    assert user.shell == "/usr/sbin/nologin"
    assert user.home == "/opt/app/demoapp"
    assert user.uid < 1000
    assert host.run("su demoapp -c true").rc != 0
    assert host.run("runuser -u demoapp -- sudo -n true").rc != 0
    assert host.run("getent shadow demoapp").stdout.split(":")[1].startswith("!")


def test_application_cannot_write_its_code_but_can_write_logs(host):
    home = host.file("/opt/app/demoapp")
    assert (home.user, home.group, home.mode) == ("root", "demoapp", 0o750)
    denied = host.run("runuser -u demoapp -- sh -c 'touch /opt/app/demoapp/x'")
    assert denied.rc != 0 and "Permission denied" in denied.stderr
    allowed = host.run(
        "runuser -u demoapp -- sh -c 'echo ok >> /logs/app/probe.log && rm /logs/app/probe.log'"
    )
    assert allowed.rc == 0, allowed.stderr
