# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options and helpers shared by the collection's PostgreSQL modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import psycopg2
    from psycopg2 import sql
    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError:
    psycopg2 = sql = None
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()


def connection_argument_spec():
    """Options every module of this collection uses to reach PostgreSQL.

    Same names as community.postgresql (login_db, login_host, login_user, login_password,
    port, login_unix_socket, ssl_mode, ca_cert), with this collection's former names as aliases.
    """
    return dict(
        login_host=dict(type="str", default=""),
        port=dict(type="int", default=5432, aliases=["login_port"]),
        login_user=dict(type="str", default="postgres"),
        login_password=dict(type="str", default="", no_log=True),
        login_unix_socket=dict(type="str", default=""),
        login_db=dict(type="str", required=True, aliases=["db"]),
        connect_timeout=dict(type="int", default=10),
        ssl_mode=dict(type="str", default="prefer",
                      choices=["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]),
        ca_cert=dict(type="path", aliases=["ssl_rootcert"]),
    )


def connect(module):
    """Open a connection (autocommit off) or fail the module with a clear message, never the password."""
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    p = module.params
    kwargs = dict(dbname=p["login_db"], user=p["login_user"], port=p["port"],
                  connect_timeout=p["connect_timeout"], sslmode=p["ssl_mode"],
                  application_name="ansible-integration.demoapp")
    host = p["login_unix_socket"] or p["login_host"]
    if host:
        kwargs["host"] = host
    if p["login_password"]:
        kwargs["password"] = p["login_password"]
    if p["ca_cert"]:
        kwargs["sslrootcert"] = p["ca_cert"]
    try:
        return psycopg2.connect(**kwargs)
    except psycopg2.Error as exc:
        where = host or "the default socket"
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if p["login_password"]:
            detail = detail.replace(p["login_password"], "********")
        module.fail_json(msg="cannot connect to database %s on %s:%s as %s: %s"
                         % (p["login_db"], where, p["port"], p["login_user"], detail))


def identifier(*names):
    """A quoted SQL identifier (psycopg2.sql), e.g. identifier("public", "app_logs")."""
    return sql.Identifier(*names)
