"""pg_schema against a real PostgreSQL: creation, idempotence, every drift, check mode, bad input."""

import pytest
from conftest import APP_TABLES, sql

# The collection's own declaration (with its index, so index drift is covered too).
APP_LOGS = APP_TABLES[0]


def args(pg, db, **extra):
    return dict({"login_db": db, "login_unix_socket": pg["socket"], "port": pg["port"],
                 "tables": [APP_LOGS]}, **extra)


def table_exists(pg, db):
    return sql(pg, db, "SELECT to_regclass('public.app_logs') IS NOT NULL")[0][0]


def test_creates_the_table_then_is_idempotent(pg, db, run_module):
    rc, result = run_module("pg_schema", args(pg, db))
    assert rc == 0, result
    assert result["changed"] is True
    assert any(q.startswith('CREATE TABLE "public"."app_logs"') for q in result["queries"])
    sql(pg, db, "INSERT INTO app_logs (run_date, message) VALUES (now(), 'x')")
    assert sql(pg, db, "SELECT id FROM app_logs") == [(1,)]

    rc, again = run_module("pg_schema", args(pg, db))
    assert rc == 0 and again["changed"] is False and again["drift"] == []

    rc, verified = run_module("pg_schema", args(pg, db, state="verify", strict=True))
    assert rc == 0 and verified["drift"] == []


def test_the_spec_sql_table_shows_no_drift(pg, db, run_module):
    sql(pg, db, "CREATE TABLE app_logs (id SERIAL PRIMARY KEY, run_date TIMESTAMP NOT NULL, message TEXT NOT NULL)")
    sql(pg, db, "CREATE INDEX ON app_logs (run_date)")
    rc, result = run_module("pg_schema", args(pg, db, state="verify", strict=True))
    assert rc == 0, result["msg"] if "msg" in result else result
    assert result["drift"] == []


def test_check_mode_changes_nothing(pg, db, run_module):
    rc, result = run_module("pg_schema", args(pg, db), check=True, diff=True)
    assert rc == 0 and result["changed"] is True
    assert "CREATE TABLE" in result["diff"]["after"]
    assert not table_exists(pg, db)


