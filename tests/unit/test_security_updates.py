"""files/ops/security_updates.py: the weekly JSON report of pending security updates."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "files" / "ops" / "security_updates.py"
# What apt-get --simulate dist-upgrade prints on Debian 12 (abridged).
SIMULATION = """NOTE: This is only a simulation!
Reading package lists...
The following packages will be upgraded:
   libssl3 openssl tzdata
Inst libssl3 [3.0.11-1~deb12u1] (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])
Inst openssl [3.0.11-1~deb12u1] (3.0.13-1~deb12u1 Debian:12.5/stable, Debian-Security:12/stable-security [amd64])
Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable-updates [all])
Inst linux-image-6.1.0-30-amd64 (6.1.124-1 Debian-Security:12/stable-security [amd64])
Conf libssl3 (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])
"""


def load():
    import importlib.util
    spec = importlib.util.spec_from_file_location("security_updates", PROGRAM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_security_packages_are_told_from_other_updates():
    security, other = load().parse_simulation(SIMULATION)
    assert [p["package"] for p in security] == ["libssl3", "openssl", "linux-image-6.1.0-30-amd64"]
    assert security[0] == {"package": "libssl3", "installed": "3.0.11-1~deb12u1", "candidate": "3.0.13-1~deb12u1",
                           "origins": ["Debian-Security:12/stable-security"]}
    assert security[2]["installed"] is None  # a new package (a new kernel ABI)
    assert [p["package"] for p in other] == ["tzdata"]


def test_a_real_run_on_this_machine_writes_a_valid_report(tmp_path):
    out = tmp_path / "security-updates.json"
    proc = subprocess.run([sys.executable, str(PROGRAM), "--no-update", "--output", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["state"] == "ok" and report["security_count"] == len(report["security"])
    assert proc.stdout.startswith(f"Security updates pending: {report['security_count']}")
    assert oct(out.stat().st_mode & 0o777) == "0o644"


def test_apt_failing_is_one_line_and_a_failed_report(tmp_path):
    out = tmp_path / "security-updates.json"
    proc = subprocess.run([sys.executable, str(PROGRAM), "--no-update", "--output", str(out)],
                          capture_output=True, text=True, check=False, env={"PATH": str(tmp_path)})
    assert proc.returncode == 1
    assert proc.stdout.count("\n") == 1 and proc.stdout.startswith("Security updates FAILED: ")
    assert json.loads(out.read_text())["state"] == "failed"
