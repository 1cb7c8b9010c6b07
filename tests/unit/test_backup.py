"""files/ops/backup.py against a real PostgreSQL: verified dumps, retention, records, restore."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import APP_TABLES, ROOT, _pg_bin, sql, superuser_connect
from test_maintenance import run as run_maintenance

SCRIPT = ROOT / "files" / "ops" / "backup.py"


@pytest.fixture
def appdb(pg, db):
    conn = superuser_connect(pg, db)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE TABLE app_logs (id SERIAL PRIMARY KEY, run_date TIMESTAMP NOT NULL, message TEXT NOT NULL)")
    cur.execute("INSERT INTO app_logs (run_date, message) SELECT now(), 'row ' || g FROM generate_series(1, 25) g")
    conn.close()
    return db


@pytest.fixture
def backup_dir(tmp_path):
    path = tmp_path / "backups"
    path.mkdir(mode=0o700)
    return path


def run(pg, db, backup_dir, *args, pg_bin=None):
    env = dict(os.environ, PGUSER="postgres")
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--db", db, "--dir", str(backup_dir), "--host", pg["socket"],
         "--port", str(pg["port"]), "--pg-bin", str(pg_bin or os.path.dirname(_pg_bin("pg_dump"))),
         "--server", "unit"],
        capture_output=True, text=True, check=False, env=env)


def count(pg, db):
    conn = superuser_connect(pg, db)
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM app_logs")
    result = cur.fetchone()[0]
    conn.close()
    return result


def records(backup_dir):
    return [json.loads(line) for line in (backup_dir / "backups.jsonl").read_text().splitlines()]


def dumps(backup_dir, kind):
    return sorted(backup_dir.glob(f"*-{kind}-*.dump"))


def test_a_daily_backup_is_verified_private_checksummed_and_recorded(pg, appdb, backup_dir):
    proc = run(pg, appdb, backup_dir, "backup", "--kind", "daily")
    assert proc.returncode == 0, proc.stderr
    [dump] = dumps(backup_dir, "daily")
    assert dump.stat().st_mode & 0o777 == 0o600
    checksum = (backup_dir / (dump.name + ".sha256")).read_text().split()[0]
    assert checksum == subprocess.run(["sha256sum", str(dump)], capture_output=True, text=True,
                                      check=True).stdout.split()[0]
    [record] = records(backup_dir)
    assert record["state"] == "ok" and record["kind"] == "daily" and record["rows"] == 25
    assert record["server"] == "unit" and record["sha256"] == checksum and record["size"] == dump.stat().st_size
    assert record["start"] <= record["end"]
    assert " OK daily " in (backup_dir / "backup.log").read_text()
    assert not list(backup_dir.glob("*.partial*"))


def test_a_schema_only_backup_has_no_rows(pg, appdb, backup_dir):
    assert run(pg, appdb, backup_dir, "backup", "--kind", "monthly").returncode == 0
    [dump] = dumps(backup_dir, "monthly")
    listing = subprocess.run([_pg_bin("pg_restore"), "--list", str(dump)], capture_output=True, text=True,
                             check=True).stdout
    assert "TABLE public app_logs" in listing and "TABLE DATA" not in listing
    assert records(backup_dir)[0]["rows"] == 0


def test_retention_keeps_the_newest_files_of_each_kind(pg, appdb, backup_dir):
    for _attempt in range(3):
        assert run(pg, appdb, backup_dir, "backup", "--kind", "daily", "--keep", "2").returncode == 0
    assert run(pg, appdb, backup_dir, "backup", "--kind", "monthly", "--keep", "2").returncode == 0
    names = [p.name for p in dumps(backup_dir, "daily")]
    assert len(names) == 2
    assert records(backup_dir)[2]["pruned"] and records(backup_dir)[2]["pruned"][0] not in names
    assert len(dumps(backup_dir, "monthly")) == 1
    assert len(list(backup_dir.glob("*.sha256"))) == 3


def test_a_failed_backup_keeps_the_previous_ones_and_says_why(pg, appdb, backup_dir):
    assert run(pg, appdb, backup_dir, "backup", "--kind", "daily", "--keep", "1").returncode == 0
    before = dumps(backup_dir, "daily")
    proc = run(pg, "no_such_db", backup_dir, "backup", "--kind", "daily", "--keep", "1")
    assert proc.returncode == 4
    assert len(proc.stderr.strip().splitlines()) == 1 and "no_such_db" in proc.stderr
    assert dumps(backup_dir, "daily") == before
    assert records(backup_dir)[-1]["state"] == "failed"
    assert "ERROR exit=4" in (backup_dir / "backup.log").read_text()


def test_each_backup_run_good_or_failed_is_recorded_in_the_operations_api(pg, appdb, backup_dir, api):
    url, calls = api
    os.environ.update(SECURESTACK_URL=url, SECURESTACK_SERVICE_TOKEN="the-token")
    try:
        good = run(pg, appdb, backup_dir, "backup", "--kind", "daily")
        failed = run(pg, "no_such_db", backup_dir, "backup", "--kind", "daily")
        refused = subprocess.run([sys.executable, str(SCRIPT), "backup", "--db", appdb, "--dir", str(backup_dir),
                                  "--host", pg["socket"], "--port", str(pg["port"]), "--server", "unknown",
                                  "--pg-bin", os.path.dirname(_pg_bin("pg_dump"))],
                                 capture_output=True, text=True, check=False, env=dict(os.environ, PGUSER="postgres"))
    finally:
        for name in ("SECURESTACK_URL", "SECURESTACK_SERVICE_TOKEN"):
            os.environ.pop(name)
    assert (good.returncode, failed.returncode, refused.returncode) == (0, 4, 0), refused.stderr
    [first, second, third] = calls
    record = records(backup_dir)[0]
    assert first == ("/api/backups", "Service the-token", {
        "server": "unit", "kind": "daily", "file": record["file"], "started_at": record["start"],
        "ended_at": record["end"], "state": "ok", "size": record["size"], "checksum": record["sha256"], "error": ""})
    assert second[2]["state"] == "failed" and "no_such_db" in second[2]["error"] and second[2]["checksum"] == ""
    # An API that refuses is said, and the backup stays good (its file, its local record, its exit status).
    assert third[2]["server"] == "unknown" and "the operations API refused" in refused.stderr


def test_a_truncated_dump_fails_verification(pg, appdb, backup_dir):
    sys.path.insert(0, str(SCRIPT.parent))  # backup.py imports opslib from its own directory
    spec = importlib.util.spec_from_file_location("backup_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert run(pg, appdb, backup_dir, "backup").returncode == 0
    [dump] = dumps(backup_dir, "daily")
    truncated = backup_dir / "truncated.dump"
    truncated.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    os.environ["PGUSER"] = "postgres"
    args = SimpleNamespace(db=appdb, host=pg["socket"], port=pg["port"], pg_bin=os.path.dirname(_pg_bin("pg_dump")),
                           dir=str(backup_dir))
    with pytest.raises(module.BackupError) as failure:
        module.verify(args, str(truncated), {"public.app_logs": 25})
    assert failure.value.code == 5
    module.verify(args, str(dump), {"public.app_logs": 25})  # the whole file verifies
    with pytest.raises(module.BackupError):
        module.verify(args, str(dump), {"public.app_logs": 24})  # and counts are really compared


def test_restore_brings_back_deleted_rows_after_a_safety_backup(pg, appdb, backup_dir):
    assert run(pg, appdb, backup_dir, "backup").returncode == 0
    conn = superuser_connect(pg, appdb)
    conn.autocommit = True
    conn.cursor().execute("DELETE FROM app_logs WHERE id > 5")
    conn.close()
    assert count(pg, appdb) == 5
    proc = run(pg, appdb, backup_dir, "restore")
    assert proc.returncode == 0, proc.stderr
    assert count(pg, appdb) == 25
    [safety] = dumps(backup_dir, "safety")
    assert "safety backup first" in proc.stdout and safety.name in proc.stdout


def test_a_backup_whose_checksum_does_not_match_is_refused(pg, appdb, backup_dir):
    assert run(pg, appdb, backup_dir, "backup").returncode == 0
    [dump] = dumps(backup_dir, "daily")
    with dump.open("ab") as handle:
        handle.write(b"tampered")
    conn = superuser_connect(pg, appdb)
    conn.autocommit = True
    conn.cursor().execute("DELETE FROM app_logs")
    conn.close()
    proc = run(pg, appdb, backup_dir, "restore", "--file", dump.name)
    assert proc.returncode == 5
    assert "does not match" in proc.stderr
    assert count(pg, appdb) == 0  # nothing restored
    assert not dumps(backup_dir, "safety")


@pytest.fixture(scope="module")
def s3():
    """moto's S3 on a free loopback port, with fake credentials (nothing here can reach AWS)."""
    import socket
    import time

    import boto3

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    fake = {"AWS_ACCESS_KEY_ID": "unit-fake", "AWS_SECRET_ACCESS_KEY": "unit-fake", "AWS_DEFAULT_REGION": "eu-west-3"}
    saved = {key: os.environ.get(key) for key in fake}
    os.environ.update(fake)
    client = boto3.client("s3", endpoint_url=endpoint)
    for _attempt in range(100):
        try:
            client.create_bucket(Bucket="unit-backups", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
            break
        except Exception:  # the server is still starting
            time.sleep(0.1)
    yield client, endpoint
    server.terminate()
    server.wait()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key)
        else:
            os.environ[key] = value


