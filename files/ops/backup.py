"""demoapp backups: verified logical dumps of the application database, and their restore.

Deployed by the integration.demoapp.backup role and run by cron as the postgres account
(peer authentication over the local socket: no password anywhere).

  backup.py backup --db demoapp_db --dir /var/backups/demoapp --kind daily --keep 7
  backup.py restore --db demoapp_db --dir /var/backups/demoapp [--file NAME]

backup: pg_dump in custom format (daily: the data; monthly: --schema-only) taken in an
exported snapshot, in which the rows of every table are counted too; the dump is restored
into a scratch database and its row counts must equal those counts, then the scratch
database is dropped. Only then does the file get its final name (0600), with a .sha256
file, and the oldest files of that kind beyond --keep are removed. A failed run exits
non-zero with one line, keeps every previous backup, and leaves no partial file.
restore: checks the file's sha256, takes a safety dump of the current database, then
restores the file into the database in one transaction.

With --s3-bucket, each verified backup is also copied to s3://BUCKET/<server>/<db>/<kind>/
(offsite.py) and the oldest copies of that kind there beyond --keep are removed; a failed
copy keeps the local backup and fails the run (exit 6), so it is seen.

Every run appends one line to DIR/backup.log and one JSON record to DIR/backups.jsonl
(server, database, kind, file, start, end, size, sha256, state, error, s3). With the operations
API's settings in the environment (api_client.py: SECURESTACK_URL, SECURESTACK_SERVICE_TOKEN,
SECURESTACK_CA), each backup run, good or failed, is also recorded there for --server; an API
that does not answer is said on stderr and changes neither the exit status nor the files.

Interrupted runs leave nothing behind: SIGTERM, SIGINT or SIGHUP (a reboot, `systemctl stop`)
removes the partial file and drops the scratch database before the run exits; after a SIGKILL (the
OOM killer), the next run removes what a dead run left (`*.partial` files and `<db>_verify_<pid>`
databases whose process is gone) and says so. A full disk is reported as such.

Exit codes: 0 ok, 2 usage, 3 configuration, 4 dump or restore failed, 5 verification failed,
6 copy to S3 failed (the local backup is kept), 7 interrupted by a signal, 8 no space left in the
backup directory.
"""

import argparse
import datetime
import errno
import glob
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys

import offsite
from api_client import Console
from opslib import EXIT_CONFIG, EXIT_DB, OpsError, add_connection_arguments, append, connect, now_utc

EXIT_DUMP, EXIT_VERIFY, EXIT_SIGNAL, EXIT_NO_SPACE = EXIT_DB, 5, 7, 8
KINDS = ("daily", "monthly", "safety")
BackupError = OpsError
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def signal_name(number):
    try:
        return f"signal {number} ({signal.Signals(number).name})"
    except ValueError:
        return f"signal {number}"


def stop_on_signal(number, _frame):
    """A stop signal ends the run through the usual cleanup (the finally blocks), once: a second one waits."""
    for each in STOP_SIGNALS:
        signal.signal(each, signal.SIG_IGN)
    raise BackupError(EXIT_SIGNAL, f"killed by {signal_name(number)}")


def no_space(args):
    """True when the backup directory's file system is full (what a short dump or restore really means)."""
    try:
        stat = os.statvfs(args.dir)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < 64 << 10


def pg_tool(args, name):
    """Path of a PostgreSQL client tool (the server's own version when installed)."""
    if args.pg_bin:
        return os.path.join(args.pg_bin, name)
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else name


def run(args, name, *tool_args):
    cmd = [pg_tool(args, name), *tool_args]
    if args.host:
        cmd += ["--host", args.host]
    if args.port:
        cmd += ["--port", str(args.port)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode < 0:
        raise BackupError(EXIT_DUMP, f"{name} was killed by {signal_name(-proc.returncode)}")
    if proc.returncode != 0:
        detail = " ".join((proc.stderr or proc.stdout).split())[:300] or f"exit status {proc.returncode}, no message"
        if "No space left on device" in detail:
            raise BackupError(EXIT_NO_SPACE, f"no space left in {args.dir}: {name} failed: {detail}")
        raise BackupError(EXIT_DUMP, f"{name} failed: {detail}")
    return proc.stdout


def row_counts(cur):
    """Rows of every user table, by schema.table, in the transaction's snapshot."""
    from psycopg2 import sql  # noqa: PLC0415

    cur.execute("SELECT schemaname, tablename FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2")
    counts = {}
    for schema, table in cur.fetchall():
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table)))
        counts[f"{schema}.{table}"] = cur.fetchone()[0]
    return counts


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dump(args, kind, path):
    """pg_dump into path; returns the row counts of the dump's snapshot (schema-only: zeros)."""
    conn = connect(args, args.db, "demoapp-backup")
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        cur = conn.cursor()
        cur.execute("SELECT pg_export_snapshot()")
        snapshot = cur.fetchone()[0]
        counts = row_counts(cur)
        extra = ["--schema-only"] if kind == "monthly" else []
        run(args, "pg_dump", "--format=custom", f"--snapshot={snapshot}", *extra, f"--file={path}", args.db)
    finally:
        conn.close()
    return {table: 0 for table in counts} if kind == "monthly" else counts


