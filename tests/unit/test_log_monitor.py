"""files/ops/log_monitor.py: journal entries of a failed job become one err line and one incident; the
cursor makes a restart resume without repeating or missing; the journalctl command it follows."""

import io
import json
import subprocess
import sys

import pytest
from conftest import ROOT

SCRIPT = ROOT / "files" / "ops" / "log_monitor.py"
sys.path.insert(0, str(SCRIPT.parent))
import log_monitor  # noqa: E402

UNIT = "demoapp-batch.service"


def run_entries(unit, invocation, cursor_base, output, status="4", result="exit-code", ok=False):
    """The journal entries of one run of a job: its output, then systemd's messages about it."""
    entries = [{"_SYSTEMD_UNIT": unit, "_SYSTEMD_INVOCATION_ID": invocation, "MESSAGE": line,
                "__CURSOR": f"{cursor_base}-{n}", "__REALTIME_TIMESTAMP": "1796000000000000"}
               for n, line in enumerate(output)]
    common = {"_SYSTEMD_UNIT": "init.scope", "UNIT": unit, "INVOCATION_ID": invocation,
              "__REALTIME_TIMESTAMP": "1796000001000000"}
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
    assert out.getvalue() == "" and incidents(tmp_path) == []
    assert monitor.printed == {} and monitor.exit_status == {}


def test_without_output_the_reason_is_systemds_result(tmp_path):
    monitor = log_monitor.Monitor([UNIT], str(tmp_path), out=io.StringIO())
    for entry in run_entries(UNIT, "inv4", "c4", [], status="", result="timeout"):
        entry.pop("EXIT_STATUS", None)
        monitor.handle(entry)
    assert incidents(tmp_path)[0]["reason"] == "timeout" and incidents(tmp_path)[0]["exit_status"] is None


def test_the_journal_command_resumes_after_the_saved_cursor_or_starts_at_the_end():
    assert log_monitor.journal_command([UNIT], None) == [
        "journalctl", "--follow", "--output=json", "--no-pager", "--quiet", "--lines=0", f"--unit={UNIT}"]
    assert "--after-cursor=s=abc;i=1" in log_monitor.journal_command([UNIT, "x.service"], "s=abc;i=1")
    assert log_monitor.text([104, 105]) == "hi" and log_monitor.text(None) == ""


@pytest.fixture
def fake_journalctl(tmp_path):
    """A journalctl that prints the entries of entries.json after the --after-cursor it is given, then exits."""
    script = tmp_path / "journalctl"
    script.write_text(f"""#!{sys.executable}
import json, sys
entries = json.load(open({str(tmp_path / "entries.json")!r}))
with open({str(tmp_path / "calls")!r}, "a") as calls:
    calls.write(" ".join(sys.argv[1:]) + "\\n")
after = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--after-cursor=")), None)
cursors = [e["__CURSOR"] for e in entries]
start = cursors.index(after) + 1 if after in cursors else len(entries) if after is None else 0
for entry in entries[start:]:
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
               "--journalctl", str(fake_journalctl)]
    # First start: no cursor yet, so it starts at the end of the journal (the old failure is history).
    subprocess.run(command, capture_output=True, text=True, check=False)
    assert incidents(state) == []
    (state / "cursor").write_text("c5-0\n")  # as if it had handled the job's output line, then stopped
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    assert run.returncode == 1 and "<3>job demoapp-batch failed" in run.stdout
    assert [i["cursor"] for i in incidents(state)] == ["c5-failed"]
    # A failure logged while it was down is caught at the next start; the first one is not repeated.
    (tmp_path / "entries.json").write_text(json.dumps(first + run_entries(UNIT, "inv6", "c6", ["ERROR again"])))
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    assert [i["cursor"] for i in incidents(state)] == ["c5-failed", "c6-failed"]
    assert run.stdout.count("<3>") == 1
    assert "--after-cursor=c5-failed" in (tmp_path / "calls").read_text().splitlines()[-1]
