"""integration.demoapp.install_files and the packages fast path, in real ansible-playbook runs (local connection)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def play(collection_path, tmp_path, task, *options):
    """Run one task of this collection on localhost; returns (rc, its registered result, the output).

    The task may fail (ignore_errors): its result, failed or not, is what the tests read."""
    (tmp_path / "play.yml").write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False,
        "tasks": [dict(task, register="result", ignore_errors=True),
                  {"ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(tmp_path / "result.json")},
                   "check_mode": False}]}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection_path), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", *options, str(tmp_path / "play.yml")],
                          capture_output=True, text=True, env=env, check=False)
    result = json.loads((tmp_path / "result.json").read_text()) if (tmp_path / "result.json").exists() else {}
    (tmp_path / "result.json").unlink(missing_ok=True)
    return proc.returncode, result, proc.stdout + proc.stderr


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "src"
    (src / "pkg" / "__pycache__").mkdir(parents=True)
    (src / "manage.py").write_text("print('manage')\n")
    (src / "pkg" / "views.py").write_text("VIEWS = 1\n")
    (src / "pkg" / "__pycache__" / "views.cpython-311.pyc").write_bytes(b"\0compiled")
    (tmp_path / "backup.py").write_text("print('backup')\n")
    return src


def install(tree, dest):
    return {"integration.demoapp.install_files": {
        "src": [f"{tree}/", str(tree.parent / "backup.py")], "dest": str(dest), "modes": {"backup.py": "0750"}}}


def modes(dest):
    return {str(p.relative_to(dest)): oct(p.stat().st_mode & 0o7777) for p in sorted(dest.rglob("*"))}


def test_install_files_installs_a_tree_then_changes_nothing(collection_path, tmp_path, tree):
    dest = tmp_path / "dest"
    rc, result, out = play(collection_path, tmp_path, install(tree, dest))
    assert rc == 0 and result["changed"], out
    assert modes(dest) == {"backup.py": "0o750", "manage.py": "0o644", "pkg": "0o755", "pkg/views.py": "0o644"}
    assert (dest / "pkg" / "views.py").read_text() == "VIEWS = 1\n"
    assert sorted(result["files"]) == sorted(str(dest / f) for f in ("backup.py", "manage.py", "pkg/views.py"))

    rc, result, out = play(collection_path, tmp_path, install(tree, dest))
    assert rc == 0 and not result["changed"] and result["files"] == [] and result["directories"] == [], out


def test_install_files_puts_back_what_drifted_and_check_mode_only_reports_it(collection_path, tmp_path, tree):
    dest = tmp_path / "dest"
    assert play(collection_path, tmp_path, install(tree, dest))[0] == 0
    (dest / "pkg" / "views.py").write_text("tampered\n")
    (dest / "manage.py").chmod(0o666)
    (dest / "local-only.txt").write_text("not ours\n")

    rc, result, out = play(collection_path, tmp_path, install(tree, dest), "--check", "--diff")
    assert rc == 0 and result["changed"], out
    assert sorted(result["files"]) == [str(dest / "manage.py"), str(dest / "pkg" / "views.py")]
    assert "-tampered" in out and "+VIEWS = 1" in out, out
    assert (dest / "pkg" / "views.py").read_text() == "tampered\n" and modes(dest)["manage.py"] == "0o666"

    rc, result, out = play(collection_path, tmp_path, install(tree, dest))
    assert rc == 0 and result["changed"], out
    assert (dest / "pkg" / "views.py").read_text() == "VIEWS = 1\n" and modes(dest)["manage.py"] == "0o644"
    assert (dest / "local-only.txt").read_text() == "not ours\n"  # nothing is ever deleted


@pytest.mark.parametrize("args, message", [
    ({"dest": "relative/dir"}, "dest must be an absolute directory path"),
    ({"mode": "rw-r--r--"}, "mode must be an octal mode"),
    ({"modes": {"missing.py": "0755"}}, "modes names files that src does not hold: missing.py"),
    ({"files": [{"content": "x", "dest": "/etc/x"}]}, "files lists each file with its own dest: src, dest, modes"),
])
def test_install_files_refuses_bad_values_before_any_change(collection_path, tmp_path, tree, args, message):
    task = install(tree, tmp_path / "dest")
    task["integration.demoapp.install_files"].update(args)
    _rc, result, out = play(collection_path, tmp_path, task)
    assert result.get("failed") and message in result.get("msg", ""), out
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize("entry, message", [
    ({"content": "x", "dest": "relative/api.env"}, "files[1]: dest must be the absolute path of a file"),
    ({"content": "x", "dest": "/etc/job/../api.env"}, "files[1]: dest must be the absolute path of a file"),
    ({"dest": "/etc/job/api.env"}, "/etc/job/api.env): give one of template, src or content"),
    ({"content": "x", "src": "y", "dest": "/etc/job/api.env"}, "give one of template, src or content"),
    ({"content": "x", "dest": "/etc/job/api.env", "validate": "true"}, "files[1].validate must be a command"),
    ({"content": "x", "dest": "/etc/job/api.env", "owner": "root"}, "files[1]: a file is a dictionary of template"),
])
def test_install_files_refuses_a_bad_file_before_any_change(collection_path, tmp_path, entry, message):
    entry = dict(entry, dest=entry["dest"].replace("/etc", str(tmp_path / "etc"))) if entry["dest"].startswith("/") \
        else entry
    _rc, result, out = play(collection_path, tmp_path, {"integration.demoapp.install_files": {"files": [entry]}})
    assert result.get("failed") and message in result.get("msg", ""), out
    assert not (tmp_path / "etc").exists()


def test_install_files_writes_listed_files_then_changes_nothing_and_puts_back_a_drift(collection_path, tmp_path):
    dest = tmp_path / "etc-job"
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "unit.j2").write_text("[Service]\nUser={{ job_user }}\n")
    task = {"integration.demoapp.install_files": {"files": [
        {"content": "TOKEN=secret\n", "dest": f"{dest}/api.env", "mode": "0600"},
        {"content": "PEM\n", "dest": f"{dest}/api-ca.pem"},
        {"template": "unit.j2", "dest": f"{dest}/job.service"}]},
        "vars": {"job_user": "reporter"}, "no_log": True}
    rc, result, out = play(collection_path, tmp_path, task)
    assert rc == 0 and result["changed"], out
    assert (dest / "api.env").read_text() == "TOKEN=secret\n"
    assert (dest / "job.service").read_text() == "[Service]\nUser=reporter\n"  # rendered as template renders it
    assert modes(dest) == {"api-ca.pem": "0o644", "api.env": "0o600", "job.service": "0o644"}
    assert "secret" not in out

    assert play(collection_path, tmp_path, task)[1]["changed"] is False
    (dest / "api.env").write_text("TOKEN=stolen\n")
    rc, result, out = play(collection_path, tmp_path, task)
    assert rc == 0 and result["changed"] and (dest / "api.env").read_text() == "TOKEN=secret\n", out


def test_install_files_creates_only_the_missing_directories_on_the_way(collection_path, tmp_path):
    dest = tmp_path / "etc"
    (dest / "cron.d").mkdir(parents=True)
    (dest / "cron.d").chmod(0o700)  # an existing directory keeps its own mode
    (dest / "cron.d" / "other").write_text("not ours\n")
    task = {"integration.demoapp.install_files": {"files": [
        {"content": "* * * * * root true\n", "dest": f"{dest}/cron.d/job"},
        {"content": "URL=x\n", "dest": f"{dest}/job/api.env"},
        {"content": "Authorised only\n", "dest": f"{dest}/issue"}]}}
    rc, result, out = play(collection_path, tmp_path, task, "--check")
    assert rc == 0 and result["changed"] and not (dest / "issue").exists() and not (dest / "job").exists(), out

    rc, result, out = play(collection_path, tmp_path, task)
    assert rc == 0 and result["changed"], out
    assert result["directories"] == [str(dest / "job")]
    assert modes(dest) == {"cron.d": "0o700", "cron.d/job": "0o644", "cron.d/other": "0o644", "issue": "0o644",
                           "job": "0o755", "job/api.env": "0o644"}
    assert (dest / "cron.d" / "job").read_text() == "* * * * * root true\n"
    assert (dest / "cron.d" / "other").read_text() == "not ours\n"
    assert "WARNING" not in out, out

    rc, result, out = play(collection_path, tmp_path, task)
    assert rc == 0 and not result["changed"] and result["files"] == [], out
    (dest / "job" / "api.env").write_text("URL=stolen\n")
    rc, result, out = play(collection_path, tmp_path, task)
    assert rc == 0 and result["files"] == [str(dest / "job" / "api.env")], out
    assert (dest / "job" / "api.env").read_text() == "URL=x\n"


def test_install_files_validate_keeps_the_old_file_when_the_candidate_is_refused(collection_path, tmp_path):
    dest = tmp_path / "etc"
    dest.mkdir()
    (dest / "site.conf").write_text("good\n")

    def task(text):
        return {"integration.demoapp.install_files": {"files": [
            {"content": text, "dest": f"{dest}/site.conf", "validate": "grep -q ^good %s"},
            {"content": "free text\n", "dest": f"{dest}/notes.txt"}]}}

    rc, result, out = play(collection_path, tmp_path, task("bad\n"))
    assert rc != 0 or result.get("failed"), out
    assert result.get("failed") and (dest / "site.conf").read_text() == "good\n", out
    assert sorted(p.name for p in dest.iterdir()) == ["notes.txt", "site.conf"]  # no candidate left behind

    rc, result, out = play(collection_path, tmp_path, task("good again\n"))
    assert rc == 0 and result["files"] == [str(dest / "site.conf")], out
    assert (dest / "site.conf").read_text() == "good again\n" and (dest / "notes.txt").read_text() == "free text\n"


def test_packages_answers_from_dpkg_when_everything_is_installed(collection_path, tmp_path):
    # dpkg and coreutils are on every Debian system, this controller included.
    task = {"integration.demoapp.packages": {"name": ["dpkg", "coreutils"], "update_cache": True}}
    rc, result, out = play(collection_path, tmp_path, task, "--check")
    assert rc == 0 and result.get("all_installed") is True and not result["changed"], out


def test_packages_asks_apt_when_a_package_is_missing(collection_path, tmp_path):
    # A package that is not installed is never answered by dpkg alone: apt (or its dry run) decides.
    task = {"integration.demoapp.packages": {"name": ["dpkg", "demoapp-no-such-package"]}}
    _rc, result, out = play(collection_path, tmp_path, task, "--check")
    assert result and "all_installed" not in result, out
    assert "demoapp-no-such-package" in json.dumps(result), out  # apt's answer names it


def test_the_checkouts_ansible_cfg_pipelines_every_connection_not_only_ssh(tmp_path):
    # The demo runs over the docker connection: without pipelining each module is put into the host as a file.
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, ANSIBLE_CONFIG=str(root / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=str(tmp_path), ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / "facts"))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                           "-m", "ansible.builtin.ping", "-e", f"ansible_python_interpreter={sys.executable}", "-vvv"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 0 and "ping: pong" in proc.stdout, proc.stdout + proc.stderr
    assert " PUT " not in proc.stdout, proc.stdout
