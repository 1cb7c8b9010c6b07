"""The operations API from the client container, over HTTPS through nginx: tokens, permissions, TLS versions,
security headers on every response, login rate limiting, fail2ban bans, Gunicorn's confinement; what the
collection feeds it (backup runs, the batch's failures as incidents, the converge in the audit trail); and the
role's bad input refused before any change."""

import datetime
import json
import re
import shlex
import time

import pytest
import testinfra
from conftest import (
    INVENTORY,
    https_request,
    run_cron_command,
    run_cron_file_entry,
    run_scenario_playbook,
    target_name,
)

testinfra_hosts = ["ansible://targets"]
ADMIN = ("admin", "Molecule-Admin pw 42")
SIGNING_KEY = "molecule-only-jwt-signing-key-0123456789abcdef"
HEADERS = ["strict-transport-security", "content-security-policy", "referrer-policy", "x-content-type-options",
           "x-frame-options"]


def curl(client, host, path, *args):
    """(status, headers dict, body) of an HTTPS request from ``client`` to the target's nginx."""
    return https_request(client, target_name(host), path, *args)


def login(client, host, user, password):
    body = shlex.quote(json.dumps({"username": user, "password": password}))
    return curl(client, host, "/api/auth/login", "-X POST -H 'Content-Type: application/json'", f"-d {body}")


TOKENS = {}


def bearer(client, host, user=ADMIN[0], password=ADMIN[1]):
    """An Authorization header for the user, logging in once per target (logins are rate limited)."""
    key = (target_name(host), user)
    if key not in TOKENS:
        status, _headers, body = login(client, host, user, password)
        assert status == 200, body
        TOKENS[key] = f"-H 'Authorization: Bearer {json.loads(body)['access']}'"
    return TOKENS[key]


@pytest.fixture(scope="module")
def other(host):
    """The other target, as a second client."""
    return testinfra.get_host(f"ansible://{'api13' if target_name(host) == 'api12' else 'api12'}",
                              ansible_inventory=INVENTORY)


@pytest.fixture(scope="module")
def alice(host):
    """A user (not an administrator), created with the API's own management shell."""
    script = ("from django.contrib.auth import get_user_model; U = get_user_model(); "
              "u, _ = U.objects.get_or_create(username='alice'); u.set_password('Alice pw 0123456'); u.save()")
    host.run_expect([0], "set -a && . /etc/securestack/securestack.env && cd /opt/securestack && "
                         f"runuser -u securestack -- python3 manage.py shell -c {shlex.quote(script)}")
    return ("alice", "Alice pw 0123456")


def test_login_returns_tokens_and_the_servers_are_the_inventorys_hosts(host, client):
    status, _headers, body = curl(client, host, "/api/servers?page_size=1000", bearer(client, host))
    assert status == 200, body
    assert {"api12", "api13"} <= {server["name"] for server in json.loads(body)["results"]}


def test_without_a_token_401_and_an_expired_token_is_refused(host, client):
    import jwt

    assert curl(client, host, "/api/servers")[0] == 401
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    expired = jwt.encode({"token_type": "access", "exp": int(past.timestamp()), "iat": int(past.timestamp()) - 60,
                          "jti": "0" * 32, "user_id": "1"}, SIGNING_KEY, algorithm="HS256")
    assert curl(client, host, "/api/servers", f"-H 'Authorization: Bearer {expired}'")[0] == 401


def test_a_user_cannot_delete_a_server_an_administrator_can(host, client, alice):
    admin = bearer(client, host)
    status, _h, body = curl(client, host, "/api/servers", admin, "-X POST -H 'Content-Type: application/json'",
                            "-d '{\"name\": \"to-delete\"}'")
    assert status == 201, body
    server = json.loads(body)["id"]
    assert curl(client, host, f"/api/servers/{server}", bearer(client, host, *alice), "-X DELETE")[0] in (403, 404)
    assert curl(client, host, f"/api/servers/{server}", admin, "-X DELETE")[0] == 204


def test_http_answers_301_to_https(host, client):
    out = client.check_output(f"curl -s -m 10 -o /dev/null -w '%{{http_code}} %{{redirect_url}}' "
                              f"http://{target_name(host)}/api/health")
    assert out == f"301 https://{target_name(host)}/api/health"


def test_tls_1_1_is_refused_and_tls_1_2_accepted(host, client):
    target = f"{target_name(host)}:443"
    old = client.run(f"openssl s_client -connect {target} -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' </dev/null")
    assert old.rc != 0 and "alert protocol version" in old.stdout + old.stderr, old.stdout + old.stderr
    new = client.run(f"openssl s_client -connect {target} -tls1_2 </dev/null")
    assert new.rc == 0 and "TLSv1.2" in new.stdout


RESPONSES = [("/api/health", False, 200), ("/api/servers", False, 401), ("/api/no-such-thing", True, 404)]


