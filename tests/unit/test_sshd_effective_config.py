"""sshd_effective_config: the effective values compared with the wanted ones, drop-in conflicts reported.

sshd itself is not installed on the test machine (the Molecule scenarios run the real one):
a stand-in prints what ``sshd -T`` prints, or fails as sshd does on a broken file.
"""

import pytest

SSHD_T = """port 22
port 2222
permitrootlogin no
passwordauthentication no
pubkeyauthentication yes
allowusers appadmin deploy
"""


@pytest.fixture
def sshd(tmp_path):
    out = tmp_path / "sshd-T.txt"
    out.write_text(SSHD_T)
    fake = tmp_path / "sshd"
    fake.write_text(f"""#!/bin/sh
# -T -f CONFIG [-C SPEC]: fail like sshd on a file that says "broken"
if grep -q broken "$3"; then echo "$3 line 1: Bad configuration option: broken" >&2; exit 255; fi
cat {out}
""")
    fake.chmod(0o755)
    config = tmp_path / "sshd_config"
    config.write_text("PasswordAuthentication no\n")
    dropins = tmp_path / "sshd_config.d"
    dropins.mkdir()
    return {"sshd": str(fake), "config": str(config), "dropin_dir": str(dropins)}


def test_matching_values_pass_and_the_config_is_parsed(sshd, run_module):
    rc, result = run_module("sshd_effective_config", dict(sshd, expect={
        "PasswordAuthentication": False, "PermitRootLogin": "No", "Port": [22, 2222]}))
    assert rc == 0, result
    assert result["changed"] is False and result["mismatches"] == []
    assert result["config"]["port"] == ["22", "2222"]
    assert result["config"]["allowusers"] == "appadmin deploy"


def test_each_difference_is_named_and_fails(sshd, run_module):
    rc, result = run_module("sshd_effective_config", dict(sshd, expect={
        "PasswordAuthentication": True, "PermitRootLogin": "no", "MaxAuthTries": 3}))
    assert rc == 1
    assert result["msg"] == ("effective sshd configuration differs: maxauthtries is None, expected 3; "
                             "passwordauthentication is no, expected yes")
    assert [m["keyword"] for m in result["mismatches"]] == ["maxauthtries", "passwordauthentication"]


def test_report_only_when_asked(sshd, run_module):
    rc, result = run_module("sshd_effective_config", dict(sshd, expect={"PermitRootLogin": "yes"},
                                                          fail_on_mismatch=False))
    assert rc == 0 and result["mismatches"][0]["effective"] == "no"


def test_a_dropin_that_reenables_passwords_is_reported(sshd, run_module, tmp_path):
    (tmp_path / "sshd_config.d" / "50-cloud-init.conf").write_text("# cloud image\nPasswordAuthentication yes\n")
    (tmp_path / "sshd_config.d" / "60-same.conf").write_text("passwordauthentication  no\n")
    rc, result = run_module("sshd_effective_config", dict(sshd, expect={"PasswordAuthentication": "no"}))
    assert rc == 0, result
    assert result["dropin_conflicts"] == [{"file": str(tmp_path / "sshd_config.d" / "50-cloud-init.conf"),
                                           "line": 2, "keyword": "passwordauthentication", "value": "yes",
                                           "expected": "no"}]
    assert "50-cloud-init.conf:2 sets passwordauthentication yes (wanted no)" in str(result["warnings"])


def test_a_config_sshd_refuses_fails_with_its_message(sshd, run_module, tmp_path):
    (tmp_path / "sshd_config").write_text("broken\n")
    rc, result = run_module("sshd_effective_config", dict(sshd, connection="user=appadmin,host=x,addr=192.0.2.1"))
    assert rc == 1
    assert result["msg"].startswith("sshd -T failed: ") and "Bad configuration option: broken" in result["msg"]
