#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ssh_access_guard
short_description: Refuse account, key, sudo or sshd changes that would lock out the SSH connection in use
version_added: 2.0.0
description:
  - Finds out which account and which public key authenticated the SSH connection Ansible is using,
    from the C(ExposeAuthInfo) file of the session when there is one, otherwise from sshd's
    C(Accepted ... for USER from ADDRESS port PORT) log line for this connection (journal, then
    C(/var/log/auth.log)). sshd logs the key's fingerprint in that line at its default log level.
  - Compares the changes a role is about to make with that connection, and fails, naming the account
    and the key fingerprint, if they would remove the key in use from the account, remove the account,
    take away its sudo, make sshd refuse it (root login, public key or password authentication,
    C(AllowUsers), C(AllowGroups), port and listen address), or make the firewall drop it (SSH port
    and sources).
  - Never changes anything on the host. The roles of this collection that change access call it,
    through their shared internal role C(integration.demoapp.access_guard), before their first change.
author:
  - integration.demoapp maintainers (@integration)
options:
  user:
    description: Account the SSH connection logged in as (C(id -un) without privilege escalation).
    type: str
    required: true
  ssh_connection:
    description:
      - Value of C(SSH_CONNECTION) in the connection's session, C(client_address client_port
        server_address server_port). Identifies the connection's log line and the address and port
        sshd must keep listening on.
    type: str
    required: true
  auth_info_file:
    description:
      - Value of C(SSH_USER_AUTH) in the connection's session (sshd's C(ExposeAuthInfo yes)); read
        first when set and readable.
    type: path
  accounts:
    description:
      - Accounts whose state or keys are about to change. Each item has C(name), C(state)
        (C(present) or C(absent), default C(present)) and C(ssh_keys) (public keys in
        C(authorized_keys) format); other keys are ignored. Accounts not listed are unaffected.
    type: list
    elements: dict
    default: []
  exclusive_keys:
    description: The C(ssh_keys) listed in O(accounts) replace every other authorized key of those accounts.
    type: bool
    default: false
  sudoers_file:
    description: A sudoers file about to be rewritten to grant exactly O(sudoers_users).
    type: path
  sudoers_users:
    description: Accounts the new O(sudoers_file) grants sudo to.
    type: list
    elements: str
    default: []
  sudoers_nopasswd:
    description: Whether the new O(sudoers_file) lets them use sudo without a password.
    type: bool
    default: true
  become_password:
    description: Whether Ansible has a password for sudo (a rule that asks for one still works).
    type: bool
    default: false
  sshd:
    description: Settings sshd is about to run with; an omitted setting is not checked.
    type: dict
    suboptions:
      port:
        description: C(Port).
        type: int
      listen_addresses:
        description: C(ListenAddress) values (empty list = every address).
        type: list
        elements: str
      permit_root_login:
        description: C(PermitRootLogin).
        type: str
      pubkey_authentication:
        description: C(PubkeyAuthentication).
        type: bool
      password_authentication:
        description: C(PasswordAuthentication).
        type: bool
      kbd_interactive_authentication:
        description: C(KbdInteractiveAuthentication).
        type: bool
      allow_users:
        description: C(AllowUsers) patterns (empty list = no restriction).
        type: list
        elements: str
      allow_groups:
        description: C(AllowGroups) patterns (empty list = no restriction).
        type: list
        elements: str
  firewall:
    description:
      - Inbound SSH rules a firewall is about to apply; the connection must still be let in.
    type: dict
    suboptions:
      ssh_ports:
        description: Ports SSH is accepted on.
        type: list
        elements: int
        required: true
      ssh_sources:
        description: Addresses or networks (CIDR) SSH is accepted from; empty = from anywhere.
        type: list
        elements: str
        default: []
  enforce:
    description: Fail when the change would lock the connection out; otherwise only warn.
    type: bool
    default: true
extends_documentation_fragment:
  - integration.demoapp.read_only
notes:
  - Needs root to read the journal or C(/var/log/auth.log) and the sudoers file.
  - A connection authenticated with a certificate does not depend on C(authorized_keys); its key is not checked
    against the C(ssh_keys) of O(accounts).
"""

EXAMPLES = r"""
- name: Read this SSH connection's details (no privilege escalation)
  ansible.builtin.command: env
  become: false
  changed_when: false
  check_mode: false
  register: session