@pytest.mark.parametrize(
    ("alteration", "kind"),
    [
        ("ALTER TABLE app_logs DROP COLUMN message", "missing_column"),
        ("ALTER TABLE app_logs ALTER COLUMN message TYPE varchar(20)", "wrong_type"),
        ("ALTER TABLE app_logs ALTER COLUMN run_date TYPE timestamptz", "wrong_type"),
        ("ALTER TABLE app_logs ALTER COLUMN message DROP NOT NULL", "wrong_nullability"),
        ("ALTER TABLE app_logs ALTER COLUMN id DROP DEFAULT", "wrong_default"),
        ("ALTER TABLE app_logs DROP CONSTRAINT app_logs_pkey", "missing_primary_key"),
        ("DROP INDEX app_logs_run_date_idx", "missing_index"),
        ("ALTER TABLE app_logs ADD COLUMN extra int", "unexpected_column"),
        ("DROP TABLE app_logs", "missing_table"),
    ],
)
def test_verify_reports_each_drift_and_changes_nothing(pg, db, run_module, alteration, kind):
    assert run_module("pg_schema", args(pg, db))[0] == 0
    sql(pg, db, alteration)
    before = sql(pg, db, "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                         "WHERE c.relname = 'app_logs'")
    rc, result = run_module("pg_schema", args(pg, db, state="verify", strict=True))
    assert rc == 1
    assert kind in [d["kind"] for d in result["drift"]]
    assert "schema drift" in result["msg"]
    assert sql(pg, db, "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                       "WHERE c.relname = 'app_logs'") == before


def test_present_adds_missing_column_and_index_but_never_retypes(pg, db, run_module):
    assert run_module("pg_schema", args(pg, db))[0] == 0
    sql(pg, db, "INSERT INTO app_logs (run_date, message) VALUES (now(), 'kept')")
    sql(pg, db, "DROP INDEX app_logs_run_date_idx")
    sql(pg, db, "ALTER TABLE app_logs ALTER COLUMN message TYPE varchar(200)")
    rc, result = run_module("pg_schema", args(pg, db))
    assert rc == 0 and result["changed"] is True
    assert [d["kind"] for d in result["unresolved"]] == ["wrong_type"]
    assert "not changed" in str(result.get("warnings"))
    assert sql(pg, db, "SELECT message FROM app_logs") == [("kept",)]
    assert sql(pg, db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                       "WHERE attrelid = 'app_logs'::regclass AND attname = 'message'") == [("character varying(200)",)]


def test_allow_alter_retypes_without_losing_rows(pg, db, run_module):
    assert run_module("pg_schema", args(pg, db))[0] == 0
    sql(pg, db, "ALTER TABLE app_logs ALTER COLUMN message TYPE varchar(200)")
    sql(pg, db, "INSERT INTO app_logs (run_date, message) VALUES (now(), 'kept')")
    rc, result = run_module("pg_schema", args(pg, db, allow_alter=True))
    assert rc == 0 and result["changed"] is True
    assert run_module("pg_schema", args(pg, db, state="verify"))[0] == 0
    assert sql(pg, db, "SELECT message FROM app_logs") == [("kept",)]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"name": "t", "columns": [{"name": "a", "type": "no_such_type"}]}, "unknown or invalid type"),
        ({"name": "t", "columns": []}, "column list is empty"),
        ({"name": "t", "columns": [{"name": "a", "type": "int); DROP TABLE x"}]}, "not allowed"),
        ({"name": "t", "columns": [{"name": "a", "type": "int"}], "indexes": [{"name": "i", "columns": ["b"]}]},
         "not declared"),
    ],
)
def test_bad_declarations_fail_clearly(pg, db, run_module, table, message):
    rc, result = run_module("pg_schema", args(pg, db, tables=[table]))
    assert rc == 1
    assert message in result["msg"]


def test_bad_connection_fails_clearly_without_the_password(pg, db, run_module):
    bad = args(pg, db, login_unix_socket="", login_host="127.0.0.1", login_password="Wrong-Secret-42")
    rc, result = run_module("pg_schema", bad)
    assert rc == 1
    assert result["msg"].startswith(f"cannot connect to database {db} on 127.0.0.1")
    assert "Wrong-Secret-42" not in result["msg"]


def test_former_option_names_are_aliases(pg, db, run_module):
    rc, result = run_module("pg_schema", {"db": db, "login_unix_socket": pg["socket"], "login_port": pg["port"],
                                          "tables": [APP_LOGS]})
    assert rc == 0, result
    assert result["changed"]


def test_fail_on_drift_fixes_what_it_can_then_fails_listing_the_rest(pg, db, run_module):
    sql(pg, db, "CREATE TABLE app_logs (id SERIAL PRIMARY KEY, run_date TIMESTAMP NOT NULL, message VARCHAR(20))")
    rc, result = run_module("pg_schema", args(pg, db, fail_on_drift=True))
    assert rc == 1
    assert "schema drift left" in result["msg"] and "message" in result["msg"]
    assert any("CREATE INDEX" in q for q in result["queries"])
    assert sql(pg, db, "SELECT count(*) FROM pg_indexes WHERE indexname = 'app_logs_run_date_idx'") == [(1,)]


def test_identifiers_are_quoted(pg, db, run_module):
    odd = {"name": 'odd "name', "columns": [{"name": "select", "type": "TEXT"}], "indexes": []}
    rc, result = run_module("pg_schema", args(pg, db, tables=[odd]))
    assert rc == 0, result
    assert result["queries"] == ['CREATE TABLE "public"."odd ""name" ("select" TEXT)']
