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
    assert proc.stderr.strip() == "testenv: ERROR: unknown step 'bogus' (venv, docker, images, pg, tools, mirror, all)"


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


UBUNTU_SOURCES = """Types: deb
URIs: http://azure.archive.ubuntu.com/ubuntu/
Suites: noble noble-updates noble-backports
Components: main universe restricted multiverse
Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg
"""


def mirror(tmp_path, files, **env):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    env.setdefault("DEMOAPP_DEBIAN_MIRROR", "")
    return run("mirror", DEMOAPP_APT_ETC=str(tmp_path), DEMOAPP_CACHE=str(tmp_path / "cache"), **env)


def test_an_ubuntu_machine_gets_the_documented_default_mirror_and_is_told(tmp_path):
    proc = mirror(tmp_path, {"sources.list.d/ubuntu.sources": UBUNTU_SOURCES,
                             "sources.list": "deb [arch=amd64] http://archive.ubuntu.com/ubuntu noble main\n"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "http://deb.debian.org/debian"
    assert "the default: no Debian mirror configured in" in proc.stderr
    assert "DEMOAPP_DEBIAN_MIRROR" in proc.stderr


@pytest.mark.parametrize("files", [
    {"sources.list.d/debian.sources": "Types: deb\nURIs: http://mirror.example/debian/\nSuites: trixie\n"},
    {"sources.list": "deb [signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main\n"},
])
def test_a_debian_machine_uses_its_own_mirror(tmp_path, files):
    proc = mirror(tmp_path, files)
    assert proc.stdout.strip() == "http://mirror.example/debian"
    assert "the Debian mirror configured in" in proc.stderr


def test_the_variable_wins(tmp_path):
    proc = mirror(tmp_path, {"sources.list.d/ubuntu.sources": UBUNTU_SOURCES},
                  DEMOAPP_DEBIAN_MIRROR="http://given.example/debian/")
    assert proc.stdout.strip() == "http://given.example/debian"
    assert "(DEMOAPP_DEBIAN_MIRROR)" in proc.stderr
