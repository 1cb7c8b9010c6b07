# -*- coding: utf-8 -*-
# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for integration.demoapp.install_files: one probe of the destination, copies only where it differs.

Two ways: a tree (src, dest) or a list of files (files: entries shaped like template and copy tasks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader
from ansible.utils.hashing import checksum_s

OPTIONS = ("src", "dest", "files", "owner", "group", "mode", "directory_mode", "modes")
TREE_ONLY = ("src", "dest", "directory_mode", "modes")
ENTRY_KEYS = ("template", "src", "content", "dest", "mode", "validate")


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(OPTIONS)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        owner, group = args.get("owner"), args.get("group")
        mode = self._mode("mode", args.get("mode", "0644"))
        directory_mode = self._mode("directory_mode", args.get("directory_mode", "0755"))
        if "files" in args:
            dest, files, directories = "/", {}, ["."]
            contents, modes, validate = self._listed(args, task_vars)
        else:
            dest, files, directories, modes = self._tree(args, task_vars)
            contents, validate = {}, {}
        # Directories on the way to a text's file: created when missing, left as they are when present.
        on_the_way = sorted(set(up for name in contents for up in _ancestors(os.path.dirname(name)) if up)
                            - set(directories))

        # A tree from src is read whole; single files and texts are read by name (not the rest of dest).
        named = list(files) + list(contents) + on_the_way if directories == ["."] else None
        present = self._probe(dest, task_vars, named)
        result.update(changed=False, files=[], directories=[])
        diffs = []
        if present is None:  # dest is created; an existing dest keeps its own mode (the role that made it decides)
            present = {}
        else:
            directories.remove(".")
        # What differs, written in one run of integration.demoapp.write_files (nothing runs when all is in place).
        directory = dict(mode=directory_mode, owner=owner, group=group)
        paths = [dest if relative == "." else os.path.join(dest, relative) for relative in directories]
        make = [path for path in paths if self._differs(present.get(path), directory, isdir=True)]
        make += [path for path in (os.path.join(dest, relative) for relative in on_the_way) if path not in present]
        # Every file: (path relative to dest, its bytes, the checksum it will have).
        wanted = [(relative, _read(local)) for relative, local in files.items()]
        wanted += list(contents.items())
        write = []
        for relative, data in sorted(wanted, key=lambda entry: entry[0]):
            path = os.path.join(dest, relative)
            want = dict(mode=modes.get(relative, mode), owner=owner, group=group)
            if self._differs(present.get(path), want, checksum=checksum_s(data)):
                entry = dict(want, path=path, mode="%04o" % want["mode"], content=to_text(base64.b64encode(data)))
                write.append(dict(entry, validate=validate[relative]) if relative in validate else entry)
        if make or write:
            step = self._execute_module(module_name="integration.demoapp.write_files", task_vars=task_vars,
                                        module_args=dict(files=write, directories=[
                                            dict(directory, path=path, mode="%04o" % directory_mode) for path in make]))
            result.update(files=step.get("files", []), directories=step.get("directories", []))
            self._apply(result, step, diffs)
        if diffs:
            result["diff"] = diffs
        result["msg"] = ("%s: %d file(s) and %d director(ies) %s" % (
            dest, len(result["files"]), len(result["directories"]),
            "would change" if self._task.check_mode else "changed")) if result["changed"] else "%s: all in place" % dest
        return result

    def _listed(self, args, task_vars):
        """files: every file by its path under /; only those (and the directories on their way) are read."""
        mixed = [option for option in TREE_ONLY if option in args]
        if mixed:
            raise AnsibleActionFail("files lists each file with its own dest: %s cannot go with it" % ", ".join(mixed))
        return self._entries(args["files"], task_vars)

    def _tree(self, args, task_vars):
        """src and dest: (dest, {relative path: controller path}, relative directories, {relative path: mode})."""
        dest = args.get("dest")
        if not dest or not os.path.isabs(dest):
            raise AnsibleActionFail("dest must be an absolute directory path, not %r" % (dest,))
        if not args.get("src"):
            raise AnsibleActionFail("src (a tree for dest) or files (each with its dest) is required")
        files, directories = self._wanted(args.get("src"), task_vars)
        modes = dict((k, self._mode("modes[%s]" % k, v)) for k, v in (args.get("modes") or {}).items())
        unknown = sorted(set(modes) - set(files))
        if unknown:
            raise AnsibleActionFail("modes names files that src does not hold: %s" % ", ".join(unknown))
        return dest.rstrip("/") or "/", files, directories, modes

    @staticmethod
    def _mode(name, value):
        try:
            number = int(str(value), 8)
        except ValueError:
            number = -1
        if not 0 <= number <= 0o7777:
            raise AnsibleActionFail("%s must be an octal mode such as '0644', not %r" % (name, value))
        return number

    def _entries(self, entries, task_vars):
        """From files: ({path under /: bytes}, {path: mode}, {path: validate command}), each entry checked."""
        if not isinstance(entries, list) or not entries:
            raise AnsibleActionFail("files must be a non-empty list of files, each with dest and one of template, "
                                    "src or content")
        contents, modes, validate = {}, {}, {}
        for number, entry in enumerate(entries, 1):
            where = "files[%d]" % number
            if not isinstance(entry, dict) or set(entry) - set(ENTRY_KEYS):
                raise AnsibleActionFail("%s: a file is a dictionary of %s" % (where, ", ".join(ENTRY_KEYS)))
            path = entry.get("dest")
            if not isinstance(path, str) or not os.path.isabs(path) or path.endswith("/") or \
                    any(part in (".", "..") for part in path.split("/")):
                raise AnsibleActionFail("%s: dest must be the absolute path of a file, not %r" % (where, path))
            name = path.lstrip("/")
            if name in contents:
                raise AnsibleActionFail("%s: %s is listed twice" % (where, path))
            given = [key for key in ("template", "src", "content") if key in entry]
            if len(given) != 1:
                raise AnsibleActionFail("%s (%s): give one of template, src or content" % (where, path))
            contents[name] = self._data(given[0], entry[given[0]], task_vars, where)
            if "mode" in entry:
                modes[name] = self._mode("%s.mode" % where, entry["mode"])
            if entry.get("validate") is not None:
                if not isinstance(entry["validate"], str) or "%s" not in entry["validate"]:
                    raise AnsibleActionFail("%s.validate must be a command holding %%s (the candidate file)" % where)
                validate[name] = entry["validate"]
        return contents, modes, validate

    def _data(self, kind, value, task_vars, where):
        """The bytes of one file: a role template rendered as ansible.builtin.template does, a controller file, or a
        text."""
        if not isinstance(value, str):
            raise AnsibleActionFail("%s.%s must be a text" % (where, kind))
        if kind == "content":
            return to_bytes(value, errors="surrogate_or_strict")
        if kind == "src":
            return _read(self._find_needle("files", value))
        variables = dict(task_vars, ansible_search_path=self._task.get_search_path())
        lookup = lookup_loader.get("ansible.builtin.template", loader=self._loader, templar=self._templar)
        return to_bytes(lookup.run([value], variables=variables)[0], errors="surrogate_or_strict")

    def _wanted(self, sources, task_vars):
        """{relative path: controller path} of every file, and the relative directories, from src."""
        if isinstance(sources, str):
            sources = [sources]
        if not sources:
            raise AnsibleActionFail("src must name at least one file or directory on the controller")
        files, directories = {}, ["."]
        for source in sources:
            local = self._find_needle("files", source)
            if not os.path.isdir(local):
                files[os.path.basename(local)] = local
                continue
            for root, dirs, names in os.walk(local):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                relative_root = os.path.relpath(root, local)
                if relative_root != ".":
                    directories.append(relative_root)
                for name in sorted(names):
                    if not name.endswith((".pyc", ".pyo")):
                        files[os.path.normpath(os.path.join(relative_root, name))] = os.path.join(root, name)
        return files, directories

    def _probe(self, dest, task_vars, named=None):
        """What is in dest now, read in one round trip: {path: find's description}; None when dest is no directory.

        With named (paths relative to dest), only those and nothing else of dest are read."""
        args = dict(paths=[dest], recurse=True, hidden=True, file_type="any", get_checksum=True)
        if named is not None:
            directories = sorted(set(os.path.dirname(name) for name in named))
            names = sorted(set(os.path.basename(name) for name in named))
            args.update(paths=[os.path.join(dest, d) if d else dest for d in directories], recurse=False,
                        use_regex=True, patterns=["^%s$" % re.escape(name) for name in names])
        found = self._execute_module(module_name="ansible.legacy.find", task_vars=task_vars, module_args=args)
        if found.get("failed"):
            raise AnsibleActionFail("could not read %s: %s" % (dest, found.get("msg", "")))
        if dest in (found.get("skipped_paths") or {}):
            return None
        return dict((f["path"], f) for f in found.get("files", []))

    @staticmethod
    def _differs(found, want, checksum=None, isdir=False):
        """Whether what find found at a path is not what is wanted there (mode, owner, group, content)."""
        if not found or bool(found.get("isdir")) != isdir or int(found.get("mode", "0"), 8) != want["mode"]:
            return True
        if (want["owner"] and want["owner"] not in (found.get("pw_name"), str(found.get("uid")))) or \
                (want["group"] and want["group"] not in (found.get("gr_name"), str(found.get("gid")))):
            return True
        return not isdir and (found.get("islnk") or found.get("checksum") != checksum)

    @staticmethod
    def _apply(result, step, diffs):
        if step.get("failed"):
            raise AnsibleActionFail(to_text(step.get("msg", "writing the files failed")), result=step)
        result["changed"] = result["changed"] or bool(step.get("changed"))
        diff = step.get("diff")
        if diff:
            diffs.extend(diff if isinstance(diff, list) else [diff])


def _read(local):
    with open(local, "rb") as handle:
        return handle.read()


def _ancestors(name):
    """The relative path itself and every path above it: 'a/b/c' -> ['a/b/c', 'a/b', 'a']; '' -> []."""
    parts = name.split("/") if name else []
    return ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]
