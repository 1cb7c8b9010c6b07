"""files/app/app.py against a real PostgreSQL: one row on success, the right exit code,
message and no row for each failure, tricky env files, no overlapping runs."""

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import APP_PASSWORD, ROOT, superuser_connect

APP = ROOT / "files" / "app" / "app.py"


@pytest.fixture
def appdb(batch_db):
    return batch_db


def env_for(pg, db, **overrides):
    env = {"DB_HOST": "127.0.0.1", "DB_PORT": str(pg["port"]), "DB_NAME": db, "DB_USER": "app_unit",
           "DB_PASSWORD": APP_PASSWORD, "PATH": "/usr/bin:/bin"}
    env.update(overrides)
    # Coverage follows the batch into its subprocess through these (pyproject.toml).
    env.update({k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")})
    return {k: v for k, v in env.items() if v is not None}


def run(tmp_path, env, *args):
    log = tmp_path / "app.log"
    proc = subprocess.run([sys.executable, str(APP), "--log-file", str(log), "--timeout", "3", *args],
                          env=env, capture_output=True, text=True, check=False)
    return proc, (log.read_text() if log.exists() else "")


def rows(pg, db):
    conn = superuser_connect(pg, db)
    cur = conn.cursor()
    cur.execute("SELECT message FROM app_logs")
    result = [r[0] for r in cur.fetchall()]
    conn.close()
    return result


def test_success_writes_exactly_one_row(pg, appdb, tmp_path):
    proc, log = run(tmp_path, env_for(pg, appdb), "--message", "unit run")
    assert proc.returncode == 0, proc.stderr
    assert rows(pg, appdb) == ["unit run"]
    assert " OK row id=1 " in log
    assert APP_PASSWORD not in proc.stdout + proc.stderr + log


def test_env_file_with_tricky_values(pg, appdb, tmp_path):
    env_file = tmp_path / ".env"
    escaped = APP_PASSWORD.replace("\\", "\\\\").replace('"', '\\"')
    env_file.write_text(
        "# comment line\n\n"
        f"export DB_HOST=127.0.0.1   # trailing comment\n"
        f"DB_PORT='{pg['port']}'\n"
        f"DB_NAME={appdb}\n"
        "DB_USER = app_unit\n"
        f'DB_PASSWORD="{escaped}"\n'
    )
    proc, _log = run(tmp_path, {"PATH": "/usr/bin:/bin"}, "--env-file", str(env_file), "--message", "from file")
    assert proc.returncode == 0, proc.stderr
    assert rows(pg, appdb) == ["from file"]


@pytest.mark.parametrize(
    ("overrides", "code", "text"),
    [
        ({"DB_PASSWORD": None}, 3, "missing setting(s): DB_PASSWORD"),
        ({"DB_HOST": None, "DB_NAME": None}, 3, "missing setting(s): DB_HOST, DB_NAME"),
        ({"DB_PORT": "abc"}, 3, "DB_PORT is not a number"),
        ({"DB_PORT": "1"}, 4, "database unreachable at app_unit@127.0.0.1:1/"),
        ({"DB_PASSWORD": "wrong-secret-123"}, 5, "authentication refused for app_unit@127.0.0.1"),
    ],
)
def test_each_failure_has_its_code_message_and_no_row(pg, appdb, tmp_path, overrides, code, text):
    env = env_for(pg, appdb, **overrides)
    proc, log = run(tmp_path, env)
    assert proc.returncode == code, proc.stderr
    assert text in proc.stderr and text in log
    assert len(proc.stderr.strip().splitlines()) == 1
    assert rows(pg, appdb) == []
    for secret in (APP_PASSWORD, "wrong-secret-123"):
        assert secret not in proc.stderr + log


def test_unreadable_env_file_is_a_configuration_error(pg, appdb, tmp_path):
    proc, log = run(tmp_path, env_for(pg, appdb), "--env-file", str(tmp_path / "missing.env"))
    assert proc.returncode == 3
    assert "cannot read env file" in proc.stderr and "cannot read env file" in log
    assert rows(pg, appdb) == []


def test_insert_failure_writes_nothing(pg, appdb, tmp_path):
    conn = superuser_connect(pg, appdb)
    conn.autocommit = True
    conn.cursor().execute("REVOKE INSERT ON app_logs FROM app_unit")
    conn.close()
    proc, _log = run(tmp_path, env_for(pg, appdb))
    assert proc.returncode == 6
    assert "insert into app_logs failed, nothing written" in proc.stderr
    assert rows(pg, appdb) == []


def run_while_locked(tmp_path, env, *args):
    """Run the batch while another process holds its lock file."""
    lock = (tmp_path / "app.log.lock").open("a")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        return run(tmp_path, env, *args)
    finally:
        lock.close()


def test_runs_never_overlap(pg, appdb, tmp_path):
    proc, _log = run_while_locked(tmp_path, env_for(pg, appdb))
    assert proc.returncode == 7
    assert "another run holds" in proc.stderr
    assert rows(pg, appdb) == []


def test_help_lists_exit_codes():
    proc = subprocess.run([sys.executable, str(APP), "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert "4 database unreachable" in proc.stdout


def test_app_is_standard_library_plus_psycopg2():
    imports = {line.split()[1].split(".")[0] for line in Path(APP).read_text().splitlines()
               if line.strip().startswith(("import ", "from "))}
    assert imports <= {"argparse", "datetime", "fcntl", "os", "socket", "sys", "psycopg2"}


CHECK_CASES = [
    ({"DB_PASSWORD": None}, 3, "missing setting(s): DB_PASSWORD"),
    ({"DB_PORT": "abc"}, 3, "DB_PORT is not a number"),
    ({"DB_PORT": "0"}, 3, "DB_PORT must be between 1 and 65535"),
    ({"DB_PORT": "1"}, 4, "database unreachable at app_unit@127.0.0.1:1/"),
    ({"DB_PASSWORD": "wrong-secret-123"}, 5, "authentication refused for app_unit@127.0.0.1"),
    ({"DB_TABLE": "no_such_table"}, 6, "table no_such_table does not exist"),
]


def test_check_mode_proves_good_settings_and_writes_nothing(pg, appdb, tmp_path):
    proc, log = run(tmp_path, env_for(pg, appdb), "--check")
    assert proc.returncode == 0, proc.stderr
    assert "OK settings proven: app_unit@127.0.0.1" in proc.stdout
    assert "may insert into app_logs" in proc.stdout
    assert rows(pg, appdb) == []
    assert log == ""  # no log line, and no lock file either
    assert not (tmp_path / "app.log.lock").exists()


@pytest.mark.parametrize(("overrides", "code", "text"), CHECK_CASES)
def test_check_mode_fails_with_the_same_codes_and_writes_nothing(pg, appdb, tmp_path, overrides, code, text):
    proc, log = run(tmp_path, env_for(pg, appdb, **overrides), "--check")
    assert proc.returncode == code, proc.stderr
    assert text in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert rows(pg, appdb) == []
    assert log == ""
    for secret in (APP_PASSWORD, "wrong-secret-123"):
        assert secret not in proc.stderr + proc.stdout


def test_check_mode_refuses_a_table_the_role_may_not_insert_into(pg, appdb, tmp_path):
    conn = superuser_connect(pg, appdb)
    conn.autocommit = True
    conn.cursor().execute("REVOKE INSERT ON app_logs FROM app_unit")
    conn.close()
    proc, _log = run(tmp_path, env_for(pg, appdb), "--check")
    assert proc.returncode == 6
    assert "app_unit may not insert into app_logs" in proc.stderr
    assert rows(pg, appdb) == []


def test_check_mode_does_not_wait_for_a_running_batch(pg, appdb, tmp_path):
    proc, _log = run_while_locked(tmp_path, env_for(pg, appdb), "--check")
    assert proc.returncode == 0, proc.stderr


def test_the_table_comes_from_the_settings(pg, appdb, tmp_path):
    conn = superuser_connect(pg, appdb)
    conn.autocommit = True
    conn.cursor().execute("ALTER TABLE app_logs RENAME TO acme_logs")
    conn.close()
    proc, log = run(tmp_path, env_for(pg, appdb, DB_TABLE="acme_logs"), "--message", "renamed")
    assert proc.returncode == 0, proc.stderr
    assert "written to" in log and ".acme_logs" in log
