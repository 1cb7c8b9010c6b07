#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pg_schema
short_description: Ensure or verify PostgreSQL tables, safely and exactly
version_added: 1.0.0
description:
  - Declares tables (columns with type, nullability, default and primary key; indexes).
  - O(state=present) creates what is missing (tables, columns, indexes) and reports,
    without touching it, anything it will not change (wrong type, nullability, default,
    primary key, unexpected columns).
  - O(state=verify) changes nothing and fails listing every drift.
  - It never drops a table or a column. A type or nullability change happens only with
    O(allow_alter=true), and never drops data.
  - Types are normalised by PostgreSQL itself, so C(SERIAL) is C(integer) with a sequence
    default and C(TIMESTAMP) is C(timestamp without time zone); a correct table never shows as drift.
author:
  - integration.demoapp maintainers (@integration)
options:
  tables:
    description: Tables to ensure or verify.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Table name.
        type: str
        required: true
      schema:
        description: Schema of the table.
        type: str
        default: public
      columns:
        description: Columns, in creation order. At least one.
        type: list
        elements: dict
        required: true
        suboptions:
          name:
            description: Column name.
            type: str
            required: true
          type:
            description: SQL type as you would write it in CREATE TABLE (C(SERIAL), C(TIMESTAMP), C(varchar(20)), ...).
            type: str
            required: true
          nullable:
            description: Whether NULL is allowed. Primary key columns are never nullable.
            type: bool
            default: true
          default:
            description: SQL default expression; checked only when given (C(SERIAL) implies a sequence default).
            type: str
          primary_key:
            description: Part of the primary key.
            type: bool
            default: false
      indexes:
        description: Indexes on the table.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Index name (used when it is created).
            type: str
            required: true
          columns:
            description: Indexed columns, in order.
            type: list
            elements: str
            required: true
          unique:
            description: Unique index.
            type: bool
            default: false
  state:
    description: C(present) creates what is missing; C(verify) only checks and fails on drift.
    type: str
    choices: [present, verify]
    default: present
  strict:
    description: Columns that exist but are not declared count as drift.
    type: bool
    default: false
  allow_alter:
    description: Let O(state=present) change column types (C(USING column::type)) and nullability.
    type: bool
    default: false
  fail_on_drift:
    description:
      - With O(state=present), fail after the safe fixes are committed if drift remains that this run did not fix,
        listing it. Ensures and verifies in one pass.
    type: bool
    default: false
  login_db:
    description: Database to connect to.
    type: str
    required: true
    aliases: [db]
  connect_timeout:
    description: Seconds to wait for the connection.
    type: int
    default: 10
extends_documentation_fragment:
  - community.postgresql.postgres
attributes:
  check_mode:
    support: full
    description: Reports what it would do; every statement is rolled back.
  diff_mode:
    support: full
    description: Shows the statements that are (or would be) run.
requirements:
  - psycopg2 (the connection options are community.postgresql's, C(login_port) with its alias C(port))
"""

EXAMPLES = r"""
- name: Ensure the application's log table, and fail on drift it cannot fix
  integration.demoapp.pg_schema:
    login_db: demoapp_db
    fail_on_drift: true
    tables:
      - name: app_logs
        columns:
          - {name: id, type: SERIAL, primary_key: true}
          - {name: run_date, type: TIMESTAMP, nullable: false}
          - {name: message, type: TEXT, nullable: false}
        indexes:
          - {name: app_logs_run_date_idx, columns: [run_date]}
  become: true
  become_user: postgres

- name: Verify it (fails listing every drift, changes nothing)
  integration.demoapp.pg_schema:
    login_db: demoapp_db
    state: verify
    strict: true
    tables: "{{ demoapp_tables }}"
  register: schema
"""

RETURN = r"""
drift:
  description: Every difference between the declaration and the database, before any change.
  returned: always
  type: list
  elements: dict
  sample: [{"table": "public.app_logs", "kind": "wrong_type", "column": "message",
            "expected": "text", "actual": "character varying(20)"}]
unresolved:
  description: Drift this run did not (or would not) fix.
  returned: always
  type: list
  elements: dict
queries:
  description: Statements run (or, in check mode, that would have been run).
  returned: always
  type: list
  elements: str
  sample: ["CREATE TABLE \"public\".\"app_logs\" (...)"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.integration.demoapp.plugins.module_utils.postgres import (
    connect,
    connection_argument_spec,
    identifier,
    psycopg2,
    sql,
)
from ansible_collections.integration.demoapp.plugins.module_utils.schema import (
    SchemaError,
    actual_table,
    describe,
    normalise_declaration,
    table_drift,
)


def column_sql(col):
    """Column definition; the type and default are SQL fragments checked by check_sql_fragment."""
    parts = [identifier(col["name"]), sql.SQL(col["type"])]
    if not col["nullable"] or col["primary_key"]:
        parts.append(sql.SQL("NOT NULL"))
    if col.get("default") is not None:
        parts.append(sql.SQL("DEFAULT " + col["default"]))
    return sql.SQL(" ").join(parts)


def fix_statements(table, drift, allow_alter):
    """Statements (psycopg2.sql) that fix what can be fixed safely; returns (statements, unresolved)."""
    fq = identifier(table["schema"], table["name"])
    statements, unresolved = [], []
    for item in drift:
        kind = item["kind"]
        if kind == "missing_table":
            cols = [column_sql(c) for c in table["columns"]]
            pk = [identifier(c["name"]) for c in table["columns"] if c["primary_key"]]
            if pk:
                cols.append(sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(pk)))
            statements.append(sql.SQL("CREATE TABLE {} ({})").format(fq, sql.SQL(", ").join(cols)))
            statements.extend(index_sql(fq, index) for index in table["indexes"])
        elif kind == "missing_column":
            col = next(c for c in table["columns"] if c["name"] == item["column"])
            statements.append(sql.SQL("ALTER TABLE {} ADD COLUMN {}").format(fq, column_sql(col)))
        elif kind == "missing_index":
            statements.append(index_sql(fq, next(i for i in table["indexes"] if i["name"] == item["index"])))
        elif kind == "wrong_type" and allow_alter:
            column = identifier(item["column"])
            statements.append(sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::{}").format(
                fq, column, sql.SQL(item["expected"]), column, sql.SQL(item["expected"])))
        elif kind == "wrong_nullability" and allow_alter:
            statements.append(sql.SQL("ALTER TABLE {} ALTER COLUMN {} {} NOT NULL").format(
                fq, identifier(item["column"]), sql.SQL("SET" if item["expected"] == "NOT NULL" else "DROP")))
        else:
            unresolved.append(item)
    return statements, unresolved


