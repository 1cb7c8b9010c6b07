"""integration.demoapp.write_files, the writer behind install_files, run as Ansible runs it (real files)."""

import base64
import os


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def mode(path):
    return oct(path.stat().st_mode & 0o7777)


def test_writes_directories_and_files_with_their_modes_then_changes_nothing(run_module, tmp_path):
    dest = tmp_path / "etc-job"
    args = dict(directories=[dict(path=str(dest), mode="0750", owner="root", group="root")],
                files=[dict(path=str(dest / "api.env"), content=b64("TOKEN=secret\n"), mode="0600", owner="root"),
                       dict(path=str(dest / "ca.pem"), content=b64("PEM\n"), mode="0644", group="0")])
    rc, result = run_module("write_files", args)
    assert rc == 0 and result["changed"], result
    assert result["directories"] == [str(dest)] and result["files"] == [str(dest / "api.env"), str(dest / "ca.pem")]
    assert mode(dest) == "0o750" and mode(dest / "api.env") == "0o600" and mode(dest / "ca.pem") == "0o644"
    assert (dest / "api.env").read_text() == "TOKEN=secret\n"
    assert "secret" not in str(result.get("invocation", ""))  # the contents are never shown

    rc, result = run_module("write_files", args)
    assert rc == 0 and not result["changed"] and result["files"] == [] and result["directories"] == [], result


def test_check_mode_reports_with_a_diff_and_writes_nothing(run_module, tmp_path):
    (tmp_path / "site.conf").write_text("old\n")
    (tmp_path / "blob").write_bytes(b"\0old")
    args = dict(directories=[dict(path=str(tmp_path / "new"), mode="0755")],
                files=[dict(path=str(tmp_path / "site.conf"), content=b64("new\n"), mode="0644"),
                       dict(path=str(tmp_path / "blob"), content=b64(b"\0new"), mode="0644")])
    rc, result = run_module("write_files", args, check=True, diff=True)
    assert rc == 0 and result["changed"], result
    diffs = {d.get("after_header", d.get("path")): d for d in result["diff"]}
    assert diffs[str(tmp_path / "new")]["after"]["state"] == "directory"
    conf = diffs[str(tmp_path / "site.conf")]
    assert conf["before"] == "old\n" and conf["after"] == "new\n"
    assert diffs[str(tmp_path / "blob")]["dst_binary"] and diffs[str(tmp_path / "blob")]["src_binary"]
    assert (tmp_path / "site.conf").read_text() == "old\n" and not (tmp_path / "new").exists()


def test_a_file_with_the_right_content_only_gets_its_mode_back(run_module, tmp_path):
    target = tmp_path / "run-confined"
    target.write_text("#!/bin/sh\n")
    target.chmod(0o666)
    inode = target.stat().st_ino
    args = dict(files=[dict(path=str(target), content=b64("#!/bin/sh\n"), mode="0755")])
    rc, result = run_module("write_files", args, diff=True)
    assert rc == 0 and result["changed"] and result["files"] == [str(target)] and "diff" not in result, result
    assert mode(target) == "0o755" and target.stat().st_ino == inode


def test_a_refused_candidate_keeps_the_old_file_and_what_was_written_before_it(run_module, tmp_path):
    (tmp_path / "site.conf").write_text("good\n")
    rc, result = run_module("write_files", dict(files=[
        dict(path=str(tmp_path / "notes.txt"), content=b64("free\n"), mode="0644"),
        dict(path=str(tmp_path / "site.conf"), content=b64("bad\n"), mode="0644", validate="grep -q ^good %s")]))
    assert rc != 0 and result["failed"] and result["msg"] == f"failed to validate {tmp_path / 'site.conf'}", result
    assert result["files"] == [str(tmp_path / "notes.txt")]
    assert (tmp_path / "site.conf").read_text() == "good\n" and (tmp_path / "notes.txt").read_text() == "free\n"
    assert sorted(os.listdir(tmp_path)) == ["args.json", "notes.txt", "site.conf"]  # no candidate left


def test_bad_values_fail_naming_the_path(run_module, tmp_path):
    rc, result = run_module("write_files", dict(files=[dict(path=str(tmp_path / "x"), content=b64("x"), mode="rw")]))
    assert rc != 0 and "mode must be an octal mode" in result["msg"] and str(tmp_path / "x") in result["msg"]
    (tmp_path / "a").write_text("a file, not a directory\n")
    rc, result = run_module("write_files", dict(directories=[dict(path=str(tmp_path / "a" / "b"), mode="0755")]))
    assert rc != 0 and result["msg"].startswith(f"could not create {tmp_path / 'a' / 'b'}"), result


def test_missing_directories_on_the_way_are_created_0755(run_module, tmp_path):
    deep = tmp_path / "srv" / "app" / "logs"
    rc, result = run_module("write_files", dict(directories=[dict(path=str(deep), mode="0750")]))
    assert rc == 0 and result["changed"], result
    assert oct((tmp_path / "srv").stat().st_mode & 0o7777) == "0o755"
    assert oct((tmp_path / "srv" / "app").stat().st_mode & 0o7777) == "0o755"
    assert oct(deep.stat().st_mode & 0o7777) == "0o750"
