# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for integration.demoapp.packages: ansible.builtin.apt, and a dry run that works without python3-apt."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible.plugins.action import ActionBase

APT_OPTIONS = ("name", "update_cache", "cache_valid_time", "upgrade")
NO_PYTHON_APT = "must be installed to use check mode"
# Names that are exactly one package (no version, release, glob or architecture): those dpkg can answer for.
PLAIN_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
DRY_RUN_NOTE = ("python3-apt is not installed, so this dry run reads the package list with dpkg-query instead "
                "of apt (a real run installs python3-apt first; 'apt-get install python3-apt' makes dry runs exact)")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(APT_OPTIONS)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict((k, v) for k, v in self._task.args.items() if k in APT_OPTIONS)
        if "name" in args:
            args["state"] = "present"
        names, missing = self._names(args), None
        if names and not args.get("upgrade") and all(PLAIN_NAME.match(n) for n in names):
            # Every package already installed: one dpkg-query answers, apt (and its index refresh) is not needed.
            missing = self._missing(names)
            if not missing:
                result.update(changed=False, all_installed=True, msg="all installed: %s" % ", ".join(names))
                return result
        result.update(self._execute_module(module_name="ansible.builtin.apt", module_args=args, task_vars=task_vars))
        if not (self._task.check_mode and result.get("failed") and NO_PYTHON_APT in result.get("msg", "")):
            return result
        return self._dry_run_without_python_apt(args, missing)

    @staticmethod
    def _names(args):
        names = args.get("name") or []
        return [names] if isinstance(names, str) else list(names)

    def _missing(self, names):
        """The packages of names that dpkg does not list as installed."""
        command = "dpkg-query -W -f='${Package} ${db:Status-Status}\\n' %s 2>/dev/null; true" % " ".join(
            shlex.quote(n) for n in names)
        output = self._low_level_execute_command(command, sudoable=False)
        installed = set(line.split()[0] for line in output.get("stdout", "").splitlines()
                        if line.endswith(" installed"))
        return [n for n in names if n not in installed]

    def _dry_run_without_python_apt(self, args, missing=None):
        """What apt would do, read with dpkg-query (unless already read): the missing packages would be installed."""
        names = self._names(args)
        result = dict(changed=False, warnings=[DRY_RUN_NOTE], dry_run_without_python_apt=True)
        if args.get("upgrade"):
            result.update(changed=True, msg="upgrade not evaluated in this dry run")
        if not names:
            return result
        if missing is None:
            missing = self._missing(names)
        result.update(changed=bool(missing), missing=missing,
                      msg=("would install: %s" % ", ".join(missing)) if missing else "all installed",
                      diff=dict(before="", after="".join(n + "\n" for n in missing)))
        return result
