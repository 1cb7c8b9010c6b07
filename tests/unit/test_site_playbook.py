"""playbooks/site.yml installs the packages of every role a host gets before the plays that run them: its list of
the roles by group (_site_roles) is the plays' own, so that no role's packages are left out of the transaction."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# The plays' host patterns, by the _site_roles key whose hosts they run on.
# The firewall's two plays (the database hosts in no other serving tier, then the other hosts, named by a template)
# together cover every host.
LATE_FIREWALL = next(play["hosts"] for play in yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
                     if play["name"] == "Firewall of the other hosts")
PATTERNS = {"db:batch:api:proxy:quiz": "all", "db:!api:!proxy:!quiz": "all", LATE_FIREWALL: "all",
            "db": "db", "batch": "batch", "api": "api", "quiz": "quiz",
            "{{ 'proxy' if groups['proxy'] | default([]) | length > 0 else 'api' }}": "proxy"}


def plays():
    return yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())


def roles_of(play):
    """The collection's roles a play runs: its roles: entries and its import_role tasks."""
    names = [entry["role"] for entry in play.get("roles", [])]
    names += [task["ansible.builtin.import_role"]["name"] for task in play.get("tasks", [])
              if "ansible.builtin.import_role" in task]
    return [name.removeprefix("integration.demoapp.") for name in names]


def test_the_package_transaction_knows_the_roles_of_every_play():
    site = plays()
    by_group = {}
    for play in site:
        roles = roles_of(play)
        if roles:
            assert play["hosts"] in PATTERNS, f"{play['name']}: hosts {play['hosts']} is not a group of _site_roles"
            by_group.setdefault(PATTERNS[play["hosts"]], []).extend(roles)
    listed = site[0]["vars"]["_site_roles"]
    assert {group: sorted(roles) for group, roles in listed.items()} == \
        {group: sorted(set(roles)) for group, roles in by_group.items()}


def test_a_host_holding_only_a_database_gets_its_firewall_before_its_clients_connect():
    """A batch or application server added to a running deployment is let in before its first connection."""
    order = [(play["hosts"], roles_of(play)) for play in plays()]
    firewalls = [index for index, (_hosts, roles) in enumerate(order) if "firewall" in roles]
    assert [order[index][0] for index in firewalls] == ["db:!api:!proxy:!quiz", LATE_FIREWALL]
    clients = [index for index, (hosts, roles) in enumerate(order) if hosts in ("batch", "api", "quiz") and roles]
    assert firewalls[0] < min(clients) and firewalls[1] > max(clients)


@pytest.mark.parametrize(("layout", "early", "late"), [
    ({"db": ["d"], "batch": ["d"], "api": ["a1", "a2"], "proxy": ["p"]}, ["d"], ["a1", "a2", "p"]),
    ({"db": ["d"], "batch": ["b"], "api": ["a", "b"], "proxy": ["p"]}, ["d"], ["a", "b", "p"]),
    ({"db": ["h"], "batch": ["h"], "api": ["h"], "quiz": ["h"]}, [], ["h"]),
], ids=["database and batch on one host", "database alone", "one host"])
def test_each_host_gets_one_firewall_play_and_a_database_host_serving_nothing_else_the_early_one(
        tmp_path, collection_path, layout, early, late):
    """The hosts each firewall play runs on, as ansible-playbook --list-hosts reports them for these layouts."""
    import os
    import re
    import subprocess

    inventory = {"all": {"children": {group: {"hosts": dict.fromkeys(hosts)} for group, hosts in layout.items()}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    out = subprocess.run(["ansible-playbook", "-i", str(tmp_path / "hosts.yml"), "--list-hosts",
                          str(ROOT / "playbooks" / "site.yml")], capture_output=True, text=True, check=True,
                         env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection_path))).stdout
    plays = re.split(r"\n\s*play #\d+ ", out)
    hosts = {play.split(": ", 1)[1].split("\t")[0]: sorted(re.findall(r"^\s{6}(\S+)$", play, re.M))
             for play in plays[1:]}
    assert hosts["Firewall of the database hosts that publish no other port, before their clients connect"] == early
    assert hosts["Firewall of the other hosts"] == late


def test_host_lists_keep_their_order_from_run_to_run():
    """difference() goes through a set: its order changes with each process's hash seed, so the first proxy (the
    API's public name), the server that registers the inventory or an instance's Groups tag would change from one
    run to the next, and a converged host would be changed again. reject() keeps the inventory's order."""
    for path in [ROOT / "playbooks" / "site.yml", *sorted((ROOT / "roles").glob("*/tasks/*.yml"))]:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if ("difference(" in line and "groups[" in line) or "item.groups | difference" in line:
                raise AssertionError(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")


def test_every_role_of_the_site_lists_its_packages_in_one_variable():
    for roles in plays()[0]["vars"]["_site_roles"].values():
        for role in roles:
            defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
            assert f"{role}_packages" in defaults, role
            assert "_packages }}" in (ROOT / "roles" / role / "tasks" / "packages.yml").read_text(), role


def test_role_packages_gives_each_roles_list_as_the_role_would_install_it(collection_path, tmp_path):
    """The role's default, rendered with its other defaults; what the play or the inventory sets wins."""
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "play.yml").write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"ansible.builtin.copy": {"dest": str(tmp_path / "out.json"), "content": "{{ found | to_json }}"},
         "vars": {"found": {
             "defaults": "{{ lookup('integration.demoapp.role_packages', ['updates', 'firewall'], 'fail2ban') }}",
             "set": "{{ lookup('integration.demoapp.role_packages', 'updates', 'operations', 'firewall') }}"}}}]}]))
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", "-e",
                           '{"updates_unattended": false, "operations_backup_s3_bucket": "b", '
                           '"firewall_packages": ["nftables", "conntrack"]}',
                           str(tmp_path / "play.yml")], capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection_path)))
    assert proc.returncode == 0, proc.stdout[-2000:]
    found = json.loads((tmp_path / "out.json").read_text())
    # -e applies to both lookups: updates without unattended-upgrades, operations with boto3, the firewall's own list
    assert found["set"] == ["python3", "cron", "logrotate", "python3-psycopg2", "python3-boto3", "nftables",
                            "conntrack"]
    assert found["defaults"] == ["python3", "cron", "logrotate", "nftables", "conntrack", "fail2ban",
                                 "python3-systemd", "whois"]