def s3_dumps(client, kind):
    listing = client.list_objects_v2(Bucket="unit-backups", Prefix="unit/appdb/")
    return sorted(item["Key"] for item in listing.get("Contents", []) if f"/{kind}/" in item["Key"])


def test_each_verified_backup_is_copied_to_s3_and_pruned_there_by_the_same_retention(pg, appdb, backup_dir, s3):
    client, endpoint = s3
    offsite = ["--s3-bucket", "unit-backups", "--s3-prefix", "unit/appdb/", "--s3-endpoint-url", endpoint]
    for _attempt in range(3):
        proc = run(pg, appdb, backup_dir, "backup", "--kind", "daily", "--keep", "2", *offsite)
        assert proc.returncode == 0, proc.stderr
    local = [p.name for p in dumps(backup_dir, "daily")]
    copied = s3_dumps(client, "daily")
    assert [key.rsplit("/", 1)[1] for key in copied if key.endswith(".dump")] == local
    assert len(copied) == 4  # two dumps, each with its .sha256
    body = client.get_object(Bucket="unit-backups", Key=copied[0])["Body"].read()
    assert body == (backup_dir / copied[0].rsplit("/", 1)[1]).read_bytes()
    record = records(backup_dir)[-1]
    assert record["s3"]["key"] == copied[2] and len(record["s3"]["pruned"]) == 1
    assert "copied to s3://unit-backups/unit/appdb/daily/" in (backup_dir / "backup.log").read_text()


