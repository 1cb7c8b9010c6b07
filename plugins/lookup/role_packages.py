# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: role_packages
short_description: The packages roles of this collection install, as each role would install them
version_added: 2.0.0
description:
  - For each role named, its C(<role>_packages) - the value the inventory or the play gives it, else the role's
    default (C(roles/<role>/defaults/main.yml)) rendered with the role's other defaults and the play's variables.
  - Returns one list, each package once, in the order the roles are named, so that a playbook can install the
    packages of several roles in one apt transaction before they run (C(playbooks/site.yml) does).
options:
  _terms:
    description: Role names of this collection (without the collection's prefix); lists are flattened.
    required: true
    type: list
    elements: str
author:
  - integration.demoapp maintainers (@integration)
"""

EXAMPLES = r"""
- name: Install the packages of two roles in one transaction
  integration.demoapp.packages:
    name: "{{ lookup('integration.demoapp.role_packages', 'postgresql', 'operations') }}"
"""

RETURN = r"""
_raw:
  description: One list of package names.
  type: list
  elements: list
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

try:  # ansible-core 2.19+: a role's defaults are templates Ansible trusts; say so for the value read here
    from ansible.template import trust_as_template
except ImportError:  # before 2.19, every string is templated
    def trust_as_template(value):
        return value

ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        names = []
        for role in _flattened(terms):
            defaults_file = os.path.join(ROLES, str(role), "defaults", "main.yml")
            if not os.path.isfile(defaults_file):
                raise AnsibleLookupError("role_packages: %s is not a role of this collection" % role)
            defaults = self._loader.load_from_file(defaults_file) or {}
            key = "%s_packages" % role
            if key not in defaults:
                raise AnsibleLookupError("role_packages: the role %s has no %s" % (role, key))
            value = variables[key] if key in variables else defaults[key]
            if isinstance(value, str):
                value = trust_as_template(value)
            templar = self._templar.copy_with_new_env(available_variables=dict(defaults, **variables))
            packages = templar.template(value)
            if isinstance(packages, str):
                packages = [packages]
            for name in packages:
                if name not in names:
                    names.append(name)
        return [names]


def _flattened(terms):
    for term in terms:
        if isinstance(term, (list, tuple)):
            yield from _flattened(term)
        else:
            yield term
