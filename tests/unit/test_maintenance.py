"""files/ops/maintenance.py against a real PostgreSQL: purge with its integrity check, VACUUM ANALYZE
with the schema check, health."""

import json
import os
import subprocess
import sys

import pytest
from conftest import APP_TABLES, ROOT, sql
from test_app import APP, env_for

SCRIPT = ROOT / "files" / "ops" / "maintenance.py"


@pytest.fixture
def appdb(pg, db, run_module):
    rc, result = run_module("pg_schema", {"login_db": db, "login_unix_socket": pg["socket"], "port": pg["port"],
                                          "tables": APP_TABLES})
    assert rc == 0, result
    sql(pg, db, "INSERT INTO app_logs (run_date, message) SELECT localtimestamp - interval '100 days', 'old ' || g "
                "FROM generate_series(1, 4) g")
    sql(pg, db, "INSERT INTO app_logs (run_date, message) SELECT localtimestamp, 'new ' || g "
                "FROM generate_series(1, 3) g")
    return db


@pytest.fixture
def tables(tmp_path):
    path = tmp_path / "tables.json"
    path.write_text(json.dumps(APP_TABLES))
    return str(path)


def run(pg, db, tmp_path, *args, port=None):
    env = dict(os.environ, PGUSER="postgres",
               PYTHONPATH=os.pathsep.join([str(ROOT / "files" / "ops"), str(ROOT / "plugins" / "module_utils")]))
    proc = subprocess.run([sys.executable, str(SCRIPT), *args, "--db", db, "--host", pg["socket"],
                           "--port", str(port or pg["port"]), "--log", str(tmp_path / "ops.log")],
                          capture_output=True, text=True, check=False, env=env)
    log = (tmp_path / "ops.log").read_text() if (tmp_path / "ops.log").exists() else ""
    return proc, log


def messages(pg, db):
    return sorted(row[0] for row in sql(pg, db, "SELECT message FROM app_logs"))


def test_purge_deletes_old_rows_keeps_new_ones_and_logs_it(pg, appdb, tmp_path):
    proc, log = run(pg, appdb, tmp_path, "purge", "--days", "90")
    assert proc.returncode == 0, proc.stderr
    assert "Purge OK deleted=4 kept=3" in log
    assert messages(pg, appdb) == ["new 1", "new 2", "new 3"]


def test_a_retention_of_zero_keeps_everything(pg, appdb, tmp_path):
    proc, log = run(pg, appdb, tmp_path, "purge", "--days", "0")
    assert proc.returncode == 0, proc.stderr
    assert "Purge OK deleted=0 kept=7" in log
    assert len(messages(pg, appdb)) == 7


def test_an_integrity_failure_rolls_back_and_deletes_nothing(pg, appdb, tmp_path):
    # A trigger that, while old rows are deleted, also ages a newer row: the check must catch it.
    sql(pg, appdb, "CREATE FUNCTION age_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "UPDATE app_logs SET run_date = run_date - interval '1000 days' "
                   "WHERE id = (SELECT max(id) FROM app_logs); RETURN NULL; END $$")
    sql(pg, appdb, "CREATE TRIGGER age_one AFTER DELETE ON app_logs FOR EACH STATEMENT EXECUTE FUNCTION age_one()")
    proc, log = run(pg, appdb, tmp_path, "purge", "--days", "90")
    assert proc.returncode == 5
    assert "integrity check failed" in proc.stderr and "rolled back" in proc.stderr
    assert "Purge ERROR exit=5" in log
    assert len(messages(pg, appdb)) == 7


def test_purge_without_the_database_exits_non_zero_with_one_line(pg, appdb, tmp_path):
    proc, log = run(pg, appdb, tmp_path, "purge", port=1)
    assert proc.returncode == 4
    assert len(proc.stderr.strip().splitlines()) == 1
    assert len(log.strip().splitlines()) == 1 and "Purge ERROR exit=4" in log
    assert len(messages(pg, appdb)) == 7


def test_maintenance_vacuums_analyzes_and_finds_the_schema_as_declared(pg, appdb, tables, tmp_path):
    proc, log = run(pg, appdb, tmp_path, "maintain", "--tables", tables)
    assert proc.returncode == 0, proc.stderr
    assert "Maintenance OK" in log
    [(vacuum, analyze)] = sql(pg, appdb, "SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL "
                                         "FROM pg_stat_user_tables WHERE relname = 'app_logs'")
    assert vacuum and analyze