- name: Refuse to replace appadmin's keys with one it is not connected with
  integration.demoapp.ssh_access_guard:
    user: "{{ session.stdout | regex_search('^USER=(.*)$', '\\1', multiline=True) | first }}"
    ssh_connection: "{{ session.stdout | regex_search('^SSH_CONNECTION=(.*)$', '\\1', multiline=True) | first }}"
    exclusive_keys: true
    accounts:
      - name: appadmin
        ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB... new-key"]
    sshd:
      permit_root_login: "no"
      password_authentication: false
"""

RETURN = r"""
connection:
  description: What authenticated the connection in use.
  returned: always
  type: dict
  contains:
    user:
      description: Account of the connection.
      type: str
      sample: appadmin
    method:
      description: Authentication method (C(publickey), C(password), ...), or null when no log line was found.
      type: str
      sample: publickey
    key_type:
      description: Key type as sshd logs it (C(ED25519), C(RSA), C(ED25519-CERT), ...).
      type: str
      sample: ED25519
    fingerprint:
      description: SHA256 fingerprint of the key.
      type: str
      sample: SHA256:8cG0dBfXkFZbHzN3JaqkQAb1SOwMtb7cDqF2wYg2V0A
    source:
      description: Where the key was found (C(auth_info), C(journal), C(auth.log)) or C(none).
      type: str
      sample: journal
problems:
  description: Each way the change would lock the connection out (empty when it is safe).
  returned: always
  type: list
  elements: str
  sample: ["it would remove the key ED25519 SHA256:8cG0... (the one this connection uses) from appadmin"]
"""

import base64
import binascii
import fnmatch
import grp
import hashlib
import ipaddress
import os
import pwd
import re

from ansible.module_utils.basic import AnsibleModule

ACCEPTED = re.compile(r"Accepted (?P<method>\S+) for (?P<user>\S+) from (?P<addr>\S+) port (?P<port>\d+) ssh2"
                      r"(?:: (?P<type>\S+) (?P<fp>SHA256:\S+|MD5:\S+))?")
KEY_TYPE = re.compile(r"^(ssh-|ecdsa-|sk-)[\w@.-]+$")
# sshd journal lines searched, newest first (the connection in use logged one when it opened).
JOURNAL_LINES = 20000


def fingerprint(blob):
    """OpenSSH's SHA256 fingerprint of a decoded public key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def parse_public_key(line):
    """(type, fingerprint) of an authorized_keys line (options allowed), or None."""
    tokens = line.strip().split()
    for index, token in enumerate(tokens[:-1]):
        if not KEY_TYPE.match(token):
            continue
        try:
            blob = base64.b64decode(tokens[index + 1], validate=True)
        except (binascii.Error, ValueError):
            continue
        if blob[4:4 + len(token)] == token.encode("ascii"):
            return token, fingerprint(blob)
    return None


def log_type(key_type):
    """Key type as sshd logs it: ssh-ed25519 -> ED25519, ecdsa-sha2-nistp256 -> ECDSA, sk-... -> ...-SK."""
    name = key_type.split("@")[0]
    suffix = "-SK" if name.startswith("sk-") else ""
    name = name[3:] if suffix else name
    name = name[4:] if name.startswith("ssh-") else name
    name = "ecdsa" if name.startswith("ecdsa") else name
    return name.upper() + suffix


def key_from_auth_info(path):
    """Key of the first publickey line of an ExposeAuthInfo file, as (type, fingerprint), or None."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return None
    for line in lines:
        if line.startswith("publickey "):
            parsed = parse_public_key(line[len("publickey "):])
            if parsed:
                return parsed
    return None


def match_accepted(lines, user, address, port):
    """The first 'Accepted ...' line for this user, address and port, as a dict, or None."""
    for line in lines:
        found = ACCEPTED.search(line)
        if found and found.group("user") == user and found.group("addr") == address \
                and found.group("port") == port:
            return found.groupdict()
    return None


def key_from_logs(module, user, address, port):
    """Search sshd's recent journal lines, then /var/log/auth.log, newest first; returns (line dict, source)."""
    journalctl = module.get_bin_path("journalctl")
    if journalctl:
        rc, out, _err = module.run_command([journalctl, "--reverse", "--output=cat", "--no-pager",
                                            "--lines=%d" % JOURNAL_LINES, "SYSLOG_IDENTIFIER=sshd",
                                            "SYSLOG_IDENTIFIER=sshd-session"])
        found = match_accepted(out.splitlines(), user, address, port) if rc == 0 else None
        if found:
            return found, "journal"
    try:
        with open("/var/log/auth.log") as handle:
            found = match_accepted(reversed(handle.read().splitlines()), user, address, port)
    except (IOError, OSError):
        found = None
    return found, ("auth.log" if found else "none")


