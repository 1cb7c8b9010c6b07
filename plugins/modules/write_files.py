#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: write_files
short_description: Write several files and directories in one run on the host (the writer of install_files)
version_added: 2.0.0
description:
  - Creates or corrects the given directories, then writes the given files, in one module run (what
    M(integration.demoapp.install_files) sends once it has found what differs on the host). Use
    M(integration.demoapp.install_files) in playbooks; this module takes contents, not controller paths.
  - Each file is written to a temporary file in its own directory with its final owner, group and mode, checked
    by its O(files[].validate) command when one is given, then renamed over the old file, so the old file stays
    whole until the new one replaces it and a secret is never readable by others, even for an instant.
  - A file whose content is already right only gets its owner, group and mode corrected.
  - Files are handled in the order given; a refused candidate fails the run, leaves its old file in place and
    keeps the files written before it.
options:
  directories:
    description:
      - Directories to create when missing, and whose owner, group and mode are corrected, in this order.
      - Missing directories on the way to one are created too, with mode C(0755) and the module's owner (root's), as
        M(ansible.builtin.file) creates them; list them first to give them other attributes.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      mode:
        description: Octal mode.
        type: str
        required: true
      owner:
        description: Owner (name or number); left as it is when not given.
        type: str
      group:
        description: Group (name or number); left as it is when not given.
        type: str
  files:
    description: Files to write, in this order.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path; its directory must exist (list it in O(directories) otherwise).
        type: path
        required: true
      content:
        description: The file's bytes, base64-encoded. Never shown in the task's output.
        type: str
        required: true
      mode:
        description: Octal mode.
        type: str
        required: true
      owner:
        description: Owner (name or number); root's when not given.
        type: str
      group:
        description: Group (name or number); root's when not given.
        type: str
      validate:
        description: Command that checks the candidate before it replaces the old file; C(%s) is the candidate.
        type: str
attributes:
  check_mode:
    support: full
    description: Reports what would change; nothing is written.
  diff_mode:
    support: full
    description: Before and after of every text file whose content changes (up to 104448 bytes, like C(copy)).
notes:
  - The contents travel in the module's arguments, so this suits configuration and program files, not archives.
author:
  - integration.demoapp maintainers (@integration)
"""

EXAMPLES = r"""
- name: Write a unit and its schedule (what install_files sends; use install_files in playbooks)
  integration.demoapp.write_files:
    directories:
      - {path: /etc/demoapp-report, mode: "0750", owner: root, group: root}
    files:
      - path: /etc/demoapp-report/report.env
        content: "{{ 'URL=https://ops.example.org\n' | b64encode }}"
        mode: "0600"
        owner: root
        group: root
"""

RETURN = r"""
files:
  description: The files written or corrected (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/demoapp-report/report.env]
directories:
  description: The directories created or corrected (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/demoapp-report]
"""

import base64
import grp
import os
import pwd
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native, to_text

DIFF_LIMIT = 104448  # ansible's default max_file_size_for_diff


def _mode(module, name, value):
    try:
        number = int(str(value), 8)
    except ValueError:
        number = -1
    if not 0 <= number <= 0o7777:
        module.fail_json(msg="%s: mode must be an octal mode such as '0644', not %r" % (name, value))
    return number


def _attributes(module, path, entry, changed):
    """Owner, group and mode of path as entry wants them; whether anything changed."""
    changed = module.set_owner_if_different(path, entry.get("owner"), changed)
    changed = module.set_group_if_different(path, entry.get("group"), changed)
    return module.set_mode_if_different(path, entry["mode"], changed)


def _differs(path, entry, want_mode):
    """Whether the attributes of an existing path are not the wanted ones (names or numbers accepted)."""
    found = os.lstat(path)
    if found.st_mode & 0o7777 != want_mode:
        return True
    for name, number, lookup in ((entry.get("owner"), found.st_uid, pwd.getpwuid),
                                 (entry.get("group"), found.st_gid, grp.getgrgid)):
        if name and name != str(number):
            try:
                if lookup(number)[0] != name:
                    return True
            except KeyError:
                return True
    return False


def _holds(path, data):
    """Whether path is a regular file (not a link) holding exactly data."""
    if not os.path.isfile(path) or os.path.islink(path) or os.path.getsize(path) != len(data):
        return False
    with open(path, "rb") as handle:
        return handle.read() == data


def _before(path):
    """The diff's view of the file there now: its text, or why it is not shown."""
    if not os.path.lexists(path):
        return dict(before="")
    if os.path.getsize(path) > DIFF_LIMIT:
        return dict(dst_larger=DIFF_LIMIT)
    with open(path, "rb") as handle:
        data = handle.read()
    if b"\0" in data:
        return dict(dst_binary=1)
    return dict(before=to_text(data, errors="surrogate_or_strict"))


