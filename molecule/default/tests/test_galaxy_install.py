"""The collection as users get it: built, installed into a fresh collections path, used by FQCN.

A playbook outside this checkout applies two roles of the installed copy with
non-default variables to the client container, which then has to show them.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import INVENTORY

ROOT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
BIN = Path(sys.executable).parent

PLAYBOOK = """
- name: Two roles of the installed collection, by FQCN, with non-default variables
  hosts: clients
  roles:
    - role: integration.demoapp.app_account
      vars:
        app_account_admins: [{name: opsadmin, ssh_keys: []}]
        app_account_name: reporter
        app_account_group: reporter
        app_account_home: /srv/reporter
        app_account_log_dir: /var/log/reporter
    - role: integration.demoapp.cron
      vars:
        cron_user: reporter
        cron_hour: "3"
        cron_minute: "30"
        cron_command: /usr/bin/logger -t reporter scheduled
        cron_output_file: /var/log/reporter/cron.log
        cron_logrotate_paths: [/var/log/reporter/*.log]
        cron_logrotate_owner: reporter
        cron_logrotate_group: reporter
        cron_unit_name: reporter
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(collection root, environment seeing only the install, work dir)."""
    work = tmp_path_factory.mktemp("galaxy")
    path = work / "collections"
    # A clean Ansible home and collections path: nothing of this checkout is visible
    # except what gets installed (the `ansible` package's collections still are).
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(path), ANSIBLE_HOME=str(work / "home"), ANSIBLE_FORCE_COLOR="0")
    build = subprocess.run([BIN / "ansible-galaxy", "collection", "build", str(ROOT), "--output-path", str(work)],
                           capture_output=True, text=True, check=False, env=env, cwd=work)
    assert build.returncode == 0, build.stderr
    tarball = next(work.glob("integration-demoapp-*.tar.gz"))
    install = subprocess.run([BIN / "ansible-galaxy", "collection", "install", str(tarball), "-p", str(path),
                              "--no-deps", "--force"], capture_output=True, text=True, check=False, env=env, cwd=work)
    assert install.returncode == 0, install.stderr
    return path / "ansible_collections" / "integration" / "demoapp", env, work


def run(env, work, *args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False, env=env, cwd=work)


def test_tarball_holds_the_collection_and_not_the_test_harness(installed):
    root, _env, _work = installed
    for wanted in ("roles/ssh_hardening/tasks/main.yml", "plugins/modules/pg_schema.py",
                   "plugins/module_utils/postgres.py", "files/app/app.py", "playbooks/site.yml", "MANIFEST.json"):
        assert (root / wanted).is_file(), wanted
    for unwanted in ("molecule", "scripts", ".ci", "collections", "tests", ".ruff_cache", ".cache", ".venv",
                     "inventories", "ansible.cfg", "site.yml", "Makefile", "requirements.txt"):
        assert not (root / unwanted).exists(), unwanted


def test_only_the_installed_copy_is_visible(installed):
    root, env, work = installed
    listing = run(env, work, BIN / "ansible-galaxy", "collection", "list", "integration.demoapp")
    assert str(root.parents[2]) in listing.stdout and str(ROOT) not in listing.stdout, listing.stdout


def test_modules_render_in_ansible_doc_from_the_install(installed):
    _root, env, work = installed
    for module in ("integration.demoapp.pg_schema", "integration.demoapp.sshd_effective_config"):
        proc = run(env, work, BIN / "ansible-doc", module)
        assert proc.returncode == 0 and "EXAMPLES" in proc.stdout, proc.stderr


def test_site_playbook_is_importable_by_fqcn(installed):
    _root, env, work = installed
    playbook = work / "site_by_fqcn.yml"
    playbook.write_text("- name: Site\n  ansible.builtin.import_playbook: integration.demoapp.site\n")
    proc = run(env, work, BIN / "ansible-playbook", "--syntax-check", "-i", "localhost,", playbook)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_two_roles_by_fqcn_converge_a_host_with_non_default_variables(installed, client):
    _root, env, work = installed
    playbook = work / "uses_roles.yml"
    playbook.write_text(PLAYBOOK)
    for _run in ("converge", "idempotence"):
        proc = run(env, work, BIN / "ansible-playbook", "-i", INVENTORY, playbook)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    assert "changed=0" in proc.stdout.split("PLAY RECAP")[1], proc.stdout[-3000:]  # the second run

    account = client.user("reporter")
    assert (account.home, account.shell) == ("/srv/reporter", "/usr/sbin/nologin")
    assert "sudo" in client.user("opsadmin").groups
    assert ("30 3 * * * root /usr/local/lib/integration-demoapp/run-confined reporter.service "
            ">> /var/log/reporter/cron.log 2>&1") in client.file("/etc/cron.d/reporter").content_string
    unit = client.file("/etc/systemd/system/reporter.service").content_string
    assert "User=reporter" in unit and "ExecStart=/usr/bin/logger -t reporter scheduled" in unit


def test_the_documented_restore_runs_from_the_installed_collection(installed):
    """README: with the collection installed, `integration.demoapp.restore` is the restore playbook (its role is
    included at run time, so only a real run proves that it resolves)."""
    import testinfra

    _root, env, work = installed
    [target] = testinfra.get_hosts(["ansible://api13"], ansible_inventory=INVENTORY)
    rows = "runuser -u postgres -- psql -X -At -d demoapp_db -c 'SELECT count(*) FROM app_logs'"
    backup = target.run("cd / && /usr/local/lib/integration-demoapp/run-confined demoapp-backup-daily.service")
    assert backup.rc == 0, backup.stderr
    before = target.check_output(rows)
    target.run_expect([0], "runuser -u postgres -- psql -X -d demoapp_db -c 'DELETE FROM app_logs'")
    proc = run(env, work, BIN / "ansible-playbook", "-i", INVENTORY, "integration.demoapp.restore",
               "-e", "operations_restore_host=api13")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert target.check_output(rows) == before
