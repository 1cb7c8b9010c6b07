"""Fixtures: a real, throw-away PostgreSQL server, and a runner for the collection's modules.

The server is started with the machine's PostgreSQL binaries (initdb/pg_ctl) in a
temporary directory, listening on a free loopback port and a private Unix socket.
Nothing is mocked: the modules and the batch talk to that server.
"""

import http.server
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from glob import glob
from pathlib import Path

import psycopg2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SUPERUSER_PASSWORD = "unit-Super#pw"
# The application's tables, as the collection declares them once (roles/application).
APP_TABLES = yaml.safe_load((ROOT / "roles" / "application" / "defaults" / "main.yml").read_text())[
    "application_tables"]


# The quiz's Django tests (tests/unit/quiz) run in processes of their own, one per Django stack
# (tests/unit/test_quiz.py): a process sets Django up once, and this one holds the operations API's.
if not os.environ.get("DJANGO_STACK_RUN"):
    collect_ignore = ["quiz"]


def django_stack_run(path, stack):
    """Run the tests of ``path`` in a new pytest process, on Debian 13's Django stack (the venv's) or on Debian 12's
    (``stack`` = "debian12": .venv/debian12-api, which scripts/testenv.sh installs); returns the CompletedProcess."""
    env = dict(os.environ, DJANGO_STACK_RUN=stack)
    if stack == "debian12":
        packages = Path(sys.executable).parent.parent / "debian12-api"
        assert (packages / "django").is_dir(), f"{packages} is missing: run scripts/testenv.sh venv"
        env["PYTHONPATH"] = str(packages)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:cov", str(path)],
                          capture_output=True, text=True, check=False, cwd=str(ROOT), env=env)


def runs_held_by_a_lock(pg, dbname, lock_key, command, cwd, env):
    """Start ``command`` twice while another session holds advisory lock ``lock_key`` on ``dbname``; both must still
    be waiting 3 s later; then release it. Returns their outputs, parsed as JSON, in the order they were started."""
    import time

    holder = superuser_connect(pg, dbname)
    holder.autocommit = True
    holder.cursor().execute("SELECT pg_advisory_lock(%s)", [lock_key])
    runs = [subprocess.Popen(command, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _run in range(2)]
    try:
        time.sleep(3)  # long enough for both to start Django and reach the lock
        assert [run.poll() for run in runs] == [None, None], "a run did not wait for the lock"
    finally:
        holder.cursor().execute("SELECT pg_advisory_unlock(%s)", [lock_key])
        holder.close()
    outcomes = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        outcomes.append(json.loads(out))
    return outcomes


def _pg_bin(name):
    found = shutil.which(name) or next(iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.exit(f"PostgreSQL server binary {name} not found (scripts/testenv.sh pg installs it)", 1)
    return found


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg():
    """Start PostgreSQL; yields connection settings for the superuser 'postgres'."""
    base = Path(tempfile.mkdtemp(prefix="demoapp-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    run_as = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres account
        user = "postgres" if _user_exists("postgres") else "nobody"
        os.chown(base, pwd.getpwnam(user).pw_uid, -1)
        os.chown(sock, pwd.getpwnam(user).pw_uid, -1)
        run_as = ["runuser", "-u", user, "--"]
    pwfile = base / "pw"
    pwfile.write_text(SUPERUSER_PASSWORD)
    pwfile.chmod(0o644)
    port = _free_port()
    subprocess.run([*run_as, _pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile),
                    "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8"],
                   check=True, capture_output=True)
    subprocess.run([*run_as, _pg_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"),
                    "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    info = {"host": "127.0.0.1", "port": port, "socket": str(sock), "user": "postgres",
            "password": SUPERUSER_PASSWORD, "dbname": "postgres"}
    try:
        yield info
    finally:
        subprocess.run([*run_as, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture
def db(pg):
    """A fresh, empty database for one test; yields its name."""
    name = "t_" + uuid.uuid4().hex[:12]
    conn = superuser_connect(pg)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    conn.close()
    yield name
    conn = superuser_connect(pg)
    conn.autocommit = True
    conn.cursor().execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    conn.close()


# The batch's own role in the unit tests (a password with characters a shell or an env file would mangle).
APP_PASSWORD = "p@ss w#rd $HOME 'q' \"dq\""


@pytest.fixture
def batch_db(pg, db, run_module):
    """A database with the application's table as the collection declares and creates it (pg_schema,
    roles/application), and the batch's role app_unit allowed to insert into it."""
    rc, result = run_module("pg_schema", {"login_db": db, "login_unix_socket": pg["socket"], "port": pg["port"],
                                          "tables": APP_TABLES})
    assert rc == 0, result
    conn = superuser_connect(pg, db)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_unit') "
                "THEN CREATE ROLE app_unit LOGIN; END IF; END$$")
    cur.execute("ALTER ROLE app_unit PASSWORD %s", (APP_PASSWORD,))
    cur.execute("GRANT SELECT, INSERT ON app_logs TO app_unit")
    cur.execute("GRANT USAGE ON SEQUENCE app_logs_id_seq TO app_unit")
    conn.close()
    return db


def sql(pg, db, statement):
    """Run one statement as the superuser (autocommit); returns its rows, or None."""
    conn = superuser_connect(pg, db)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(statement)
    rows = cur.fetchall() if cur.description else None
    conn.close()
    return rows


def superuser_connect(pg, dbname="postgres"):
    return psycopg2.connect(host=pg["socket"], port=pg["port"], user="postgres", dbname=dbname)


def owned_database(pg, prefix, role, password):
    """A new database named ``prefix`` + a random suffix, owned by ``role`` (a non-superuser login, created the first
    time with ``password``); returns its name."""
    name = prefix + uuid.uuid4().hex[:8]
    conn = superuser_connect(pg)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
                f"CREATE ROLE {role} LOGIN PASSWORD '{password}'; END IF; END$$")
    cur.execute(f'CREATE DATABASE "{name}" OWNER {role}')
    conn.close()
    return name


@pytest.fixture(scope="session")
def collection_path(tmp_path_factory):
    """A collections path in which integration.demoapp is this checkout."""
    path = tmp_path_factory.mktemp("collections")
    (path / "ansible_collections" / "integration").mkdir(parents=True)
    (path / "ansible_collections" / "integration" / "demoapp").symlink_to(ROOT)
    return path


@pytest.fixture
def run_module(collection_path, tmp_path):
    """Run a module of this collection as Ansible would; returns (rc, result dict)."""

    def run(name, args, check=False, diff=False):
        payload = dict(args, _ansible_check_mode=check, _ansible_diff=diff,
                       _ansible_tmpdir=str(tmp_path), _ansible_remote_tmp=str(tmp_path))
        argsfile = tmp_path / "args.json"
        argsfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": payload}))
        env = dict(os.environ, PYTHONPATH=str(collection_path))
        proc = subprocess.run(
            [sys.executable, "-m", f"ansible_collections.integration.demoapp.plugins.modules.{name}",
             str(argsfile)], capture_output=True, text=True, env=env, check=False)
        try:
            return proc.returncode, json.loads(proc.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"module {name} printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    return run


@pytest.fixture
def api():
    """A stand-in for the operations API: records each POST, answers 201 (400 for an unknown server)."""
    calls = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append((self.path, self.headers["Authorization"], body))
            self.send_response(400 if body.get("server") == "unknown" else 201)
            self.end_headers()
            self.wfile.write(b'{"id": 1}')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", calls
    server.shutdown()
