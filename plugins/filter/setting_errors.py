# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: setting_errors
short_description: Check role settings against what their consumer accepts, one message per bad value
version_added: 2.0.0
description:
  - Takes a list of C([variable name, value, kind]) triples and returns one message per value that is not
    of its kind, naming the variable and the accepted range. An empty list means every value is valid.
  - The roles of this collection call it in their preflight step, so a bad value stops the play before any change.
  - "Kinds: C(port) (1-65535), C(positive) (an integer >= 1), C(absolute_path), C(account) (a Debian user or
    group name), C(pg_identifier) (a lower-case PostgreSQL identifier that needs no quoting), C(cidr) (an IPv4
    or IPv6 network with its prefix length), C(address) (an IP address or a network in CIDR form),
    C(service) (a firewall rule, {port, proto, sources}), C(duration) (fail2ban: a number with an optional unit
    s, m, h, d, w), C(unit_name) (a systemd unit name without its suffix), C(dotted_name) (a Python module
    path, C(quiz.settings)), C(environment) (a dict of environment variables a systemd EnvironmentFile holds: names
    of letters, digits and _, values on one line without quotes or backslashes), C(cron_minute), C(cron_hour),
    C(cron_day), C(cron_month), C(cron_weekday) (numbers, names, C(*), ranges, steps and lists, each within the
    field's range)."
  - A kind ending in C(_list) (C(cidr_list), C(pg_identifier_list), ...) takes a list whose every element is of that
    kind.
options:
  _input:
    description: The C([variable name, value, kind]) triples.
    type: list
    elements: list
    required: true
author:
  - integration.demoapp maintainers (@integration)
"""

EXAMPLES = r"""
- name: Check the values this role takes, before any change
  ansible.builtin.assert:
    that: _errors | length == 0
    fail_msg: "{{ _errors | join('; ') }}"
    quiet: true
  vars:
    _errors: >-
      {{ [['cron_minute', cron_minute, 'cron_minute'],
          ['ssh_hardening_port', ssh_hardening_port, 'port']] | integration.demoapp.setting_errors }}
"""

RETURN = r"""
_value:
  description: One message per invalid value, naming the variable, the value and what is accepted.
  type: list
  elements: str
  sample: ["cron_minute: '61' is not a cron minute (0-59; *, ranges a-b, steps /n and lists a,b)"]
"""

import ipaddress
import re

from ansible.errors import AnsibleFilterError

CRON_FIELDS = {
    "cron_minute": ("minute", 0, 59, {}),
    "cron_hour": ("hour", 0, 23, {}),
    "cron_day": ("day of month", 1, 31, {}),
    "cron_month": ("month", 1, 12, {n: i + 1 for i, n in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split())}),
    "cron_weekday": ("day of week", 0, 7, {n: i for i, n in enumerate("sun mon tue wed thu fri sat".split())}),
}
ACCOUNT = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
UNIT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
PG_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
DURATION = re.compile(r"^[0-9]+(s|m|h|d|w)?$")
DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if re.match(r"^[0-9]+$", text) else None


def _cron_ok(value, low, high, names):
    def number(text):
        text = text.lower()
        if text in names:
            return names[text]
        parsed = _int(text)
        return parsed if parsed is not None and low <= parsed <= high else None

    for part in str(value).strip().split(","):
        base, _slash, step = part.partition("/")
        if _slash and (_int(step) is None or _int(step) < 1):
            return False
        if base == "*":
            continue
        first, _dash, last = base.partition("-")
        start, end = number(first), (number(last) if _dash else None)
        if start is None or (_dash and (end is None or end < start)) or (_slash and not _dash):
            return False
    return str(value).strip() != ""


def _cidr_ok(value):
    text = str(value).strip()
    if "/" not in text:
        return False
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _address_ok(value):
    try:
        ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        return False
    return str(value).strip() != ""


def _environment_faults(value):
    """The names whose NAME: value pair a systemd EnvironmentFile would not hold as written (it interprets quotes and
    backslashes); ["(not a dict)"] when it is no dict. Names only: the values are often secrets."""
    if not isinstance(value, dict):
        return ["(not a dict)"]
    return sorted(str(name) for name, item in value.items()
                  if not (isinstance(name, str) and ENV_NAME.match(name) and isinstance(item, (str, int, float))
                          and not any(c in str(item) for c in "\n\"'\\")))


def _service_ok(value):
    """A firewall service: {port, proto (tcp/udp, default tcp), sources (addresses or CIDRs, default: anywhere)}."""
    if not isinstance(value, dict) or set(value) - {"port", "proto", "sources"}:
        return False
    port, sources = _int(value.get("port")), value.get("sources", [])
    return (port is not None and 1 <= port <= 65535 and value.get("proto", "tcp") in ("tcp", "udp")
            and isinstance(sources, list) and all(_address_ok(v) for v in sources))


CHECKS = {
    "port": (lambda v: _int(v) is not None and 1 <= _int(v) <= 65535, "a port number (1-65535)"),
    "positive": (lambda v: _int(v) is not None and _int(v) >= 1, "a whole number of at least 1"),
    "absolute_path": (lambda v: isinstance(v, str) and v.startswith("/") and "\n" not in v and "\0" not in v,
                      "an absolute path (starting with /)"),
    "account": (lambda v: isinstance(v, str) and bool(ACCOUNT.match(v)),
                "an account or group name (lower-case letters, digits, _ and -, starting with a letter or _)"),
    "pg_identifier": (lambda v: isinstance(v, str) and bool(PG_IDENTIFIER.match(v)),
                      "a PostgreSQL identifier (lower-case letters, digits and _, starting with a letter or _, "
                      "at most 63 characters)"),
    "cidr": (_cidr_ok, "a network in CIDR form (192.0.2.0/24, 2001:db8::/32)"),
    "address": (_address_ok, "an IP address or a network in CIDR form (192.0.2.10, 192.0.2.0/24, 2001:db8::/32)"),
    "service": (_service_ok, "{port: 1-65535, proto: tcp or udp, sources: [addresses or CIDRs]}"),
    "duration": (lambda v: bool(DURATION.match(str(v).strip())), "a duration (a number with s, m, h, d or w)"),
    "unit_name": (lambda v: isinstance(v, str) and bool(UNIT_NAME.match(v)),
                  "a systemd unit name without its suffix (letters, digits, _ and -)"),
    "dotted_name": (lambda v: isinstance(v, str) and bool(DOTTED_NAME.match(v)),
                    "a Python module path (quiz.settings)"),
    "environment": (lambda v: not _environment_faults(v),
                    "NAME: value pairs (names of letters, digits and _; each value on one line, "
                    "without quotes or backslashes)"),
}


def _cron_check(label, low, high, names):
    return (lambda v: _cron_ok(v, low, high, names),
            "a cron %s (%s-%s%s; *, ranges a-b, steps /n and lists a,b)"
            % (label, low, high, ", or names" if names else ""))


CHECKS.update((kind, _cron_check(*spec)) for kind, spec in CRON_FIELDS.items())


def setting_errors(checks):
    """Messages for the [name, value, kind] triples whose value is not of its kind."""
    if not isinstance(checks, (list, tuple)):
        raise AnsibleFilterError("setting_errors expects a list of [name, value, kind], got %r" % (checks,))
    errors = []
    for item in checks:
        if not isinstance(item, (list, tuple)) or len(item) != 3 or str(item[2]).replace("_list", "") not in CHECKS:
            raise AnsibleFilterError("setting_errors: expected [name, value, kind] with kind one of %s, got %r"
                                     % (", ".join(sorted(CHECKS)), item))
        name, value, kind = item
        if kind.endswith("_list"):
            valid, accepted = CHECKS[kind[:-len("_list")]]
            if not isinstance(value, (list, tuple)):
                what = accepted[2:] if accepted.startswith("a ") else accepted
                errors.append("%s: %r is not a list (of %s)" % (name, value, what))
                continue
            errors.extend("%s: %r is not %s" % (name, element, accepted) for element in value if not valid(element))
            continue
        valid, accepted = CHECKS[kind]
        if kind == "environment" and not valid(value):  # the names alone: the values are often secrets
            errors.append("%s: {%s: ...} is not %s" % (name, ", ".join(_environment_faults(value)), accepted))
        elif not valid(value):
            errors.append("%s: %r is not %s" % (name, value, accepted))
    return errors


class FilterModule(object):
    def filters(self):
        return {"setting_errors": setting_errors}
