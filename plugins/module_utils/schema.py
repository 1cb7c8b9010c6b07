# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Table declarations compared with a PostgreSQL database: the drift pg_schema fixes or reports.

Only the standard library and psycopg2, no Ansible: the pg_schema module uses it, and the
maintenance job of the backup role ships it next to itself to check the same declaration
on the host (application_tables, declared once).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import psycopg2
except ImportError:  # the module reports the missing library through module_utils.postgres
    psycopg2 = None

TABLE_DEFAULTS = {"schema": "public", "indexes": []}
COLUMN_DEFAULTS = {"nullable": True, "primary_key": False, "default": None}
INDEX_DEFAULTS = {"unique": False}


def with_defaults(table):
    """A declaration with pg_schema's option defaults filled in (for callers outside Ansible)."""
    table = dict(TABLE_DEFAULTS, **table)
    table["columns"] = [dict(COLUMN_DEFAULTS, **col) for col in table["columns"]]
    table["indexes"] = [dict(INDEX_DEFAULTS, **index) for index in table.get("indexes") or []]
    return table


def probe(cur, statement, query, name):
    """Run statement then query inside a savepoint that is always rolled back; returns the first value.

    How PostgreSQL itself reads a declaration (a type, a default) without keeping anything.
    """
    cur.execute("SAVEPOINT %s" % name)
    try:
        cur.execute(statement)
        cur.execute(query)
        return cur.fetchone()[0]
    finally:
        cur.execute("ROLLBACK TO SAVEPOINT %s" % name)


SEQUENCE_TYPES = {"serial": "integer", "serial4": "integer", "bigserial": "bigint",
                  "serial8": "bigint", "smallserial": "smallint", "serial2": "smallint"}


class SchemaError(Exception):
    """Bad declaration (unknown type, ...)."""


