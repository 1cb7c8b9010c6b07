#!/usr/bin/env bash
# ansible-test bootstraps pip in its sanity venvs with a get-pip script it downloads
# from a host CI cannot reach. Put a stand-in in its cache: ensurepip, then pip
# install with the same arguments (packages still come from PyPI). Prints the path.
set -euo pipefail
python="${1:-python}"
src="$("$python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py"
version="$(grep -oE "pip='[0-9.]+'" "$src" | head -n1 | grep -oE '[0-9.]+')" \
  || { echo "ansible-test-offline: ERROR: cannot find the pip version ansible-test wants in $src" >&2; exit 1; }
dest="$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
mkdir -p "$(dirname "$dest")"
cat >"$dest" <<'PY'
"""Offline stand-in for get-pip.py, written by scripts/ansible-test-offline.sh."""
import subprocess
import sys

subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], check=True,
               stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.run([sys.executable, "-m", "pip", "install", *args]).returncode)
PY
echo "$dest"
