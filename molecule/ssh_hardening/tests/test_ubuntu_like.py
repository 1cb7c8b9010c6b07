"""Ubuntu's differences, reproduced on Debian 13 (prepare.yml): sshd started by ssh.socket only and ufw enabled
before the converge. The logins, the lockout refusal and the rollback of the other files ran on this host too; here,
a port change takes effect through the socket and through ufw, and going back closes the new port again."""

import pytest
from conftest import SSH_OPTS, run_scenario_playbook

testinfra_hosts = ["ansible://debian13"]


def key_login(client, port):
    return client.run(f"ssh {SSH_OPTS} -p {port} -o BatchMode=yes -o PreferredAuthentications=publickey "
                      "-o IdentitiesOnly=yes -i /root/.ssh/id_ed25519 appadmin@debian13 true")


def test_sshd_is_socket_activated_and_ufw_is_active(host):
    assert host.run("systemctl is-enabled ssh.service").stdout.strip() == "disabled"
    assert host.service("ssh.socket").is_enabled and host.service("ssh.socket").is_running
    assert "Status: active" in host.check_output("ufw status")
    assert host.file("/etc/systemd/system/ssh.socket.d/addresses.conf").contains("^ListenStream=22$")


@pytest.fixture
def port_2222():
    """The SSH port moved to 2222 by a converge (not over SSH: the anti-lockout check refuses a port change on
    the connection in use), and put back afterwards."""
    moved = run_scenario_playbook("converge.yml", "-l", "debian13", "-e", "ssh_hardening_port=2222")
    yield moved
    back = run_scenario_playbook("converge.yml", "-l", "debian13")
    assert back.returncode == 0, back.stdout[-3000:]


def test_a_port_change_takes_effect_through_the_socket_and_ufw_and_back(host, client, port_2222):
    assert port_2222.returncode == 0, port_2222.stdout[-3000:]
    assert "2222 (Stream)" in host.check_output("systemctl show -P Listen ssh.socket")
    assert "2222/tcp" in host.check_output("ufw status") and "ALLOW" in host.check_output("ufw status")
    assert key_login(client, 2222).rc == 0
    assert client.run("nc -z -w 3 debian13 22").rc != 0


def test_after_going_back_only_port_22_answers(host, client):
    assert key_login(client, 22).rc == 0
    assert client.run("nc -z -w 3 debian13 2222").rc != 0
    assert "22 (Stream)" in host.check_output("systemctl show -P Listen ssh.socket")
