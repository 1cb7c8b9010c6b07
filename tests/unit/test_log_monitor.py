"""files/ops/log_monitor.py: journal entries of a failed job become one err line and one incident; the
cursor makes a restart resume without repeating or missing; the journalctl command it follows."""

import io
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

SCRIPT = ROOT / "files" / "ops" / "log_monitor.py"
sys.path.insert(0, str(SCRIPT.parent))
import log_monitor  # noqa: E402

UNIT = "demoapp-batch.service"


def run_entries(unit, invocation, cursor_base, output, status="4", result="exit-code", ok=False,
                tagged=False):
    """The journal entries of one run of a job: its output, then systemd's messages about it."""
    common = {"_SYSTEMD_UNIT": "init.scope", "UNIT": unit, "INVOCATION_ID": invocation,
              "__REALTIME_TIMESTAMP": "1796000001000000"}
    # The job's own lines: journald tags them with their run (stdout streams) unless it could not tell.
    entries = [{**common, "MESSAGE": f"Starting {unit}...", "__CURSOR": f"{cursor_base}-start"}]
    entries += [{"_SYSTEMD_UNIT": unit, "MESSAGE": line, "__CURSOR": f"{cursor_base}-{n}",
                 "__REALTIME_TIMESTAMP": "1796000000000000",
                 **({"_SYSTEMD_INVOCATION_ID": invocation} if tagged else {})} for n, line in enumerate(output)]
    entries.append({**common, "MESSAGE_ID": log_monitor.PROCESS_EXITED, "EXIT_STATUS": "0" if ok else status,
                    "__CURSOR": f"{cursor_base}-exit"})
    if ok:
        entries.append({**common, "MESSAGE_ID": log_monitor.UNIT_SUCCEEDED, "__CURSOR": f"{cursor_base}-ok"})
    else:
        entries.append({**common, "MESSAGE_ID": log_monitor.UNIT_FAILED, "UNIT_RESULT": result,
                        "__CURSOR": f"{cursor_base}-failed"})
    return entries


def incidents(state):
    path = state / "incidents.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_failed_run_gives_one_err_line_and_one_incident_with_the_jobs_reason(tmp_path):
    out = io.StringIO()
    monitor = log_monitor.Monitor([UNIT], str(tmp_path), hostname="web1", out=out)
    for entry in run_entries(UNIT, "inv1", "c1", ["demoapp: ERROR exit=4 database unreachable", "a later line"]):
        monitor.handle(entry)
    # The failure waits GRACE for its reason; the cursor stays before it until it is reported.
    assert out.getvalue() == "" and (tmp_path / "cursor").read_text() == "c1-exit\n"
    monitor.flush(float("inf"))
    assert out.getvalue() == ("<3>job demoapp-batch failed on web1 (exit-code, exit status 4): "
                              "demoapp: ERROR exit=4 database unreachable\n")
    [incident] = incidents(tmp_path)
    assert incident["job"] == "demoapp-batch" and incident["exit_status"] == 4 and incident["host"] == "web1"
    assert incident["time"] == "2026-11-30T00:53:21+00:00" and incident["cursor"] == "c1-failed"
    assert (tmp_path / "cursor").read_text() == "c1-failed\n"


def test_a_successful_run_and_other_units_raise_nothing(tmp_path):
    out = io.StringIO()
    monitor = log_monitor.Monitor([UNIT], str(tmp_path), out=out)
    for entry in run_entries(UNIT, "inv2", "c2", ["OK row id=3"], ok=True):
        monitor.handle(entry)
    for entry in run_entries("other.service", "inv3", "c3", ["ERROR elsewhere"]):
        monitor.handle(entry)
    monitor.flush(float("inf"))
    assert out.getvalue() == "" and incidents(tmp_path) == []
    assert monitor.printed == {} and monitor.exit_status == {}


def test_without_output_the_reason_is_systemds_result(tmp_path):
    monitor = log_monitor.Monitor([UNIT], str(tmp_path), out=io.StringIO())
    for entry in run_entries(UNIT, "inv4", "c4", [], status="", result="timeout"):
        entry.pop("EXIT_STATUS", None)
        monitor.handle(entry)
    monitor.flush(float("inf"))
    assert incidents(tmp_path)[0]["reason"] == "timeout" and incidents(tmp_path)[0]["exit_status"] is None