@pytest.mark.parametrize(("path", "auth", "expected"), RESPONSES)
def test_every_required_header_on_a_200_a_401_and_a_404(host, client, path, auth, expected):
    status, headers, _body = curl(client, host, path, bearer(client, host) if auth else "")
    assert status == expected
    assert [name for name in HEADERS if name not in headers] == []
    assert headers["strict-transport-security"].startswith("max-age=")


def test_gunicorn_runs_unprivileged_and_cannot_write_its_code(host):
    assert host.service("securestack").is_running
    # The owner of each of the API's Gunicorn processes (master and workers: the quiz runs a Gunicorn of its own),
    # from /proc (a minimal server has no ps).
    owners = host.check_output(
        "for p in /proc/[0-9]*; do [ \"$(cat $p/comm 2>/dev/null)\" = gunicorn ] && tr '\\0' ' ' < $p/cmdline "
        "2>/dev/null | grep -q securestack.wsgi:application && stat -c %U $p; done; true").split()
    assert len(owners) >= 3, owners  # the master and its 2 workers
    users = set(owners)
    assert users == {"securestack"}, users
    assert host.run("runuser -u securestack -- touch /opt/securestack/probe").rc != 0
    out = host.check_output("systemd-analyze security --no-pager securestack.service")
    level = float(re.search(r"Overall exposure level for securestack\.service: ([0-9.]+)", out).group(1))
    print(f"systemd-analyze security securestack.service ({host.system_info.codename}): {level}")
    assert level <= 2.0


def incidents_of(client, host, server):
    status, _headers, body = curl(client, host, f"/api/incidents?server={server}&page_size=1000", bearer(client, host))
    assert status == 200, body
    return [i for i in json.loads(body)["results"] if i["job"] == "demoapp-batch"]