def index_sql(fq, index):
    return sql.SQL("CREATE {}INDEX {} ON {} ({})").format(
        sql.SQL("UNIQUE " if index["unique"] else ""), identifier(index["name"]), fq,
        sql.SQL(", ").join(identifier(c) for c in index["columns"]))


def main():
    column = dict(name=dict(type="str", required=True), type=dict(type="str", required=True),
                  nullable=dict(type="bool", default=True), default=dict(type="str"),
                  primary_key=dict(type="bool", default=False))
    index = dict(name=dict(type="str", required=True),
                 columns=dict(type="list", elements="str", required=True),
                 unique=dict(type="bool", default=False))
    table = dict(name=dict(type="str", required=True), schema=dict(type="str", default="public"),
                 columns=dict(type="list", elements="dict", required=True, options=column),
                 indexes=dict(type="list", elements="dict", default=[], options=index))
    argument_spec = connection_argument_spec()
    argument_spec.update(
        tables=dict(type="list", elements="dict", required=True, options=table),
        state=dict(type="str", default="present", choices=["present", "verify"]),
        strict=dict(type="bool", default=False),
        allow_alter=dict(type="bool", default=False),
        fail_on_drift=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if not p["tables"]:
        module.fail_json(msg="tables: declare at least one table")

    conn = connect(module)
    all_drift, unresolved, queries = [], [], []
    try:
        cur = conn.cursor()
        for tbl in p["tables"]:
            want = normalise_declaration(cur, tbl)
            drift = table_drift(tbl, want, actual_table(cur, tbl["schema"], tbl["name"]), p["strict"])
            all_drift.extend(drift)
            if p["state"] == "verify":
                unresolved.extend(drift)
                continue
            statements, left = fix_statements(tbl, drift, p["allow_alter"])
            unresolved.extend(left)
            for statement in statements:
                cur.execute(statement)
                queries.append(statement.as_string(cur))
        if module.check_mode or p["state"] == "verify":
            conn.rollback()
        else:
            conn.commit()
    except SchemaError as exc:
        conn.rollback()
        module.fail_json(msg=str(exc))
    except psycopg2.Error as exc:
        conn.rollback()
        module.fail_json(msg="statement failed, nothing was changed: %s" % str(exc).strip().splitlines()[0],
                         queries=queries, drift=all_drift)
    finally:
        conn.close()

    result = dict(changed=bool(queries), drift=all_drift, unresolved=unresolved, queries=queries)
    if module._diff:
        result["diff"] = {"before": "", "after": "".join(s + ";\n" for s in queries)}
    if p["state"] == "verify" and all_drift:
        module.fail_json(msg="schema drift: " + "; ".join(describe(d) for d in all_drift), **result)
    if p["fail_on_drift"] and unresolved:
        module.fail_json(msg="schema drift left (needs allow_alter or a manual migration): "
                         + "; ".join(describe(d) for d in unresolved), **result)
    for item in unresolved:
        module.warn("not changed (needs allow_alter or a manual migration): " + describe(item))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
