"""demoapp batch: record one execution trace row in PostgreSQL.

The batch role deploys it with a shebang for the target's Python 3.

Reads DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD (and optional DB_SSLMODE,
DB_SSLROOTCERT, DB_TABLE) from the environment and/or an env file, inserts one row into
the table DB_TABLE (default app_logs) in a single transaction, and logs one line per run.

With --check it proves the settings and writes nothing (no row, no log line, no lock):
it connects, authenticates, and checks that the table exists and that the role may
insert into it, with the same exit codes; one line on standard output when they hold.

Exit codes:
  0  the row was written
  2  bad command line
  3  configuration: missing setting, unreadable or malformed env file
  4  database unreachable (connection refused, timeout, unknown host)
  5  authentication refused
  6  the insert failed, or (--check) the table is missing or not insertable (nothing was written)
  7  another run holds the lock (runs never overlap)
The password is never printed or logged.
"""

import argparse
import datetime
import fcntl
import os
import socket
import sys

EXIT_OK, EXIT_CONFIG, EXIT_UNREACHABLE, EXIT_AUTH, EXIT_WRITE, EXIT_LOCKED = 0, 3, 4, 5, 6, 7
REQUIRED = ("DB_HOST", "DB_NAME", "DB_USER", "DB_PASSWORD")
DEFAULT_TABLE = "app_logs"
DEFAULT_LOG = "/logs/app/demoapp.log"


class BatchError(Exception):
    """A failure with its exit code and a one-line, password-free message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def parse_env_file(path):
    """Parse KEY=VALUE lines. Supports `export`, # comments, single quotes (literal),
    double quotes (\\" \\\\ \\n \\$ escapes), spaces and `$` in values (never expanded)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise BatchError(EXIT_CONFIG, f"cannot read env file {path}: {exc.strerror}") from None
    values = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, rest = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "a").isalnum() or key[0].isdigit():
            raise BatchError(EXIT_CONFIG, f"env file {path} line {number}: expected KEY=VALUE")
        values[key] = _parse_value(rest.strip(), path, number)
    return values


def _parse_value(text, path, number):
    if text[:1] == "'":
        end = text.find("'", 1)
        if end < 0:
            raise BatchError(EXIT_CONFIG, f"env file {path} line {number}: unterminated single quote")
        return text[1:end]
    if text[:1] == '"':
        out, i = [], 1
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text):
                nxt = text[i + 1]
                out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
                i += 2
                continue
            if char == '"':
                return "".join(out)
            out.append(char)
            i += 1
        raise BatchError(EXIT_CONFIG, f"env file {path} line {number}: unterminated double quote")
    # Unquoted: a # starts a comment only after white space.
    for i, char in enumerate(text):
        if char == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text


def load_settings(env_file):
    settings = {k: v for k, v in os.environ.items() if k.startswith("DB_")}
    if env_file:
        settings.update(parse_env_file(env_file))
    missing = [k for k in REQUIRED if not settings.get(k)]
    if missing:
        raise BatchError(EXIT_CONFIG, "missing setting(s): " + ", ".join(missing))
    try:
        settings["DB_PORT"] = int(settings.get("DB_PORT") or 5432)
    except ValueError:
        raise BatchError(EXIT_CONFIG, f"DB_PORT is not a number: {settings['DB_PORT']!r}") from None
    if not 1 <= settings["DB_PORT"] <= 65535:
        raise BatchError(EXIT_CONFIG, f"DB_PORT must be between 1 and 65535, got {settings['DB_PORT']}")
    settings["DB_TABLE"] = settings.get("DB_TABLE") or DEFAULT_TABLE
    return settings


def _clean(message, settings):
    text = " ".join(str(message).split())
    password = settings.get("DB_PASSWORD") if settings else None
    return text.replace(password, "********") if password else text


def connect(settings, timeout):
    """Connect and authenticate; returns (psycopg2 module, connection)."""
    try:
        import psycopg2  # noqa: PLC0415 - a missing driver is a configuration error, reported cleanly
    except ImportError:
        raise BatchError(EXIT_CONFIG, "the PostgreSQL driver psycopg2 is not installed") from None
    params = dict(host=settings["DB_HOST"], port=settings["DB_PORT"], dbname=settings["DB_NAME"],
                  user=settings["DB_USER"], password=settings["DB_PASSWORD"], connect_timeout=timeout,
                  application_name="demoapp-batch")
    if settings.get("DB_SSLMODE"):
        params["sslmode"] = settings["DB_SSLMODE"]
    if settings.get("DB_SSLROOTCERT"):
        params["sslrootcert"] = settings["DB_SSLROOTCERT"]
    try:
        return psycopg2, psycopg2.connect(**params)
    except psycopg2.OperationalError as exc:
        text = _clean(exc, settings)
        where = f"{settings['DB_USER']}@{settings['DB_HOST']}:{settings['DB_PORT']}/{settings['DB_NAME']}"
        if "authentication failed" in text or "no pg_hba.conf entry" in text or "password" in text.lower():
            raise BatchError(EXIT_AUTH, f"authentication refused for {where}: {text}") from None
        raise BatchError(EXIT_UNREACHABLE, f"database unreachable at {where}: {text}") from None