def scratch_name(db, pid):
    return f"{db}_verify_{pid}"


def verify(args, path, expected):
    """Restore path into a scratch database and compare its row counts with expected."""
    scratch = scratch_name(args.db, os.getpid())
    run(args, "createdb", scratch)
    try:
        try:
            run(args, "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                f"--dbname={scratch}", path)
        except BackupError as exc:
            if exc.code != EXIT_DUMP:
                raise
            if no_space(args):  # pg_dump may end "successfully" with a short file on a full disk
                raise BackupError(EXIT_NO_SPACE, f"no space left in {args.dir}: the dump is incomplete") from None
            raise BackupError(EXIT_VERIFY, f"the dump does not restore: {exc}") from None
        conn = connect(args, scratch, "demoapp-backup")
        try:
            actual = row_counts(conn.cursor())
        finally:
            conn.close()
    finally:
        drop(args, scratch)
    if actual != expected:
        differ = sorted(t for t in set(actual) | set(expected) if actual.get(t) != expected.get(t))
        raise BackupError(EXIT_VERIFY, "restored row counts differ for " + ", ".join(
            f"{t} ({actual.get(t)} instead of {expected.get(t)})" for t in differ))


def drop(args, database):
    """Drop a scratch database, even while a killed pg_restore's session is still ending."""
    run(args, "dropdb", "--if-exists", "--force", database)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another account's process: alive
        return True
    return True


def clean_leftovers(args):
    """Remove what an interrupted run left (partial files, scratch databases) when its process is gone;
    returns their names."""
    removed = []
    for path in sorted(glob.glob(os.path.join(args.dir, f"{glob.escape(args.db)}-*.partial*"))):
        owner = re.search(r"\.(\d+)\.partial", path)
        if owner and alive(int(owner.group(1))) and int(owner.group(1)) != os.getpid():
            continue
        os.remove(path)
        removed.append(os.path.basename(path))
    conn = connect(args, "postgres", "demoapp-backup")
    try:
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s ESCAPE '!'",
                    (args.db.replace("!", "!!").replace("_", "!_").replace("%", "!%") + "!_verify!_%",))
        scratch = [name for (name,) in cur.fetchall() if re.fullmatch(re.escape(args.db) + r"_verify_\d+", name)]
    finally:
        conn.close()
    for name in scratch:
        if not alive(int(name.rsplit("_", 1)[1])):
            drop(args, name)
            removed.append(f"database {name}")
    return removed


def prune(args, kind, keep):
    """Remove the oldest files of this kind (by modification time) beyond keep; returns the names removed."""
    files = sorted(glob.glob(os.path.join(args.dir, f"{args.db}-{kind}-*.dump")),
                   key=lambda path: (os.path.getmtime(path), path))
    removed = []
    for path in files[:max(len(files) - keep, 0)]:
        for victim in (path, path + ".sha256"):
            if os.path.exists(victim):
                os.remove(victim)
        removed.append(os.path.basename(path))
    return removed


def backup(args, kind, record):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    final = os.path.join(args.dir, f"{args.db}-{kind}-{stamp}.dump")
    partial = f"{final}.{os.getpid()}.partial"
    record["file"] = os.path.basename(final)
    old_umask = os.umask(0o077)
    try:
        record["step"] = "dump"
        expected = dump(args, kind, partial)
        record["step"] = "verification"
        verify(args, partial, expected)
        record["step"] = "checksum"
        checksum = sha256(partial)
        with open(partial + ".sha256", "w") as handle:
            handle.write(f"{checksum}  {os.path.basename(final)}\n")
        os.rename(partial + ".sha256", final + ".sha256")
        os.rename(partial, final)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise BackupError(EXIT_NO_SPACE, f"no space left in {args.dir}: {exc.strerror}") from None
        raise BackupError(EXIT_DUMP, f"cannot write {exc.filename or args.dir}: {exc.strerror}") from None
    finally:
        os.umask(old_umask)
        for leftover in (partial, partial + ".sha256"):
            if os.path.exists(leftover):
                os.remove(leftover)
    record.update(size=os.path.getsize(final), sha256=checksum, rows=sum(expected.values()))
    if args.keep:
        record["pruned"] = prune(args, kind, args.keep)
    line = f"{kind} {record['file']} size={record['size']} sha256={checksum} verified rows={record['rows']}"
    if getattr(args, "s3_bucket", None) and kind != "safety":
        prefix = args.s3_prefix if args.s3_prefix is not None else f"{args.server}/{args.db}/"
        key, removed = offsite.copy(offsite.client(args.s3_endpoint_url), args.s3_bucket, f"{prefix}{kind}/", final,
                                    args.keep)
        record["s3"] = {"bucket": args.s3_bucket, "key": key, "pruned": removed}
        line += f" copied to s3://{args.s3_bucket}/{key}"
    return line


