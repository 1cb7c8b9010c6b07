#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: sshd_effective_config
short_description: Read the configuration sshd really runs with, and check it
version_added: 1.0.0
description:
  - Runs C(sshd -T) and returns the effective configuration, after every C(Include)
    and drop-in file has been applied (the first value sshd reads wins).
  - With O(expect), compares the effective values with the wanted ones and fails
    listing every keyword that differs.
  - Reports lines of drop-in files that set an expected keyword to another value,
    so a drop-in shipped by a cloud image cannot silently re-enable passwords.
  - Never changes anything on the host.
author:
  - integration.demoapp maintainers (@integration)
options:
  config:
    description: Main configuration file to evaluate.
    type: path
    default: /etc/ssh/sshd_config
  connection:
    description:
      - Connection specification for C(sshd -T -C), for example
        C(user=appadmin,host=client,addr=192.0.2.10), so that C(Match) blocks are evaluated.
    type: str
  expect:
    description: Keyword/value pairs the effective configuration must have (keywords case-insensitive).
    type: dict
    default: {}
  dropin_dir:
    description: Directory of drop-in files to scan for conflicting values of the O(expect) keywords.
    type: path
    default: /etc/ssh/sshd_config.d
  fail_on_mismatch:
    description: Fail when an expected value differs; otherwise only return the mismatches.
    type: bool
    default: true
  sshd:
    description: Path of the sshd binary.
    type: path
    default: /usr/sbin/sshd
extends_documentation_fragment:
  - integration.demoapp.read_only
notes:
  - Needs root (sshd reads the host keys) and the privilege separation directory C(/run/sshd).
"""

EXAMPLES = r"""
- name: Fail unless passwords and root logins are off for real
  integration.demoapp.sshd_effective_config:
    expect:
      PasswordAuthentication: "no"
      PermitRootLogin: "no"

- name: Effective settings for one user, Match blocks included
  integration.demoapp.sshd_effective_config:
    connection: user=appadmin,host=admin-laptop,addr=192.0.2.10
  register: sshd

- name: Show the key exchange algorithms in use
  ansible.builtin.debug:
    msg: "{{ sshd.config.kexalgorithms }}"
"""

RETURN = r"""
config:
  description: Effective configuration; keywords in lower case, repeated keywords as lists.
  returned: success
  type: dict
  sample: {"passwordauthentication": "no", "port": ["22"], "permitrootlogin": "no"}
mismatches:
  description: Expected keywords whose effective value differs.
  returned: always
  type: list
  elements: dict
  sample: [{"keyword": "passwordauthentication", "expected": "no", "effective": "yes"}]
dropin_conflicts:
  description: Drop-in lines that set an expected keyword to another value (overridden by the main file or not).
  returned: always
  type: list
  elements: dict
  sample: [{"file": "/etc/ssh/sshd_config.d/50-cloud-init.conf", "line": 1,
            "keyword": "passwordauthentication", "value": "yes", "expected": "no"}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.integration.demoapp.plugins.module_utils.sshd import (
    dropin_conflicts,
    mismatches,
    parse_sshd_t,
)


def run_sshd_t(module):
    """Run sshd -T and return its parsed output (fails the module on error)."""
    cmd = [module.params["sshd"], "-T", "-f", module.params["config"]]
    if module.params["connection"]:
        cmd += ["-C", module.params["connection"]]
    rc, out, err = module.run_command(cmd)
    if rc != 0:
        module.fail_json(msg="sshd -T failed: %s" % (err.strip() or out.strip()), rc=rc, cmd=cmd)
    return parse_sshd_t(out)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type="path", default="/etc/ssh/sshd_config"),
            connection=dict(type="str"),
            expect=dict(type="dict", default={}),
            dropin_dir=dict(type="path", default="/etc/ssh/sshd_config.d"),
            fail_on_mismatch=dict(type="bool", default=True),
            sshd=dict(type="path", default="/usr/sbin/sshd"),
        ),
        supports_check_mode=True,
    )
    expect = module.params["expect"]
    config = run_sshd_t(module)
    found = mismatches(config, expect)
    conflicts = dropin_conflicts(module.params["dropin_dir"], expect)
    for item in conflicts:
        module.warn("%s:%s sets %s %s (wanted %s); the managed value comes first and wins"
                    % (item["file"], item["line"], item["keyword"], item["value"], item["expected"]))
    result = dict(changed=False, config=config, mismatches=found, dropin_conflicts=conflicts)
    if found and module.params["fail_on_mismatch"]:
        detail = "; ".join("%s is %s, expected %s" % (m["keyword"], m["effective"], m["expected"])
                           for m in found)
        module.fail_json(msg="effective sshd configuration differs: " + detail, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
