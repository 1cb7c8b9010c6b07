"""operations: logs rotated and compressed with the writers still writing; the weekly security updates
report; unattended upgrades as an option; no password in any job's command line, log or process list."""

import json
import shlex

import pytest
from conftest import DB_PASSWORD, cron_file_entry, run_cron_command, run_cron_file_entry, target_name

testinfra_hosts = ["ansible://targets"]
BATCH_LOG = "/logs/app/demoapp.log"
OPS_LOG = "/var/log/demoapp-operations/maintenance.log"
REPORT = "/var/lib/integration-demoapp/security-updates.json"


def root_job(host, marker):
    line = next(entry for entry in host.check_output("crontab -l -u root").splitlines() if marker in entry)
    return line.split(None, 5)[5]


def test_a_forced_rotation_compresses_the_batch_log_and_the_batch_still_writes(host):
    assert run_cron_command(host).rc == 0
    host.check_output("rm -f /logs/app/demoapp.log.[0-9]*")
    assert host.run("logrotate --force /etc/logrotate.d/demoapp").rc == 0
    assert host.run("gzip -t /logs/app/demoapp.log.1.gz").rc == 0
    assert " OK row id=" in host.check_output("zcat /logs/app/demoapp.log.1.gz")
    assert run_cron_command(host).rc == 0
    log = host.file(BATCH_LOG)
    assert (log.user, log.mode) == ("demoapp", 0o640)
    assert len(log.content_string.splitlines()) == 1  # the run after the rotation, in a fresh file


def test_a_forced_rotation_compresses_the_operations_log_and_the_jobs_still_write(host):
    result = run_cron_file_entry(host, "demoapp-maintenance")
    assert result.rc == 0, result.stderr
    host.check_output(f"rm -f {OPS_LOG}.[0-9]*")
    assert host.run("logrotate --force /etc/logrotate.d/demoapp-operations").rc == 0
    assert host.run(f"gzip -t {OPS_LOG}.1.gz").rc == 0
    result = run_cron_file_entry(host, "demoapp-maintenance")
    assert result.rc == 0, result.stderr
    log = host.file(OPS_LOG)
    assert (log.user, log.mode) == ("postgres", 0o640)
    assert [line.split(" ", 1)[1].startswith("Maintenance OK") for line in log.content_string.splitlines()] == [True]


def test_the_rotation_rules_say_what_the_readme_says(host):
    assert host.run("logrotate --debug /etc/logrotate.d/demoapp /etc/logrotate.d/demoapp-operations "
                    "/etc/logrotate.d/integration-demoapp-security-updates").rc == 0
    batch = host.file("/etc/logrotate.d/demoapp").content_string
    assert "weekly" in batch and "rotate 7" in batch and "compress" in batch and "delaycompress" not in batch
    ops = host.file("/etc/logrotate.d/demoapp-operations").content_string
    assert "weekly" in ops and "rotate 8" in ops


def test_the_weekly_security_updates_report_is_written_by_its_scheduled_command(host):
    assert "40 5 * * 0 " in host.check_output("crontab -l -u root")
    result = host.run(root_job(host, "security-updates"))
    assert result.rc == 0, result.stdout + result.stderr
    report = json.loads(host.file(REPORT).content_string)
    assert report["state"] == "ok" and report["security_count"] == len(report["security"])
    assert report["host"].split(".")[0] == target_name(host)
    assert host.file(REPORT).mode == 0o644
    assert "Security updates pending:" in host.file("/var/log/integration-demoapp-security-updates.log").content_string


def test_unattended_security_upgrades_on_by_default_and_off_where_turned_off(host):
    asked = target_name(host) == "debian13"  # debian12 sets updates_unattended: false
    assert host.package("unattended-upgrades").is_installed is asked
    periodic = host.file("/etc/apt/apt.conf.d/20auto-upgrades")
    assert periodic.exists is asked
    if asked:
        assert 'APT::Periodic::Unattended-Upgrade "1";' in periodic.content_string


def test_no_password_in_the_process_list_while_the_jobs_run(host):
    jobs = [f"/bin/sh -c {shlex.quote(cron_file_entry(host, name)[2])}"
            for name in ("demoapp-backup-daily", "demoapp-batch")]
    # Every process's command line, read from /proc (a minimal server may have no ps).
    listing = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done"
    seen = host.check_output(
        "cd / && (" + " & ".join(jobs) + " &) ; for i in $(seq 1 25); do " + listing + "; sleep 0.1; done")
    assert "backup.py" in seen  # the sampling saw the job running
    assert DB_PASSWORD not in seen


@pytest.mark.parametrize("where", ["/var/spool/cron", "/var/log", "/var/backups", "/var/lib/integration-demoapp",
                                   "/usr/local/lib/integration-demoapp", "/usr/local/bin", "/etc/logrotate.d"])
def test_no_password_in_any_job_file_or_log(host, where):
    found = host.run(f"grep -rlF -- {shlex.quote(DB_PASSWORD)} {where}").stdout.split()
    assert found == [], found
