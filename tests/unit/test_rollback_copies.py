"""rollback_copies: the copies access_guard's rollback puts back, and which files did not exist."""

import os
import stat


def test_keeps_each_file_once_with_its_mode_and_says_which_did_not_exist(run_module, tmp_path):
    config = tmp_path / "etc" / "sshd_config"
    config.parent.mkdir()
    config.write_text("PasswordAuthentication no\n")
    config.chmod(0o600)
    missing = tmp_path / "etc" / "sshd_config.d" / "60-demoapp.conf"
    keep = tmp_path / "keep"
    rc, result = run_module("rollback_copies", {"dir": str(keep), "paths": [str(config), str(missing)],
                                                "key_owners": ["no-such-account-here"]})
    assert rc == 0, result
    assert result == {**result, "changed": False, "files": {str(config): True, str(missing): False}}
    copy = keep / str(config).replace("/", "%")
    assert copy.read_text() == "PasswordAuthentication no\n"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600 and stat.S_IMODE(keep.stat().st_mode) == 0o700

    # The first copy of a run wins: a file kept earlier is neither copied again nor reported.
    config.write_text("PasswordAuthentication yes\n")
    rc, result = run_module("rollback_copies", {"dir": str(keep), "paths": [str(config)], "skip": [str(config)]})
    assert rc == 0 and result["files"] == {}, result
    assert copy.read_text() == "PasswordAuthentication no\n"


def test_keeps_the_authorized_keys_of_an_account(run_module, tmp_path):
    home = os.path.expanduser("~root")
    rc, result = run_module("rollback_copies", {"dir": str(tmp_path / "keep"), "key_owners": ["root"]}, check=True)
    assert rc == 0, result
    keys = os.path.join(home, ".ssh", "authorized_keys")
    assert result["files"] == {keys: os.path.exists(keys)}
    assert not (tmp_path / "keep").exists()  # check mode copies nothing
