"""The integration.demoapp.audit callback plugin, in real ansible-playbook runs against a stand-in API."""

import json
import os
import subprocess
import sys
from pathlib import Path

SECRET = "s3cr3t-never-in-the-audit"
PLAYBOOK = f"""
- name: Audited play
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Something that changes
      ansible.builtin.command: /bin/true
      changed_when: true
    - name: Write a secret
      ansible.builtin.copy:
        content: "{SECRET}"
        dest: "{{{{ spool_dir }}}}/secret.txt"
        mode: "0600"
      no_log: true
    - name: Something that does not change
      ansible.builtin.command: /bin/true
      changed_when: false
"""


def playbook(tmp_path, collection_path, url, *args):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection_path), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACKS_ENABLED="integration.demoapp.audit", ANSIBLE_HOME=str(tmp_path / "home"),
               DEMOAPP_AUDIT_URL=url, DEMOAPP_AUDIT_TOKEN="the-token",
               DEMOAPP_AUDIT_SPOOL=str(tmp_path / "spool.jsonl"))
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                           "-e", f"spool_dir={tmp_path}", "-e", f"ansible_python_interpreter={sys.executable}",
                           *args, str(tmp_path / "play.yml")], capture_output=True, text=True, check=False, env=env)


def test_a_run_is_recorded_with_its_changed_tasks_and_nothing_of_a_no_log_task(tmp_path, collection_path, api):
    url, calls = api
    proc = playbook(tmp_path, collection_path, url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [(path, authorization, record)] = calls
    assert (path, authorization) == ("/api/audit/playbook-run", "Service the-token")
    assert record["playbook"] == "play.yml" and record["check_mode"] is False
    assert record["hosts"]["localhost"]["changed"] == 2 and record["hosts"]["localhost"]["failures"] == 0
    assert record["changed"] == [
        {"host": "localhost", "task": "Something that changes", "action": "ansible.builtin.command"},
        {"host": "localhost", "task": "Write a secret", "action": "ansible.builtin.copy"}]
    assert SECRET not in json.dumps(record)
    assert not (tmp_path / "spool.jsonl").exists()


def test_a_run_the_api_cannot_take_is_kept_and_sent_with_the_next_one(tmp_path, collection_path, api):
    url, calls = api
    down = playbook(tmp_path, collection_path, "http://127.0.0.1:9", "--check")
    assert down.returncode == 0, down.stdout + down.stderr  # the playbook never fails because of the audit
    assert "kept in" in down.stderr and "did not answer" in down.stderr
    assert json.loads((tmp_path / "spool.jsonl").read_text())["check_mode"] is True
    assert (tmp_path / "spool.jsonl").stat().st_mode & 0o777 == 0o600
    up = playbook(tmp_path, collection_path, url)
    assert up.returncode == 0
    assert [record["check_mode"] for _path, _auth, record in calls] == [True, False]
    assert not (tmp_path / "spool.jsonl").exists()


def test_without_settings_nothing_is_recorded_and_it_says_so(tmp_path, collection_path):
    proc = playbook(tmp_path, collection_path, "")
    assert proc.returncode == 0
    assert "this run was not recorded" in proc.stderr