def test_a_line_filed_just_after_the_failure_still_gives_the_reason_and_the_next_run_starts_clean(tmp_path):
    monitor = log_monitor.Monitor([UNIT], str(tmp_path), out=io.StringIO())
    entries = run_entries(UNIT, "inv7", "c7", ["demoapp: ERROR exit=5 authentication refused"])
    late_line, failure = entries[1], entries[-1]
    for entry in [e for e in entries if e is not late_line]:
        monitor.handle(entry, now=100.0)
    monitor.handle(late_line, now=100.5)  # journald filed it after systemd's message, within the grace
    assert monitor.flush(now=100 + log_monitor.GRACE - 0.1) == []
    [incident] = monitor.flush(now=100 + log_monitor.GRACE + 0.1)
    assert incident["reason"] == "demoapp: ERROR exit=5 authentication refused"
    assert (tmp_path / "cursor").read_text() == "c7-0\n" and failure["__CURSOR"] == "c7-failed"
    # journald may also file a run's first line before systemd's "Starting": it is still that run's.
    first = run_entries(UNIT, "inv8", "c8", ["ERROR first"])
    first[0], first[1] = first[1], first[0]
    for entry in first:
        monitor.handle(entry, now=200.0)
    monitor.flush(now=200 + log_monitor.GRACE + 0.5)
    for entry in run_entries(UNIT, "inv9", "c9", ["ERROR second"]):
        monitor.handle(entry, now=201 + log_monitor.GRACE)
    monitor.flush(float("inf"))
    assert [i["reason"] for i in incidents(tmp_path)][-2:] == ["ERROR first", "ERROR second"]
    assert monitor.printed == {} and monitor.pending == {}


def test_the_journal_command_reads_after_the_cursor_or_all_of_an_empty_journal():
    assert log_monitor.journal_command([UNIT], None) == [
        "journalctl", "--output=json", "--no-pager", "--quiet", f"--unit={UNIT}"]
    assert "--after-cursor=s=abc;i=1" in log_monitor.journal_command([UNIT, "x.service"], "s=abc;i=1")
    assert log_monitor.text([104, 105]) == "hi" and log_monitor.text(None) == ""


@pytest.fixture
def fake_journalctl(tmp_path):
    """A journalctl that prints the entries of entries.json after the --after-cursor it is given (the last one
    with --lines=1), then exits."""
    script = tmp_path / "journalctl"
    script.write_text(f"""#!{sys.executable}
import json, sys
entries = json.load(open({str(tmp_path / "entries.json")!r}))
with open({str(tmp_path / "calls")!r}, "a") as calls:
    calls.write(" ".join(sys.argv[1:]) + "\\n")
after = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--after-cursor=")), None)
cursors = [e["__CURSOR"] for e in entries]
start = cursors.index(after) + 1 if after in cursors else 0
for entry in entries[-1:] if "--lines=1" in sys.argv else entries[start:]:
    print(json.dumps(entry))
""")
    script.chmod(0o755)
    return script


def test_a_restart_resumes_after_the_last_entry_it_handled_without_repeating_or_missing(tmp_path, fake_journalctl):
    state = tmp_path / "state"
    state.mkdir()
    first = run_entries(UNIT, "inv5", "c5", ["demoapp: ERROR exit=4 database unreachable"])
    (tmp_path / "entries.json").write_text(json.dumps(first))
    command = [sys.executable, str(SCRIPT), "--state-dir", str(state), "--unit", UNIT,
               "--journalctl", str(fake_journalctl), "--journal-dir", str(tmp_path / "journal"), "--polls", "1"]
    # First start: no cursor yet, so it starts at the end of the journal (the old failure is history).
    subprocess.run(command, capture_output=True, text=True, check=False)
    assert incidents(state) == []
    (state / "cursor").write_text("c5-start\n")  # as if it had handled the job's start, then stopped
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    assert run.returncode == 0 and "<3>job demoapp-batch failed" in run.stdout
    assert [i["cursor"] for i in incidents(state)] == ["c5-failed"]
    # A failure logged while it was down is caught at the next start; the first one is not repeated.
    (tmp_path / "entries.json").write_text(json.dumps(first + run_entries(UNIT, "inv6", "c6", ["ERROR again"])))
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    assert [i["cursor"] for i in incidents(state)] == ["c5-failed", "c6-failed"]
    assert run.stdout.count("<3>") == 1
    assert "--after-cursor=c5-failed" in (tmp_path / "calls").read_text().splitlines()[-1]


