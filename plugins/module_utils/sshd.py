# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing of OpenSSH server configuration, shared by the collection's sshd modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

# Keywords sshd -T prints once per value.
MULTI_VALUED = frozenset(("hostkey", "listenaddress", "port", "acceptenv", "subsystem",
                          "setenv", "hostcertificate", "include", "authorizedkeysfile"))


def parse_sshd_t(text):
    """Turn ``sshd -T`` output into a dict: keyword (lower case) -> str, or list for repeated keywords."""
    config = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _sep, value = line.partition(" ")
        key = key.lower()
        value = value.strip()
        if key in MULTI_VALUED:
            config.setdefault(key, []).append(value)
        else:
            config[key] = value
    return config


def normalise(value):
    """Comparable form of a configured value: lower-case words, lists joined by commas."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(normalise(v) for v in value)
    text = " ".join(str(value).split()).lower()
    return {"true": "yes", "false": "no"}.get(text, text)


def mismatches(effective, expected):
    """List of {keyword, expected, effective} where the effective value differs."""
    found = []
    for key, want in sorted(expected.items()):
        have = effective.get(key.lower())
        if have is None or normalise(have) != normalise(want):
            found.append({"keyword": key.lower(), "expected": normalise(want),
                          "effective": None if have is None else normalise(have)})
    return found


def dropin_conflicts(directory, expected):
    """Lines in ``directory``/*.conf that set a keyword of ``expected`` to another value."""
    conflicts = []
    for path in sorted(glob.glob(os.path.join(directory, "*.conf"))):
        try:
            with open(path) as handle:
                lines = handle.read().splitlines()
        except (IOError, OSError):
            continue
        for number, line in enumerate(lines, 1):
            words = line.split(None, 1)
            if len(words) != 2 or words[0].startswith("#"):
                continue
            key = words[0].lower()
            for want_key, want in expected.items():
                if want_key.lower() == key and normalise(words[1]) != normalise(want):
                    conflicts.append({"file": path, "line": number, "keyword": key,
                                      "value": words[1].strip(), "expected": normalise(want)})
    return conflicts
