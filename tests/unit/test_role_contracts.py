"""Every role: argument specs cover every default, names are prefixed, READMEs are generated."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_cover_every_default_with_the_same_value(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    options = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())[
        "argument_specs"]["main"]["options"]
    assert set(defaults) == set(options)
    for name, value in defaults.items():
        assert name.startswith(role + "_")
        assert options[name].get("default") == value, name


@pytest.mark.parametrize("role", ROLES)
def test_no_registered_result_shadows_a_variable_of_its_role(role):
    """A registered result is a host variable, above role variables: once a role has run on a host, a result named
    like one of its variables replaces that variable for the role's next use on the host (a second django_app)."""
    import re

    names = set()
    for path in ("defaults/main.yml", "vars/main.yml"):
        if (ROOT / "roles" / role / path).exists():
            names |= set(yaml.safe_load((ROOT / "roles" / role / path).read_text()) or {})
    registered = {match for task_file in (ROOT / "roles" / role / "tasks").glob("*.yml")
                  for match in re.findall(r"^\s*register: ([A-Za-z_][A-Za-z0-9_]*)", task_file.read_text(), re.M)}
    assert registered & names == set()


def test_role_readmes_are_generated_from_the_specs():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "role_docs.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


INTERNAL = {"application": ["main"], "access_guard": ["main", "save", "confirm"], "confined_job": ["main"],
            "tls_certificate": ["main"], "aws": ["main"]}


def play(tmp_path, text, *args):
    """ansible-playbook on this controller (no host is touched: the plays fail or only check)."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(text)
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "--check", str(playbook), *args], capture_output=True, text=True, check=False, cwd=ROOT,
                          env={**os.environ, "ANSIBLE_ROLES_PATH": str(tmp_path / "roles")})


@pytest.mark.parametrize("role,entry", [(r, e) for r, entries in INTERNAL.items() for e in entries])
def test_an_internal_role_refuses_a_direct_call(tmp_path, role, entry):
    for text in (f"- {{hosts: localhost, gather_facts: false, roles: [integration.demoapp.{role}]}}\n",
                 f"- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.include_role:\n"
                 f"        name: integration.demoapp.{role}\n        tasks_from: {entry}\n"):
        if entry != "main" and "roles:" in text:
            continue
        proc = play(tmp_path, text)
        assert proc.returncode == 2, proc.stdout[-2000:]
        assert f"integration.demoapp.{role} is an internal role of this collection" in proc.stdout, proc.stdout[-2000:]


def test_a_role_that_depends_on_an_internal_one_runs_it(tmp_path):
    for role in ("application", "aws"):
        meta = tmp_path / "roles" / f"uses_{role}" / "meta"
        meta.mkdir(parents=True)
        (meta / "main.yml").write_text(f"dependencies: [integration.demoapp.{role}]\n")
    proc = play(tmp_path, "- {hosts: localhost, gather_facts: false, roles: [uses_application, uses_aws]}\n",
                "-e", "aws_region=eu-west-3")
    assert proc.returncode == 0, proc.stdout[-2000:]
    for role in ("application", "aws"):
        assert f"integration.demoapp.{role} : Refuse a direct call" in proc.stdout, proc.stdout


def test_galaxy_declares_exactly_the_collections_the_content_uses():
    """Every collection a role, playbook or plugin names by FQCN is a dependency in galaxy.yml, and nothing else."""
    import re

    used = set()
    content = [*(ROOT / "roles").rglob("*.yml"), *(ROOT / "playbooks").glob("*.yml"), *(ROOT / "plugins").rglob("*.py")]
    for path in content:
        used |= set(re.findall(r"\b(ansible\.posix|amazon\.aws|community\.[a-z_]+)\.[a-z_]+", path.read_text()))
    declared = set(yaml.safe_load((ROOT / "galaxy.yml").read_text())["dependencies"])
    assert declared == used