def wait_for(predicate, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(1)
    return False


def first_api():
    """The API every target reports to (the first host of the api group)."""
    return testinfra.get_host("ansible://api12", ansible_inventory=INVENTORY)


def test_stopping_postgresql_fails_the_batch_opens_an_incident_and_the_next_success_resolves_it(host, client):
    """The real batch, with its database stopped; the incident goes to the first API host (api12). On api12
    itself the API's own database stops too: the monitor keeps the call until the API answers again."""
    api, name = first_api(), target_name(host)
    before = len(incidents_of(client, api, name))
    host.run_expect([0], "systemctl stop postgresql")
    try:
        assert run_cron_command(host).rc == 4
    finally:
        host.run_expect([0], "systemctl start postgresql")
    assert wait_for(lambda: len(incidents_of(client, api, name)) == before + 1, seconds=40)
    incident = incidents_of(client, api, name)[0]
    assert incident["state"] == "open", incident
    assert incident["title"].startswith("job demoapp-batch failed: "), incident
    assert re.search(r"exit(=| status )4", incident["title"]), incident
    assert run_cron_command(host).rc == 0
    assert wait_for(lambda: incidents_of(client, api, name)[0]["state"] == "resolved", seconds=20)


def test_a_backup_run_appears_in_the_api_for_its_server_with_its_checksum(host, client):
    api, name = first_api(), target_name(host)
    proc = run_cron_file_entry(host, "demoapp-backup-daily")
    assert proc.rc == 0, proc.stdout + proc.stderr
    record = json.loads(host.file("/var/backups/demoapp/backups.jsonl").content_string.splitlines()[-1])
    checksum = host.file(f"/var/backups/demoapp/{record['file']}.sha256").content_string.split()[0]
    status, _headers, body = curl(client, api, f"/api/backups?server={name}&page_size=1000", bearer(client, api))
    assert status == 200, body
    [backup] = [b for b in json.loads(body)["results"] if b["file"] == record["file"]]
    assert (backup["server"], backup["kind"], backup["state"], backup["checksum"]) == (name, "daily", "ok", checksum)


def test_the_converge_itself_is_in_the_audit_trail_without_secrets(host, client):
    if target_name(host) != "api12":
        pytest.skip("one audit trail: the first API host's")
    status, _headers, body = curl(client, host, "/api/audit?action=playbook.run&page_size=1000", bearer(client, host))
    assert status == 200, body
    runs = sorted((e for e in json.loads(body)["results"] if e["object"] == "converge.yml"),
                  key=lambda e: e["id"])
    assert runs, "no converge.yml run in the audit trail"
    converge = runs[0]["detail"]  # the first converge: everything it changed
    assert converge["check_mode"] is False and {"api12", "api13"} <= set(converge["hosts"])
    tasks = {change["task"] for change in converge["changed"]}
    # (Ansible names a role's task "<role> : <task>".)
    assert "integration.demoapp.confined_job : Write the API's address and credential (0600, systemd reads them) " \
           "and its certificate" in tasks, tasks
    assert runs[0]["actor"].startswith("ansible:")
    for secret in ("molecule-only-service-token", "molecule-only-django-secret-key", "Molecule-Admin pw 42",
                   "Molecule-Only S3cret"):
        assert secret not in body


BAD_INPUT = [("securestack_jwt_minutes=0", "securestack_jwt_minutes"),
             ("securestack_public_url=http://api12", "securestack_public_url: http://api12 is not an https:// URL"),
             ("securestack_secret_key=", "securestack_secret_key must be set"),
             ("securestack_registration=invite", "securestack_registration")]


def test_bad_role_input_fails_before_any_change_naming_the_variable(host):
    if target_name(host) != "api12":
        pytest.skip("the role's checks run on the controller: once is enough")
    settings = host.file("/etc/securestack/securestack.env").md5sum
    for extra, message in BAD_INPUT:
        proc = run_scenario_playbook("securestack_alone.yml", "-e", extra, "-e", "ansible_become_method=sudo")
        assert proc.returncode != 0, extra
        assert message in proc.stdout + proc.stderr, proc.stdout[-2000:]
        assert re.search(r"api12\s+: ok=\d+\s+changed=0 ", proc.stdout), proc.stdout[-2000:]
    assert host.file("/etc/securestack/securestack.env").md5sum == settings


def test_a_burst_of_logins_is_rate_limited(host, other):
    body = shlex.quote(json.dumps({"username": ADMIN[0], "password": ADMIN[1]}))
    codes = other.check_output(
        f"for i in $(seq 1 10); do curl -sk -m 10 -o /dev/null -w '%{{http_code}} ' -X POST "
        f"-H 'Content-Type: application/json' -d {body} https://{target_name(host)}/api/auth/login; done").split()
    print(f"10 logins in a burst: {codes}")  # 4 x 429 stays under fail2ban's 5
    assert "200" in codes and "429" in codes
    assert set(codes) <= {"200", "429"}


# A Basic user name with spaces used to shift the fields of nginx's log line: the jail matched none of them. (And
# the 429s beyond the rate limit, which end in nginx's /_errors/429, were not in the login log at all.)
BASIC = "-H 'Authorization: Basic YSBiIGMgZDpwYXNzd29yZA=='"  # "a b c d:password"


@pytest.mark.parametrize("extra", ["", BASIC], ids=["plain", "basic header with spaces"])
def test_repeated_failed_logins_get_the_client_banned_and_only_it(host, client, other, extra):
    # Refused (401) or beyond the rate limit (429): fail2ban counts both.
    body = shlex.quote(json.dumps({"username": "admin", "password": "not the password"}))
    health = f"curl -sk -m 5 -o /dev/null https://{target_name(host)}/api/health"
    # An unban (the other case's, at its end) takes a moment to reach nftables: start once the client gets through.
    assert wait_for(lambda: client.run(health).rc == 0, seconds=60), "the client is still banned"
    try:
        for _attempt in range(6):
            curl(client, host, "/api/auth/login", "-X POST -H 'Content-Type: application/json'", extra, f"-d {body}")
        banned = False
        for _wait in range(20):
            if "securestack-login" in host.check_output("fail2ban-client status securestack-login") and \
                    client.run(health).rc != 0:
                banned = True
                break
            client.run("sleep 1")
        assert banned, host.check_output("fail2ban-client status securestack-login")
        assert other.run(health).rc == 0
    finally:
        host.run("fail2ban-client unban --all")


MALFORMED = [  # what nginx or the API refuses, each in JSON: (curl arguments, path, expected status)
    ("{bearer}", "/api/backups?server=%00", 400),
    ("{bearer}", "/api/incidents?state=open%ff", 400),
    ("-X POST -H 'Content-Type: application/json; charset=rot13' -d '{{}}' {bearer}", "/api/incidents", 415),
    ("-X POST -H 'Content-Type: application/json' --data-binary @/tmp/big {bearer}", "/api/incidents", 413),
    ("", "/api/" + "x" * 9000, 414),
    ("-H 'Host:'", "/api/health", 400),
]


@pytest.mark.parametrize(("args", "path", "expected"), MALFORMED, ids=[str(m[2]) + " " + m[1][:30] for m in MALFORMED])
def test_a_malformed_request_gets_a_4xx_json_answer(host, other, args, path, expected):
    """From the other target (the client is banned and unbanned by the tests above)."""
    if target_name(host) != "api13":
        pytest.skip("once is enough")
    other.run_expect([0], "head -c 2000000 /dev/zero | tr '\\0' 'a' > /tmp/big")
    status, headers, body = curl(other, host, path, args.format(bearer=bearer(other, host)))
    assert status == expected, body[:300]
    assert headers.get("content-type", "").startswith("application/json") and json.loads(body)["error"], body[:300]
