# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options shared by the collection's PostgreSQL modules."""

    DOCUMENTATION = r"""
options:
  login_db:
    description: Database to connect to.
    type: str
    required: true
    aliases: [db]
  login_host:
    description: Host to connect to; empty uses the Unix socket.
    type: str
    default: ''
  port:
    description: Port to connect to.
    type: int
    default: 5432
    aliases: [login_port]
  login_user:
    description: Role to connect as.
    type: str
    default: postgres
  login_password:
    description: Password of O(login_user); never logged.
    type: str
    default: ''
  login_unix_socket:
    description: Directory of the Unix socket.
    type: str
    default: ''
  connect_timeout:
    description: Seconds to wait for the connection.
    type: int
    default: 10
  ssl_mode:
    description: libpq sslmode.
    type: str
    default: prefer
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  ca_cert:
    description: CA certificate to verify the server with (sslrootcert).
    type: path
    aliases: [ssl_rootcert]
notes:
  - The connection options have the names community.postgresql's modules use; C(db) and C(login_port) are
    accepted as aliases.
"""