def identify(module, user, address, port):
    """What authenticated this connection: dict of user, method, key_type, fingerprint, source."""
    info = dict(user=user, method=None, key_type=None, fingerprint=None, source="none")
    auth_file = module.params["auth_info_file"]
    if auth_file:
        key = key_from_auth_info(auth_file)
        if key:
            key_type, fp = key
            info.update(method="publickey", key_type=log_type(key_type), fingerprint=fp, source="auth_info")
            return info
    found, source = key_from_logs(module, user, address, port)
    if found:
        info.update(method=found["method"], key_type=found["type"], fingerprint=found["fp"], source=source)
    return info


def user_groups(user):
    try:
        primary = grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
    except KeyError:
        return []
    return [primary] + [g.gr_name for g in grp.getgrall() if user in g.gr_mem]


def has_authorized_keys(user):
    try:
        path = os.path.join(pwd.getpwnam(user).pw_dir, ".ssh", "authorized_keys")
        with open(path) as handle:
            return any(parse_public_key(line) for line in handle)
    except (KeyError, IOError, OSError):
        return False


def account_problems(conn, accounts, exclusive):
    """Problems caused by account and key changes for the connecting account."""
    problems = []
    for account in accounts:
        if account.get("name") != conn["user"]:
            continue
        if account.get("state", "present") == "absent":
            problems.append("it would remove the account %s" % conn["user"])
            continue
        if not exclusive or conn["method"] not in ("publickey", None) or "CERT" in (conn["key_type"] or ""):
            continue
        if conn["fingerprint"] is None:
            problems.append("it replaces the authorized keys of %s and the key this connection authenticated "
                            "with cannot be found (no 'Accepted publickey' log line for it)" % conn["user"])
            continue
        kept = [parse_public_key(key) for key in account.get("ssh_keys") or []]
        if conn["fingerprint"] not in [key[1] for key in kept if key]:
            problems.append("it would remove the key %s %s (the one this connection authenticated with) from "
                            "the authorized keys of %s" % (conn["key_type"], conn["fingerprint"], conn["user"]))
    return problems


def sudo_grants(path, user):
    """(granted, nopasswd) for a user spec line of this user in a sudoers file."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return False, False
    for line in lines:
        words = line.split()
        if words and words[0] == user:
            return True, "NOPASSWD:" in line
    return False, False


def sudo_problems(conn, params):
    if not params["sudoers_file"] or conn["user"] == "root":
        return []
    granted, nopasswd = sudo_grants(params["sudoers_file"], conn["user"])
    if not granted:
        return []
    if conn["user"] not in params["sudoers_users"]:
        return ["it would take away the sudo rights of %s (granted now in %s)" % (conn["user"], params["sudoers_file"])]
    if nopasswd and not params["sudoers_nopasswd"] and not params["become_password"]:
        return ["sudo would ask %s for a password and Ansible has none (ansible_become_password)" % conn["user"]]
    return []


def listen_endpoints(sshd):
    """(address or '*', port) pairs sshd would listen on."""
    port = sshd.get("port")
    pairs = []
    for entry in sshd.get("listen_addresses") or []:
        text = entry.split()[0]
        address, entry_port = text, port
        if text.startswith("["):
            address, _sep, rest = text[1:].partition("]")
            entry_port = int(rest[1:]) if rest.startswith(":") else port
        elif text.count(":") == 1:
            address, entry_port = text.split(":")[0], int(text.split(":")[1])
        try:
            unspecified = ipaddress.ip_address(address).is_unspecified
        except ValueError:
            unspecified = True  # a host name: not checked
        pairs.append(("*" if unspecified else address, entry_port))
    return pairs or [("*", port)]


def sshd_problems(conn, sshd, server):
    problems = []
    user, method = conn["user"], conn["method"]
    root_login = sshd.get("permit_root_login")
    if user == "root" and root_login == "no":
        problems.append("sshd would refuse root logins (PermitRootLogin no) and the connection is root's")
    if user == "root" and method in ("password", "keyboard-interactive") and root_login not in (None, "yes"):
        problems.append("sshd would refuse root's password login (PermitRootLogin %s)" % root_login)
    if method == "publickey" and sshd.get("pubkey_authentication") is False:
        problems.append("sshd would refuse public keys (PubkeyAuthentication no), which this connection uses")
    if sshd.get("password_authentication") is False and not sshd.get("kbd_interactive_authentication") \
            and method != "publickey" and not has_authorized_keys(user):
        problems.append("sshd would refuse passwords and %s has no authorized key" % user)
    allow_users = sshd.get("allow_users") or []
    if allow_users and not any(fnmatch.fnmatchcase(user, p.split("@")[0]) for p in allow_users):
        problems.append("%s is not in AllowUsers (%s)" % (user, " ".join(allow_users)))
    allow_groups = sshd.get("allow_groups") or []
    groups = user_groups(user)
    if allow_groups and not any(fnmatch.fnmatchcase(g, p) for g in groups for p in allow_groups):
        problems.append("no group of %s (%s) is in AllowGroups (%s)" % (user, " ".join(groups), " ".join(allow_groups)))
    if sshd.get("port") is not None:
        address, port = server
        if not any(p == port and a in ("*", address) for a, p in listen_endpoints(sshd)):
            problems.append("sshd would stop listening on %s port %s, where this connection arrived" % server)
    return problems


def firewall_problems(firewall, client, server_port):
    """What in the firewall's SSH rules would drop this connection (from client, to server_port)."""
    problems = []
    if server_port not in firewall["ssh_ports"]:
        problems.append("the firewall would accept SSH only on port %s, and this connection arrived on port %s"
                        % (", ".join(str(p) for p in firewall["ssh_ports"]), server_port))
    sources = firewall["ssh_sources"]
    address = ipaddress.ip_address(client.split("%")[0])
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    if sources and not any(address in ipaddress.ip_network(s, strict=False) for s in sources
                           if ipaddress.ip_network(s, strict=False).version == address.version):
        problems.append("the firewall would accept SSH only from %s, and this connection comes from %s"
                        % (", ".join(sources), address))
    return problems


