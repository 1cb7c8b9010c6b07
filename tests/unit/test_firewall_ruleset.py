"""roles/firewall's rule set as the role renders it: the right rules per family, accepted by nft -c."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "firewall"


def render(tmp_path, **overrides):
    """Render the template with the role's defaults and vars, as the role does."""
    out = tmp_path / "ruleset.nft"
    values = {"application_name": "demoapp", "application_db_port": 5432, **overrides}
    play = [{"hosts": "localhost", "gather_facts": False,
             "vars_files": [str(ROLE / "defaults" / "main.yml"), str(ROLE / "vars" / "main.yml")],
             "tasks": [{"name": "Render", "ansible.builtin.template": {
                 "src": str(ROLE / "templates" / "ruleset.nft.j2"), "dest": str(out)}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    (tmp_path / "vars.yml").write_text(yaml.safe_dump(values))
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", f"@{tmp_path / 'vars.yml'}",
                           "-e", f"ansible_python_interpreter={sys.executable}", str(tmp_path / "play.yml")],
                          capture_output=True, text=True, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def rules(path):
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.strip().startswith("#")]


def test_defaults_let_in_ssh_from_anywhere_and_nothing_else(tmp_path):
    lines = rules(render(tmp_path))
    assert "type filter hook input priority filter; policy drop;" in lines
    assert "tcp dport { 22 } accept" in lines
    assert not [line for line in lines if "5432" in line]
    assert lines[:2] == ["table inet demoapp", "delete table inet demoapp"]  # only this table is replaced


def test_sources_are_split_by_family_and_postgresql_opens_to_its_clients_only(tmp_path):
    lines = rules(render(tmp_path, firewall_ssh_sources=["10.0.0.0/8", "2001:db8::/32"], firewall_ssh_ports=[2222],
                         postgresql_remote_clients=["172.19.0.3/32", "172.19.0.4/32"],
                         firewall_allowed=[{"port": 443}, {"port": 53, "proto": "udp", "sources": ["fd00::/8"]}]))
    assert "ip saddr { 10.0.0.0/8 } tcp dport { 2222 } accept" in lines
    assert "ip6 saddr { 2001:db8::/32 } tcp dport { 2222 } accept" in lines
    assert "ip saddr { 172.19.0.3/32, 172.19.0.4/32 } tcp dport { 5432 } accept" in lines
    assert "tcp dport { 443 } accept" in lines
    assert "ip6 saddr { fd00::/8 } udp dport { 53 } accept" in lines
    assert not [line for line in lines if "dport { 22 }" in line]


@pytest.mark.skipif(not shutil.which("nft") or os.geteuid() != 0, reason="nft -c needs nftables and root")
def test_nft_accepts_the_rendered_rule_set(tmp_path):
    path = render(tmp_path, firewall_ssh_sources=["192.0.2.0/24", "2001:db8::1"],
                  postgresql_remote_clients=["192.0.2.7/32"], firewall_allowed=[{"port": 8443, "sources": []}])
    proc = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
