#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: install_files
short_description: Install a tree of files, or several files a role writes in one step, reading the host once
version_added: 2.0.0
description:
  - Two ways, each reading what is on the host (checksums, modes, owners) with one M(ansible.builtin.find) call,
    then writing every file and directory that differs in one run of M(integration.demoapp.write_files) (each file
    replaced atomically, with its final owner and mode from the start, checked first by its O(files[].validate)).
    When nothing differs, that single read is the whole task; M(ansible.builtin.template) and
    M(ansible.builtin.copy) run two modules for every file, changed or not.
  - A tree - O(src) and O(dest), like M(ansible.builtin.copy) with C(src=dir/) - puts controller files and
    directories into the directory O(dest) (the API's code, the operations programs). Files in O(dest) that O(src)
    does not hold are left alone; nothing is ever deleted. C(__pycache__) directories and compiled Python files are
    not installed.
  - Several files - O(files) - each shaped like a template or copy task (O(files[].template), O(files[].src) or
    O(files[].content), O(files[].dest), O(files[].mode), O(files[].validate)), for a role that writes a few files
    in one step on every run (a confined job's unit, schedule and settings; the host baseline's files). Only those
    files, and the directories on their way, are read. A single file is better written with
    M(ansible.builtin.template) or M(ansible.builtin.copy).
options:
  src:
    description:
      - A tree - files or directories on the controller, looked up like the O(ansible.builtin.copy#module:src) of a
        role (the role's C(files/), then relative to the playbook); absolute paths are taken as they are.
      - A file lands as O(dest)/its name; a directory's contents land under O(dest), sub-directories included
        (like C(src=dir/) for M(ansible.builtin.copy)).
    type: list
    elements: path
  dest:
    description:
      - A tree - absolute path of the directory on the host. Created with O(directory_mode) when missing; when it
        exists, its own mode and owner are left as they are (the task that created it decides them).
    type: path
  files:
    description:
      - Several files, each with its own O(files[].dest); not with O(src), O(dest), O(modes) or O(directory_mode).
      - A missing directory on a file's way is created (C(0755)) with O(owner) and O(group); one that exists is left
        as it is.
      - Set C(no_log) on the task when a file is a secret.
    type: list
    elements: dict
    suboptions:
      dest:
        description: Absolute path of the file on the host.
        type: path
        required: true
      template:
        description: A Jinja2 template, looked up and rendered as the O(ansible.builtin.template#module:src) of
          M(ansible.builtin.template) (the role's C(templates/)), with the task's variables.
        type: path
      src:
        description: A controller file, looked up as the O(ansible.builtin.copy#module:src) of
          M(ansible.builtin.copy).
        type: path
      content:
        description: The file's text, as the O(ansible.builtin.copy#module:content) of M(ansible.builtin.copy).
        type: str
      mode:
        description: Octal mode of this file (by default O(mode)).
        type: str
      validate:
        description:
          - A command that checks the candidate file before it replaces the old one; C(%s) is the candidate, as in
            the O(ansible.builtin.copy#module:validate) of M(ansible.builtin.copy).
          - A refused candidate fails the task and leaves the old file in place; files written before it in the same
            task (in path order) stay written.
        type: str
  owner:
    description: Owner of every installed file and created directory.
    type: str
  group:
    description: Group of every installed file and created directory.
    type: str
  mode:
    description: Octal mode of the installed files.
    type: str
    default: "0644"
  directory_mode:
    description: A tree - octal mode of O(dest) when it is created, and of every sub-directory.
    type: str
    default: "0755"
  modes:
    description: A tree - octal modes of some files, by their path relative to O(dest); the others get O(mode).
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

- name: Write a job's unit (checked by systemd-analyze first), its schedule and its settings (a secret)
  integration.demoapp.install_files:
    files:
      - template: report.service.j2
        dest: /etc/systemd/system/demoapp-report.service
        validate: systemd-analyze verify %s
      - content: "30 2 * * * root systemctl start demoapp-report.service\n"
        dest: /etc/cron.d/demoapp-report
      - content: "URL={{ api_url }}\nTOKEN={{ api_token }}\n"
        dest: /etc/demoapp-report/api.env
        mode: "0600"
    owner: root
    group: root
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