def main():
    module = AnsibleModule(
        argument_spec=dict(
            user=dict(type="str", required=True),
            ssh_connection=dict(type="str", required=True),
            auth_info_file=dict(type="path"),
            accounts=dict(type="list", elements="dict", default=[]),
            exclusive_keys=dict(type="bool", default=False),
            sudoers_file=dict(type="path"),
            sudoers_users=dict(type="list", elements="str", default=[]),
            sudoers_nopasswd=dict(type="bool", default=True),
            become_password=dict(type="bool", default=False, no_log=False),
            sshd=dict(type="dict", options=dict(
                port=dict(type="int"),
                listen_addresses=dict(type="list", elements="str"),
                permit_root_login=dict(type="str"),
                pubkey_authentication=dict(type="bool"),
                password_authentication=dict(type="bool", no_log=False),
                kbd_interactive_authentication=dict(type="bool"),
                allow_users=dict(type="list", elements="str"),
                allow_groups=dict(type="list", elements="str"),
            )),
            firewall=dict(type="dict", options=dict(
                ssh_ports=dict(type="list", elements="int", required=True),
                ssh_sources=dict(type="list", elements="str", default=[]),
            )),
            enforce=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    fields = params["ssh_connection"].split()
    if len(fields) != 4 or not fields[1].isdigit() or not fields[3].isdigit():
        module.fail_json(msg="ssh_connection must be 'client_address client_port server_address server_port', got %r"
                         % params["ssh_connection"])
    conn = identify(module, params["user"], fields[0], fields[1])
    problems = account_problems(conn, params["accounts"], params["exclusive_keys"])
    problems += sudo_problems(conn, params)
    if params["sshd"]:
        problems += sshd_problems(conn, params["sshd"], (fields[2], int(fields[3])))
    if params["firewall"]:
        try:
            problems += firewall_problems(params["firewall"], fields[0], int(fields[3]))
        except ValueError as exc:
            module.fail_json(msg="firewall: %s" % exc)
    result = dict(changed=False, connection=conn, problems=problems)
    if problems:
        used = "%s key %s" % (conn["key_type"], conn["fingerprint"]) if conn["fingerprint"] else (
            conn["method"] or "an authentication method not found in the logs")
        msg = ("would lock out '%s', the account Ansible connects with (connected with %s from %s port %s): %s."
               % (conn["user"], used, fields[0], fields[1], "; ".join(problems)))
        if params["enforce"]:
            module.fail_json(msg=msg + " Nothing was changed. To rotate a key, list the old and the new key, converge, "
                             "reconnect with the new key, then list only the new key. If you have another way in "
                             "(console, another account), set access_guard_lockout_check: false to proceed.", **result)
        module.warn("The change " + msg + " Going ahead: the lockout check is off (access_guard_lockout_check).")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