def test_a_read_during_which_the_journal_rotated_is_made_again(tmp_path, fake_journalctl):
    """The first read sees the journal's files change under it (a rotation): its output is not trusted, the
    same read is made again; a failure is reported once."""
    journal = tmp_path / "journal"
    journal.mkdir()
    (journal / "system.journal").write_text("")
    (tmp_path / "entries.json").write_text(json.dumps(run_entries(UNIT, "i1", "r1", ["ERROR exit=4"])))
    reads = []

    def rotate_once(command, capture_output, check):
        reads.append(command)
        if len(reads) == 1:  # the journal rotates while the first read runs
            (journal / "system.journal").rename(journal / "system@0001.journal")
            (journal / "system.journal").write_text("")
        return real_run(command, capture_output=capture_output, check=check)

    real_run = subprocess.run
    log_monitor.subprocess.run = rotate_once
    try:
        lines = log_monitor.read_journal(log_monitor.journal_command([UNIT], "r1-start", str(fake_journalctl)),
                                         dirs=(str(journal),))
    finally:
        log_monitor.subprocess.run = real_run
    assert len(reads) == 2 and reads[0] == reads[1]
    assert [json.loads(line)["__CURSOR"] for line in lines] == ["r1-0", "r1-exit", "r1-failed"]


def test_the_monitor_reads_again_after_the_last_entry_it_handled_and_says_when_journalctl_fails(
        tmp_path, fake_journalctl):
    state = tmp_path / "state"
    state.mkdir()
    (tmp_path / "entries.json").write_text(json.dumps(run_entries(UNIT, "i1", "w1", ["ERROR one"])))
    monitor = log_monitor.Monitor([UNIT], str(state), hostname="web1", out=io.StringIO())
    naps = []
    monitor.watch([UNIT], str(fake_journalctl), dirs=(str(tmp_path / "journal"),), polls=3, sleep=naps.append)
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0].endswith("--lines=1")  # first start: the end of the journal
    assert "--after-cursor=w1-failed" in calls[1] and "--after-cursor=w1-failed" in calls[-1]
    assert incidents(state) == [] and naps == [log_monitor.POLL_EVERY] * 2
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\necho 'No journal files were found.' >&2\nexit 1\n")
    broken.chmod(0o755)
    run = subprocess.run([sys.executable, str(SCRIPT), "--state-dir", str(state), "--unit", UNIT,
                          "--journalctl", str(broken), "--polls", "1"], capture_output=True, text=True, check=False)
    assert run.returncode == 1 and "exited with status 1: No journal files were found." in run.stderr


def test_a_failure_opens_an_incident_in_the_api_and_the_next_success_resolves_it(tmp_path, api):
    url, calls = api
    errors = io.StringIO()
    monitor = log_monitor.Monitor([UNIT], str(tmp_path), hostname="web1", out=io.StringIO(),
                                  console=log_monitor.Console(url, "the-token", "web1", out=errors))
    for entry in run_entries(UNIT, "i1", "a1", ["demoapp: ERROR exit=4 database unreachable"]):
        monitor.handle(entry)
    monitor.flush(float("inf"))
    for entry in run_entries(UNIT, "i2", "a2", ["OK row id=9"], ok=True):
        monitor.handle(entry)
    assert calls == [
        ("/api/incidents", "Service the-token", {"server": "web1", "job": "demoapp-batch", "severity": "high",
                                                 "title": "job demoapp-batch failed: demoapp: ERROR exit=4 database "
                                                          "unreachable"}),
        ("/api/incidents/resolve-job", "Service the-token", {"server": "web1", "job": "demoapp-batch"})]
    assert errors.getvalue() == ""