def test_a_failed_copy_keeps_the_local_backup_and_fails_the_run(pg, appdb, backup_dir, s3):
    _client, endpoint = s3
    proc = run(pg, appdb, backup_dir, "backup", "--kind", "daily", "--s3-bucket", "no-such-bucket",
               "--s3-endpoint-url", endpoint)
    assert proc.returncode == 6
    assert "copy to s3://no-such-bucket/unit/" in proc.stderr and "NoSuchBucket" in proc.stderr
    assert len(dumps(backup_dir, "daily")) == 1  # verified and kept on the host
    assert records(backup_dir)[-1]["state"] == "failed"


def test_the_operations_role_schedules_the_copy_only_when_a_bucket_is_set(tmp_path):
    """The scheduled backup command as roles/operations writes it, with and without a bucket."""
    import yaml

    role = ROOT / "roles" / "operations"
    play = [{"hosts": "localhost", "gather_facts": False,
             "vars_files": [str(ROOT / "roles" / "application" / "defaults" / "main.yml"),
                            str(role / "defaults" / "main.yml"), str(role / "vars" / "main.yml")],
             "tasks": [{"name": "Show", "ansible.builtin.copy": {"content": "{{ _operations_command }}",
                                                                 "dest": str(tmp_path / "{{ out }}")}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    commands = {}
    for out, bucket in (("plain", ""), ("offsite", "demoapp-backups")):
        proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", f"out={out}",
                               "-e", f"operations_backup_s3_bucket={bucket}", "-e",
                               "operations_backup_s3_endpoint_url=http://127.0.0.1:5055",
                               "-e", f"ansible_python_interpreter={sys.executable}", str(tmp_path / "play.yml")],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        commands[out] = (tmp_path / out).read_text()
    assert "--s3" not in commands["plain"]
    assert commands["offsite"] == (commands["plain"] + " --s3-bucket demoapp-backups"
                                   " --s3-endpoint-url http://127.0.0.1:5055")


# Faults, injected where they happen in production: the PostgreSQL tools the run starts are the real
# ones, except one, a wrapper that kills the run (its parent) or itself at that point.
def faulty_tools(tmp_path, tool, script):
    """A --pg-bin directory of the real tools in which `tool` first runs `script` (sh; $REAL is the tool)."""
    tools = tmp_path / "pg-bin"
    tools.mkdir(exist_ok=True)
    for name in ("pg_dump", "pg_restore", "createdb", "dropdb"):
        (tools / name).unlink(missing_ok=True)
        if name == tool:
            (tools / name).write_text(f'#!/bin/sh\nREAL={_pg_bin(name)}\n{script}\n')
            (tools / name).chmod(0o755)
        else:
            (tools / name).symlink_to(_pg_bin(name))
    return tools


def scratch_databases(pg, db):
    return [name for (name,) in sql(pg, "postgres", "SELECT datname FROM pg_database") if
            name.startswith(f"{db}_verify_")]


def leftovers(backup_dir):
    return sorted(p.name for p in backup_dir.iterdir() if ".partial" in p.name)


@pytest.mark.parametrize("tool, script, step", [
    # the run is stopped (systemctl stop, a reboot) once pg_dump has written the partial file
    ("pg_dump", '"$REAL" "$@"; kill -TERM $PPID; sleep 30', "dump"),
    # the run is stopped while the dump is restored into the scratch database
    ("pg_restore", 'kill -TERM $PPID; sleep 1; exec "$REAL" "$@"', "verification"),
])
def test_a_stopped_backup_removes_its_partial_file_and_scratch_database_and_says_why(
        pg, appdb, backup_dir, tmp_path, tool, script, step):
    proc = run(pg, appdb, backup_dir, "backup", pg_bin=faulty_tools(tmp_path, tool, script))
    assert proc.returncode == 7
    [line] = proc.stderr.splitlines()
    assert f"killed by signal 15 (SIGTERM) during the {step}" in line
    assert leftovers(backup_dir) == [] and not dumps(backup_dir, "daily")
    assert scratch_databases(pg, appdb) == []
    assert records(backup_dir)[-1]["state"] == "failed"


def test_a_backup_killed_outright_is_cleaned_up_by_the_next_run_which_says_so(pg, appdb, backup_dir, tmp_path):
    """SIGKILL (the OOM killer) during the verification: the partial file and the scratch database stay
    until the next run removes them."""
    killed = run(pg, appdb, backup_dir, "backup", pg_bin=faulty_tools(tmp_path, "pg_restore", "kill -KILL $PPID"))
    assert killed.returncode == -9
    assert len(leftovers(backup_dir)) == 1 and len(scratch_databases(pg, appdb)) == 1
    [scratch] = scratch_databases(pg, appdb)
    proc = run(pg, appdb, backup_dir, "backup")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("removed what an interrupted run left: ")
    assert f"database {scratch}" in proc.stdout
    assert leftovers(backup_dir) == [] and scratch_databases(pg, appdb) == []
    assert len(dumps(backup_dir, "daily")) == 1
    assert "removed what an interrupted run left" in (backup_dir / "backup.log").read_text()


def test_a_running_backup_s_partial_file_is_left_alone(pg, appdb, backup_dir):
    """Only a dead run's leftovers go: the partial file of a process that is alive (another kind running at
    the same time) is kept."""
    busy = backup_dir / f"{appdb}-monthly-20260101T000000.000000Z.dump.{os.getpid()}.partial"
    busy.write_text("being written")
    assert run(pg, appdb, backup_dir, "backup").returncode == 0
    assert busy.exists()


def test_pg_dump_killed_says_by_which_signal(pg, appdb, backup_dir, tmp_path):
    proc = run(pg, appdb, backup_dir, "backup", pg_bin=faulty_tools(tmp_path, "pg_dump", "kill -KILL $$"))
    assert proc.returncode == 4
    assert proc.stderr.splitlines()[0].endswith("pg_dump was killed by signal 9 (SIGKILL)")
    assert leftovers(backup_dir) == []


def test_after_interrupted_runs_the_next_one_succeeds_and_health_names_it(pg, appdb, backup_dir, tmp_path):
    run(pg, appdb, backup_dir, "backup", pg_bin=faulty_tools(tmp_path, "pg_restore", "kill -KILL $PPID"))
    assert run(pg, appdb, backup_dir, "backup").returncode == 0
    [good] = dumps(backup_dir, "daily")
    sql(pg, appdb, "CREATE INDEX app_logs_run_date_idx ON app_logs (run_date)")  # the declared table, whole
    (tmp_path / "tables.json").write_text(json.dumps(APP_TABLES))
    health, _log = run_maintenance(pg, appdb, tmp_path, "health", "--tables", str(tmp_path / "tables.json"),
                                   "--backups", str(backup_dir / "backups.jsonl"))
    assert health.returncode == 0, health.stderr
    assert f"last daily backup {good.name}" in health.stdout


@pytest.fixture
def full_backup_dir(backup_dir):
    """The backup directory on a file system too small for the dump (a tmpfs: root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root (CI runs as root)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k,mode=0700", "tmpfs", str(backup_dir)], check=True)
    yield backup_dir
    subprocess.run(["umount", str(backup_dir)], check=True)


def test_a_full_backup_directory_is_reported_as_no_space_left(pg, appdb, full_backup_dir):
    sql(pg, appdb, "INSERT INTO app_logs (run_date, message) SELECT now(), md5(random()::text) || md5(g::text) "
                   "FROM generate_series(1, 20000) g")
    proc = run(pg, appdb, full_backup_dir, "backup")
    assert proc.returncode == 8
    assert proc.stderr.startswith("backup: ERROR exit=8 no space left in ")
    assert leftovers(full_backup_dir) == []


def test_a_restore_keeps_only_the_newest_safety_dumps(pg, appdb, backup_dir):
    assert run(pg, appdb, backup_dir, "backup").returncode == 0
    for _attempt in range(3):
        proc = run(pg, appdb, backup_dir, "restore", "--keep", "2")
        assert proc.returncode == 0, proc.stderr
    assert len(dumps(backup_dir, "safety")) == 2
    assert len(list(backup_dir.glob("*-safety-*.sha256"))) == 2


def test_a_negative_retention_is_refused_before_anything_is_removed(pg, appdb, backup_dir):
    assert run(pg, appdb, backup_dir, "backup").returncode == 0
    proc = run(pg, appdb, backup_dir, "restore", "--keep", "-1")
    assert proc.returncode == 2 and "--keep must be 0" in proc.stderr
    assert len(dumps(backup_dir, "daily")) == 1 and not dumps(backup_dir, "safety")
