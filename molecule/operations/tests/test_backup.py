"""operations role, backups: scheduled commands make verified, private dumps; retention; restore.yml works."""

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

from conftest import cron_file_entry, run_cron_file_entry, run_scenario_playbook, target_name

testinfra_hosts = ["ansible://targets"]
DIR = "/var/backups/demoapp"


def psql(host, sql, db="demoapp_db"):
    return host.check_output(f"runuser -u postgres -- psql -X -At -d {db} -c \"{sql}\"")


def run_scheduled(host, kind):
    """Run the cron line of this backup kind as cron would (it starts the confined unit and waits)."""
    return run_cron_file_entry(host, f"demoapp-backup-{kind}")


def dumps(host, kind):
    return sorted(host.check_output(f"ls {DIR} | grep -- '-{kind}-.*\\.dump$' || true").split())


def test_the_jobs_are_scheduled_as_documented(host):
    assert cron_file_entry(host, "demoapp-backup-daily")[:2] == (["30", "2", "*", "*", "*"], "root")
    assert cron_file_entry(host, "demoapp-backup-monthly")[:2] == (["30", "3", "1", "*", "*"], "root")
    daily = host.file("/etc/systemd/system/demoapp-backup-daily.service").content_string
    monthly = host.file("/etc/systemd/system/demoapp-backup-monthly.service").content_string
    assert "--kind daily --keep 7" in daily and "--kind monthly --keep 3" in monthly
    assert "User=postgres" in daily and "ReadWritePaths=/var/backups/demoapp" in daily
    assert host.run("crontab -l -u postgres | grep -v '^#'").stdout.strip() == ""  # nothing left unconfined
    directory = host.file(DIR)
    assert (directory.user, directory.group, directory.mode) == ("postgres", "postgres", 0o700)


# Lines an unconfined run (operations_confined: false) wrote, as the cron module writes them,
# beside a line of the administrator's own.
LEFT_UNCONFINED = """#Ansible: demoapp_db daily backup
30 2 * * * /usr/local/lib/integration-demoapp/demoapp-backup --kind daily --keep 7 >/dev/null
#Ansible: demoapp_db maintenance
15 4 * * * /usr/local/lib/integration-demoapp/demoapp-maintenance maintain >/dev/null
# the administrator's own
0 5 * * 0 /usr/bin/true
"""


def test_lines_an_unconfined_run_left_in_the_postgres_crontab_are_removed(host):
    host.run_expect([0], f"printf '%s' {shlex.quote(LEFT_UNCONFINED)} | crontab -u postgres -")
    proc = run_scenario_playbook("schedules_again.yml", "-l", target_name(host))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert host.check_output("crontab -l -u postgres") == "# the administrator's own\n0 5 * * 0 /usr/bin/true"
    host.run_expect([0], "crontab -r -u postgres")


def test_scheduled_commands_make_verified_private_dumps(host):
    psql(host, "INSERT INTO app_logs (run_date, message) SELECT now(), 'ops ' || g FROM generate_series(1, 5) g")
    for kind in ("daily", "monthly"):
        result = run_scheduled(host, kind)
        assert result.rc == 0, result.stderr
        newest = dumps(host, kind)[-1]
        dump = host.file(f"{DIR}/{newest}")
        assert (dump.user, dump.mode) == ("postgres", 0o600)
        assert host.file(f"{DIR}/{newest}.sha256").exists
    record = json.loads(host.file(f"{DIR}/backups.jsonl").content_string.splitlines()[-1])
    assert record["state"] == "ok" and record["kind"] == "monthly" and record["server"] == target_name(host)


def test_the_daily_dump_restores_with_the_same_row_count(host):
    rows = psql(host, "SELECT count(*) FROM app_logs")
    assert run_scheduled(host, "daily").rc == 0
    newest = dumps(host, "daily")[-1]
    host.check_output("runuser -u postgres -- createdb scratch_check")
    try:
        host.check_output(f"runuser -u postgres -- pg_restore --no-owner -d scratch_check {DIR}/{newest}")
        assert psql(host, "SELECT count(*) FROM app_logs", db="scratch_check") == rows
    finally:
        host.run("runuser -u postgres -- dropdb scratch_check")


def test_old_files_beyond_the_retention_are_pruned_and_recent_ones_kept(host):
    old = [f"demoapp_db-daily-2020010{n}T000000.000000Z.dump" for n in range(8)]  # n days older than 40 days
    for n, name in enumerate(old):
        host.check_output(f"runuser -u postgres -- touch -d '{40 + n} days ago' {DIR}/{name} {DIR}/{name}.sha256")
    recent = [name for name in dumps(host, "daily") if name not in old]
    assert run_scheduled(host, "daily").rc == 0
    kept = dumps(host, "daily")
    assert len(kept) == 7
    assert set(recent) < set(kept)  # every recent backup kept, plus the new one
    old_kept = sorted(name for name in kept if name in old)
    assert old_kept == old[:len(old_kept)]  # the oldest files went first
    assert len(old_kept) < len(old)