def normalise_type(cur, declared):
    """format_type() of a declared SQL type, as PostgreSQL itself names it."""
    base = declared.strip().lower()
    if base in SEQUENCE_TYPES:
        return SEQUENCE_TYPES[base]
    try:
        return probe(cur, "CREATE TEMP TABLE pg_schema_probe (c %s)" % declared,
                     "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                     "WHERE attrelid = 'pg_schema_probe'::regclass AND attname = 'c'", "pg_schema_probe")
    except psycopg2.Error as exc:
        raise SchemaError("unknown or invalid type %r: %s"
                          % (declared, str(exc).strip().splitlines()[0])) from None


def actual_table(cur, schema, name):
    """Columns, primary key and indexes of an existing table, or None."""
    cur.execute("SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')", (schema, name))
    row = cur.fetchone()
    if row is None:
        return None
    oid = row[0]
    cur.execute("SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, "
                "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
                "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", (oid,))
    columns = dict((r[0], {"type": r[1], "nullable": r[2], "default": r[3]}) for r in cur.fetchall())
    cur.execute("SELECT i.indisprimary, i.indisunique, ARRAY(SELECT a.attname FROM unnest(i.indkey) "
                "WITH ORDINALITY k(attnum, n) JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = k.attnum ORDER BY k.n) FROM pg_index i WHERE i.indrelid = %s", (oid,))
    primary, indexes = [], []
    for is_primary, is_unique, cols in cur.fetchall():
        if is_primary:
            primary = list(cols)
        indexes.append({"columns": list(cols), "unique": is_unique})
    return {"columns": columns, "primary_key": primary, "indexes": indexes}


def table_drift(table, want, have, strict):
    """Drift of one table: list of dicts with kind, table, and details."""
    fq = "%s.%s" % (table["schema"], table["name"])
    if have is None:
        return [{"table": fq, "kind": "missing_table"}]
    drift = []
    for col in table["columns"]:
        name, spec = col["name"], want[col["name"]]
        actual = have["columns"].get(name)
        if actual is None:
            drift.append({"table": fq, "kind": "missing_column", "column": name, "expected": spec["type"]})
            continue
        if actual["type"] != spec["type"]:
            drift.append({"table": fq, "kind": "wrong_type", "column": name,
                          "expected": spec["type"], "actual": actual["type"]})
        if actual["nullable"] != spec["nullable"]:
            drift.append({"table": fq, "kind": "wrong_nullability", "column": name,
                          "expected": "NULL" if spec["nullable"] else "NOT NULL",
                          "actual": "NULL" if actual["nullable"] else "NOT NULL"})
        if spec["sequence"] and not (actual["default"] or "").startswith("nextval("):
            drift.append({"table": fq, "kind": "wrong_default", "column": name,
                          "expected": "nextval(<sequence>)", "actual": actual["default"]})
        elif col.get("default") is not None and spec["default_sql"] != actual["default"]:
            drift.append({"table": fq, "kind": "wrong_default", "column": name,
                          "expected": spec["default_sql"], "actual": actual["default"]})
    want_pk = [c["name"] for c in table["columns"] if c["primary_key"]]
    if want_pk != have["primary_key"]:
        drift.append({"table": fq, "kind": "wrong_primary_key" if have["primary_key"] else "missing_primary_key",
                      "expected": want_pk, "actual": have["primary_key"]})
    for index in table["indexes"]:
        if not any(i["columns"] == index["columns"] and (i["unique"] or not index["unique"])
                   for i in have["indexes"]):
            drift.append({"table": fq, "kind": "missing_index", "index": index["name"],
                          "expected": index["columns"]})
    if strict:
        for name in have["columns"]:
            if name not in want:
                drift.append({"table": fq, "kind": "unexpected_column", "column": name})
    return drift


def describe(item):
    text = "%s: %s" % (item["table"], item["kind"].replace("_", " "))
    for key in ("column", "index"):
        if key in item:
            text += " %s" % item[key]
    if "expected" in item:
        text += " (expected %s" % (item["expected"],)
        text += ", found %s)" % (item["actual"],) if "actual" in item else ")"
    return text


def check_sql_fragment(what, text):
    """Types and defaults are SQL fragments: refuse anything that could end the statement."""
    if ";" in text or "--" in text or "/*" in text:
        raise SchemaError("%s %r: ';', '--' and '/*' are not allowed" % (what, text))


def normalise_declaration(cur, table):
    """Validate a table declaration and compute the normalised expectations per column."""
    for col in table["columns"]:
        check_sql_fragment("type", col["type"])
        if col.get("default") is not None:
            check_sql_fragment("default", col["default"])
    if not table["columns"]:
        raise SchemaError("table %s: the column list is empty" % table["name"])
    names = [c["name"] for c in table["columns"]]
    if len(set(names)) != len(names):
        raise SchemaError("table %s: duplicate column names" % table["name"])
    want = {}
    for col in table["columns"]:
        seq = col["type"].strip().lower() in SEQUENCE_TYPES
        default_sql = None
        if col.get("default") is not None:
            try:
                default_sql = probe(cur, "CREATE TEMP TABLE pg_schema_probe (c %s DEFAULT %s)"
                                    % (col["type"], col["default"]),
                                    "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef "
                                    "WHERE adrelid = 'pg_schema_probe'::regclass", "pg_schema_probe")
            except psycopg2.Error as exc:
                raise SchemaError("column %s: invalid default %r: %s"
                                  % (col["name"], col["default"], str(exc).strip().splitlines()[0])) from None
        want[col["name"]] = {"type": normalise_type(cur, col["type"]),
                             "nullable": col["nullable"] and not col["primary_key"],
                             "sequence": seq, "default_sql": default_sql}
    for index in table["indexes"]:
        missing = [c for c in index["columns"] if c not in names]
        if missing or not index["columns"]:
            raise SchemaError("index %s: columns %s are not declared in table %s"
                              % (index["name"], missing or "[]", table["name"]))
    return want
