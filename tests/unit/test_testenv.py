"""scripts/testenv.sh: a missing prerequisite ends with one clear line, never a traceback."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "testenv.sh"


def run(*args, **env):
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, check=False,
                          env=dict(os.environ, **env), timeout=120)


def test_unknown_step_is_one_clear_line():
    proc = run("bogus")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "testenv: ERROR: unknown step 'bogus' (venv, docker, images, pg, tools, all)"


def docker_answers():
    return bool(shutil.which("docker")) and subprocess.run(
        ["docker", "info"], capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not docker_answers(), reason="needs the Docker engine that scripts/testenv.sh starts")
def test_unreachable_mirror_is_one_clear_line(tmp_path):
    # A tag that does not exist forces a build; port 9 on loopback answers nothing.
    proc = run("images", DEMOAPP_IMAGE_REPO="demoapp-unit-never-built",
               DEMOAPP_DEBIAN_MIRROR="http://127.0.0.1:9/debian", DEMOAPP_CACHE=str(tmp_path))
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == ("testenv: ERROR: cannot reach the Debian mirror http://127.0.0.1:9/debian "
                    "(dists/bookworm/Release); images cannot be built")
    assert "Traceback" not in proc.stderr


def test_demo_and_bench_start_containers_with_the_molecule_platform_settings():
    config = yaml.safe_load((ROOT / ".config" / "molecule" / "config.yml").read_text())["platforms"][0]
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "systemd_container.py")],
                          capture_output=True, text=True, check=True)
    options = proc.stdout.split()
    assert {f"--cap-add={c}" for c in config["capabilities"]} <= set(options)
    assert f"--cgroupns={config['cgroupns_mode']}" in options
    for script in ("demo.sh", "bench.sh"):
        assert "scripts/systemd_container.py" in (ROOT / "scripts" / script).read_text()