def test_restore_playbook_brings_back_rows_deleted_after_the_backup(host):
    assert run_scheduled(host, "daily").rc == 0
    rows = psql(host, "SELECT count(*) FROM app_logs")
    psql(host, "DELETE FROM app_logs")
    proc = run_scenario_playbook("restore.yml", "-e", f"operations_restore_host={target_name(host)}")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert psql(host, "SELECT count(*) FROM app_logs") == rows
    assert dumps(host, "safety")


def test_a_backup_with_a_wrong_checksum_is_refused(host):
    assert run_scheduled(host, "daily").rc == 0
    newest = dumps(host, "daily")[-1]
    host.check_output(f"echo tampered >> {DIR}/{newest}")
    proc = run_scenario_playbook("restore.yml", "-e", f"operations_restore_host={target_name(host)}",
                                 "-e", f"operations_restore_file={newest}")
    assert proc.returncode != 0
    assert "does not match" in proc.stdout + proc.stderr


ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "docs" / "operations.md"


def readme_restore_commands():
    """The restore command lines of the operations guide's "Restoring a backup" section, as a user copies them."""
    section = GUIDE.read_text().split("## Restoring a backup", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"(?m)^ansible-playbook .*$", section)


def test_the_guides_restore_commands_work_from_a_checkout(host):
    """Run from the checkout's root with its ansible.cfg and nothing else (no collections path from Molecule):
    only the inventory (the scenario's), the vault prompt (no vault here) and the host differ from the guide."""
    commands = readme_restore_commands()
    assert len(commands) == 2 and all("playbooks/restore.yml" in command for command in commands), commands
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_CONFIG", "ANSIBLE_ROLES_PATH"))}
    psql(host, "INSERT INTO app_logs (run_date, message) VALUES (now(), 'before the backup')")
    assert run_scheduled(host, "daily").rc == 0
    newest = dumps(host, "daily")[-1]
    rows = psql(host, "SELECT count(*) FROM app_logs")
    for command in commands:
        psql(host, "DELETE FROM app_logs")
        inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
        argv = shlex.split(command.replace("inventories/production", inventory))
        argv = [arg for arg in argv if arg != "--ask-vault-pass"]
        argv += ["-e", f"operations_restore_host={target_name(host)}"]
        argv = [re.sub(r"^operations_restore_file=.*", f"operations_restore_file={newest}", arg) for arg in argv]
        proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert psql(host, "SELECT count(*) FROM app_logs") == rows


def test_a_backup_killed_mid_run_says_why_and_the_next_run_removes_what_it_left(host):
    """SIGKILL to the whole unit (the OOM killer, a kill -9) while it runs: cron's command says which signal on
    standard error; the next run removes the partial file and the scratch database and succeeds."""
    psql(host, "INSERT INTO app_logs (run_date, message) SELECT now(), md5(g::text) FROM generate_series(1, 200000) g")
    _schedule, user, command = cron_file_entry(host, "demoapp-backup-daily")
    host.run(f"cd / && (runuser -u {user} -- /bin/sh -c {shlex.quote(command)} >/run/killed.out 2>/run/killed.err;"
             " echo $? >/run/killed.rc) >/dev/null 2>&1 &")
    host.run("for i in $(seq 100); do ls /var/backups/demoapp | grep -q partial && break; sleep 0.05; done")
    host.run_expect([0], "systemctl kill --signal=KILL demoapp-backup-daily.service")
    host.run("for i in $(seq 100); do test -s /run/killed.rc && break; sleep 0.1; done")
    assert host.file("/run/killed.rc").content_string.strip() == "137"
    said = host.file("/run/killed.err").content_string
    assert "demoapp-backup-daily.service was killed by signal 9 (SIGKILL)" in said, said
    result = run_scheduled(host, "daily")
    assert result.rc == 0, result.stderr
    assert "removed what an interrupted run left" in host.file(f"{DIR}/backup.log").content_string
    assert host.run(f"ls {DIR} | grep partial").stdout == ""
    assert psql(host, "SELECT count(*) FROM pg_database WHERE datname LIKE 'demoapp_db_verify_%'", db="postgres") == "0"
    psql(host, "DELETE FROM app_logs WHERE message ~ '^[0-9a-f]{32}$'")