def utc_now():
    """The time of the run in UTC, without a zone: what run_date (a TIMESTAMP) holds, whatever the zone of this
    host or of the database (the purge and the health check compare it with the database's UTC time)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def record_run(settings, message, timeout):
    """Insert one row in one transaction; returns its id."""
    psycopg2, conn = connect(settings, timeout)
    from psycopg2 import sql  # noqa: PLC0415 - imported with the driver

    table = settings["DB_TABLE"]
    try:
        with conn, conn.cursor() as cur:  # commits on success, rolls back on error
            cur.execute("SET statement_timeout = %s", (timeout * 1000,))
            cur.execute(sql.SQL("INSERT INTO {} (run_date, message) VALUES (%s, %s) RETURNING id")
                        .format(sql.Identifier(table)), (utc_now(), message))
            return cur.fetchone()[0]
    except psycopg2.Error as exc:
        raise BatchError(EXIT_WRITE, f"insert into {table} failed, nothing written: {_clean(exc, settings)}") from None
    finally:
        conn.close()


def check_settings(settings, timeout):
    """Prove the settings without writing: connection, authentication, table, INSERT privilege."""
    psycopg2, conn = connect(settings, timeout)
    table = settings["DB_TABLE"]
    try:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            cur.execute("SET statement_timeout = %s", (timeout * 1000,))
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
            if not cur.fetchone()[0]:
                raise BatchError(EXIT_WRITE, f"table {table} does not exist in {settings['DB_NAME']}")
            cur.execute("SELECT has_table_privilege(%s, 'INSERT')", (table,))
            if not cur.fetchone()[0]:
                raise BatchError(EXIT_WRITE, f"{settings['DB_USER']} may not insert into {table}")
        conn.rollback()
    except psycopg2.Error as exc:
        raise BatchError(EXIT_WRITE, f"checking {table} failed: {_clean(exc, settings)}") from None
    finally:
        conn.close()


def log_line(path, text):
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    line = f"{stamp} demoapp[{os.getpid()}] {text}\n"
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line)
    except OSError as exc:
        sys.stderr.write(f"demoapp: cannot write log file {path}: {exc.strerror}\n")


def acquire_lock(path):
    handle = open(path, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise BatchError(EXIT_LOCKED, f"another run holds {path}; not starting") from None
    return handle


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Record one execution trace row in PostgreSQL (table DB_TABLE, default app_logs).",
        epilog="Exit codes: 0 ok, 2 usage, 3 configuration, 4 database unreachable, "
               "5 authentication refused, 6 insert failed, 7 already running.")
    parser.add_argument("--env-file", help="file of KEY=VALUE settings (overrides the environment)")
    parser.add_argument("--log-file", default=os.environ.get("APP_LOG_FILE", DEFAULT_LOG),
                        help=f"log file, one line per run (default {DEFAULT_LOG})")
    parser.add_argument("--lock-file", help="lock file preventing overlapping runs (default: LOG_FILE.lock)")
    parser.add_argument("--message", default=f"batch run on {socket.gethostname()}",
                        help="text of the trace row")
    parser.add_argument("--timeout", type=int, default=10, help="connection and statement timeout, seconds")
    parser.add_argument("--check", action="store_true",
                        help="prove the settings (connection, authentication, table, INSERT privilege); write nothing")
    args = parser.parse_args(argv)

    settings = None
    if args.check:
        try:
            settings = load_settings(args.env_file)
            check_settings(settings, args.timeout)
        except BatchError as exc:
            sys.stderr.write(f"demoapp: ERROR exit={exc.code} {_clean(exc, settings)}\n")
            return exc.code
        print(f"OK settings proven: {settings['DB_USER']}@{settings['DB_HOST']}:{settings['DB_PORT']}/"
              f"{settings['DB_NAME']} may insert into {settings['DB_TABLE']}")
        return EXIT_OK
    try:
        lock = acquire_lock(args.lock_file or args.log_file + ".lock")
        try:
            settings = load_settings(args.env_file)
            row_id = record_run(settings, args.message, args.timeout)
        finally:
            lock.close()
    except BatchError as exc:
        message = f"ERROR exit={exc.code} {_clean(exc, settings)}"
        sys.stderr.write(f"demoapp: {message}\n")
        log_line(args.log_file, message)
        return exc.code
    except OSError as exc:
        message = f"ERROR exit={EXIT_CONFIG} cannot open lock file: {exc.strerror}"
        sys.stderr.write(f"demoapp: {message}\n")
        log_line(args.log_file, message)
        return EXIT_CONFIG
    log_line(args.log_file, f"OK row id={row_id} written to {settings['DB_NAME']}.{settings['DB_TABLE']}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
