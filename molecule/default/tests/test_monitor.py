"""Failures seen in seconds: the monitor turns a failed batch into an err journal entry naming it within 10 s,
does not repeat it after a restart, catches a failure logged while it was down, and keeps following after
log and journal rotation."""

import json
import re
import shlex
import time

from conftest import cron_file_entry, run_cron_command

testinfra_hosts = ["ansible://targets"]
INCIDENTS = "/var/lib/demoapp-monitor/incidents.jsonl"
WINDOW = 10  # log_monitor_alert_window in molecule.yml


def alerts(host, since):
    """The monitor's err entries since the epoch second ``since``."""
    out = host.run(f"journalctl --no-pager -q -o cat -t demoapp-monitor -p err --since @{since}").stdout
    return [line for line in out.splitlines() if line.strip()]


def fail_the_batch(host):
    """Run the batch's cron command with PostgreSQL stopped (exit 4)."""
    host.run_expect([0], "systemctl stop postgresql")
    try:
        assert run_cron_command(host).rc == 4
    finally:
        host.run_expect([0], "systemctl start postgresql")


def wait_for_alerts(host, since, count, limit=10.0):
    """Seconds until ``count`` alerts are in the journal (fails after ``limit``)."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if len(alerts(host, since)) >= count:
            return time.monotonic() - start
        time.sleep(0.5)
    raise AssertionError(f"fewer than {count} alerts after {limit} s: {alerts(host, since)}")


def incidents(host):
    return [json.loads(line) for line in host.file(INCIDENTS).content_string.splitlines()] \
        if host.file(INCIDENTS).exists else []


def test_the_monitor_runs_unprivileged_and_reads_the_journal_only(host):
    assert host.service("demoapp-monitor").is_running and host.service("demoapp-monitor").is_enabled
    assert host.check_output("systemctl show -P User demoapp-monitor.service") == "demoapp-monitor"
    assert "systemd-journal" in host.user("demoapp-monitor").groups
    assert host.user("demoapp-monitor").shell == "/usr/sbin/nologin"


def test_a_failed_batch_raises_one_err_entry_naming_it_within_10_seconds(host):
    since = int(host.check_output("date +%s"))
    before = len(incidents(host))
    fail_the_batch(host)
    elapsed = wait_for_alerts(host, since, 1)
    print(f"alert {elapsed:.1f} s after the batch's failure ({host.system_info.codename})")
    [alert] = alerts(host, since)
    assert "job demoapp-batch failed" in alert and "ERROR exit=4 database unreachable" in alert, alert
    new = incidents(host)[before:]
    assert [(i["job"], i["exit_status"]) for i in new] == [("demoapp-batch", 4)]


def test_a_restart_repeats_nothing_and_misses_nothing_logged_while_it_was_down(host):
    time.sleep(1.1)  # the previous test's alert falls before the second counted from here
    since = int(host.check_output("date +%s"))
    before = len(incidents(host))
    host.run_expect([0], "systemctl restart demoapp-monitor")
    time.sleep(3)
    assert len(incidents(host)) == before and alerts(host, since) == []
    host.run_expect([0], "systemctl stop demoapp-monitor")
    try:
        fail_the_batch(host)  # while the monitor is down
    finally:
        host.run_expect([0], "systemctl start demoapp-monitor")
    wait_for_alerts(host, since, 1)
    time.sleep(2)
    assert len(alerts(host, since)) == 1 and len(incidents(host)) == before + 1


def test_after_log_and_journal_rotation_the_next_failure_is_still_caught(host):
    host.run_expect([0], "logrotate --force /etc/logrotate.d/demoapp && journalctl --rotate")
    since = int(host.check_output("date +%s"))
    fail_the_batch(host)
    # The previous test's alert opened a window: this failure may be the count alerted when it ends.
    wait_for_alerts(host, since, 1, limit=10.0 + WINDOW)


def test_the_incident_records_are_rotated_like_the_logs(host):
    assert host.run("logrotate --debug /etc/logrotate.d/demoapp-monitor").rc == 0
    host.run_expect([0], f"rm -f {INCIDENTS}.1.gz && logrotate --force /etc/logrotate.d/demoapp-monitor")
    assert host.run(f"gzip -t {INCIDENTS}.1.gz").rc == 0
    assert '"job": "demoapp-batch"' in host.check_output(f"zcat {INCIDENTS}.1.gz")


def test_a_burst_gives_one_alert_then_the_count_and_refused_starts_are_said_so(host):
    """Seven failing runs in a row (in one shell on the host): systemd runs five and refuses the next two (its
    start limit, 5 in 10 s), which cron's command and the monitor say as such; the first failure alerts at once,
    the four others come as one alert with their count when the window ends, each with its own run's record."""
    time.sleep(WINDOW + 1)  # no window left open by the previous tests
    since = int(host.check_output("date +%s"))
    before = len(incidents(host))
    _schedule, user, command = cron_file_entry(host, "demoapp-batch")
    host.run_expect([0], "systemctl stop postgresql")
    try:
        out = host.check_output(f"for i in 1 2 3 4 5 6 7; do (cd / && runuser -u {user} -- /bin/sh -c "
                                f"{shlex.quote(command)}); echo \"rc=$?\"; done")
    finally:
        host.run_expect([0], "systemctl start postgresql && systemctl reset-failed demoapp-batch.service")
    codes = [int(line.split("=")[1]) for line in out.splitlines() if line.startswith("rc=")]
    assert codes[:5] == [4] * 5 and set(codes[5:]) <= {4, 75} and 75 in codes, codes
    said = host.file("/logs/app/cron.log").content_string.splitlines()
    assert any("was not started: systemd refused, its start limit was hit" in line for line in said[-10:])
    time.sleep(WINDOW + 6)  # the window ends after the last failure's grace and the monitor's poll
    lines = alerts(host, since)
    at_once = [line for line in lines if "job demoapp-batch failed on" in line]
    refused = [line for line in lines if "job demoapp-batch could not start on" in line]
    counts = [int(re.search(r"failed (\d+) more times?", line).group(1)) for line in lines
              if "failed" in line and "more time" in line]
    assert len(at_once) == 1 and "ERROR exit=4 database unreachable" in at_once[0], lines
    assert len(refused) == 1 and "start limit" in refused[0], lines
    assert sum(counts) == codes.count(4) - 1 and len(counts) <= 2, lines
    new = incidents(host)[before:]
    assert sorted(i["result"] for i in new) == sorted(["exit-code"] * codes.count(4)
                                                      + ["start-limit-hit"] * codes.count(75)), new
    assert all("ERROR exit=4" in i["reason"] for i in new if i["result"] == "exit-code"), new
