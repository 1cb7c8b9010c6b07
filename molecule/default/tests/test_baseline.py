"""Host baseline: Lynis scores a converged host at least 15 points above a bare container; kernel parameters,
audit rules and the banner are in place; a container says once that it cannot apply kernel settings."""

import re

import pytest
from conftest import run_scenario_playbook, side_by_side, target_name, targets_by_name

testinfra_hosts = ["ansible://targets"]


def hardening_index(host):
    """Install Lynis (Debian package) and return its hardening index for this host."""
    host.run_expect([0], "DEBIAN_FRONTEND=noninteractive apt-get install -y -q lynis >/dev/null")
    report = host.run("lynis audit system --quick --no-colors --no-log --report-file /tmp/lynis-report.dat")
    assert report.rc == 0, report.stderr
    return int(re.search(r"(?m)^hardening_index=(\d+)$", host.file("/tmp/lynis-report.dat").content_string)[1])


@pytest.fixture(scope="module")
def lynis_indexes(client):
    """Every target's index and the bare client's (key None), the containers audited side by side
    (each audit waits on its own container; one after another they took 165 s, side by side 100 s)."""
    return side_by_side(hardening_index, {**targets_by_name(testinfra_hosts), None: client})


def test_lynis_scores_the_converged_host_15_points_above_a_bare_container(host, lynis_indexes):
    converged, bare_index = lynis_indexes[target_name(host)], lynis_indexes[None]
    print(f"Lynis hardening index: converged {target_name(host)} {converged}, bare container {bare_index}")
    assert converged >= bare_index + 15


def test_kernel_and_network_parameters_are_written(host):
    sysctl = host.file("/etc/sysctl.d/60-integration-demoapp-hardening.conf").content_string
    for setting in ("net.ipv4.conf.all.rp_filter = 1", "net.ipv4.conf.all.accept_redirects = 0",
                    "net.ipv4.conf.all.accept_source_route = 0", "net.ipv4.tcp_syncookies = 1",
                    "kernel.kptr_restrict = 2", "kernel.dmesg_restrict = 1", "kernel.yama.ptrace_scope = 1",
                    "fs.protected_symlinks = 1", "fs.suid_dumpable = 0"):
        assert setting in sysctl.splitlines()


def test_the_audit_rules_watch_the_files_that_matter_and_pass_augenrules_check(host):
    rules = host.file("/etc/audit/rules.d/60-integration-demoapp.rules").content_string
    for watched in ("/etc/ssh/sshd_config", "/etc/sudoers", "/etc/passwd", "/opt/app/demoapp/.env",
                    "/var/spool/cron/crontabs", "/etc/postgresql"):
        assert f"-w {watched} -p wa " in rules
    check = host.run("augenrules --check")
    assert check.rc == 0 and "No change" in check.stdout, check.stdout + check.stderr
    assert "-w /opt/app/demoapp/.env -p wa -k demoapp-app" in host.file("/etc/audit/audit.rules").content_string


def test_logins_default_to_umask_027_no_core_dumps_and_unused_protocols_off(host):
    login_defs = host.file("/etc/login.defs").content_string
    assert re.search(r"(?m)^UMASK\s+027$", login_defs) and re.search(r"(?m)^SHA_CRYPT_MIN_ROUNDS\s+65536$", login_defs)
    assert "* hard core 0" in host.file("/etc/security/limits.d/60-integration-demoapp-core.conf").content_string
    modprobe = host.file("/etc/modprobe.d/60-integration-demoapp.conf").content_string
    assert all(f"install {module} /bin/true" in modprobe for module in ("dccp", "sctp", "rds", "tipc"))


def test_the_legal_banner_is_shown_before_ssh_authentication(host, client):
    assert "Authorized access only" in host.file("/etc/issue.net").content_string
    assert "banner /etc/issue.net" in host.check_output("sshd -T").splitlines()
    shown = client.run(f"ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes "
                       f"-o PreferredAuthentications=none nobody@{target_name(host)} true")
    assert "Authorized access only" in shown.stderr


def test_a_rerun_says_once_that_the_container_cannot_apply_kernel_settings(host):
    run = run_scenario_playbook("baseline_again.yml", "--limit", target_name(host))
    assert run.returncode == 0, run.stdout[-2000:]
    assert run.stdout.count("This host is a container") == 1
    assert re.search(rf"{target_name(host)}\s*: ok=\d+\s+changed=0 ", run.stdout), run.stdout[-1500:]


def test_the_hosts_run_in_the_declared_time_zone(host):
    """api13 was prepared in America/Los_Angeles (a cloud image's zone); the site declares UTC, and cron, which
    reads the zone when it starts, was restarted after the change."""
    assert host.check_output("date +%Z") == "UTC"
    assert host.file("/etc/timezone").content_string == "UTC\n"
    cron_started = int(host.check_output('date -d "$(systemctl show -P ActiveEnterTimestamp cron)" +%s'))
    assert cron_started >= int(host.check_output("stat -c %Y /etc/timezone"))
