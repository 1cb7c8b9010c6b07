#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: rollback_copies
short_description: Keep copies of files about to change, for a rollback
version_added: 2.0.0
description:
  - Copies each file of O(paths), and the C(~/.ssh/authorized_keys) of each account of O(key_owners), into O(dir)
    (created C(root:root 0700)), keeping owner, mode and times. The copy of C(/etc/ssh/sshd_config) is
    C(<dir>/%etc%ssh%sshd_config) (each C(/) becomes C(%)).
  - Returns which files existed, so that a rollback can put back the ones that did and remove the ones that did not.
  - A file already kept by this run (O(skip)) is not copied again, so the first copy of a run wins.
  - Used by the internal role integration.demoapp.access_guard before app_account, ssh_hardening and firewall
    change who can log in.
author:
  - integration.demoapp maintainers (@integration)
options:
  dir:
    description: Directory that holds the copies.
    type: path
    required: true
  paths:
    description: Files to keep.
    type: list
    elements: path
    default: []
  key_owners:
    description: Accounts whose C(~/.ssh/authorized_keys) is kept (an account that does not exist is skipped).
    type: list
    elements: str
    default: []
  skip:
    description: Files kept earlier in the run, not copied again.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
    description: Copies nothing; returns which files exist.
  diff_mode:
    support: none
    description: A copy for a rollback changes nothing on the system.
notes:
  - Always returns C(changed=false) - a copy kept for a rollback is not a change to the system.
"""

EXAMPLES = r"""
- name: Keep sshd_config and the admins' keys before changing them
  integration.demoapp.rollback_copies:
    dir: /var/lib/integration-demoapp/access-guard
    paths: [/etc/ssh/sshd_config]
    key_owners: [appadmin]
  register: kept
"""

RETURN = r"""
files:
  description: Each file considered (not in O(skip)), C(true) when it was kept, C(false) when it did not exist.
  returned: always
  type: dict
  sample: {"/etc/ssh/sshd_config": true, "/home/appadmin/.ssh/authorized_keys": false}
"""

import os
import pwd
import shutil

from ansible.module_utils.basic import AnsibleModule


def copy_name(directory, path):
    """Where the copy of path lives: <dir>/%etc%ssh%sshd_config for /etc/ssh/sshd_config."""
    return os.path.join(directory, path.replace("/", "%"))


def key_files(owners):
    """~/.ssh/authorized_keys of each account that exists and has a home."""
    files = []
    for owner in owners:
        try:
            home = pwd.getpwnam(owner).pw_dir
        except KeyError:
            continue
        if home:
            files.append(os.path.join(home, ".ssh", "authorized_keys"))
    return files


def main():
    module = AnsibleModule(
        argument_spec=dict(dir=dict(type="path", required=True),
                           paths=dict(type="list", elements="path", default=[]),
                           key_owners=dict(type="list", elements="str", default=[], no_log=False),
                           skip=dict(type="list", elements="path", default=[])),
        supports_check_mode=True,
    )
    p = module.params
    wanted = [f for f in p["paths"] + key_files(p["key_owners"]) if f not in p["skip"]]
    files = dict((f, os.path.exists(f)) for f in wanted)
    if not module.check_mode:
        try:
            os.makedirs(p["dir"], mode=0o700, exist_ok=True)
            os.chown(p["dir"], 0, 0)
            os.chmod(p["dir"], 0o700)
            for path, exists in files.items():
                if exists:
                    shutil.copy2(path, copy_name(p["dir"], path))
                    stat = os.stat(path)
                    os.chown(copy_name(p["dir"], path), stat.st_uid, stat.st_gid)
        except OSError as exc:
            module.fail_json(msg="cannot keep a copy in %s: %s" % (p["dir"], exc), files=files)
    module.exit_json(changed=False, files=files)


if __name__ == "__main__":
    main()
