"""postgresql: least privilege for the application role, loopback only, schema drift detected."""

import json

from conftest import DB_PASSWORD, psql_as_app, target_name

testinfra_hosts = ["ansible://targets"]


def test_app_role_can_insert_and_select(host):
    result = psql_as_app(host, "INSERT INTO app_logs (run_date, message) VALUES (now(), 'molecule') "
                               "RETURNING id; SELECT count(*) > 0 FROM app_logs")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "t"


def test_app_role_cannot_create_outside_what_it_owns(host):
    denied = psql_as_app(host, "CREATE TABLE pg_catalog.intruder (i int)")
    assert denied.rc != 0 and "permission denied" in denied.stderr
    other_db = psql_as_app(host, "CREATE TABLE intruder (i int)", db="postgres")
    assert other_db.rc != 0
    assert "no pg_hba.conf entry" in other_db.stderr or "permission denied" in other_db.stderr


def test_app_role_is_no_superuser(host):
    result = psql_as_app(host, "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles "
                               "WHERE rolname = current_user")
    assert result.stdout.strip() == "f"


def test_login_without_password_is_refused(host):
    tcp = psql_as_app(host, "SELECT 1", password=None)
    assert tcp.rc != 0 and "no password supplied" in tcp.stderr
    socket = host.run("runuser -u nobody -- psql -X -w -U demoapp_user -d demoapp_db -c 'SELECT 1'")
    assert socket.rc != 0
    wrong = psql_as_app(host, "SELECT 1", password="not-the-password")
    assert wrong.rc != 0 and "password authentication failed" in wrong.stderr


def test_password_is_stored_as_scram(host):
    result = host.run("runuser -u postgres -- psql -XAtc \"SELECT rolpassword FROM pg_authid "
                      "WHERE rolname = 'demoapp_user'\"")
    assert result.stdout.startswith("SCRAM-SHA-256$")


def test_server_listens_on_loopback_only(host, client):
    assert host.run("runuser -u postgres -- psql -XAtc 'SHOW listen_addresses'").stdout.strip() == "localhost"
    remote = client.run(f"pg_isready -t 5 -h {target_name(host)}")
    assert remote.rc == 2, remote.stdout  # 2 = no response: nothing listens there


def test_verify_mode_reports_a_retyped_column(host):
    alter = "runuser -u postgres -- psql -X -d demoapp_db -c 'ALTER TABLE app_logs ALTER COLUMN message TYPE {}'"
    assert host.run(alter.format("varchar(50)")).rc == 0
    try:
        args = {"db": "demoapp_db", "login_host": "127.0.0.1", "login_user": "demoapp_user",
                "login_password": DB_PASSWORD, "state": "verify",
                "tables": [{"name": "app_logs", "columns": [
                    {"name": "id", "type": "SERIAL", "primary_key": True},
                    {"name": "run_date", "type": "TIMESTAMP", "nullable": False},
                    {"name": "message", "type": "TEXT", "nullable": False}]}]}
        result = host.ansible("integration.demoapp.pg_schema", json.dumps(args), check=False)
        assert result["msg"].startswith("schema drift: public.app_logs: wrong type message")
        assert {"table": "public.app_logs", "kind": "wrong_type", "column": "message",
                "expected": "text", "actual": "character varying(50)"} in result["drift"]
    finally:
        assert host.run(alter.format("text")).rc == 0
