"""The tiers on separate hosts, proven by real connections: the reverse proxy is the only way in (443, 80 -> 301),
it reaches Gunicorn on both application servers and not PostgreSQL; the application servers reach PostgreSQL over
TLS verify-full as the API's role only; a token from a login through the proxy is accepted by both servers; with one
server stopped, the proxy still answers every request; failed logins get the outsider rate limited and banned, and
nobody else, although the application servers only ever see the proxy's address. Two runs started together
against the two servers apply each migration once and create one administrator, and a server added to a running
deployment is let in by the database before its first connection."""

import json
import os
import shlex
import subprocess
import time

import pytest
import testinfra
from conftest import INVENTORY, connects, https_request, scenario_playbook_command, target_ip

testinfra_hosts = ["ansible://proxy"]
ADMIN = ("admin", "Molecule-Admin pw 42")
API_DB_PASSWORD = "Molecule-API-db-pw-42"
SERVERS = ("api1", "api2")
HOSTS = ("database", "batch1", "api1", "api2", "proxy")


def get(name):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=INVENTORY)


def login(source, user, password):
    body = shlex.quote(json.dumps({"username": user, "password": password}))
    return https_request(source, "proxy", "/api/auth/login", "-X POST -H 'Content-Type: application/json'",
                         f"-d {body}")


def gunicorn(source, server, path, token):
    """Status of a request from ``source`` straight to a server's Gunicorn, as the proxy would send it."""
    script = ("import sys, urllib.request, urllib.error\n"
              f"req = urllib.request.Request('http://{target_ip(server)}:8000{path}', "
              f"headers={{'Host': 'proxy', 'Authorization': 'Bearer {token}', 'X-Forwarded-Proto': 'https'}})\n"
              "try:\n    print(urllib.request.urlopen(req, timeout=10).status)\n"
              "except urllib.error.HTTPError as exc:\n    print(exc.code)\n")
    return int(source.check_output(f"python3 -c {shlex.quote(script)}"))


def api_database(query):
    """One value a query on the API's database answers (as postgres, on the database host)."""
    return get("database").check_output(f"runuser -u postgres -- psql -X -At -d securestack -c {shlex.quote(query)}")


def psql(source, dsn, password):
    """Connect from ``source`` with psycopg2; '' on success, else the error."""
    script = ("import sys, psycopg2\n"
              f"try:\n    psycopg2.connect({dsn!r}, connect_timeout=10).close()\n"
              "except psycopg2.OperationalError as exc:\n    print(' '.join(str(exc).split()))\n")
    return source.check_output(f"PGPASSWORD={shlex.quote(password)} python3 -c {shlex.quote(script)}")


@pytest.fixture(scope="module")
def token(client):
    status, _headers, body = login(client, *ADMIN)
    assert status == 200, body
    return json.loads(body)["access"]


def open_ports(source, names, ports):
    """{name: [ports a TCP connection from ``source`` opens within 3 s]}, every probe at once."""
    probes = " ".join(f"(timeout 3 bash -c 'exec 3<>/dev/tcp/{target_ip(get(name))}/{port}' 2>/dev/null "
                      f"&& echo {name}:{port}) &" for name in names for port in ports)
    found = {name: [] for name in names}
    for line in source.check_output(f"{probes} wait").split():
        name, port = line.split(":")
        found[name].append(int(port))
    return {name: sorted(found[name]) for name in names}


def test_the_outsider_reaches_https_and_the_redirect_on_the_proxy_and_nothing_else_but_ssh(client):
    assert open_ports(client, HOSTS, (22, 80, 443, 5432, 8000, 8010)) == {
        "database": [22], "batch1": [22], "api1": [22], "api2": [22], "proxy": [22, 80, 443]}
    redirect = client.check_output("curl -s -m 10 -o /dev/null -w '%{http_code} %{redirect_url}' "
                                   "http://proxy/api/health")
    assert redirect == "301 https://proxy/api/health"


def test_the_proxy_reaches_gunicorn_on_both_servers_and_not_postgresql(host):
    for name in SERVERS:
        assert connects(host, target_ip(get(name)), 8000), name
        assert connects(host, target_ip(get(name)), 8010), name  # the quiz's
    assert not connects(host, target_ip(get("database")), 5432)


def test_the_servers_reach_postgresql_over_verified_tls_as_the_apis_role_only():
    database = target_ip(get("database"))
    for name in SERVERS:
        server = get(name)
        tls = f"host={database} dbname=securestack user=securestack sslmode=verify-full " \
              "sslrootcert=/etc/securestack/database-ca.pem"
        assert psql(server, tls, API_DB_PASSWORD) == "", name
        plain = psql(server, f"host={database} dbname=securestack user=securestack sslmode=disable", API_DB_PASSWORD)
        assert "no pg_hba.conf entry" in plain and "no encryption" in plain, plain
        other_role = psql(server, tls.replace("dbname=securestack user=securestack",
                                              "dbname=securestack user=demoapp_user"), API_DB_PASSWORD)
        assert "no pg_hba.conf entry" in other_role, other_role


