"""The batch runs confined: a probe under exactly its unit's sandbox can write only to the log directory and
its private /tmp, cannot gain privileges; the real batch still writes its row and log line through cron."""

import re
import shlex

import pytest
from conftest import cron_file_entry, psql_as_app, run_cron_command, run_scenario_playbook, target_name

# Debian 13 only (why: molecule/operations/molecule.yml).
testinfra_hosts = ["ansible://debian13"]
UNIT = "/etc/systemd/system/demoapp-batch.service"
PROBE = r"""for d in /logs/app /tmp /opt/app/demoapp /etc /home /root /var/tmp /var/lib /usr/local/bin; do
  if touch "$d/probe-write" 2>/dev/null; then echo "write $d yes"; rm -f "$d/probe-write"; else echo "write $d no"; fi
done
sudo -n true 2>&1 | head -1 | sed 's/^/sudo /'
su -c true root </dev/null 2>&1 | head -1 | sed 's/^/su /'
grep '^CapEff' /proc/self/status
grep '^NoNewPrivs' /proc/self/status
if touch /dev/shm/probe-write 2>/dev/null; then echo "write /dev/shm yes (private)"; fi
dd if=/dev/zero of=/dev/shm/probe-fill bs=1M count=64 2>&1 | grep -i 'space' | head -1 | sed 's/^/fill /'
ipcmk -M 4096 2>&1 | sed 's/^/ipc /'
for address in 127.0.0.1 HOST_ADDRESS; do
  python3 -c 'import errno, socket, sys
try:
    socket.create_connection((sys.argv[1], 5432), 3).close(); print("connect", sys.argv[1], "ok")
except TimeoutError:
    print("connect", sys.argv[1], "timeout")
except OSError as e:
    print("connect", sys.argv[1], errno.errorcode.get(e.errno, e.errno))' "$address"
done
"""


@pytest.fixture(scope="module")
def probe(host):
    """What the probe printed, run as demoapp-probe.service: the batch's unit with only its command replaced."""
    unit = host.file(UNIT).content_string
    script = "/run/demoapp-probe.sh"
    probe_text = PROBE.replace("HOST_ADDRESS", host.check_output("hostname -I").split()[0])
    host.run_expect([0], f"printf '%s' {shlex.quote(probe_text)} > {script} && chmod 755 {script}")
    probe_unit = re.sub(r"(?m)^ExecStart=.*$", f"ExecStart=/bin/sh {script}", unit)
    assert probe_unit != unit
    host.run_expect([0], f"printf '%s' {shlex.quote(probe_unit)} > /run/systemd/system/demoapp-probe.service "
                         "&& systemctl daemon-reload")
    try:
        since = host.check_output("date +%s.%N")
        host.run("systemctl start --wait demoapp-probe.service")
        return host.check_output(
            f"journalctl --sync; journalctl -q -o cat --since @{since} _SYSTEMD_UNIT=demoapp-probe.service")
    finally:
        host.run(f"rm -f /run/systemd/system/demoapp-probe.service {script}; systemctl daemon-reload")


@pytest.mark.parametrize("path", ["/logs/app", "/tmp"])
def test_the_confined_batch_writes_its_log_directory_and_private_tmp(probe, path):
    assert f"write {path} yes" in probe.splitlines(), probe


@pytest.mark.parametrize("path", ["/opt/app/demoapp", "/etc", "/home", "/root", "/var/tmp", "/var/lib",
                                  "/usr/local/bin"])
def test_the_confined_batch_cannot_write_elsewhere(probe, path):
    assert f"write {path} no" in probe.splitlines(), probe


def test_the_confined_batch_cannot_gain_privileges(probe):
    lines = probe.splitlines()
    assert "NoNewPrivs:\t1" in lines and "CapEff:\t0000000000000000" in lines, probe
    assert any(line.startswith("sudo ") and "no new privileges" in line for line in lines), probe
    assert any(line.startswith("su ") for line in lines) and "uid=0" not in probe, probe


def test_the_private_tmp_is_not_the_hosts(host, probe):
    assert not host.file("/tmp/probe-write").exists