def test_a_missing_index_fails_maintenance_and_health_naming_it(pg, appdb, tables, tmp_path):
    sql(pg, appdb, "DROP INDEX app_logs_run_date_idx")
    for action in ("maintain", "health"):
        proc, _log = run(pg, appdb, tmp_path, action, "--tables", tables)
        assert proc.returncode == 6
        assert "missing index app_logs_run_date_idx" in proc.stderr


def test_health_is_ok_on_a_fresh_row_and_fails_on_each_condition(pg, appdb, tables, tmp_path):
    proc, _log = run(pg, appdb, tmp_path, "health", "--tables", tables)
    assert proc.returncode == 0, proc.stderr
    assert "Health OK" in proc.stdout
    proc, _log = run(pg, appdb, tmp_path, "health", "--tables", tables, port=1)
    assert proc.returncode == 4
    sql(pg, appdb, "DELETE FROM app_logs WHERE run_date > localtimestamp - interval '1 day'")
    proc, _log = run(pg, appdb, tmp_path, "health", "--tables", tables, "--max-age-hours", "26")
    assert proc.returncode == 7
    assert "older than 26 hours" in proc.stderr
    sql(pg, appdb, "DELETE FROM app_logs")  # a new installation: the batch has not run yet
    proc, _log = run(pg, appdb, tmp_path, "health", "--tables", tables)
    assert proc.returncode == 0 and "no app_logs row yet" in proc.stdout


def backup_record(path, hours_ago, state="ok", kind="daily"):
    import datetime
    end = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours_ago)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"kind": kind, "state": state, "end": end.isoformat(timespec="seconds"),
                                 "file": f"demoapp_db-{kind}-{hours_ago}h.dump"}) + "\n")


def test_health_checks_the_last_successful_daily_backup(pg, appdb, tables, tmp_path):
    records = tmp_path / "backups.jsonl"
    health = ("health", "--tables", tables, "--backups", str(records), "--backup-max-age-hours", "26")
    proc, _log = run(pg, appdb, tmp_path, *health)
    assert proc.returncode == 0 and "no backup yet" in proc.stdout  # a new installation
    backup_record(records, 30)
    backup_record(records, 1, state="failed")
    backup_record(records, 1, kind="monthly")
    proc, _log = run(pg, appdb, tmp_path, *health)
    assert proc.returncode == 7
    assert "the last successful daily backup" in proc.stderr and "older than 26 hours" in proc.stderr
    backup_record(records, 2)
    proc, _log = run(pg, appdb, tmp_path, *health)
    assert proc.returncode == 0 and "last daily backup demoapp_db-daily-2h.dump at" in proc.stdout, proc.stderr
    records.write_text(json.dumps({"kind": "daily", "state": "failed", "end": "2026-01-01T00:00:00+00:00"}) + "\n")
    proc, _log = run(pg, appdb, tmp_path, *health)
    assert proc.returncode == 7 and "no successful daily backup" in proc.stderr


@pytest.mark.parametrize("host_zone, database_zone", [("America/Los_Angeles", "UTC"), ("UTC", "America/Los_Angeles"),
                                                      ("Asia/Tokyo", "America/Los_Angeles")])
def test_a_row_the_batch_writes_now_is_new_whatever_the_zones(pg, batch_db, tmp_path, host_zone, database_zone):
    """The batch on a host in one zone, the purge and the health check in a session of another zone: the row
    just written is 0 hours old, and the purge keeps it."""
    batch = subprocess.run([sys.executable, str(APP), "--log-file", str(tmp_path / "app.log")],
                           env=env_for(pg, batch_db, TZ=host_zone), capture_output=True, text=True, check=False)
    assert batch.returncode == 0, batch.stderr
    tables = tmp_path / "tables.json"
    tables.write_text(json.dumps(APP_TABLES))
    os.environ["PGTZ"] = database_zone
    try:
        health, _log = run(pg, batch_db, tmp_path, "health", "--tables", str(tables), "--max-age-hours", "1")
        purge, _log = run(pg, batch_db, tmp_path, "purge", "--days", "1")
    finally:
        del os.environ["PGTZ"]
    assert health.returncode == 0, health.stderr
    assert purge.returncode == 0 and "deleted=0 kept=1" in purge.stdout, purge.stdout + purge.stderr
