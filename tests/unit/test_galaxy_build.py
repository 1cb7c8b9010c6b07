"""The collection builds, installs into a fresh collections path, and is usable by FQCN from there."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

PLAYBOOK = """
- name: Use two roles by FQCN with non-default variables
  hosts: localhost
  gather_facts: false
  roles:
    - role: integration.demoapp.cron
      vars:
        cron_hour: "3"
        cron_user: batchrunner
    - role: integration.demoapp.fail2ban
      vars:
        fail2ban_jails: [{name: sshd, maxretry: 3, bantime: 2h}]
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("galaxy")
    path = work / "collections"
    # A clean Ansible home: nothing of this checkout is visible except what gets installed.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(path), ANSIBLE_HOME=str(work / "home"))
    build = subprocess.run([BIN / "ansible-galaxy", "collection", "build", str(ROOT), "--output-path", str(work)],
                           capture_output=True, text=True, check=False, env=env)
    assert build.returncode == 0, build.stderr
    tarball = next(work.glob("integration-demoapp-*.tar.gz"))
    install = subprocess.run([BIN / "ansible-galaxy", "collection", "install", str(tarball), "-p", str(path),
                              "--no-deps", "--force"], capture_output=True, text=True, check=False, env=env)
    assert install.returncode == 0, install.stderr
    return path / "ansible_collections" / "integration" / "demoapp", env, work


def test_tarball_holds_the_collection_and_not_the_test_harness(installed):
    root, _env, _work = installed
    for wanted in ("roles/ssh_hardening/tasks/main.yml", "plugins/modules/pg_schema.py",
                   "plugins/module_utils/postgres.py", "files/app/app.py", "playbooks/site.yml", "MANIFEST.json"):
        assert (root / wanted).is_file(), wanted
    for unwanted in ("molecule", "scripts", ".ci", "collections", "tests/unit", ".ruff_cache", ".cache"):
        assert not (root / unwanted).exists(), unwanted


def test_modules_render_in_ansible_doc_from_the_install(installed):
    _root, env, _work = installed
    for module in ("integration.demoapp.pg_schema", "integration.demoapp.sshd_effective_config"):
        proc = subprocess.run([BIN / "ansible-doc", module], capture_output=True, text=True, env=env, check=False)
        assert proc.returncode == 0 and "EXAMPLES" in proc.stdout, proc.stderr


def test_playbook_using_two_roles_by_fqcn_parses(installed):
    _root, env, work = installed
    playbook = work / "uses_roles.yml"
    playbook.write_text(PLAYBOOK)
    proc = subprocess.run([BIN / "ansible-playbook", "--syntax-check", "-i", "localhost,", str(playbook)],
                          capture_output=True, text=True, env=env, check=False, cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_site_playbook_is_importable_by_fqcn(installed):
    _root, env, work = installed
    playbook = work / "site_by_fqcn.yml"
    playbook.write_text("- name: Site\n  ansible.builtin.import_playbook: integration.demoapp.site\n")
    proc = subprocess.run([BIN / "ansible-playbook", "--syntax-check", "-i", "localhost,", str(playbook)],
                          capture_output=True, text=True, env=env, check=False, cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
