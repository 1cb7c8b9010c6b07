"""--tags <role>: a run of site.yml limited to one role's tag runs that role's tasks, and no other role's.

Two parts, each owned by one role, are broken on api13: the firewall's table is deleted (firewall) and sshd_config
gets another MaxAuthTries (ssh_hardening). A run with --tags firewall puts the table back and leaves sshd_config
as it is; a run with --tags ssh_hardening puts sshd_config back and leaves a deleted table deleted.
"""

import re

import pytest
from conftest import run_scenario_playbook, targets_by_name

testinfra_hosts = ["ansible://api13"]
# What a tagged run may also run of the other roles: their argument checks and the facts they publish for later
# plays (tagged always), and the internal roles the tagged role runs.
ALWAYS = re.compile(r"^(Validating arguments|Publish |Learn the network facts|Check that every client host)")


def tagged_run(tag):
    proc = run_scenario_playbook("converge.yml", "--limit", "api13", "--tags", tag)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc.stdout


def roles_that_ran(stdout):
    """{role: [task names]} of the role tasks in a run's output ("TASK [integration.demoapp.<role> : <name>]")."""
    ran = {}
    for role, name in re.findall(r"(?m)^TASK \[integration\.demoapp\.(\w+) : (.+?)\] \**$", stdout):
        ran.setdefault(role, []).append(name)
    return ran


def others(ran, role, internal):
    """The tasks of the other roles that ran, besides those a tagged run runs anyway (ALWAYS)."""
    found = {}
    for other, names in ran.items():
        extra = [name for name in names if not ALWAYS.match(name)]
        if other not in {role, "application", *internal} and extra:
            found[other] = extra
    return found


def table(host):
    return host.run("nft list table inet demoapp").rc == 0


def max_auth_tries(host):
    return host.check_output("grep -E '^MaxAuthTries' /etc/ssh/sshd_config")


@pytest.fixture(scope="module")
def api13():
    host = targets_by_name(["ansible://api13"])["api13"]
    yield host
    # Whatever happened: both parts as the converge left them, for the other tests.
    if not table(host):
        tagged_run("firewall")
    if max_auth_tries(host) != "MaxAuthTries 3":
        tagged_run("ssh_hardening")


def test_tags_run_one_role_and_leave_the_others_alone(api13):
    api13.run_expect([0], "nft delete table inet demoapp")
    api13.run_expect([0], "sed -i 's/^MaxAuthTries .*/MaxAuthTries 6/' /etc/ssh/sshd_config")

    firewall = tagged_run("firewall")
    ran = roles_that_ran(firewall)
    assert ran.get("firewall"), firewall[-3000:]
    assert others(ran, "firewall", {"access_guard"}) == {}, ran
    assert table(api13)
    assert max_auth_tries(api13) == "MaxAuthTries 6"  # ssh_hardening did not run

    api13.run_expect([0], "nft delete table inet demoapp")
    ssh = tagged_run("ssh_hardening")
    ran = roles_that_ran(ssh)
    assert ran.get("ssh_hardening"), ssh[-3000:]
    assert others(ran, "ssh_hardening", {"access_guard"}) == {}, ran
    assert max_auth_tries(api13) == "MaxAuthTries 3"
    assert not table(api13)  # the firewall did not run
