"""Follow the journal of the scheduled jobs and raise an alert when one fails.

    log_monitor.py --state-dir DIR --unit demoapp-batch.service [--unit ...]

journalctl does the following (``--follow --output=json``, filtered by unit): systemd
writes "Failed with result ..." about a unit whose job exited non-zero, was killed or
timed out, and the job's own output carries the reason. For each such failure this
program prints one line at priority err on its standard output (the journal keeps it:
``journalctl -p err -t <its identifier>``) and appends one JSON record to
DIR/incidents.jsonl (time, host, job, unit, result, exit status, reason, cursor), the
record the operations API reads.

DIR/cursor holds the journal position of the last entry handled, written after its
incident: after a restart the monitor resumes right after it, so it neither repeats an
alert nor misses a failure logged while it was down. Journal rotation does not
interrupt journalctl's following. On its first start it begins at the end of the journal.
"""

import argparse
import datetime
import json
import os
import socket
import subprocess
import sys

# systemd's catalog: "Unit failed" (UNIT_RESULT=...), "Unit succeeded", "Unit process exited" (EXIT_STATUS=...).
UNIT_FAILED = "d9b373ed55a64feb8242e02dbe79a49c"
UNIT_SUCCEEDED = "7ad2d189f7e94e70a38c781354912448"
PROCESS_EXITED = "98e322203f7a4ed290d09fe03c09fe15"
ERR = "<3>"  # sd-daemon prefix: the journal records the line at priority err


def journal_command(units, cursor, journalctl="journalctl"):
    """journalctl following the units' entries (theirs and systemd's about them) from after the cursor."""
    command = [journalctl, "--follow", "--output=json", "--no-pager", "--quiet"]
    command += [f"--after-cursor={cursor}"] if cursor else ["--lines=0"]
    return command + [f"--unit={unit}" for unit in units]


def text(value):
    """A journal field as text (journalctl -o json gives non-UTF-8 or binary values as a list of bytes)."""
    if isinstance(value, list):
        return bytes(value).decode("utf-8", "replace")
    return "" if value is None else str(value)


class Monitor:
    """Turns journal entries into incidents; remembers what each running job printed last."""

    def __init__(self, units, state_dir, hostname=None, out=sys.stdout):
        self.units = set(units)
        self.state_dir = state_dir
        self.hostname = hostname or socket.gethostname()
        self.out = out
        self.printed = {}  # invocation id -> the job's last line that says ERROR, else its last line
        self.exit_status = {}  # invocation id -> exit status

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

    def handle(self, entry):
        """Handle one journal entry; returns the incident it raised, if any."""
        unit = text(entry.get("_SYSTEMD_UNIT"))
        invocation = text(entry.get("_SYSTEMD_INVOCATION_ID") or entry.get("INVOCATION_ID"))
        message = text(entry.get("MESSAGE")).strip()
        incident = None
        if unit in self.units and entry.get("_SYSTEMD_INVOCATION_ID"):
            if message and ("ERROR" in message or "ERROR" not in self.printed.get(invocation, "")):
                self.printed[invocation] = message
        elif entry.get("MESSAGE_ID") == PROCESS_EXITED and text(entry.get("UNIT")) in self.units:
            self.exit_status[invocation] = text(entry.get("EXIT_STATUS"))
        elif entry.get("MESSAGE_ID") == UNIT_FAILED and text(entry.get("UNIT")) in self.units:
            incident = self.raise_incident(entry, invocation)
        elif entry.get("MESSAGE_ID") == UNIT_SUCCEEDED:
            self.printed.pop(invocation, None)
            self.exit_status.pop(invocation, None)
        if "__CURSOR" in entry:
            self.save_cursor(entry["__CURSOR"])
        return incident

    def raise_incident(self, entry, invocation):
        unit = text(entry.get("UNIT"))
        job = unit.removesuffix(".service")
        status = self.exit_status.pop(invocation, "")
        result = text(entry.get("UNIT_RESULT")) or "failed"
        reason = self.printed.pop(invocation, "") or f"{result}" + (f", exit status {status}" if status else "")
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
        return incident

    def follow(self, lines):
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            self.handle(entry)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--state-dir", required=True, help="cursor and incidents.jsonl (writable by this program)")
    parser.add_argument("--unit", action="append", required=True, help="a job's unit (repeat for each job)")
    parser.add_argument("--journalctl", default="journalctl", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    monitor = Monitor(args.unit, args.state_dir)
    command = journal_command(args.unit, monitor.cursor(), args.journalctl)
    print(f"following the journal of {', '.join(args.unit)}", flush=True)
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, encoding="utf-8", errors="replace") as proc:
        monitor.follow(proc.stdout)
    # journalctl only stops when it cannot read the journal any more: let systemd restart us.
    sys.stderr.write(f"journalctl exited with status {proc.returncode}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
