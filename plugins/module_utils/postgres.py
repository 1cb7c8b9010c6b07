# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection of the collection's PostgreSQL modules, on community.postgresql's options and helpers.

The options are community.postgresql's (postgres_common_argument_spec: login_user, login_password, login_host,
login_unix_socket, login_port with its alias port, ssl_mode, ca_cert, ...) plus login_db and connect_timeout;
get_conn_params maps them to libpq's. The connection is psycopg2's (the comparison code in schema.py, which the
operations programs share on the hosts, is written for it), and a failure names the database, the address and the
role, never the password.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.community.postgresql.plugins.module_utils.postgres import (
    get_conn_params,
    postgres_common_argument_spec,
)

try:
    import psycopg2
    from psycopg2 import sql
    PSYCOPG2_IMPORT_ERROR = None
except ImportError:
    psycopg2 = sql = None
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()


def connection_argument_spec():
    """community.postgresql's connection options, the database (login_db, alias db) and a connection timeout."""
    spec = postgres_common_argument_spec()
    spec.update(login_db=dict(type="str", required=True, aliases=["db"]),
                connect_timeout=dict(type="int", default=10))
    return spec


def connect(module):
    """Open a connection (autocommit off) or fail the module with a clear message, never the password."""
    if psycopg2 is None:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    p = module.params
    params = get_conn_params(module, p)
    params.update(connect_timeout=p["connect_timeout"], application_name="ansible-integration.demoapp")
    try:
        return psycopg2.connect(**params)
    except psycopg2.Error as exc:
        where = params.get("host") or "the default socket"
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if p["login_password"]:
            detail = detail.replace(p["login_password"], "********")
        module.fail_json(msg="cannot connect to database %s on %s:%s as %s: %s"
                         % (p["login_db"], where, p["login_port"], p["login_user"], detail))


def identifier(*names):
    """A quoted SQL identifier (psycopg2.sql), e.g. identifier("public", "app_logs")."""
    return sql.Identifier(*names)
