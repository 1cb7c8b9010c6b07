#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: packages
short_description: Install Debian packages with apt, with a dry run that works on a new server
version_added: 2.0.0
description:
  - Runs M(ansible.builtin.apt) (O(name) with C(state=present), or O(upgrade)); a real run behaves exactly like it,
    and installs C(python3-apt) itself when it is missing.
  - In check mode on a server without C(python3-apt), where M(ansible.builtin.apt) can only fail, it reads the
    package list with C(dpkg-query) instead, reports the packages it would install as a change (with a diff),
    and says once that the dry run is approximate until C(python3-apt) is installed. Nothing is changed.
  - When every package in O(name) is already installed (plain package names only, with no version, glob or
    architecture), one C(dpkg-query) answers and apt is not run at all, nor is its index refreshed;
    O(update_cache) then only matters for packages that are missing. This is what makes a re-run cheap, as
    apt opens its whole cache on every call while C(dpkg-query) reads the status of the named packages only.
  - The roles of this collection install their packages with it, so C(--check --diff) completes on a server
    that was never converged.
  - Each role of this collection lists its packages in one variable, C(<role>_packages);
    C(playbooks/site.yml) installs those of the base roles in one transaction before they run.
options:
  name:
    description: Packages that must be installed.
    type: list
    elements: str
  update_cache:
    description: Refresh the package index first (see M(ansible.builtin.apt)).
    type: bool
    default: false
  cache_valid_time:
    description: Refresh only if the index is older than this many seconds.
    type: int
    default: 0
  upgrade:
    description:
      - Upgrade installed packages (see M(ansible.builtin.apt)).
      - Not evaluated in a dry run without C(python3-apt).
    type: str
    choices: ["no", "yes", safe, full, dist]
attributes:
  check_mode:
    support: full
    description: Dry run through apt, or through dpkg-query where python3-apt is missing.
  diff_mode:
    support: partial
    description: The packages that would be installed, in a dry run without python3-apt.
author:
  - integration.demoapp maintainers (@integration)
"""

EXAMPLES = r"""
- name: Install OpenSSH server
  integration.demoapp.packages:
    name: [openssh-server]
    update_cache: true
    cache_valid_time: 3600
"""

RETURN = r"""
all_installed:
  description: True when every package in O(name) was already installed, so apt was not run.
  returned: when every package was already installed
  type: bool
  sample: true
missing:
  description: Packages a dry run without python3-apt found missing (they would be installed).
  returned: in check mode without python3-apt
  type: list
  elements: str
  sample: [openssh-server]
dry_run_without_python_apt:
  description: True when the result comes from dpkg-query because python3-apt is missing.
  returned: in check mode without python3-apt
  type: bool
"""
