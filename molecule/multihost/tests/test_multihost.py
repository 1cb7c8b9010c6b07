"""Database on its own host: each batch host writes over verified TLS with scram; nothing else gets in."""

import shlex

import pytest
import testinfra
from conftest import DB_PASSWORD, INVENTORY, cron_line, run_cron_command, run_scenario_playbook, target_ip

testinfra_hosts = ["ansible://batch"]
APP_DIR = "/opt/app/demoapp"


@pytest.fixture(scope="module")
def db():
    return testinfra.get_host("ansible://database", ansible_inventory=INVENTORY)


def connect(host, dsn, sql="SELECT 1"):
    """Connect from ``host`` with psycopg2 (the batch's driver) as the application role."""
    script = (
        "import sys, psycopg2\n"
        "try:\n"
        f"    conn = psycopg2.connect({dsn!r}, connect_timeout=10)\n"
        "except psycopg2.OperationalError as exc:\n"
        "    sys.exit(' '.join(str(exc).split()))\n"
        "cur = conn.cursor()\n"
        f"cur.execute({sql!r})\n"
        "print(cur.fetchone()[0])\n"
    )
    return host.run(f"PGPASSWORD={shlex.quote(DB_PASSWORD)} python3 -c {shlex.quote(script)}")


def dsn(db, **extra):
    params = {"host": target_ip(db), "dbname": "demoapp_db", "user": "demoapp_user", **extra}
    return " ".join(f"{key}={value}" for key, value in params.items())


def rows_by(db, hostname):
    """Rows the batch wrote from ``hostname`` (its default message names the host)."""
    sql = "SELECT count(*) FROM app_logs WHERE message = :'msg'"
    return int(db.check_output(f"echo {shlex.quote(sql)} | runuser -u postgres -- psql -X -At -d demoapp_db "
                               f"-v msg={shlex.quote('batch run on ' + hostname)}"))


def test_env_file_points_at_the_db_host_with_verify_full(host, db):
    env = host.check_output(f"cat {APP_DIR}/.env")
    assert f'DB_HOST="{target_ip(db)}"' in env
    assert 'DB_SSLMODE="verify-full"' in env
    assert f'DB_SSLROOTCERT="{APP_DIR}/db-ca.crt"' in env


def test_cron_command_writes_a_row_attributed_to_this_host(host, db):
    assert cron_line(host).startswith("0 1 * * * ")
    hostname = host.check_output("hostname")
    before = rows_by(db, hostname)
    run = run_cron_command(host)
    assert run.rc == 0, run.stderr
    assert rows_by(db, hostname) == before + 1


def test_the_batch_connection_is_encrypted_and_verified(host, db):
    verify = {"sslmode": "verify-full", "sslrootcert": f"{APP_DIR}/db-ca.crt"}
    result = connect(host, dsn(db, **verify), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert result.rc == 0 and result.stdout.strip() == "True", result.stderr
    # The certificate is really checked: the same server under a name it does not carry is refused.
    wrong_name = connect(host, dsn(db, host="wrong.invalid", hostaddr=target_ip(db), **verify))
    assert wrong_name.rc != 0 and "does not match host name" in wrong_name.stderr, wrong_name.stderr


def test_a_connection_without_tls_is_refused(host, db):
    result = connect(host, dsn(db, sslmode="disable"))
    assert result.rc != 0
    assert "no pg_hba.conf entry" in result.stderr and "no encryption" in result.stderr, result.stderr


def test_a_host_outside_the_batch_group_is_refused_even_with_tls_and_the_password(client, db):
    result = connect(client, dsn(db, sslmode="require"))
    assert result.rc != 0
    # The firewall drops it before PostgreSQL sees it (pg_hba.conf would refuse it too).
    assert "timeout expired" in result.stderr or "Connection refused" in result.stderr, result.stderr


def test_the_server_listens_on_loopback_and_its_private_address_only(db):
    listen = db.check_output("runuser -u postgres -- psql -X -At -c 'SHOW listen_addresses'")
    assert listen.split(",") == ["localhost", target_ip(db)]


def test_a_database_host_that_published_nothing_fails_before_any_change():
    host = testinfra.get_host("ansible://batch1", ansible_inventory=INVENTORY)
    before = host.file(f"{APP_DIR}/.env").sha256sum
    proc = run_scenario_playbook("batch_alone.yml")
    output = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "batch_db_inventory_host 'database': integration.demoapp.postgresql has not run on it" in output, output
    assert host.file(f"{APP_DIR}/.env").sha256sum == before