def _diff(path, data):
    diff = dict(before_header=path, after_header=path)
    diff.update(_before(path))
    if len(data) > DIFF_LIMIT:
        diff["src_larger"] = DIFF_LIMIT
    elif b"\0" in data:
        diff["src_binary"] = 1
    else:
        diff["after"] = to_text(data, errors="surrogate_or_strict")
    return diff


def _write(module, path, data, entry):
    """The candidate beside path, with its final attributes, checked, then renamed over path.

    Returns None, or the failed check's (rc, stdout, stderr): the old file is then left in place."""
    directory = os.path.dirname(path)
    handle, candidate = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".new", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        _attributes(module, candidate, entry, False)
        if module.selinux_enabled():
            module.set_context_if_different(candidate, module.selinux_default_context(path), False)
        if entry.get("validate"):
            refused = module.run_command(entry["validate"] % candidate)
            if refused[0] != 0:
                return refused
        os.rename(candidate, path)
        return None
    finally:
        if os.path.lexists(candidate):
            os.unlink(candidate)


def main():
    owner_spec = dict(owner=dict(type="str"), group=dict(type="str"), mode=dict(type="str", required=True))
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="dict", default=[],
                             options=dict(owner_spec, path=dict(type="path", required=True))),
            files=dict(type="list", elements="dict", default=[],
                       options=dict(owner_spec, path=dict(type="path", required=True),
                                    content=dict(type="str", required=True, no_log=True),
                                    validate=dict(type="str"))),
        ),
        supports_check_mode=True,
    )
    written, made, diffs = [], [], []
    for entry in module.params["directories"]:
        path, mode = entry["path"], _mode(module, entry["path"], entry["mode"])
        if os.path.isdir(path) and not _differs(path, entry, mode):
            continue
        if not os.path.isdir(path):
            diffs.append(dict(path=path, before=dict(path=path, state="absent"),
                              after=dict(path=path, state="directory")))
            if not module.check_mode:
                try:
                    parent = os.path.dirname(path)
                    if not os.path.isdir(parent):  # the directories on its way: 0755, as ansible.builtin.file
                        os.makedirs(parent, 0o755)
                    os.mkdir(path, 0o700)
                except OSError as error:
                    module.fail_json(msg="could not create %s: %s" % (path, to_native(error)),
                                     files=written, directories=made)
        if not module.check_mode:
            _attributes(module, path, entry, False)
        made.append(path)
    for entry in module.params["files"]:
        path, mode = entry["path"], _mode(module, entry["path"], entry["mode"])
        data = base64.b64decode(entry["content"])
        same = _holds(path, data)
        if same and not _differs(path, entry, mode):
            continue
        if not same and module._diff:
            diffs.append(_diff(path, data))
        if not module.check_mode:
            if same:
                _attributes(module, path, entry, False)
            else:
                refused = _write(module, path, data, entry)
                if refused:
                    module.fail_json(msg="failed to validate %s" % path, exit_status=refused[0], stdout=refused[1],
                                     stderr=refused[2], files=written, directories=made)
        written.append(path)
    result = dict(changed=bool(written or made), files=written, directories=made)
    if diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
