"""Follow the journal of the scheduled jobs and raise an alert when one fails.

    log_monitor.py --state-dir DIR --unit demoapp-batch.service [--unit ...]

Every POLL_EVERY seconds it reads, with journalctl (``--output=json``, filtered by unit), what the
journal holds after the last entry it handled: systemd writes "Failed with result ..." about a unit
whose job exited non-zero, was killed or timed out, and the job's own output carries the reason.
For each such failure this program prints one line at priority err on its standard output (the journal keeps it:
``journalctl -p err -t <its identifier>``) and appends one JSON record to
DIR/incidents.jsonl (time, host, job, unit, result, exit status, reason, cursor, invocation).
Each failure is tied to its run by systemd's invocation ID, so a run that starts while the previous
one's failure waits for its reason never lends it its own lines. Bursts are coalesced: the first
failure of a job alerts at once, the next ones within WINDOW seconds are only recorded, and when the
window ends one more alert gives their count and the last reason. A start that systemd refused (its
start limit: too many starts in a short time) is reported as such, not as a failure of the job.

With SECURESTACK_URL and SECURESTACK_SERVICE_TOKEN in its environment (and SECURESTACK_CA, the
certificate to verify the API with), each failure also opens an incident in the operations API
(files/securestack) for --server, and the job's next success resolves its open incidents there
(api_client.py). A call the API does not take is said on standard error; one it could not take because
it was down is sent again, in order, once it answers; incidents.jsonl stays the record.

DIR/cursor holds the journal position of the last entry handled, written after its
incident: after a restart the monitor resumes right after it, so it neither repeats an
alert nor misses a failure logged while it was down. On its first start it begins at the end of
the journal.

Why a fresh journalctl every few seconds and not ``journalctl --follow``: a follower can miss a file
that rotates while it opens it (systemd issue 40053), and every Ansible run rotates the journal several
times (each module call logs its arguments as journal fields, which fills a file's field table), so a
long-running follower skipped a job's failure now and then. A read during which the journal's files
changed is made again.
"""

import argparse
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time

from api_client import Console

# systemd's catalog: "Unit failed" (UNIT_RESULT=...), "Unit succeeded", "Unit process exited" (EXIT_STATUS=...).
UNIT_FAILED = "d9b373ed55a64feb8242e02dbe79a49c"
UNIT_SUCCEEDED = "7ad2d189f7e94e70a38c781354912448"
PROCESS_EXITED = "98e322203f7a4ed290d09fe03c09fe15"
ERR = "<3>"  # sd-daemon prefix: the journal records the line at priority err
# journald may file a job's last line after systemd's "failed" message about it (by more than a
# second on a loaded host): a failure waits this long for the line that explains it.
GRACE = 3.0
# One alert per job per window: the first failure at once, then at most one more per window with the count of
# the failures it held back (each failure still gets its record in incidents.jsonl).
WINDOW = 60.0
REFUSED = "systemd refused to start it: its start limit was hit (too many starts in a short time)"
POLL_EVERY = 2.0
JOURNAL_DIRS = ("/var/log/journal", "/run/log/journal")


def journal_command(units, cursor, journalctl="journalctl"):
    """journalctl printing the units' entries (theirs and systemd's about them) after the cursor (all of them
    without one: the journal was empty when the monitor first started)."""
    command = [journalctl, "--output=json", "--no-pager", "--quiet"]
    command += [f"--after-cursor={cursor}"] if cursor else []
    return command + [f"--unit={unit}" for unit in units]


def end_cursor(journalctl="journalctl"):
    """The cursor of the journal's last entry, whatever its unit (None when the journal is empty)."""
    out = subprocess.run([journalctl, "--output=json", "--no-pager", "--quiet", "--lines=1"],
                         capture_output=True, check=False).stdout
    lines = out.decode("utf-8", "replace").splitlines()
    return json.loads(lines[-1]).get("__CURSOR") if lines else None


def journal_files(dirs=JOURNAL_DIRS):
    """The journal's files now (names only: a rotation renames the active file and makes a new one)."""
    found = set()
    for top in dirs:
        for root, _dirs, files in os.walk(top):
            found.update(os.path.join(root, name) for name in files if ".journal" in name)
    return found


def read_journal(command, dirs=JOURNAL_DIRS, attempts=5):
    """journalctl's JSON lines; read again when the journal's files changed meanwhile (a rotation under
    journalctl may hide a file from it while it reads the next one)."""
    for _attempt in range(attempts):
        before = journal_files(dirs)
        proc = subprocess.run(command, capture_output=True, check=False)
        if proc.returncode != 0:
            raise OSError(f"{command[0]} exited with status {proc.returncode}: "
                          f"{proc.stderr.decode('utf-8', 'replace').strip()}")
        if journal_files(dirs) == before:
            break
    return proc.stdout.decode("utf-8", "replace").splitlines()


