"""The database host playing a managed PostgreSQL (Amazon RDS, say), for the tests of the managed-database mode: an
admin with CREATEDB CREATEROLE and no superuser (like RDS's master user), let in over TLS by the pg_hba lines a test
names; afterwards the databases and roles the test names, the admin and the lines are removed."""

import shlex
from contextlib import contextmanager

import testinfra
from conftest import INVENTORY


def sql(db, statement, database="postgres"):
    return db.check_output(f"runuser -u postgres -- psql -X -At -d {database} -c {shlex.quote(statement)}")


@contextmanager
def managed_server(admin, password, hba_lines, databases, roles):
    """Yields the database host; ``hba_lines`` go first in pg_hba.conf, ``databases`` and ``roles`` are the ones the
    test's runs create (dropped afterwards)."""
    db = testinfra.get_host("ansible://database", ansible_inventory=INVENTORY)
    sql(db, f"CREATE ROLE {admin} LOGIN CREATEDB CREATEROLE PASSWORD '{password}'")
    hba = db.check_output("runuser -u postgres -- psql -X -At -c 'SHOW hba_file'")
    insert, saved = "\\n".join(hba_lines), f"/root/pg_hba.conf.before-{admin}"
    db.run_expect([0], f"cp {hba} {saved} && sed -i '1i {insert}' {hba} && systemctl reload postgresql")
    try:
        yield db
    finally:
        for database in databases:
            sql(db, f"DROP DATABASE IF EXISTS {database}")
        for role in (*roles, admin):
            sql(db, f"DROP ROLE IF EXISTS {role}")
        db.run_expect([0], f"cp {saved} {hba} && rm {saved} && systemctl reload postgresql")  # cp keeps the owner
