"""Shared by the operations programs (backup.py, maintenance.py): errors, connection, logs.

They run on the database host as the postgres account (peer authentication over the
local socket: no password anywhere) and are deployed side by side.
"""

import datetime
import os

EXIT_CONFIG, EXIT_DB = 3, 4


class OpsError(Exception):
    """A failure with its exit code and a one-line message."""

    def __init__(self, code, message):
        super().__init__(" ".join(str(message).split()))
        self.code = code


def add_connection_arguments(parser):
    parser.add_argument("--db", required=True, help="database")
    parser.add_argument("--host", help="PostgreSQL socket directory or host (default: libpq's)")
    parser.add_argument("--port", type=int, help="PostgreSQL port")


def connect(args, dbname=None, application_name="demoapp-ops"):
    """A psycopg2 connection, or OpsError(EXIT_DB) naming the database."""
    try:
        import psycopg2  # noqa: PLC0415 - a missing driver is a configuration error, reported cleanly
    except ImportError:
        raise OpsError(EXIT_CONFIG, "the PostgreSQL driver psycopg2 is not installed") from None
    params = {"dbname": dbname or args.db, "application_name": application_name}
    if args.host:
        params["host"] = args.host
    if args.port:
        params["port"] = args.port
    try:
        return psycopg2.connect(**params)
    except psycopg2.Error as exc:
        raise OpsError(EXIT_DB, f"cannot connect to {params['dbname']}: {exc}") from None


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def append(path, line):
    """Append one line to a log file; a log that cannot be written is said on stderr, never fatal."""
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} {line}\n")
    except OSError as exc:
        import sys  # noqa: PLC0415

        sys.stderr.write(f"cannot write {path}: {exc.strerror}\n")
        return False
    return os.path.exists(path)