def pick(args):
    """The file to restore: --file, or the newest daily backup."""
    if args.file:
        path = args.file if os.path.isabs(args.file) else os.path.join(args.dir, args.file)
    else:
        files = sorted(glob.glob(os.path.join(args.dir, f"{args.db}-daily-*.dump")),
                       key=lambda candidate: (os.path.getmtime(candidate), candidate))
        if not files:
            raise BackupError(EXIT_CONFIG, f"no daily backup of {args.db} in {args.dir}")
        path = files[-1]
    if not os.path.isfile(path):
        raise BackupError(EXIT_CONFIG, f"no backup file {path}")
    return path


def restore(args, record):
    path = pick(args)
    record["file"] = os.path.basename(path)
    try:
        with open(path + ".sha256") as handle:
            wanted = handle.read().split()[0]
    except (OSError, IndexError):
        raise BackupError(EXIT_VERIFY, f"{record['file']} has no readable .sha256 file; not restoring") from None
    actual = sha256(path)
    if actual != wanted:
        raise BackupError(EXIT_VERIFY, f"{record['file']}: sha256 {actual} does not match {wanted}; not restoring")
    record["step"] = "safety dump"
    safety = backup(args, "safety", {})  # with --keep, the oldest safety dumps beyond it go
    record["step"] = "restore"
    run(args, "pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error", "--single-transaction",
        f"--dbname={args.db}", path)
    record.update(size=os.path.getsize(path), sha256=actual)
    return f"restored {record['file']} into {args.db} (safety backup first: {safety.split()[1]})"


def log(args, line, record):
    """One line in backup.log, one JSON record in backups.jsonl and, for a backup, one in the operations API."""
    append(os.path.join(args.dir, "backup.log"), line)
    try:
        with open(os.path.join(args.dir, "backups.jsonl"), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
    except OSError as exc:
        sys.stderr.write(f"backup: cannot write the record in {args.dir}: {exc.strerror}\n")
    console = Console.from_environment(args.server)
    if console and record["kind"] in KINDS[:2]:
        console.backup(record)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verified backups of the application database, and restore.",
                                     epilog="Exit codes: 0 ok, 2 usage, 3 configuration, 4 dump or restore failed, "
                                            "5 verification failed, 6 copy to S3 failed (the local backup is kept).")
    parser.add_argument("action", choices=["backup", "restore"])
    add_connection_arguments(parser)
    parser.add_argument("--dir", required=True, help="backup directory (0700, owned by the account running this)")
    parser.add_argument("--kind", choices=KINDS[:2], default="daily", help="backup: daily (data) or monthly (schema)")
    parser.add_argument("--keep", type=int, default=0,
                        help="files of this kind to keep (0: all); restore: safety dumps to keep")
    parser.add_argument("--file", help="restore: backup file (default: the newest daily backup)")
    parser.add_argument("--server", default=socket.gethostname(), help="server name in the record")
    parser.add_argument("--pg-bin", help="directory of pg_dump and friends (default: the newest installed)")
    parser.add_argument("--s3-bucket", help="backup: also copy each verified backup to this S3 bucket")
    parser.add_argument("--s3-prefix", help="backup: key prefix in the bucket (default: <server>/<db>/)")
    parser.add_argument("--s3-endpoint-url", help="backup: another S3 endpoint (an emulator, a compatible store)")
    args = parser.parse_args(argv)
    if args.keep < 0:
        parser.error(f"--keep must be 0 (keep all) or more, got {args.keep}")

    record = {"server": args.server, "database": args.db, "kind": args.kind if args.action == "backup" else "restore",
              "start": now_utc(), "file": None, "size": None, "sha256": None}
    try:
        if not os.path.isdir(args.dir):
            raise BackupError(EXIT_CONFIG, f"backup directory {args.dir} does not exist")
        for each in STOP_SIGNALS:
            signal.signal(each, stop_on_signal)
        removed = clean_leftovers(args)
        if removed:
            line = "removed what an interrupted run left: " + ", ".join(removed)
            print(line)
            append(os.path.join(args.dir, "backup.log"), line)
            record["cleaned"] = removed
        line = backup(args, args.kind, record) if args.action == "backup" else restore(args, record)
    except BackupError as exc:
        message = str(exc)
        if exc.code == EXIT_SIGNAL and record.get("step"):
            message += f" during the {record['step']} (nothing of this run is left)"
        record.update(state="failed", error=message, end=now_utc())
        sys.stderr.write(f"backup: ERROR exit={exc.code} {message}\n")
        log(args, f"ERROR exit={exc.code} {args.action} {record['kind']} {message}", record)
        return exc.code
    record.pop("step", None)
    record.update(state="ok", error=None, end=now_utc())
    log(args, f"OK {line}", record)
    print(f"OK {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
