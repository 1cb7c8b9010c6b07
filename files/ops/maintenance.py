"""demoapp database maintenance: retention purge, VACUUM ANALYZE with a schema check, health.

Deployed by the integration.demoapp.backup role next to backup.py, opslib.py and schema.py
(the pg_schema module's own comparison code), with tables.json, the application's table
declaration (application_tables, declared once). Run by cron as the postgres account.

  maintenance.py purge    --db D --table app_logs --column run_date --days 90
  maintenance.py maintain --db D --tables tables.json
  maintenance.py health   --db D --tables tables.json --table app_logs --column run_date --max-age-hours 26
                          (no row at all, a new installation, is healthy)

Times: the trace table's timestamp column holds UTC (the batch writes it so, whatever the host's
zone); the purge and the health check compare it with the database's current time in UTC.

purge: in one REPEATABLE READ transaction, deletes the rows older than --days (0 keeps
everything) and checks that the count deleted equals the count of rows older than the
cutoff and that no newer row was touched; then commits and logs
"Purge OK deleted=N kept=M". On any failure it rolls back, logs the reason, exits non-zero.
maintain: VACUUM (ANALYZE) on every declared table, then the declared columns and indexes
must exist: a missing one fails naming it. health: the connection, the same schema check,
and the newest row of --table younger than --max-age-hours.

Each run writes one line to --log. Exit codes: 0 ok, 2 usage, 3 configuration,
4 database error, 5 purge integrity check failed (nothing deleted), 6 schema drift,
7 the newest row is too old.
"""

import argparse
import datetime
import json
import sys

from opslib import EXIT_CONFIG, EXIT_DB, OpsError, add_connection_arguments, append, connect

EXIT_INTEGRITY, EXIT_DRIFT, EXIT_STALE = 5, 6, 7
# The trace rows' times are UTC (the batch writes them so): compared with the database's time in UTC, never
# with localtimestamp, which is in the session's zone (the cluster's, or the client's PGTZ).
UTC_NOW = "(now() AT TIME ZONE 'UTC')"


def purge(args):
    from psycopg2 import sql  # noqa: PLC0415 - connect() reported a missing driver already

    if args.days < 0:
        raise OpsError(EXIT_CONFIG, f"--days must be 0 or more, got {args.days}")
    table, column = sql.Identifier(args.table), sql.Identifier(args.column)
    conn = connect(args, application_name="demoapp-purge")
    try:
        conn.set_session(isolation_level="REPEATABLE READ")
        with conn.cursor() as cur:
            if args.days == 0:
                cur.execute(sql.SQL("SELECT count(*) FROM {}").format(table))
                kept = cur.fetchone()[0]
                conn.rollback()
                return f"Purge OK deleted=0 kept={kept} (retention 0: everything is kept)"
            cur.execute(sql.SQL("SELECT {} - make_interval(days => %s)").format(sql.SQL(UTC_NOW)), (args.days,))
            cutoff = cur.fetchone()[0]
            count = sql.SQL("SELECT count(*) FROM {} WHERE {} {} %s")
            cur.execute(count.format(table, column, sql.SQL("<")), (cutoff,))
            older = cur.fetchone()[0]
            cur.execute(count.format(table, column, sql.SQL(">=")), (cutoff,))
            newer = cur.fetchone()[0]
            cur.execute(sql.SQL("DELETE FROM {} WHERE {} < %s").format(table, column), (cutoff,))
            deleted = cur.rowcount
            cur.execute(count.format(table, column, sql.SQL(">=")), (cutoff,))
            newer_after = cur.fetchone()[0]
            if deleted != older or newer_after != newer:
                raise OpsError(EXIT_INTEGRITY, f"integrity check failed (deleted {deleted} of {older} older rows, "
                                               f"{newer_after} of {newer} newer rows left); rolled back")
        conn.commit()
    except OpsError:
        conn.rollback()
        raise
    except Exception as exc:  # any database error: nothing is deleted
        conn.rollback()
        raise OpsError(EXIT_DB, f"purge of {args.table} failed, nothing deleted: {exc}") from None
    finally:
        conn.close()
    return f"Purge OK deleted={deleted} kept={newer} cutoff={cutoff.isoformat(timespec='seconds')}"


def load_tables(path):
    from schema import with_defaults  # noqa: PLC0415 - shipped next to this program

    try:
        with open(path, encoding="utf-8") as handle:
            return [with_defaults(table) for table in json.load(handle)]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OpsError(EXIT_CONFIG, f"cannot read the table declaration {path}: {exc}") from None


def schema_drift(cur, tables):
    """Drift of the declared tables (pg_schema's comparison), as one-line descriptions."""
    from schema import actual_table, describe, normalise_declaration, table_drift  # noqa: PLC0415

    found = []
    for table in tables:
        want = normalise_declaration(cur, table)
        found += table_drift(table, want, actual_table(cur, table["schema"], table["name"]), False)
    return [describe(item) for item in found]


