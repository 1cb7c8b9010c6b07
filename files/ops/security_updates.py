"""Report the pending security updates of this host, as JSON (the weekly job of the updates role).

Refreshes the package index (unless --no-update), asks apt what an upgrade would install
(``apt-get --simulate dist-upgrade``: nothing is changed) and keeps the packages whose new
version comes from a security archive. The report replaces --output atomically:

  {"host": ..., "generated": "2026-11-29T05:40:00+00:00", "state": "ok",
   "security": [{"package": "libssl3", "installed": "3.0.11-1~deb12u1",
                 "candidate": "3.0.13-1~deb12u1", "origins": ["Debian-Security:12/stable-security"]}],
   "security_count": 1, "other_count": 4}

One line per run goes to stdout (cron's log). Exit 0 when the report was written (pending
updates are not a failure: monitoring reads security_count); 1 with a one-line reason, and
a report with state "failed", when apt could not answer.
"""

import argparse
import datetime
import json
import os
import re
import socket
import subprocess
import sys
import tempfile

# "Inst libssl3 [3.0.11-1~deb12u1] (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])"
# (a new package has no [installed] part; origins are comma-separated).
INST = re.compile(r"^Inst (?P<package>\S+)(?: \[(?P<installed>[^\]]+)\])? \((?P<candidate>\S+) (?P<origins>.*?)"
                  r"(?: \[[^\]]+\])?\)")


def parse_simulation(text):
    """(security, other): the packages an upgrade would install, split by origin."""
    security, other = [], []
    for line in text.splitlines():
        match = INST.match(line)
        if not match:
            continue
        origins = [o.strip() for o in match.group("origins").split(",") if o.strip()]
        item = {"package": match.group("package"), "installed": match.group("installed"),
                "candidate": match.group("candidate"), "origins": origins}
        (security if any("-security" in o.lower() for o in origins) else other).append(item)
    return security, other


def apt(*args):
    proc = subprocess.run(["apt-get", "-q", "-o", "Debug::NoLocking=true", *args], capture_output=True,
                          text=True, check=False, env=dict(os.environ, LC_ALL="C", DEBIAN_FRONTEND="noninteractive"))
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no output"]
        raise RuntimeError("apt-get %s failed (rc=%d): %s" % (args[-1], proc.returncode, lines[-1]))
    return proc.stdout


def write_atomically(path, report):
    directory = os.path.dirname(path) or "."
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".security-updates.")
    with os.fdopen(handle, "w") as out:
        json.dump(report, out, indent=2, sort_keys=True)
        out.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, help="the JSON report to write")
    parser.add_argument("--no-update", action="store_true", help="do not refresh the package index first")
    args = parser.parse_args(argv)
    report = {"host": socket.getfqdn(),
              "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    try:
        if not args.no_update:
            apt("update")
        security, other = parse_simulation(apt("--simulate", "dist-upgrade"))
    except (RuntimeError, OSError) as exc:
        report.update(state="failed", reason=str(exc))
        write_atomically(args.output, report)
        print("Security updates FAILED: %s" % exc)
        return 1
    report.update(state="ok", security=security, security_count=len(security), other_count=len(other))
    write_atomically(args.output, report)
    print("Security updates pending: %d%s (other updates: %d)" % (
        len(security), (" (%s)" % ", ".join(p["package"] for p in security)) if security else "", len(other)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
