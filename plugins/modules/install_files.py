#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: install_files
short_description: Install files and directory trees from the controller, reading the destination once
version_added: 2.0.0
description:
  - Puts controller files (O(src)) and texts (O(content)) into the directory O(dest) on the host with the given
    owner, group and modes, like M(ansible.builtin.copy) does, but reads everything already in O(dest)
    (checksums, modes, owners) with a single M(ansible.builtin.find) call, then writes every file and directory
    that differs in one run of M(integration.demoapp.write_files) (each file replaced atomically, with its final
    owner and mode from the start, checked first when O(validate) names it). When nothing differs, that single
    read is the whole task; otherwise two round trips to the host, however many files change (two for every
    file with M(ansible.builtin.copy)).
  - When O(src) names no directory, only the named files (and the directories on their way) are read, not the rest
    of O(dest), so that one task can write files anywhere under O(dest=/etc) or O(dest=/) with one read.
  - Files in O(dest) that O(src) does not hold are left alone; nothing is ever deleted.
  - C(__pycache__) directories and compiled Python files in O(src) are not installed.
options:
  src:
    description:
      - Files or directories on the controller, looked up like the O(ansible.builtin.copy#module:src) of a role
        (the role's C(files/), then relative to the playbook); absolute paths are taken as they are.
      - A file lands as O(dest)/its name; a directory's contents land under O(dest), sub-directories included
        (like C(src=dir/) for M(ansible.builtin.copy)).
      - O(src), O(content) or both.
    type: list
    elements: path
  content:
    description:
      - Files to write from texts, by their path relative to O(dest) (C(api.env), C(cron.d/demoapp-batch)), like the
        O(ansible.builtin.copy#module:content) of M(ansible.builtin.copy).
      - A missing directory on a text's way is created with O(directory_mode), O(owner) and O(group); a directory
        that exists is left as it is.
      - Set C(no_log) on the task when a text is a secret.
    type: dict
    default: {}
  dest:
    description:
      - Absolute path of the directory on the host. Created with O(directory_mode) when missing; when it exists,
        its own mode and owner are left as they are (the task that created it decides them).
    type: path
    required: true
  owner:
    description: Owner of every installed file and sub-directory.
    type: str
  group:
    description: Group of every installed file and sub-directory.
    type: str
  mode:
    description: Octal mode of the installed files.
    type: str
    default: "0644"
  directory_mode:
    description: Octal mode of O(dest) when it is created, and of every sub-directory.
    type: str
    default: "0755"
  modes:
    description: Octal modes of some files, by their path relative to O(dest); the others get O(mode).
    type: dict
    default: {}
  validate:
    description:
      - Commands that check a candidate file before it replaces the old one, by the file's path relative to O(dest);
        C(%s) is the candidate, as in the O(ansible.builtin.copy#module:validate) of M(ansible.builtin.copy).
      - A refused candidate fails the task and leaves the old file in place; files written before it in the same
        task (in path order) stay written.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Reports the files and directories that would change; nothing is changed.
  diff_mode:
    support: full
    description: The diff of every file that changes, as M(ansible.builtin.copy) gives it.
notes:
  - Runs as an action plugin; the host needs only what M(ansible.builtin.find) needs.
  - The files' contents travel in the arguments of M(integration.demoapp.write_files), which suits configuration
    and program files, not large archives.
author:
  - integration.demoapp maintainers (@integration)
"""

EXAMPLES = r"""
- name: Install the API's code (a whole tree), root-owned and read-only for everyone else
  integration.demoapp.install_files:
    src: "{{ role_path }}/../../files/securestack/"
    dest: /opt/securestack
    owner: root
    group: root

- name: Install two programs and a library next to them
  integration.demoapp.install_files:
    src: [backup.py, maintenance.py, opslib.py]
    dest: /usr/local/lib/demoapp-ops
    owner: root
    group: root
    modes:
      backup.py: "0755"
      maintenance.py: "0755"

- name: Write a unit and its schedule under /etc with one read of the host, the unit checked first
  integration.demoapp.install_files:
    content:
      systemd/system/demoapp-report.service: "{{ lookup('ansible.builtin.template', 'report.service.j2') }}"
      cron.d/demoapp-report: "30 2 * * * root systemctl start demoapp-report.service\n"
    dest: /etc
    owner: root
    group: root
    validate:
      systemd/system/demoapp-report.service: systemd-analyze verify %s

- name: Write a job's settings and certificate (the settings are a secret)
  integration.demoapp.install_files:
    content:
      api.env: "URL={{ api_url }}\nTOKEN={{ api_token }}\n"
      api-ca.pem: "{{ api_ca_cert }}"
    dest: /etc/demoapp-job
    owner: root
    group: root
    modes:
      api.env: "0600"
  no_log: true
"""

RETURN = r"""
files:
  description: The files that were written or corrected (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/opt/securestack/manage.py]
directories:
  description: The directories that were created or corrected (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/opt/securestack/console/migrations]
"""