def test_the_job_cannot_fill_the_hosts_dev_shm_and_postgresql_keeps_working(host, probe):
    """The job's /dev/shm is a small tmpfs of its own that disappears with it: filling it stops at its size
    (64 MiB on the host's made PostgreSQL fail), and the host's /dev/shm never sees the files."""
    assert "write /dev/shm yes (private)" in probe and "fill " in probe and "No space left" in probe, probe
    assert not host.file("/dev/shm/probe-write").exists and not host.file("/dev/shm/probe-fill").exists
    assert psql_as_app(host, "SELECT count(*) >= 0 FROM app_logs").stdout.strip() == "t"


def test_the_batch_reaches_its_database_over_loopback_and_no_other_address(host, probe):
    """IPAddressAllow=localhost: PostgreSQL on 127.0.0.1 answers; on the host's own network address, where it does
    not listen, the server's kernel would refuse at once (ECONNREFUSED): systemd's firewall drops the packets
    instead (a time-out, or EPERM)."""
    assert "connect 127.0.0.1 ok" in probe, probe
    address = host.check_output("hostname -I").split()[0]
    assert f"connect {address} timeout" in probe or f"connect {address} EPERM" in probe, probe
    assert host.run(f"python3 -c 'import socket; socket.create_connection((\"{address}\", 5432), 3)'").stderr \
        .strip().endswith("Connection refused")  # unconfined: refused by the kernel, at once


def test_the_jobs_ipc_objects_die_with_it(host, probe):
    assert "ipc Shared memory id:" in probe, probe  # it could make one, in its own IPC namespace
    assert host.run("ipcs -m -c | awk '$3 == \"demoapp\"'").stdout.strip() == ""


def test_cron_starts_the_unit_and_the_batch_writes_its_row_and_log_line(host):
    schedule, user, command = cron_file_entry(host, "demoapp-batch")
    assert (schedule, user) == (["0", "1", "*", "*", "*"], "root")
    assert command.startswith("/usr/local/lib/integration-demoapp/run-confined demoapp-batch.service ")
    before = int(psql_as_app(host, "SELECT count(*) FROM app_logs").stdout)
    result = run_cron_command(host)
    assert result.rc == 0, result.stdout + result.stderr
    assert int(psql_as_app(host, "SELECT count(*) FROM app_logs").stdout) == before + 1
    assert " OK row id=" in host.file("/logs/app/demoapp.log").content_string.splitlines()[-1]
    assert "demoapp" == host.check_output("systemctl show -P User demoapp-batch.service")


def test_a_failure_reaches_cron_with_the_batchs_exit_status_and_message(host):
    host.run_expect([0], "systemctl stop postgresql")
    try:
        result = run_cron_command(host)
    finally:
        host.run_expect([0], "systemctl start postgresql")
    assert result.rc == 4
    assert "ERROR exit=4 database unreachable" in host.file("/logs/app/cron.log").content_string.splitlines()[-1]


def test_systemd_rates_the_unit_exposure_at_most_2(host):
    out = host.check_output("systemd-analyze security --no-pager demoapp-batch.service")
    level = float(re.search(r"Overall exposure level for demoapp-batch\.service: ([0-9.]+)", out).group(1))
    print(f"systemd-analyze security demoapp-batch.service ({host.system_info.codename}): {level}")
    assert level <= 2.0, out


def crontab(host):
    return host.run("crontab -l -u demoapp").stdout


def test_confining_again_removes_what_an_unconfined_run_left_in_the_crontab(host):
    confined = host.file("/etc/cron.d/demoapp-batch").content_string
    try:
        unconfined = run_scenario_playbook("cron_again.yml", "-l", target_name(host), "-e",
                                           '{"cron_confined": false, "cron_mailto": "ops@example.com"}')
        assert unconfined.returncode == 0, unconfined.stdout[-3000:]
        assert "#Ansible: demoapp batch" in crontab(host) and 'MAILTO="ops@example.com"' in crontab(host)
        assert not host.file("/etc/cron.d/demoapp-batch").exists
    finally:
        again = run_scenario_playbook("cron_again.yml", "-l", target_name(host))
    assert again.returncode == 0, again.stdout[-3000:]
    assert "#Ansible" not in crontab(host) and "MAILTO" not in crontab(host), crontab(host)
    assert host.file("/etc/cron.d/demoapp-batch").content_string == confined