def test_an_api_that_refuses_is_said_and_the_monitor_goes_on(tmp_path, api):
    url, _calls = api
    errors = io.StringIO()
    console = log_monitor.Console(url, "the-token", "unknown", out=errors)
    assert console.opened({"job": "demoapp-batch", "reason": "x"}) is None
    assert "the operations API refused or did not answer /api/incidents: HTTP Error 400" in errors.getvalue()
    down = log_monitor.Console("http://127.0.0.1:9", "t", "web1", out=errors)
    assert down.succeeded("demoapp-batch") is None and "did not answer /api/incidents/resolve-job" in errors.getvalue()
    with pytest.raises(ValueError, match="not an http"):
        log_monitor.Console("file:///etc/passwd", "t", "web1")
    os.environ.pop("SECURESTACK_URL", None)
    assert log_monitor.Console.from_environment("web1") is None
    # A certificate the job cannot read: the job goes on without the API (the monitor keeps alerting) and says why.
    os.environ.update(SECURESTACK_URL="https://api.example", SECURESTACK_SERVICE_TOKEN="t",
                      SECURESTACK_CA=str(tmp_path / "missing.pem"))
    try:
        assert log_monitor.Console.from_environment("web1") is None
    finally:
        for name in ("SECURESTACK_URL", "SECURESTACK_SERVICE_TOKEN", "SECURESTACK_CA"):
            os.environ.pop(name)


def test_calls_the_api_could_not_take_while_down_are_sent_in_order_once_it_answers(tmp_path, api):
    url, calls = api
    errors = io.StringIO()
    console = log_monitor.Console("http://127.0.0.1:9", "the-token", "web1", out=errors, keep=True)
    monitor = log_monitor.Monitor([UNIT], str(tmp_path), hostname="web1", out=io.StringIO(), console=console)
    for entry in run_entries(UNIT, "i1", "a1", ["demoapp: ERROR exit=4 database unreachable"]):
        monitor.handle(entry)
    monitor.flush(float("inf"))
    assert [path for path, _body in console.kept] == ["/api/incidents"] and "kept" in errors.getvalue()
    console.url = url  # the API answers again
    assert console.retry(now=console.last_attempt + 1) is False and calls == []  # not again before RETRY_EVERY
    for entry in run_entries(UNIT, "i2", "a2", ["OK row id=9"], ok=True):
        monitor.handle(entry)
    assert [path for path, _auth, _body in calls] == ["/api/incidents", "/api/incidents/resolve-job"]
    assert console.kept == [] and "answers again" in errors.getvalue()


def test_two_runs_within_the_grace_each_keep_their_own_reason(tmp_path):
    """A failed run, then (within its grace) a second run of the same job, interleaved as journald files
    them: each alert carries its own run's reason, and a successful run's lines change nothing."""
    out = io.StringIO()
    monitor = log_monitor.Monitor([UNIT], str(tmp_path), hostname="web1", out=out, window=0)
    first = run_entries(UNIT, "inv-a", "a", ["demoapp: ERROR exit=4 database unreachable"], tagged=True)
    good = run_entries(UNIT, "inv-b", "b", ["noise line 1000", "OK row id=7"], ok=True, tagged=True)
    second = run_entries(UNIT, "inv-c", "c", ["demoapp: ERROR exit=5 authentication refused"], status="5",
                         tagged=True)
    late = first.pop(1)  # the first run's reason is filed after the next runs started
    for entry in first + good[:2] + second[:2] + [late] + good[2:] + second[2:]:
        monitor.handle(entry, now=10.0)
    monitor.flush(float("inf"))
    assert [(i["invocation"], i["exit_status"], i["reason"]) for i in incidents(tmp_path)] == [
        ("inv-a", 4, "demoapp: ERROR exit=4 database unreachable"),
        ("inv-c", 5, "demoapp: ERROR exit=5 authentication refused")]
    assert out.getvalue().count("<3>") == 2


