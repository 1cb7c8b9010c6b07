# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: with_settings
short_description: A "KEY value" configuration text with some settings set, as one lineinfile per key would
version_added: 1.2.0
description:
  - Takes the text of a configuration file of C(KEY value) lines (C(/etc/login.defs)) and returns it with every
    given setting set, the way M(ansible.builtin.lineinfile) with O(ansible.builtin.lineinfile#module:regexp)
    C(^#?\s*KEY\s) and O(ansible.builtin.lineinfile#module:line) C(KEY<separator>value) sets it - the last line
    that sets or comments out the key becomes the setting, other lines stay as they are, and a key found nowhere is
    appended at the end.
  - So that a role reads the file once and writes it once (M(integration.demoapp.install_files)) instead of one
    round trip to the host per setting. A text that already holds every setting comes back unchanged.
options:
  _input:
    description: The file's text.
    type: str
    required: true
  settings:
    description: The settings, key to value, in the order they are appended when missing.
    type: dict
    required: true
  separator:
    description: What stands between a key and its value in the lines written.
    type: str
    default: "\t"
author:
  - integration.demoapp maintainers (@integration)
"""

EXAMPLES = r"""
- name: Read login.defs
  ansible.builtin.slurp:
    src: /etc/login.defs
  register: _login_defs

- name: Set the umask and the password ages, in one write
  integration.demoapp.install_files:
    content:
      login.defs: "{{ _login_defs.content | b64decode | integration.demoapp.with_settings(_settings) }}"
    dest: /etc
  vars:
    _settings: {UMASK: "027", PASS_MAX_DAYS: 365}
"""

RETURN = r"""
_value:
  description: The text with every setting set.
  type: str
  sample: "UMASK\t027\nPASS_MAX_DAYS\t365\n"
"""

import re

from ansible.errors import AnsibleFilterError


def with_settings(text, settings, separator="\t"):
    if not isinstance(settings, dict):
        raise AnsibleFilterError("with_settings: the settings must be a dict of keys to values, got %r" % (settings,))
    lines = str(text).splitlines(True)
    for key, value in settings.items():
        if not re.match(r"^[A-Za-z0-9_.-]+$", str(key)):
            raise AnsibleFilterError("with_settings: %r is not a setting's name" % (key,))
        wanted = "%s%s%s" % (key, separator, value)
        setting = re.compile(r"^#?\s*%s\s" % re.escape(str(key)))
        found = [index for index, line in enumerate(lines) if setting.search(line)]
        if found:
            line = lines[found[-1]]
            lines[found[-1]] = wanted + line[len(line.rstrip("\r\n")):]
        else:
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            lines.append(wanted + "\n")
    return "".join(lines)


class FilterModule(object):
    def filters(self):
        return {"with_settings": with_settings}
