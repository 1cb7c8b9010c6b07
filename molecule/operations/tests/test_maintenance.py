"""operations role: the scheduled purge and maintenance do their work; health; log rotation."""

from conftest import cron_file_entry, run_cron_file_entry

testinfra_hosts = ["ansible://targets"]
LOG = "/var/log/demoapp-operations/maintenance.log"


def psql(host, sql):
    return host.check_output(f"runuser -u postgres -- psql -X -At -d demoapp_db -c \"{sql}\"")


def run_scheduled(host, job):
    """Run the confined job's cron line as cron would (purge or maintain)."""
    return run_cron_file_entry(host, {"purge": "demoapp-purge", "maintain": "demoapp-maintenance"}[job])


def test_the_maintenance_runs_after_the_purge_not_at_the_same_time(host):
    assert cron_file_entry(host, "demoapp-purge")[0][:2] == ["15", "3"]
    assert cron_file_entry(host, "demoapp-maintenance")[0][:2] == ["45", "3"]


def test_health_is_ok_on_a_fresh_converge(host):
    result = host.run("demoapp-health")
    assert result.rc == 0, result.stderr
    assert "Health OK" in result.stdout


def test_the_purge_deletes_rows_older_than_the_retention_only(host):
    psql(host, "INSERT INTO app_logs (run_date, message) VALUES (localtimestamp - interval '100 days', 'ancient')")
    psql(host, "INSERT INTO app_logs (run_date, message) VALUES (localtimestamp, 'today')")
    result = run_scheduled(host, "purge")
    assert result.rc == 0, result.stderr
    assert psql(host, "SELECT count(*) FROM app_logs WHERE message = 'ancient'") == "0"
    assert psql(host, "SELECT count(*) FROM app_logs WHERE message = 'today'") != "0"
    assert "Purge OK deleted=" in host.file(LOG).content_string.splitlines()[-1]


def test_without_postgresql_the_purge_fails_with_one_line_and_deletes_nothing(host):
    psql(host, "INSERT INTO app_logs (run_date, message) VALUES (localtimestamp - interval '100 days', 'ancient')")
    host.check_output("systemctl stop postgresql")
    try:
        result = run_scheduled(host, "purge")
    finally:
        host.check_output("systemctl start postgresql")
    assert result.rc == 4
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Purge ERROR exit=4" in host.file(LOG).content_string.splitlines()[-1]
    assert psql(host, "SELECT count(*) FROM app_logs WHERE message = 'ancient'") == "1"


def test_maintenance_vacuums_and_analyzes(host):
    result = run_scheduled(host, "maintain")
    assert result.rc == 0, result.stderr
    assert psql(host, "SELECT last_vacuum IS NOT NULL AND last_analyze IS NOT NULL FROM pg_stat_user_tables "
                      "WHERE relname = 'app_logs'") == "t"


def test_a_dropped_index_fails_maintenance_and_health_naming_it(host):
    definition = psql(host, "SELECT indexdef FROM pg_indexes WHERE indexname = 'app_logs_run_date_idx'")
    psql(host, "DROP INDEX app_logs_run_date_idx")
    try:
        maintenance, health = run_scheduled(host, "maintain"), host.run("demoapp-health")
    finally:
        psql(host, definition)
    for result in (maintenance, health):
        assert result.rc == 6
        assert "missing index app_logs_run_date_idx" in result.stderr


def test_health_fails_when_the_newest_row_is_too_old(host):
    psql(host, "UPDATE app_logs SET run_date = run_date - interval '3 days'")
    result = host.run("demoapp-health")
    assert result.rc == 7, result.stdout
    assert "older than 26 hours" in result.stderr


def test_logrotate_accepts_the_operations_rule(host):
    assert host.run("logrotate --debug /etc/logrotate.d/demoapp-operations").rc == 0
