"""The quiz of seed 001 on the quiz target (Django 4.2 on Debian 13; molecule/multihost runs it on both releases,
behind a proxy host), through its own server block on the target's nginx: a real headless Chromium plays a whole
game and finds the pseudo on the day's leaderboard, with no refusal by the Content-Security-Policy in its log (a
screenshot under .cache/screenshots/); the static files come from nginx's disk with a year of cache for hashed
names, never from Gunicorn; POST /api/scores beyond its limit gets 429; the daily reset is a timer at 00:00 in the
quiz's zone, and a failed reset is reported by the monitor within seconds."""

import json
import re
import shlex
import ssl
import time
import urllib.error
import urllib.request
import uuid

import pytest
from conftest import changed_tasks, chromium, docker_address, run_scenario_playbook, target_name
from test_dashboard import SHOTS

testinfra_hosts = ["ansible://quiz"]
WAIT = 15


def name(host):
    return f"quiz.{target_name(host)}"  # quiz_server_name's default: quiz.<the proxy, here the host itself>


def fetch(host, path, body=None):
    """(status, headers, body) of a request from this machine to the quiz's server block on ``host``."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(f"https://{docker_address(host)}{path}", headers={
        "Host": name(host), "Content-Type": "application/json"},
        data=None if body is None else json.dumps(body).encode(), method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, context=context, timeout=20) as response:  # noqa: S310 (https)
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def browser(host):
    driver = chromium([name(host)], docker_address(host))
    yield driver
    driver.quit()


def test_a_whole_game_in_a_browser_ends_on_the_leaderboard_without_a_csp_refusal(host, browser):
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, WAIT)
    pseudo = "Lutin-" + uuid.uuid4().hex[:6]
    browser.get(f"https://{name(host)}/")
    wait.until(lambda d: d.find_element("id", "start").is_displayed())
    browser.find_element("id", "pseudo").send_keys(pseudo)
    Select(browser.find_element("id", "level")).select_by_value("intermediaire")
    browser.find_element("css selector", "#start button[type=submit]").click()
    for number in range(1, 4):
        wait.until(lambda d, n=number: d.find_element("id", "progress").text == f"Question {n} / 3")
        time.sleep(0.6)  # a person reads the question (an answer under 300 ms would not be scored)
        browser.find_elements("css selector", "#choices button")[0].click()
    summary = wait.until(lambda d: d.find_element("id", "result").is_displayed() and d.find_element("id", "summary"))
    assert re.match(rf"{pseudo} : \d+ points en \d+\.\d s, rang \d+\.", summary.text), summary.text
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"quiz-{target_name(host)}-result.png"))
    browser.find_element("id", "to-leaderboard").click()
    wait.until(lambda d: d.find_elements("css selector", "#leaderboard tbody tr"))
    assert pseudo in [cell.text for cell in browser.find_elements("css selector", "#leaderboard td.pseudo")]
    shot = SHOTS / f"quiz-{target_name(host)}-leaderboard.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    refusals = [entry for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]
                or entry["level"] == "SEVERE"]
    assert refusals == []


def test_static_files_come_from_nginx_with_a_year_of_cache_for_hashed_names(host):
    status, _headers, page = fetch(host, "/")
    assert status == 200
    script = re.search(rb'<script src="(/static/game/quiz\.[0-9a-f]{12}\.js)" defer>', page).group(1).decode()
    status, headers, _body = fetch(host, script)
    assert status == 200 and headers["Cache-Control"] == "max-age=31536000", dict(headers)
    status, headers, _body = fetch(host, "/static/game/quiz.js")  # the unhashed copy
    assert status == 200 and headers["Cache-Control"] == "max-age=3600"
    assert headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self'")
    # Gunicorn never saw them: its access log (the journal) has the pages, no /static/.
    log = host.check_output("journalctl -u quiz --no-pager -o cat")
    assert '"GET / HTTP' in log and "/static/" not in log


def test_scores_beyond_the_limit_get_429(host):
    codes = [fetch(host, "/api/scores", {})[0] for _request in range(8)]
    # The burst (5) is answered (400: an empty score), then 429; every request from this machine's address.
    assert codes[0] == 400 and codes[-1] == 429 and codes == sorted(codes), codes


# A game row (the columns Django fills), of a day relative to PostgreSQL's current date.
ROW = ("INSERT INTO game (pseudo, pseudo_key, level, day_date, token, questions, answers, points, temps_total) "
       "VALUES ('{0}', '{0}', 'facile', current_date + {1}, 't', '[]', '[]', 0, 0)")
# Puts each deleted row back: a writer the reset's integrity check must catch.
PUT_BACK = ("CREATE FUNCTION put_back() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
            "INSERT INTO game (pseudo, pseudo_key, level, day_date, token, questions, answers, points, temps_total) "
            "VALUES ('z' || OLD.id, 'z' || OLD.id, 'facile', OLD.day_date, 't', '[]', '[]', 0, 0); RETURN OLD; END$$; "
            "CREATE TRIGGER put_back AFTER DELETE ON game FOR EACH ROW EXECUTE FUNCTION put_back()")


def sql(host, statement, database="quiz"):
    return host.check_output(f"runuser -u postgres -- psql -X -At -d {database} -c {shlex.quote(statement)}")


def test_the_reset_runs_at_midnight_in_the_quiz_zone_and_a_failure_is_reported(host):
    timer = host.check_output("systemctl cat quiz-purge.timer")
    assert "OnCalendar=*-*-* 00:00:00 Indian/Reunion" in timer
    assert host.service("quiz-purge.timer").is_enabled
    # Reunion is UTC+4 all year: the next reset is at 20:00 UTC.
    assert " 20:00:00 UTC" in host.check_output("systemctl list-timers quiz-purge.timer --no-pager")
    sql(host, ROW.format("hier", -2))
    sql(host, PUT_BACK)
    since = int(host.check_output("date +%s"))
    try:
        assert host.run("systemctl start quiz-purge.service").rc != 0
    finally:
        sql(host, "DROP TRIGGER put_back ON game; DROP FUNCTION put_back()")
    assert "integrity check failed, nothing deleted" in host.check_output(
        f"journalctl -u quiz-purge --no-pager -o cat --since @{since}")
    alerts = ""
    for _second in range(20):  # the monitor reports it within seconds
        alerts = host.run(f"journalctl --no-pager -q -o cat -t demoapp-monitor -p err --since @{since}").stdout
        if "quiz-purge" in alerts:
            break
        time.sleep(0.5)
    assert "quiz-purge" in alerts
    assert host.run("systemctl start quiz-purge.service").rc == 0  # without the trigger: Purge OK
    assert "Purge OK: 1 games before" in host.check_output(
        f"journalctl -u quiz-purge --no-pager -o cat --since @{since}")


def test_the_quizs_backup_holds_its_tables_and_no_row(host):
    """The seed's GDPR rule: the quiz's rows are never kept; its monthly backup is its schema alone."""
    sql(host, ROW.format("kept", 1))
    assert int(sql(host, "SELECT count(*) FROM game")) > 0
    host.run_expect([0], "systemctl start demoapp-backup-schema-quiz.service")
    newest = host.check_output("ls -t /var/backups/demoapp/quiz-monthly-*.dump | head -n 1")
    host.run_expect([0], "runuser -u postgres -- createdb quiz_restored")
    try:
        host.run_expect([0], f"runuser -u postgres -- pg_restore --no-owner -d quiz_restored {newest}")
        indexes = sql(host, "SELECT string_agg(indexname, ',') FROM pg_indexes WHERE tablename = 'game'",
                      "quiz_restored").split(",")
        assert {"game_points_idx", "game_temps_total_idx", "game_day_date_idx"} <= set(indexes), indexes
        assert sql(host, "SELECT count(*) FROM game", "quiz_restored") == "0"
    finally:
        host.run_expect([0], "runuser -u postgres -- dropdb quiz_restored")


def test_a_dry_run_of_the_quiz_on_a_converged_host_reports_nothing_to_do(host):
    dry = run_scenario_playbook("converge.yml", "--check", "--tags", "quiz,reverse_proxy")
    assert dry.returncode == 0, dry.stdout[-3000:]
    for name in ("api12", "api13"):  # the quiz's host, and the other proxy (its sites rewritten by the same run)
        assert re.search(rf"{name}\s+: ok=\d+\s+changed=0 ", dry.stdout), changed_tasks(dry.stdout)