def test_a_token_from_a_login_through_the_proxy_is_accepted_by_both_servers(host, token):
    assert [gunicorn(host, get(name), "/api/auth/me", token) for name in SERVERS] == [200, 200]
    assert gunicorn(host, get("api1"), "/api/auth/me", "not-a-token") == 401


def test_with_one_server_stopped_every_request_through_the_proxy_succeeds(client, token):
    api1 = get("api1")
    api1.run_expect([0], "systemctl stop securestack")
    try:
        codes = [https_request(client, "proxy", "/api/servers", f"-H 'Authorization: Bearer {token}'")[0]
                 for _request in range(20)]
    finally:
        api1.run_expect([0], "systemctl start securestack")
    assert codes == [200] * 20


def test_failed_logins_get_the_outsider_limited_and_banned_and_nobody_else(host, client):
    """The application servers see every request come from the proxy: the limit and the ban act on the proxy, by
    the client's address, and the audit trail records the client's address (X-Real-IP, from the proxy alone)."""
    other = get("batch1")  # another client
    health = "curl -sk -m 5 -o /dev/null -w '%{http_code}' https://proxy/api/health"
    outsider = target_ip(client)
    try:
        codes = [login(client, "admin", "not the password")[0] for _attempt in range(8)]
        assert 401 in codes and 429 in codes, codes
        banned = False
        for _wait in range(20):
            if outsider in host.check_output("fail2ban-client status securestack-login") and \
                    client.run(health).rc != 0:
                banned = True
                break
            time.sleep(1)
        assert banned, host.check_output("fail2ban-client status securestack-login")
        assert other.check_output(health) == "200"
    finally:
        host.run("fail2ban-client unban --all")
    proxy = target_ip(host)
    peers = set()
    for name in SERVERS:
        peers |= set(get(name).check_output(
            "journalctl -u securestack --no-pager -o cat | grep -F 'POST /api/auth/login' | cut -d' ' -f1 | sort -u"
        ).split())
    assert peers == {proxy}, peers
    recorded = api_database("SELECT DISTINCT source_address FROM console_auditevent WHERE action = 'login.failure'")
    assert recorded.split() == [outsider]


@pytest.fixture(scope="module")
def cached_facts(tmp_path_factory):
    """The environment of a run that finds the database's and the proxy's facts in a fact cache, as a production
    run limited to some hosts does (filled by a run of the database and the proxy)."""
    env = dict(os.environ, ANSIBLE_CACHE_PLUGIN="jsonfile",
               ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path_factory.mktemp("facts")))
    fill = scenario_playbook_command("converge.yml", "--limit", "database,proxy", "--tags", "postgresql")
    cache = subprocess.run(fill, capture_output=True, text=True, check=False, env=env)
    assert cache.returncode == 0, cache.stdout[-3000:]
    return env


def test_two_runs_started_together_apply_each_migration_once_and_create_one_administrator(cached_facts):
    """The last migration taken back and the administrator removed, so that both runs have work to do; each run is
    limited to one server (--tags securestack)."""
    api1 = get("api1")
    owner = ("set -a && . /etc/securestack/securestack.env && SECURESTACK_DB_USER=securestack_owner "
             "SECURESTACK_DB_PASSWORD=Molecule-API-owner-pw-42 && cd /opt/securestack && "
             "runuser -u securestack -- python3 manage.py ")
    api1.run_expect([0], owner + "shell -c " + shlex.quote(
        "from django.contrib.auth import get_user_model; get_user_model().objects.filter(username='admin').delete()"))
    api1.run_expect([0], owner + "migrate console 0002 --verbosity 0")
    runs = [subprocess.Popen(scenario_playbook_command("converge.yml", "--limit", name, "--tags", "securestack"),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=cached_facts)
            for name in SERVERS]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(out[-3000:] for out in outputs)
    assert api_database("SELECT (SELECT count(*) FROM django_migrations WHERE app = 'console' AND name = "
                        "'0003_account') || ' ' || (SELECT count(*) FROM auth_user WHERE username = 'admin')") == "1 1"


def test_a_server_added_to_a_running_deployment_is_let_in_before_its_first_connection(cached_facts):
    """api1 played as the new server: the database's firewall first shuts it out, as the run before it joined left
    it; then one run of the database and api1. The database's firewall must let api1 in before api1's migrations
    connect (otherwise they wait for PostgreSQL until they time out and the run fails)."""
    api1, database = get("api1"), target_ip(get("database"))
    others = json.dumps({"firewall_postgresql_sources": [target_ip(get(name)) for name in ("batch1", "api2")]})
    shut = subprocess.run(scenario_playbook_command("converge.yml", "--limit", "database", "--tags", "firewall",
                                                    "-e", others),
                          capture_output=True, text=True, check=False, env=cached_facts)
    assert shut.returncode == 0, shut.stdout[-3000:]
    assert not connects(api1, database, 5432)
    joined = subprocess.run(scenario_playbook_command("converge.yml", "--limit", "database,api1",
                                                      "--tags", "firewall,securestack"),
                            capture_output=True, text=True, check=False, env=cached_facts, timeout=900)
    assert joined.returncode == 0, joined.stdout[-3000:]
    assert connects(api1, database, 5432)
