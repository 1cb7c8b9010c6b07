"""Follow the journal of the scheduled jobs and raise an alert when one fails.

    log_monitor.py --state-dir DIR --unit demoapp-batch.service [--unit ...]

Every POLL_EVERY seconds it reads, with journalctl (``--output=json``, filtered by unit), what the
journal holds after the last entry it handled: systemd writes "Failed with result ..." about a unit
whose job exited non-zero, was killed or timed out, and the job's own output carries the reason.
For each such failure this program prints one line at priority err on its standard output (the journal keeps it:
``journalctl -p err -t <its identifier>``) and appends one JSON record to
DIR/incidents.jsonl (time, host, job, unit, result, exit status, reason, cursor), the
record the operations API reads.

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
    """Turns journal entries into incidents; remembers what each running job printed last."""

    def __init__(self, units, state_dir, hostname=None, out=sys.stdout, console=None):
        self.console = console
        self.units = set(units)
        self.state_dir = state_dir
        self.hostname = hostname or socket.gethostname()
        self.out = out
        self.printed = {}  # unit -> its last line that says ERROR in this run, else its last line
        self.exit_status = {}  # unit -> exit status of this run
        self.pending = {}  # unit -> {entry: systemd's failure message, due: when to report it, reason, status}
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

    def handle(self, entry, now=None):
        """Handle one journal entry. A failure is reported by flush(), GRACE seconds later.

        What a job printed is kept per unit (a unit never runs twice at once), not per invocation: the
        journal does not always tag a short-lived process's lines with their invocation."""
        now = time.monotonic() if now is None else now
        unit = text(entry.get("_SYSTEMD_UNIT"))
        about = text(entry.get("UNIT"))  # systemd's messages about a unit
        message = text(entry.get("MESSAGE")).strip()
        if unit in self.units and message:
            # A line filed after systemd's failure message still belongs to the failed run.
            target = self.pending[unit] if unit in self.pending else self.printed
            key = "reason" if unit in self.pending else unit
            if "ERROR" in message or "ERROR" not in target.get(key, ""):
                target[key] = message
        elif about in self.units and entry.get("MESSAGE_ID") == PROCESS_EXITED:
            self.exit_status[about] = text(entry.get("EXIT_STATUS"))
        elif about in self.units and entry.get("MESSAGE_ID") == UNIT_FAILED:
            self.flush(now, only=about)
            self.pending[about] = {"entry": entry, "due": now + GRACE, "reason": self.printed.pop(about, ""),
                                   "status": self.exit_status.pop(about, "")}
        elif about in self.units and entry.get("MESSAGE_ID") == UNIT_SUCCEEDED:
            self.printed.pop(about, None)
            self.exit_status.pop(about, None)
            if self.console:
                self.console.succeeded(about.removesuffix(".service"))
        self.last_cursor = entry.get("__CURSOR", self.last_cursor)
        self._save()

    def flush(self, now=None, only=None):
        """Report the failures whose grace has passed (all of them with now=inf, or the one of ``only``)."""
        now = time.monotonic() if now is None else now
        raised = []
        for unit, failure in list(self.pending.items()):
            if failure["due"] <= now or unit == only:
                del self.pending[unit]
                raised.append(self.raise_incident(unit, **failure))
        self._save()
        return raised

    def _save(self):
        """The cursor moves past an entry only when no failure before it waits to be reported."""
        if self.last_cursor and not self.pending:
            self.save_cursor(self.last_cursor)

    def raise_incident(self, unit, entry, reason, status, due=None):
        job = unit.removesuffix(".service")
        result = text(entry.get("UNIT_RESULT")) or "failed"
        reason = reason or f"{result}" + (f", exit status {status}" if status else "")
        stamp = int(text(entry.get("__REALTIME_TIMESTAMP")) or 0) / 1e6
        incident = {
            "time": datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": self.hostname, "job": job, "unit": unit, "result": result,
            "exit_status": int(status) if status.isdigit() else None, "reason": reason,
            "cursor": entry.get("__CURSOR"),
        }
        self.out.write(f"{ERR}job {job} failed on {self.hostname} ({result}"
                       + (f", exit status {status}" if status else "") + f"): {reason}\n")
        self.out.flush()
        with open(os.path.join(self.state_dir, "incidents.jsonl"), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(incident, sort_keys=True) + "\n")
        if self.console:
            self.console.opened(incident)
        return incident

    def watch(self, units, journalctl="journalctl", dirs=JOURNAL_DIRS, polls=None, sleep=time.sleep):
        """Read what the journal holds after the last entry handled, every POLL_EVERY seconds (sooner while a
        failure waits for its grace); ``polls``: stop after that many reads (tests)."""
        start = self.cursor() or end_cursor(journalctl)
        done = 0
        while polls is None or done < polls:
            for line in read_journal(journal_command(units, self.last_cursor or start, journalctl), dirs):
                self.follow_line(line)
            self.flush()
            if self.console:
                self.console.retry()
            done += 1
            if polls is None or done < polls:
                sleep(GRACE / 4 if self.pending else POLL_EVERY)
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
    parser.add_argument("--journalctl", default="journalctl", help=argparse.SUPPRESS)
    parser.add_argument("--journal-dir", action="append", help=argparse.SUPPRESS)
    parser.add_argument("--polls", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    console = Console.from_environment(args.server, keep=True)
    monitor = Monitor(args.unit, args.state_dir, hostname=args.server, console=console)
    print(f"watching the journal of {', '.join(args.unit)}", flush=True)
    try:
        monitor.watch(args.unit, args.journalctl, tuple(args.journal_dir or JOURNAL_DIRS), polls=args.polls)
    except OSError as error:  # journalctl cannot read the journal: let systemd restart us
        sys.stderr.write(f"{error}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