def check_schema(conn, tables):
    with conn.cursor() as cur:
        drift = schema_drift(cur, tables)
    conn.rollback()
    if drift:
        raise OpsError(EXIT_DRIFT, "schema drift: " + "; ".join(drift))


def on_checked_schema(args, what, work):
    """Connect, check the declared schema, then run work(conn, tables); database errors become one line."""
    tables = load_tables(args.tables)
    conn = connect(args, application_name=f"demoapp-{what}")
    try:
        check_schema(conn, tables)
        return work(conn, tables)
    except OpsError:
        raise
    except Exception as exc:
        raise OpsError(EXIT_DB, f"{what} failed: {exc}") from None
    finally:
        conn.close()


def maintain(args):
    from psycopg2 import sql  # noqa: PLC0415

    def vacuum(conn, tables):
        conn.autocommit = True
        with conn.cursor() as cur:
            for table in tables:
                cur.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table["schema"], table["name"])))
        return "Maintenance OK vacuumed and analyzed " + ", ".join(t["name"] for t in tables) + "; schema as declared"

    return on_checked_schema(args, "maintenance", vacuum)


def health(args):
    from psycopg2 import sql  # noqa: PLC0415

    def newest_row(conn, _tables):
        with conn.cursor() as cur:
            cur.execute(sql.SQL("SELECT max({}), max({}) < {} - make_interval(hours => %s) FROM {}")
                        .format(sql.Identifier(args.column), sql.Identifier(args.column), sql.SQL(UTC_NOW),
                                sql.Identifier(args.table)),
                        (args.max_age_hours,))
            return cur.fetchone()

    newest, stale = on_checked_schema(args, "health", newest_row)
    if stale:
        raise OpsError(EXIT_STALE, f"the newest row of {args.table} ({newest.isoformat(timespec='seconds')}) "
                                   f"is older than {args.max_age_hours} hours")
    rows = (f"newest {args.table} row at {newest.isoformat(timespec='seconds')}" if newest is not None else
            f"no {args.table} row yet (a new installation: the batch has not run)")
    return f"Health OK {rows}; {last_backup(args)}"


def last_backup(args):
    """The newest successful daily backup, from backup.py's records; OpsError when it is too old."""
    if not args.backups:
        return "backups not checked"
    try:
        with open(args.backups, encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return "no backup yet (a new installation: the first one runs tonight)"
    except (OSError, ValueError) as exc:
        raise OpsError(EXIT_CONFIG, f"cannot read the backup records {args.backups}: {exc}") from None
    good = sorted((datetime.datetime.fromisoformat(r["end"].replace("Z", "+00:00")), r.get("file") or "?")
                  for r in records if r.get("kind") == "daily" and r.get("state") == "ok" and r.get("end"))
    if not good:
        raise OpsError(EXIT_STALE, f"no successful daily backup in {args.backups}")
    end, name = good[-1]
    if datetime.datetime.now(datetime.timezone.utc) - end > datetime.timedelta(hours=args.backup_max_age_hours):
        raise OpsError(EXIT_STALE, f"the last successful daily backup ({name}, {end.isoformat(timespec='seconds')}) "
                                   f"is older than {args.backup_max_age_hours} hours")
    return f"last daily backup {name} at {end.isoformat(timespec='seconds')}"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Purge, maintenance and health of the application database.",
                                     epilog="Exit codes: 0 ok, 2 usage, 3 configuration, 4 database error, "
                                            "5 purge integrity check failed, 6 schema drift, 7 newest row too old.")
    parser.add_argument("action", choices=["purge", "maintain", "health"])
    add_connection_arguments(parser)
    parser.add_argument("--tables", help="maintain, health: JSON table declaration (application_tables)")
    parser.add_argument("--table", default="app_logs", help="purge, health: the table of trace rows")
    parser.add_argument("--column", default="run_date", help="purge, health: its timestamp column")
    parser.add_argument("--days", type=int, default=90, help="purge: keep this many days (0: keep everything)")
    parser.add_argument("--max-age-hours", type=int, default=26, help="health: the newest row may be this old")
    parser.add_argument("--backups", help="health: backup.py's records (backups.jsonl) to check the last backup")
    parser.add_argument("--backup-max-age-hours", type=int, default=26,
                        help="health: the last successful daily backup may be this old")
    parser.add_argument("--log", help="log file (one line per run)")
    args = parser.parse_args(argv)
    if args.action != "purge" and not args.tables:
        parser.error(f"{args.action} needs --tables")
    try:
        line = {"purge": purge, "maintain": maintain, "health": health}[args.action](args)
    except OpsError as exc:
        name = args.action.capitalize()
        if args.log:
            append(args.log, f"{name} ERROR exit={exc.code} {exc}")
        sys.stderr.write(f"{args.action}: ERROR exit={exc.code} {exc}\n")
        return exc.code
    if args.log:
        append(args.log, line)
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