def test_a_burst_of_failures_gives_one_alert_at_once_then_one_per_window_with_the_count(tmp_path):
    out = io.StringIO()
    monitor = log_monitor.Monitor([UNIT], str(tmp_path), hostname="web1", out=out)
    window = log_monitor.WINDOW
    for n in range(50):  # 50 failing runs within a minute
        for entry in run_entries(UNIT, f"inv{n}", f"b{n}", [f"demoapp: ERROR exit=4 run {n}"], tagged=True):
            monitor.handle(entry, now=1000.0 + n)
        monitor.flush(now=1000.0 + n + log_monitor.GRACE)
    first = out.getvalue().splitlines()
    assert first == ["<3>job demoapp-batch failed on web1 (exit-code, exit status 4): demoapp: ERROR exit=4 run 0"]
    monitor.flush(now=1000.0 + log_monitor.GRACE + window + 0.1)  # the window ends: one alert with the count
    [summary] = out.getvalue().splitlines()[1:]
    assert summary == (f"<3>job demoapp-batch failed 49 more times on web1 (exit-code, exit status 4, in the last "
                       f"{window:g} s): last: demoapp: ERROR exit=4 run 49")
    monitor.flush(float("inf"))
    assert len(out.getvalue().splitlines()) == 2  # nothing more to say
    assert [i["reason"] for i in incidents(tmp_path)] == [f"demoapp: ERROR exit=4 run {n}" for n in range(50)]
    # Another job's failure is not held back by this job's window.
    other = "demoapp-purge.service"
    monitor.units.add(other)
    for entry in run_entries(other, "p1", "p", ["purge: ERROR exit=4 x"], tagged=True):
        monitor.handle(entry, now=2000.0)
    monitor.flush(now=2000.0 + log_monitor.GRACE)
    assert out.getvalue().splitlines()[-1].startswith("<3>job demoapp-purge failed on web1")


def test_a_start_refused_by_the_start_limit_is_reported_as_such(tmp_path):
    out = io.StringIO()
    monitor = log_monitor.Monitor([UNIT], str(tmp_path), hostname="web1", out=out, window=0)
    for entry in run_entries(UNIT, "inv1", "s1", ["demoapp: ERROR exit=4 database unreachable"], tagged=True):
        monitor.handle(entry, now=1.0)
    monitor.flush(now=1.0 + log_monitor.GRACE)
    # systemd's own words when it refuses a start, about the last run's invocation: no process, no exit status.
    monitor.handle({"_SYSTEMD_UNIT": "init.scope", "UNIT": UNIT, "INVOCATION_ID": "inv1", "__CURSOR": "s2-limit",
                    "MESSAGE": f"{UNIT}: Start request repeated too quickly.", "__REALTIME_TIMESTAMP": "1"}, now=5.0)
    monitor.handle({"_SYSTEMD_UNIT": "init.scope", "UNIT": UNIT, "INVOCATION_ID": "inv1", "__CURSOR": "s2-failed",
                    "MESSAGE_ID": log_monitor.UNIT_FAILED, "UNIT_RESULT": "start-limit-hit",
                    "__REALTIME_TIMESTAMP": "2"}, now=5.0)
    refused = incidents(tmp_path)[-1]
    assert (refused["result"], refused["exit_status"], refused["reason"]) == (
        "start-limit-hit", None, log_monitor.REFUSED)
    assert out.getvalue().splitlines()[-1] == (
        f"<3>job demoapp-batch could not start on web1 (start-limit-hit): {log_monitor.REFUSED}")


def test_a_refused_start_as_systemd_257_logs_it_keeps_the_previous_runs_reason(tmp_path):
    """systemd 257, over the start limit: "Start request repeated too quickly", then "failed" with the previous
    run's result (exit-code) and invocation ID, while that run's failure still waits for its grace. The run keeps
    its reason and exit status; the refusal is its own record."""
    monitor = log_monitor.Monitor([UNIT], str(tmp_path), hostname="web1", out=io.StringIO(), window=0)
    for entry in run_entries(UNIT, "inv5", "r5", ["demoapp: ERROR exit=4 run 5"], tagged=True):
        monitor.handle(entry, now=1.0)
    for n in (6, 7):
        monitor.handle({"_SYSTEMD_UNIT": "init.scope", "UNIT": UNIT, "INVOCATION_ID": "inv5",
                        "MESSAGE": f"{UNIT}: Start request repeated too quickly.", "__CURSOR": f"r{n}-limit"}, now=1.5)
        monitor.handle({"_SYSTEMD_UNIT": "init.scope", "UNIT": UNIT, "INVOCATION_ID": "inv5",
                        "MESSAGE_ID": log_monitor.UNIT_FAILED, "UNIT_RESULT": "exit-code",
                        "__CURSOR": f"r{n}-failed"}, now=1.5)
    monitor.flush(float("inf"))
    assert [(i["result"], i["exit_status"], i["reason"]) for i in incidents(tmp_path)] == [
        ("start-limit-hit", None, log_monitor.REFUSED), ("start-limit-hit", None, log_monitor.REFUSED),
        ("exit-code", 4, "demoapp: ERROR exit=4 run 5")]
