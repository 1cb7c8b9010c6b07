#!/usr/bin/env python
"""Print the `docker run` options of a systemd test container, one per line.

The one place for them is the shared Molecule configuration (.config/molecule/config.yml,
its first platform); `make demo` and `make bench` start their containers with these
options too:  mapfile -t opts < <(python scripts/systemd_container.py)
              python scripts/systemd_container.py --command   (the container's command)
"""

import sys
from pathlib import Path

import yaml

CONFIG = Path(__file__).resolve().parents[1] / ".config" / "molecule" / "config.yml"


def docker_run_options(platform):
    options = [f"--cap-add={cap}" for cap in platform.get("capabilities", [])]
    options += [f"--security-opt={opt}" for opt in platform.get("security_opts", [])]
    if platform.get("cgroupns_mode"):
        options.append(f"--cgroupns={platform['cgroupns_mode']}")
    options += [f"--tmpfs={path}" for path in platform.get("tmpfs", [])]
    options += [f"--volume={vol}" for vol in platform.get("volumes", []) if vol.startswith("/sys/fs/cgroup")]
    return options


def main():
    platform = yaml.safe_load(CONFIG.read_text())["platforms"][0]
    print(platform["command"] if "--command" in sys.argv else "\n".join(docker_run_options(platform)))


if __name__ == "__main__":
    main()