def text(value):
    """A journal field as text (journalctl -o json gives non-UTF-8 or binary values as a list of bytes)."""
    if isinstance(value, list):
        return bytes(value).decode("utf-8", "replace")
    return "" if value is None else str(value)


class Monitor:
    """Turns journal entries into incidents, run by run (systemd's invocation ID), and alerts without flooding."""

    def __init__(self, units, state_dir, hostname=None, out=sys.stdout, console=None, *, window=WINDOW):  # noqa: PLR0913
        self.console = console
        self.units = set(units)
        self.state_dir = state_dir
        self.hostname = hostname or socket.gethostname()
        self.out = out
        self.window = window
        self.current = {}  # unit -> the invocation ID of its latest run seen
        self.ended = {}  # unit -> the invocation ID of its latest run that ended (failure reported, or success)
        self.refusing = set()  # units whose next "failed" message is a start systemd refused
        self.printed = {}  # (unit, invocation) -> its last line that says ERROR in this run, else its last line
        self.exit_status = {}  # (unit, invocation) -> exit status of this run
        self.pending = {}  # (unit, invocation) -> {entry: systemd's failure message, due, reason, status}
        self.windows = {}  # unit -> {"until": end of the alert window, "count": failures not alerted, "last": incident}
        self.last_cursor = None

    @property
    def cursor_file(self):
        return os.path.join(self.state_dir, "cursor")

    def cursor(self):
        try:
            with open(self.cursor_file, encoding="utf-8") as handle:
                return handle.read().strip() or None
        except FileNotFoundError:
            return None

    def save_cursor(self, cursor):
        partial = self.cursor_file + ".new"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(cursor + "\n")
        os.replace(partial, self.cursor_file)

    def run_of(self, unit, entry, field):
        """The run an entry belongs to: its invocation ID or, for a line journald could not tag, the unit's latest
        run while it has not ended, else the next run (whose first sign may come after its first line)."""
        invocation = text(entry.get(field))
        if invocation and invocation != self.current.get(unit):
            self.current[unit] = invocation
            early = self.printed.pop((unit, None), None)
            if early is not None:
                self.printed.setdefault((unit, invocation), early)
        latest = self.current.get(unit)
        if not invocation and (latest is None or self.ended.get(unit) == latest):
            return unit, None
        return unit, latest

    def handle(self, entry, now=None):
        """Handle one journal entry. A failure is reported by flush(), GRACE seconds later (its reason may be
        filed after systemd's message about it)."""
        now = time.monotonic() if now is None else now
        unit = text(entry.get("_SYSTEMD_UNIT"))
        about = text(entry.get("UNIT"))  # systemd's messages about a unit
        message = text(entry.get("MESSAGE")).strip()
        if unit in self.units and message:
            run = self.run_of(unit, entry, "_SYSTEMD_INVOCATION_ID")
            target, key = (self.pending[run], "reason") if run in self.pending else (self.printed, run)
            if "ERROR" in message or "ERROR" not in target.get(key, ""):
                target[key] = message
        elif about in self.units and "Start request repeated too quickly" in message:
            self.refusing.add(about)  # systemd's own words; its "failed" message about no run follows
        elif about in self.units and entry.get("MESSAGE_ID") == UNIT_FAILED:
            result = text(entry.get("UNIT_RESULT")) or "failed"
            # A refused start runs nothing: systemd 257 says so in words, then "failed" with the previous run's
            # result and invocation ID; that run has been reported (or waits) already.
            run = self.run_of(about, entry, "INVOCATION_ID")
            again = run in self.pending or self.ended.get(about) == text(entry.get("INVOCATION_ID")) != ""
            if result == "start-limit-hit" or about in self.refusing or again:
                self.refusing.discard(about)
                entry = dict(entry, UNIT_RESULT="start-limit-hit")
                self.pending[(about, "refused " + text(entry.get("__CURSOR")))] = {
                    "entry": entry, "due": now, "reason": REFUSED, "status": ""}
            else:
                self.pending[run] = {"entry": entry, "due": now + GRACE, "reason": self.printed.pop(run, ""),
                                     "status": self.exit_status.pop(run, "")}
        elif about in self.units and entry.get("MESSAGE_ID") in (PROCESS_EXITED, UNIT_SUCCEEDED):
            run = self.run_of(about, entry, "INVOCATION_ID")
            if entry.get("MESSAGE_ID") == PROCESS_EXITED:
                self.exit_status[run] = text(entry.get("EXIT_STATUS"))
            else:
                self.printed.pop(run, None)
                self.exit_status.pop(run, None)
                self.ended[about] = run[1]
                if self.console:
                    self.console.succeeded(about.removesuffix(".service"))
        elif about in self.units:
            self.run_of(about, entry, "INVOCATION_ID")
        self.last_cursor = entry.get("__CURSOR", self.last_cursor)
        self.flush(now)

    def flush(self, now=None):
        """Report the failures whose grace has passed (all of them with now=inf), and the count of the failures
        an alert window held back once it ends."""
        now = time.monotonic() if now is None else now
        raised = []
        for run, failure in sorted(self.pending.items(), key=lambda item: item[1]["due"]):
            if failure["due"] <= now:
                del self.pending[run]
                if self.current.get(run[0]) == run[1]:
                    self.ended[run[0]] = run[1]
                raised.append(self.raise_incident(run[0], now=now, **failure))
        for key, window in list(self.windows.items()):
            if window["until"] <= now:
                del self.windows[key]
                if window["count"]:
                    self.alert(window["last"], held=window["count"])
                    self.windows[key] = {"until": now + self.window, "count": 0, "last": window["last"]}
        if self.last_cursor and not self.pending:  # the cursor moves past a failure only once it is recorded
            self.save_cursor(self.last_cursor)
        return raised

    def raise_incident(self, unit, entry, reason, status, *, now, due=None):  # noqa: PLR0913 - a pending failure
        """Record one failure (incidents.jsonl: every one) and alert about it (the first of a window at once)."""
        job = unit.removesuffix(".service")
        result = text(entry.get("UNIT_RESULT")) or "failed"
        reason = reason or f"{result}" + (f", exit status {status}" if status else "")
        stamp = int(text(entry.get("__REALTIME_TIMESTAMP")) or 0) / 1e6
        incident = {
            "time": datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": self.hostname, "job": job, "unit": unit, "result": result,
            "exit_status": int(status) if status.isdigit() else None, "reason": reason,
            "cursor": entry.get("__CURSOR"), "invocation": text(entry.get("INVOCATION_ID")) or None,
        }
        with open(os.path.join(self.state_dir, "incidents.jsonl"), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(incident, sort_keys=True) + "\n")
        key = unit + (" refused" if result == "start-limit-hit" else "")  # refusals are news of their own
        window = self.windows.get(key)
        if window and window["until"] > now:
            window["count"] += 1
            window["last"] = incident
        else:
            self.windows[key] = {"until": now + self.window, "count": 0, "last": incident}
            self.alert(incident)
        return incident

    def alert(self, incident, held=0):
        """One err line (and one incident in the API): a failure, or the count of those a window held back."""
        status = incident["exit_status"]
        detail = incident["result"] + (f", exit status {status}" if status is not None else "")
        if held:
            verb = "could not start" if incident["result"] == "start-limit-hit" else "failed"
            what, reason = f"{verb} {held} more time{'s' * (held > 1)}", f"last: {incident['reason']}"
            detail += f", in the last {self.window:g} s"
        else:
            what = "could not start" if incident["result"] == "start-limit-hit" else "failed"
            reason = incident["reason"]
        self.out.write(f"{ERR}job {incident['job']} {what} on {self.hostname} ({detail}): {reason}\n")
        self.out.flush()
        if self.console:
            self.console.opened(dict(incident, reason=f"{what}, {reason}" if held else reason))

    def watch(self, units, journalctl="journalctl", dirs=JOURNAL_DIRS, polls=None, sleep=time.sleep):
        """Read what the journal holds after the last entry handled, every POLL_EVERY seconds (sooner while a
        failure waits for its grace); ``polls``: stop after that many reads (tests)."""
        start = self.cursor() or end_cursor(journalctl)
        done = 0
        try:
            while polls is None or done < polls:
                for line in read_journal(journal_command(units, self.last_cursor or start, journalctl), dirs):
                    self.follow_line(line)
                self.flush()
                if self.console:
                    self.console.retry()
                done += 1
                if polls is None or done < polls:
                    sleep(GRACE / 4 if self.pending else POLL_EVERY)
        finally:  # stopped (SIGTERM) or done: what waits, failures and the counts of open windows, is said now
            self.flush(float("inf"))

    def follow_line(self, line):
        try:
            self.handle(json.loads(line))
        except ValueError:
            pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--state-dir", required=True, help="cursor and incidents.jsonl (writable by this program)")
    parser.add_argument("--unit", action="append", required=True, help="a job's unit (repeat for each job)")
    parser.add_argument("--server", default=socket.gethostname(), help="this host's name in the operations API")
    parser.add_argument("--window", type=float, default=WINDOW,
                        help="seconds after an alert during which a job's next failures are counted, not alerted")
    parser.add_argument("--journalctl", default="journalctl", help=argparse.SUPPRESS)
    parser.add_argument("--journal-dir", action="append", help=argparse.SUPPRESS)
    parser.add_argument("--polls", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    console = Console.from_environment(args.server, keep=True)
    monitor = Monitor(args.unit, args.state_dir, hostname=args.server, console=console, window=args.window)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # systemctl stop: the finally of watch() runs
    print(f"watching the journal of {', '.join(args.unit)}", flush=True)
    try:
        monitor.watch(args.unit, args.journalctl, tuple(args.journal_dir or JOURNAL_DIRS), polls=args.polls)
    except OSError as error:  # journalctl cannot read the journal: let systemd restart us
        sys.stderr.write(f"{error}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
