"""roles/confined_job/files/run-confined: what cron sees of a confined job, for each way a unit can end.

systemctl and journalctl are stand-ins on PATH that answer as systemd does for a unit that ended so (Result,
ExecMainStatus); the script under test is the one the role installs."""

import subprocess

import pytest
from conftest import ROOT

SCRIPT = ROOT / "roles" / "confined_job" / "files" / "run-confined"
UNIT = "demoapp-backup-daily.service"


@pytest.fixture
def unit_that_ended(tmp_path):
    """Returns run(result, status, printed): run-confined against a unit whose start failed so."""
    def run(result, status, printed="", started=True):
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "systemctl").write_text(f"""#!/bin/sh
case "$*" in
  *start*) {"touch " + str(tmp_path / "started") if started else ":"}; exit 1 ;;
  *Result*) echo {result} ;;
  *ExecMainStatus*) echo {status} ;;
  *InvocationID*) if [ -e {tmp_path / "started"} ]; then echo new-run; else echo previous-run; fi ;;
esac
""")
        (tmp_path / "started").unlink(missing_ok=True)
        (bin_dir / "journalctl").write_text(
            f"#!/bin/sh\ncase \"$*\" in *--sync*) exit 0 ;; esac\nprintf '%s' '{printed}'\n")
        for tool in ("systemctl", "journalctl"):
            (bin_dir / tool).chmod(0o755)
        return subprocess.run(["/bin/sh", str(SCRIPT), UNIT], capture_output=True, text=True, check=False,
                              env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    return run


def test_the_jobs_own_failure_passes_its_exit_status_and_output(unit_that_ended):
    proc = unit_that_ended("exit-code", 4, "backup: ERROR exit=4 pg_dump failed: x\n")
    assert proc.returncode == 4
    assert proc.stderr == "backup: ERROR exit=4 pg_dump failed: x\n"


@pytest.mark.parametrize(("result", "status", "code", "said"), [
    ("signal", 9, 137, f"run-confined: {UNIT} was killed by signal 9 (SIGKILL)"),
    ("signal", 15, 143, f"run-confined: {UNIT} was killed by signal 15 (SIGTERM)"),
    ("start-limit-hit", 4, 75, f"run-confined: {UNIT} was not started: systemd refused, its start limit was hit"),
    ("timeout", 0, 124, f"run-confined: {UNIT} timed out and was stopped"),
    ("oom-kill", 9, 137, f"run-confined: {UNIT} was killed by the kernel's out-of-memory killer"),
    ("resources", 0, 1, f"run-confined: {UNIT} failed (resources; systemctl status {UNIT} says more)"),
])
def test_a_unit_that_did_not_exit_by_itself_says_why_in_one_line(unit_that_ended, result, status, code, said):
    """Killed, refused by the start limit (the previous run's exit status must not be passed on), timed out."""
    proc = unit_that_ended(result, status)
    assert proc.returncode == code
    [line] = proc.stderr.splitlines()
    assert line.startswith(said), line


def test_a_start_systemd_refused_is_not_taken_for_the_previous_runs_failure(unit_that_ended):
    """systemd 257 refuses a start over the start limit ("Start request repeated too quickly") but leaves the
    previous run's Result (exit-code) and exit status (4): no new run was started, and that is what is said."""
    proc = unit_that_ended("exit-code", 4, started=False)
    assert proc.returncode == 75
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"run-confined: {UNIT} was not started: systemd refused, its start limit was hit"), line
