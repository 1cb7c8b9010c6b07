"""Role reuse: a third, minimal Django project (molecule/default/hello: one model, one view) deployed by
integration.demoapp.django_app alone (django_app_alone.yml) next to the system on api12 (Django 3.2; the quiz, on
django_app too, runs on api13's 4.2): its migrations run as the schema's owner, Gunicorn answers and writes rows as
the service's role, a second run changes nothing and a dry run reports nothing to do."""

import re
import shlex

import pytest
from conftest import run_scenario_playbook, target_name

testinfra_hosts = ["ansible://api12"]
GET = ("python3 -c \"import urllib.request as u; print(u.urlopen(u.Request('http://127.0.0.1:8020/', "
       "headers={'Host': 'localhost'}), timeout=10).read().decode().strip())\"")


@pytest.fixture(scope="module")
def runs():
    """The first run, the second, and a dry run after them."""
    return [run_scenario_playbook("django_app_alone.yml", *args) for args in ([], [], ["--check"])]


def sql(host, statement):
    return host.check_output(f"runuser -u postgres -- psql -X -At -d hello -c {shlex.quote(statement)}")


def test_the_generic_role_alone_deploys_a_project_of_ones_own_idempotently(host, runs):
    first, again, dry = runs
    assert first.returncode == 0, first.stdout[-3000:]
    name = target_name(host)
    for run in (again, dry):
        assert run.returncode == 0 and re.search(rf"{name}\s+: ok=\d+\s+changed=0 ", run.stdout), run.stdout[-3000:]
    answers = [host.check_output(GET) for _visit in range(2)]
    assert [re.fullmatch(r"hello \d+", answer) is not None for answer in answers] == [True, True], answers
    assert sql(host, "SELECT tableowner FROM pg_tables WHERE tablename = 'greetings_visit'") == "hello_owner"
    assert int(sql(host, "SELECT count(*) FROM greetings_visit")) >= 2
    assert host.check_output("systemctl show -P User hello.service") == "hello"
