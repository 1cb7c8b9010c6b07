"""Check mode on a converged host must report no change (every scenario runs this)."""

import os
import re
import subprocess


def test_check_mode_on_converged_host_reports_no_change():
    scenario = os.environ["MOLECULE_SCENARIO_DIRECTORY"]
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    playbook = os.path.join(scenario, "converge.yml")
    proc = subprocess.run(
        ["ansible-playbook", "--check", "--diff", "-i", inventory, playbook],
        capture_output=True,
        text=True,
        check=False,
        # However the scenario was started (molecule turns colours on), read a plain recap.
        env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", NO_COLOR="1"),
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    plain = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)
    recap = re.findall(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", plain, re.M)
    assert recap, output[-4000:]
    changed = {host: int(n) for host, n in recap if int(n)}
    assert not changed, f"check mode reported changes {changed}:\n{output[-6000:]}"
