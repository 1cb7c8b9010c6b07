"""The production example keeps its secret encrypted; the inventories parse."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VAULT = ROOT / "inventories" / "production" / "group_vars" / "all" / "vault.yml"


def test_production_secret_is_vault_encrypted(tmp_path):
    assert VAULT.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    password = tmp_path / "pw"
    password.write_text("example-vault-password\n")
    proc = subprocess.run([BIN / "ansible-vault", "view", "--vault-password-file", str(password), str(VAULT)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "vault_demoapp_db_password:" in proc.stdout


def test_inventories_put_hosts_in_db_and_batch():
    for name in ("demo", "production"):
        proc = subprocess.run([BIN / "ansible-inventory", "-i", str(ROOT / "inventories" / name / "hosts.yml"),
                               "--graph"], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        assert "@db:" in proc.stdout and "@batch:" in proc.stdout
