"""files/securestack, the operations API, against a real PostgreSQL: the permission matrix, JWTs that must be
refused, an audit row for every critical action, an audit table the database keeps append-only, and bad input
answered with 400 and a clear message."""

import datetime
import os
import sys
import uuid
from pathlib import Path

import pytest
from conftest import ROOT, django_stack_run, owned_database, runs_held_by_a_lock, superuser_connect

APP = ROOT / "files" / "securestack"
SERVICE_TOKEN = "unit-service-token-0123456789"
SIGNING_KEY = "unit-jwt-signing-key-0123456789abcdef"


@pytest.fixture(scope="module")
def django_db(pg):
    """A database owned by a non-superuser role, the migrations applied, Django set up against it."""
    role = "securestack_app"
    name = owned_database(pg, "securestack_", role, "unit-app-pw")
    os.environ.update({
        "SECURESTACK_SECRET_KEY": "unit-secret-key-not-for-production", "SECURESTACK_JWT_SIGNING_KEY": SIGNING_KEY,
        "SECURESTACK_DB_NAME": name, "SECURESTACK_DB_USER": role, "SECURESTACK_DB_PASSWORD": "unit-app-pw",
        "SECURESTACK_DB_HOST": pg["host"], "SECURESTACK_DB_PORT": str(pg["port"]),
        "SECURESTACK_SERVICE_TOKEN": SERVICE_TOKEN, "SECURESTACK_ALLOWED_HOSTS": "testserver",
        "DJANGO_SETTINGS_MODULE": "securestack.settings"})
    sys.path.insert(0, str(APP))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    yield name
    from django.db import connections

    connections.close_all()


@pytest.fixture(scope="module")
def world(django_db):
    """An administrator, a user associated with web1 only, and web1, web2 with a backup and an incident each."""
    from console.models import BackupTask, Incident, Server
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    users = get_user_model().objects
    admin = users.create_user("root-admin", password="Admin pw 0123456", is_staff=True)
    alice = users.create_user("alice", password="Alice pw 0123456")
    web1, web2 = Server.objects.create(name="web1"), Server.objects.create(name="web2")
    web1.users.add(alice)
    for server in (web1, web2):
        BackupTask.objects.create(server=server, kind="daily", started_at=timezone.now(), state="ok",
                                  checksum="ab" * 32)
        Incident.objects.create(server=server, title="disk", opened_by="seed")
    return {"admin": admin, "alice": alice, "web1": web1, "web2": web2}


def client(world, who):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    api = APIClient()
    if who == "service":
        api.credentials(HTTP_AUTHORIZATION=f"Service {SERVICE_TOKEN}")
    elif who in ("admin", "user"):
        user = world["admin"] if who == "admin" else world["alice"]
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return api


def request(world, who, method, path, body=None):
    """Replace <web1>, <incident> and <new-server> in the path with fresh objects; returns the response."""
    from console.models import Incident, Server

    if "<incident>" in path:
        path = path.replace("<incident>", str(Incident.objects.create(server=world["web1"], title="t",
                                                                      opened_by="seed").pk))
    if "<new-server>" in path:
        path = path.replace("<new-server>", str(Server.objects.create(name="s-" + uuid.uuid4().hex[:8]).pk))
    path = path.replace("<web1>", str(world["web1"].pk)).replace("<web2>", str(world["web2"].pk))
    if isinstance(body, dict) and body.get("name") == "<unique>":
        body = {**body, "name": "s-" + uuid.uuid4().hex[:8]}
    return getattr(client(world, who), method)(path, body, format="json")


NOW = "2026-11-29T01:00:00Z"
BACKUP = {"server": "web1", "kind": "daily", "started_at": NOW, "ended_at": NOW, "state": "ok", "size": 10,
          "checksum": "cd" * 32}
RUN = {"playbook": "site.yml", "user": "alice", "started_at": NOW, "ended_at": NOW, "check_mode": False,
       "hosts": {"web1": {"ok": 10, "changed": 1, "failed": 0, "unreachable": 0}},
       "changed": [{"host": "web1", "task": "Write the configuration", "action": "ansible.builtin.template"}]}
MATRIX = [  # method, path, body, {role: expected status}
    ("get", "/api/servers", None, {"anonymous": 401, "user": 200, "admin": 200, "service": 200}),
    ("post", "/api/servers", {"name": "<unique>"}, {"anonymous": 401, "user": 403, "admin": 201, "service": 201}),
    ("get", "/api/servers/<web1>", None, {"anonymous": 401, "user": 200, "admin": 200, "service": 200}),
    ("get", "/api/servers/<web2>", None, {"anonymous": 401, "user": 404, "admin": 200, "service": 200}),
    ("patch", "/api/servers/<web1>", {"status": "maintenance"},
     {"anonymous": 401, "user": 403, "admin": 200, "service": 200}),
    ("delete", "/api/servers/<new-server>", None, {"anonymous": 401, "user": 403, "admin": 204, "service": 403}),
    ("get", "/api/backups?server=web1", None, {"anonymous": 401, "user": 200, "admin": 200, "service": 403}),
    ("post", "/api/backups", BACKUP, {"anonymous": 401, "user": 403, "admin": 201, "service": 201}),
    ("delete", "/api/backups/1", None, {"anonymous": 401, "user": 405, "admin": 405, "service": 405}),
    ("get", "/api/incidents", None, {"anonymous": 401, "user": 200, "admin": 200, "service": 200}),
    ("post", "/api/incidents", {"server": "web1", "title": "slow", "severity": "high"},
     {"anonymous": 401, "user": 201, "admin": 201, "service": 201}),
    ("post", "/api/incidents", {"server": "web2", "title": "slow"},
     {"anonymous": 401, "user": 403, "admin": 201, "service": 201}),
    ("post", "/api/incidents/<incident>/resolve", {}, {"anonymous": 401, "user": 200, "admin": 200, "service": 200}),
    ("post", "/api/incidents/resolve-job", {"server": "web1", "job": "demoapp-batch"},
     {"anonymous": 401, "user": 403, "admin": 200, "service": 200}),
    ("get", "/api/audit", None, {"anonymous": 401, "user": 403, "admin": 200, "service": 403}),
    ("post", "/api/audit", {}, {"anonymous": 401, "user": 405, "admin": 405, "service": 405}),
    ("post", "/api/audit/playbook-run", RUN, {"anonymous": 401, "user": 403, "admin": 403, "service": 201}),
    ("get", "/api/health", None, {"anonymous": 200, "user": 200, "admin": 200, "service": 200}),
]


@pytest.mark.parametrize("who", ["anonymous", "user", "admin", "service"])
@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX,
                         ids=[f"{m.upper()} {p} {b.get('server', '') if b else ''}" for m, p, b, _e in MATRIX])
def test_the_permission_matrix(world, who, method, path, body, expected):
    response = request(world, who, method, path, body)
    assert response.status_code == expected[who], response.content


def test_a_user_lists_only_the_servers_associated_with_them(world):
    names = [server["name"] for server in request(world, "user", "get", "/api/servers").json()["results"]]
    assert names == ["web1"]
    assert {b["server"] for b in request(world, "user", "get", "/api/backups").json()["results"]} == {"web1"}


def login(world, username, password):
    from rest_framework.test import APIClient

    return APIClient().post("/api/auth/login", {"username": username, "password": password}, format="json")


def test_login_returns_tokens_that_open_the_api_and_a_refresh_gives_a_new_access_token(world):
    from rest_framework.test import APIClient

    tokens = login(world, "alice", "Alice pw 0123456").json()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get("/api/servers").status_code == 200
    refreshed = APIClient().post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200 and refreshed.json()["access"]
    assert login(world, "alice", "wrong password").status_code == 401


def forged_tokens(world):
    """Tokens the API must refuse: expired, tampered, signed with another key, and alg none."""
    import jwt
    from rest_framework_simplejwt.tokens import AccessToken

    expired = AccessToken.for_user(world["admin"])
    expired.set_exp(lifetime=-datetime.timedelta(minutes=1))
    good = str(AccessToken.for_user(world["alice"]))
    payload = jwt.decode(good, SIGNING_KEY, algorithms=["HS256"])
    header, _body, signature = good.split(".")
    elevated = jwt.encode({**payload, "user_id": str(world["admin"].pk)}, "x" * 32, algorithm="HS256").split(".")[1]
    return {"expired": str(expired), "tampered": f"{header}.{elevated}.{signature}",
            "another key": jwt.encode({**payload, "user_id": str(world["admin"].pk)}, "another-key-" * 4,
                                      algorithm="HS256"),
            "alg none": jwt.encode({**payload, "user_id": str(world["admin"].pk)}, None, algorithm="none")}


@pytest.mark.parametrize("kind", ["expired", "tampered", "another key", "alg none"])
def test_forged_or_expired_tokens_are_refused(world, kind):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {forged_tokens(world)[kind]}")
    assert api.get("/api/audit").status_code == 401


def test_a_wrong_service_credential_is_refused(world):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Service not-the-token")
    assert api.post("/api/backups", BACKUP, format="json").status_code == 401


@pytest.mark.parametrize(("action", "method", "path", "body"), [
    ("server.create", "post", "/api/servers", {"name": "<unique>"}),
    ("server.update", "patch", "/api/servers/<web1>", {"status": "active"}),
    ("server.delete", "delete", "/api/servers/<new-server>", None),
    ("incident.open", "post", "/api/incidents", {"server": "web1", "title": "audited"}),
    ("incident.resolve", "post", "/api/incidents/<incident>/resolve", {}),
    ("backup.record", "post", "/api/backups", BACKUP),
])
def test_every_critical_action_writes_an_audit_row(world, action, method, path, body):
    from console.models import AuditEvent

    before = AuditEvent.objects.filter(action=action).count()
    assert request(world, "admin", method, path, body).status_code in (200, 201, 204)
    event = AuditEvent.objects.filter(action=action).first()
    assert AuditEvent.objects.filter(action=action).count() == before + 1
    assert event.actor == "root-admin" and event.source_address == "127.0.0.1"


@pytest.mark.parametrize(("peer", "recorded"), [
    ("127.0.0.1", "203.0.113.9"),  # the local reverse proxy: its X-Real-IP names the client
    ("10.0.0.5", "203.0.113.9"),  # a proxy of SECURESTACK_TRUSTED_PROXIES (another host)
    ("10.0.0.6", "10.0.0.6"),  # anyone else: the header is a claim, the peer is recorded
])
def test_the_audit_trail_believes_x_real_ip_from_the_trusted_proxies_only(world, peer, recorded):
    from console.models import AuditEvent
    from django.test import override_settings

    with override_settings(SECURESTACK_TRUSTED_PROXIES=frozenset({"127.0.0.1", "::1", "10.0.0.5"})):
        response = client(world, "admin").post("/api/incidents", {"server": "web1", "title": "from " + peer},
                                               format="json", REMOTE_ADDR=peer, HTTP_X_REAL_IP="203.0.113.9")
    assert response.status_code == 201, response.content
    assert AuditEvent.objects.filter(action="incident.open").order_by("-id").first().source_address == recorded


def test_a_playbook_run_is_recorded_with_its_changed_tasks_and_checked(world):
    from console.models import AuditEvent

    response = request(world, "service", "post", "/api/audit/playbook-run", RUN)
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(pk=response.json()["id"])
    assert (event.actor, event.action, event.object) == ("ansible:alice", "playbook.run", "site.yml")
    assert event.detail["changed"] == RUN["changed"] and event.detail["hosts"] == RUN["hosts"]
    unknown = request(world, "service", "post", "/api/audit/playbook-run", {**RUN, "secret": "x"})
    assert unknown.status_code == 400 and "unknown field" in unknown.content.decode()
    negative = {**RUN, "hosts": {"web1": {"changed": -1}}}
    assert request(world, "service", "post", "/api/audit/playbook-run", negative).status_code == 400


def test_logins_are_audited_success_and_failure(world):
    from console.models import AuditEvent

    login(world, "alice", "Alice pw 0123456")
    login(world, "alice", "not her password")
    assert AuditEvent.objects.filter(action="login.success", actor="alice").exists()
    assert AuditEvent.objects.filter(action="login.failure", actor="alice").exists()


@pytest.mark.parametrize("statement", ["UPDATE console_auditevent SET actor = 'someone else'",
                                       "DELETE FROM console_auditevent", "TRUNCATE console_auditevent"])
def test_the_database_refuses_to_change_or_remove_audit_rows(world, statement):
    from console.models import AuditEvent
    from django.db import DatabaseError, connection, transaction

    AuditEvent.objects.create(actor="unit", action="probe")
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.count() == count


@pytest.mark.parametrize(("body", "content_type", "message"), [
    ('{"name": "broken', "application/json", "JSON parse error"),
    ('{"name": "ok-name", "colour": "blue"}', "application/json", "colour"),
    ("name=x", "application/x-www-form-urlencoded", "Unsupported media type"),
])
def test_bad_input_gets_400_or_415_with_a_clear_message_never_a_500(world, body, content_type, message):
    api = client(world, "admin")
    response = api.generic("POST", "/api/servers", body, content_type=content_type)
    assert response.status_code in (400, 415), response.content
    assert message in response.content.decode()
    assert response.json()["error"]


DEEP = "[" * 10000 + "]" * 10000
MALFORMED = [  # method, path, body, content type: each got a 500 (or, for invalid UTF-8, a 200 with nothing)
    ("GET", "/api/backups?server=%00", "", "application/json"),
    ("GET", "/api/incidents?state=open%00", "", "application/json"),
    ("GET", "/api/backups?server=%ff%fe", "", "application/json"),
    ("GET", "/api/servers/%00", "", "application/json"),
    ("POST", "/api/auth/refresh", '{"refresh": ' + DEEP + "}", "application/json"),
    ("POST", "/api/incidents", '{"server": "web1", "title": ' + DEEP + "}", "application/json"),
    ("POST", "/api/incidents", '{"server": "web1", "title": "x"}', "application/json; charset=rot13"),
    ("POST", "/api/incidents", '{"server": "web1", "title": "x"}', "application/json; charset=no-such-charset"),
    ("POST", "/api/servers", b'{"name": "\xff\xfe"}', "application/json"),
    ("POST", "/api/servers", '{"name": "nul\\u0000byte"}', "application/json"),
]


@pytest.mark.parametrize(("method", "path", "body", "content_type"), MALFORMED,
                         ids=[f"{m} {p} {ct.split('; ')[-1]}" for m, p, _b, ct in MALFORMED])
def test_a_malformed_request_gets_a_4xx_json_answer_never_a_500(world, method, path, body, content_type):
    response = client(world, "admin").generic(method, path, body, content_type=content_type)
    assert 400 <= response.status_code < 500, response.content[:300]
    assert response.json()["error"]


def test_a_list_of_1000_servers_costs_a_fixed_number_of_queries(world):
    """Each server's users come from one query for the whole page, not one query per server."""
    from console.models import Server
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        servers = Server.objects.bulk_create(Server(name=f"bulk-{i:04d}") for i in range(1000))
        Server.users.through.objects.bulk_create(Server.users.through(server_id=server.pk, user_id=world["admin"].pk)
                                                 for server in servers)
        with CaptureQueriesContext(connection) as queries:
            response = client(world, "admin").get("/api/servers")
        assert response.status_code == 200 and response.json()["count"] >= 1000
        assert len(queries) <= 4, [q["sql"][:120] for q in queries][:10]
        raise Rollback


def test_a_host_django_does_not_serve_is_a_json_400(world):
    response = client(world, "admin").get("/api/servers", HTTP_HOST="elsewhere.example")
    assert response.status_code == 400 and response.json() == {"error": "bad request"}


def test_an_unknown_path_is_a_json_404(world):
    response = client(world, "admin").get("/api/nothing-here")
    assert response.status_code == 404 and response.json() == {"error": "not found"}


@pytest.mark.skipif(os.environ.get("DJANGO_STACK_RUN") == "debian12", reason="this is the Debian 12 run itself")
def test_the_same_tests_pass_on_debian_12s_django_stack():
    """Debian 12 packages Django 3.2, DRF 3.14 and simplejwt 5.2.2 (testenv.sh installs them in .venv/debian12-api):
    this file's tests run again against them."""
    import subprocess

    proc = django_stack_run(__file__, "debian12")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " skipped" in proc.stdout  # everything but this test ran and passed
    stack = Path(sys.executable).parent.parent / "debian12-api"
    check = subprocess.run([sys.executable, "-c", "import django; print(django.get_version())"], capture_output=True,
                           text=True, check=True, env=dict(os.environ, PYTHONPATH=str(stack)))
    assert check.stdout.startswith("3.2."), check.stdout


def test_converge_ensures_the_administrator_and_a_dry_run_changes_nothing(django_db):
    import io
    import json

    from django.contrib.auth import get_user_model
    from django.core.management import CommandError, call_command

    def converge(*args):
        out = io.StringIO()
        call_command("converge", *args, stdout=out)
        return json.loads(out.getvalue())

    os.environ.update(SECURESTACK_ADMIN_USER="boss", SECURESTACK_ADMIN_PASSWORD="Boss password 0123")
    assert converge("--check") == {"migrations": [], "admin": "created"}
    assert not get_user_model().objects.filter(username="boss").exists()
    assert [converge()["admin"], converge()["admin"]] == ["created", "unchanged"]
    os.environ["SECURESTACK_ADMIN_PASSWORD"] = "Another password 0123"
    assert converge("--check")["admin"] == "updated"
    assert get_user_model().objects.get(username="boss").check_password("Boss password 0123")
    assert converge() == {"migrations": [], "admin": "updated"}
    boss = get_user_model().objects.get(username="boss")
    assert boss.is_staff and boss.check_password("Another password 0123")
    os.environ["SECURESTACK_ADMIN_PASSWORD"] = "short"
    with pytest.raises(CommandError, match="12 characters"):
        call_command("converge")


def test_converge_applies_pending_migrations_once_and_a_dry_run_applies_none(pg, django_db):
    """On an empty database (a new server, or an upgrade that brings migrations): --check lists them and creates
    no table; a run applies them and creates the administrator; the next run has nothing to do."""
    import json
    import subprocess

    name = "securestack_empty_" + uuid.uuid4().hex[:8]
    conn = superuser_connect(pg)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}" OWNER securestack_app')
    conn.close()
    env = dict(os.environ, SECURESTACK_DB_NAME=name, SECURESTACK_ADMIN_USER="boss",
               SECURESTACK_ADMIN_PASSWORD="Boss password 0123")

    def converge(*args):
        proc = subprocess.run([sys.executable, "manage.py", "converge", *args], cwd=APP, env=env, capture_output=True,
                              text=True, check=True)
        return json.loads(proc.stdout)

    def tables():
        db = superuser_connect(pg, name)
        try:
            cur = db.cursor()
            cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            return cur.fetchone()[0]
        finally:
            db.close()

    dry = converge("--check")
    assert "console.0001_initial" in dry["migrations"] and dry["admin"] == "created"
    assert tables() == 0
    assert converge() == dry
    assert tables() > 0
    assert converge() == {"migrations": [], "admin": "unchanged"}


def test_two_converges_started_together_apply_each_migration_once_and_create_one_administrator(pg, django_db):
    """Two application servers (or two operators) converging one new database at once: while another session holds
    the converge lock, both wait; released, one applies the migrations and creates the administrator, the other
    finds nothing to do."""
    from console.management.commands.converge import LOCK_KEY

    name = "securestack_race_" + uuid.uuid4().hex[:8]
    conn = superuser_connect(pg)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}" OWNER securestack_app')
    env = dict(os.environ, SECURESTACK_DB_NAME=name, SECURESTACK_ADMIN_USER="boss",
               SECURESTACK_ADMIN_PASSWORD="Boss password 0123")
    outcomes = runs_held_by_a_lock(pg, name, LOCK_KEY, [sys.executable, "manage.py", "converge"], APP, env)
    applied = sorted(outcomes, key=lambda o: len(o["migrations"]))
    assert applied[0] == {"migrations": [], "admin": "unchanged"}, outcomes
    assert "console.0001_initial" in applied[1]["migrations"] and applied[1]["admin"] == "created", outcomes
    cur = superuser_connect(pg, name).cursor()
    cur.execute("SELECT count(*) FROM auth_user WHERE username = 'boss'")
    assert cur.fetchone()[0] == 1
    conn.close()


# Accounts: registration, password change, logout, administration.

def make_user(name=None, password="Usable pw 0123456", **fields):  # noqa: S107 (a test account)
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(name or "u-" + uuid.uuid4().hex[:8], password=password, **fields)


def as_user(user):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return api


def anonymous_post(path, body):
    from rest_framework.test import APIClient

    return APIClient().post(path, body, format="json")


@pytest.mark.parametrize(("mode", "created", "login_before_approval"), [
    ("approval", "pending", 401), ("open", "active", 200), ("closed", None, 401)])
def test_registration_in_each_mode(world, mode, created, login_before_approval):
    from django.test import override_settings

    name = "reg-" + uuid.uuid4().hex[:8]
    with override_settings(REGISTRATION=mode):
        response = anonymous_post("/api/auth/register", {"username": name, "password": "Fresh pw for reg 42"})
    if created is None:
        assert response.status_code == 403 and "closed" in response.json()["error"]
    else:
        assert response.status_code == 201 and response.json() == {"username": name, "status": created}
    assert login(world, name, "Fresh pw for reg 42").status_code == login_before_approval
    if mode == "approval":
        user_id = next(u["id"] for u in client(world, "admin").get("/api/users?status=pending&page_size=1000")
                       .json()["results"] if u["username"] == name)
        assert client(world, "admin").post(f"/api/users/{user_id}/approve").json()["status"] == "active"
        assert login(world, name, "Fresh pw for reg 42").status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"username": "weak-" + uuid.uuid4().hex[:6], "password": "password123"}, "password"),  # common, short
    ({"username": "digits-" + uuid.uuid4().hex[:6], "password": "83920174650192"}, "password"),  # numeric
    ({"username": "alice", "password": "Fresh pw for reg 42"}, "username"),  # taken
    ({"username": "bad name!", "password": "Fresh pw for reg 42"}, "username"),
    ({"username": "x", "password": "Fresh pw for reg 42", "is_staff": True}, "is_staff"),  # mass assignment
    ({"username": "x"}, "password"),
])
def test_registration_refuses_weak_passwords_taken_names_and_extra_fields(world, body, field):
    response = anonymous_post("/api/auth/register", body)
    assert response.status_code == 400 and field in response.json()["detail"], response.content


def test_a_password_change_needs_the_old_password_and_ends_the_other_sessions(world):
    from rest_framework.test import APIClient

    user = make_user()
    old = login(world, user.username, "Usable pw 0123456").json()
    api = as_user(user)
    wrong = api.post("/api/auth/password", {"old_password": "not it at all", "new_password": "Brand new pw 4242"},
                     format="json")
    assert wrong.status_code == 400 and "old_password" in wrong.json()["detail"]
    weak = api.post("/api/auth/password", {"old_password": "Usable pw 0123456", "new_password": "short"},
                    format="json")
    assert weak.status_code == 400 and "new_password" in weak.json()["detail"]
    assert api.post("/api/auth/password", {"old_password": "Usable pw 0123456", "new_password": "Brand new pw 4242"},
                    format="json").status_code == 200
    assert login(world, user.username, "Usable pw 0123456").status_code == 401
    assert login(world, user.username, "Brand new pw 4242").status_code == 200
    assert APIClient().post("/api/auth/refresh", {"refresh": old["refresh"]}, format="json").status_code == 401


def test_logout_revokes_the_refresh_token(world):
    from rest_framework.test import APIClient

    user = make_user()
    tokens = login(world, user.username, "Usable pw 0123456").json()
    assert anonymous_post("/api/auth/logout", {"refresh": tokens["refresh"]}).status_code == 200
    assert APIClient().post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert anonymous_post("/api/auth/logout", {"refresh": tokens["refresh"]}).status_code == 401
    assert anonymous_post("/api/auth/logout", {"refresh": "not.a.token"}).status_code == 401


@pytest.mark.parametrize("how", ["deactivate", "delete"])
def test_a_deactivated_or_deleted_users_tokens_stop_working_at_once(world, how):
    from rest_framework.test import APIClient

    user = make_user()
    tokens = login(world, user.username, "Usable pw 0123456").json()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get("/api/servers").status_code == 200
    if how == "deactivate":
        assert client(world, "admin").post(f"/api/users/{user.pk}/deactivate").status_code == 200
    else:
        assert client(world, "admin").delete(f"/api/users/{user.pk}").status_code == 204
    assert api.get("/api/servers").status_code == 401
    assert APIClient().post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_the_last_administrator_cannot_be_demoted_and_nobody_removes_their_own_right(world):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    others = list(users.filter(is_staff=True, is_active=True).exclude(pk=world["admin"].pk))
    users.filter(pk__in=[u.pk for u in others]).update(is_staff=False)  # root-admin is the only administrator
    try:
        admin = client(world, "admin")
        me = world["admin"].pk
        for action in ("revoke-admin", "deactivate"):
            refused = admin.post(f"/api/users/{me}/{action}")
            assert refused.status_code == 409 and "yourself" in refused.json()["error"]
        assert admin.delete(f"/api/users/{me}").status_code == 409
        second = make_user(is_staff=True)
        assert as_user(second).post(f"/api/users/{me}/revoke-admin").status_code == 200  # two admins: allowed
        refused = admin.post(f"/api/users/{second.pk}/revoke-admin")  # root-admin is no longer one: 403
        assert refused.status_code == 403
        last = as_user(second).post(f"/api/users/{second.pk}/revoke-admin")
        assert last.status_code == 409
        users.filter(pk=me).update(is_staff=True)
        assert users.get(pk=second.pk).is_staff
    finally:
        users.filter(pk__in=[u.pk for u in others] + [world["admin"].pk]).update(is_staff=True)


@pytest.mark.parametrize(("action", "method", "path", "body"), [
    ("user.approve", "post", "approve", None),
    ("user.deactivate", "post", "deactivate", None),
    ("user.grant_admin", "post", "grant-admin", None),
    ("user.revoke_admin", "post", "revoke-admin", None),
    ("user.servers", "post", "servers", {"servers": ["web1"]}),
    ("user.delete", "delete", "", None),
])
def test_every_administration_action_writes_an_audit_row(world, action, method, path, body):
    from console.models import AuditEvent

    target = make_user(is_staff=action == "user.revoke_admin", is_active=action != "user.approve")
    before = AuditEvent.objects.filter(action=action, object=target.username).count()
    url = f"/api/users/{target.pk}" + (f"/{path}" if path else "")
    response = getattr(client(world, "admin"), method)(url, body, format="json")
    assert response.status_code in (200, 204), response.content
    assert AuditEvent.objects.filter(action=action, object=target.username, actor="root-admin").count() == before + 1


def test_only_administrators_manage_users_and_a_user_sees_their_servers(world):
    assert client(world, "user").get("/api/users").status_code == 403
    assert client(world, "service").get("/api/users").status_code == 401
    assert client(world, "user").post(f"/api/users/{world['alice'].pk}/grant-admin").status_code == 403
    me = client(world, "user").get("/api/auth/me").json()
    assert me == {"username": "alice", "is_admin": False, "servers": ["web1"]}
    unknown = client(world, "admin").post(f"/api/users/{world['alice'].pk}/servers", {"servers": ["nowhere"]},
                                          format="json")
    assert unknown.status_code == 400 and "nowhere" in unknown.content.decode()


# Lists: pages, filters, ordering, a constant number of queries, and the schema.

def test_lists_are_paginated_with_a_bounded_page_size(world):
    from console.models import Server
    from django.db import transaction

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        Server.objects.bulk_create(Server(name=f"page-{i:04d}") for i in range(1100))
        admin = client(world, "admin")
        first = admin.get("/api/servers").json()
        assert len(first["results"]) == 50 and first["count"] >= 1100 and first["previous"] is None
        assert "page=2" in first["next"]
        assert len(admin.get("/api/servers?page_size=7&page=2").json()["results"]) == 7
        assert len(admin.get("/api/servers?page_size=100000").json()["results"]) == 1000
        beyond = admin.get("/api/servers?page=1000")
        assert beyond.status_code == 404 and beyond.json()["error"]
        raise Rollback


FILTERS = [  # path, field of each result, expected value
    ("/api/servers?status=maintenance", "status", "maintenance"),
    ("/api/servers?name=web2", "name", "web2"),
    ("/api/incidents?state=resolved", "state", "resolved"),
    ("/api/incidents?server=web2", "server", "web2"),
    ("/api/incidents?severity=critical", "severity", "critical"),
    ("/api/backups?server=web2", "server", "web2"),
    ("/api/backups?state=failed", "state", "failed"),
    ("/api/audit?actor=filter-actor", "actor", "filter-actor"),
    ("/api/audit?action=filter.action", "action", "filter.action"),
    ("/api/users?status=inactive", "status", "inactive"),
]


@pytest.fixture(scope="module")
def varied(world):
    """At least one row on each side of every filter."""
    from console.models import AuditEvent, BackupTask, Incident, Server
    from django.utils import timezone

    Server.objects.create(name="filter-maint", status="maintenance")
    for state in ("open", "resolved"):
        Incident.objects.create(server=world["web2"], title="f", opened_by="seed", state=state, severity="critical")
    BackupTask.objects.create(server=world["web2"], kind="daily", started_at=timezone.now(), state="failed")
    AuditEvent.objects.create(actor="filter-actor", action="filter.action")
    make_user(is_active=False)


@pytest.mark.parametrize(("path", "field", "value"), FILTERS, ids=[p for p, _f, _v in FILTERS])
def test_each_filter_keeps_only_the_matching_rows(world, varied, path, field, value):
    admin = client(world, "admin")
    everything = admin.get(path.split("?")[0] + "?page_size=1000").json()["results"]
    filtered = admin.get(path + "&page_size=1000").json()["results"]
    assert filtered and all(row[field] == value for row in filtered)
    assert any(row[field] != value for row in everything)


def test_the_audit_trail_filters_by_time_range(world, varied):
    admin = client(world, "admin")
    assert admin.get("/api/audit?until=2000-01-01").json()["count"] == 0
    recent = admin.get("/api/audit?since=2000-01-01T00:00:00Z&until=2999-01-01").json()
    assert recent["count"] == admin.get("/api/audit").json()["count"] > 0


@pytest.mark.parametrize(("path", "message"), [
    ("/api/incidents?state=closed", "expected one of open, resolved"),
    ("/api/servers?colour=blue", "unknown parameter"),
    ("/api/audit?since=yesterday", "ISO 8601"),
    ("/api/servers?ordering=password", "unknown field"),
])
def test_a_wrong_filter_or_ordering_is_a_400_naming_it(world, path, message):
    response = client(world, "admin").get(path)
    assert response.status_code == 400 and message in response.content.decode(), response.content
    assert response.json()["error"]


def test_ordering(world, varied):
    admin = client(world, "admin")
    names = [s["name"] for s in admin.get("/api/servers?ordering=-name&page_size=1000").json()["results"]]
    assert names == sorted(names, reverse=True) and len(names) > 2
    times = [e["time"] for e in admin.get("/api/audit?ordering=time&page_size=1000").json()["results"]]
    assert times == sorted(times)


LISTS = ["/api/servers", "/api/backups", "/api/incidents", "/api/audit", "/api/users"]


@pytest.fixture(scope="module")
def many_rows(world):
    """200 more rows in every list, each with relations (users with servers, servers with users)."""
    from console.models import AuditEvent, BackupTask, Incident, Server
    from django.contrib.auth import get_user_model

    servers = Server.objects.bulk_create(Server(name=f"q-{i}-{uuid.uuid4().hex[:6]}") for i in range(200))
    users = get_user_model().objects.bulk_create(get_user_model()(username=f"q-{i}-{uuid.uuid4().hex[:6]}",
                                                                  password="!") for i in range(200))
    Server.users.through.objects.bulk_create(Server.users.through(server_id=server.pk, user_id=user.pk)
                                             for server, user in zip(servers, users, strict=True))
    Server.users.through.objects.bulk_create(Server.users.through(server_id=server.pk, user_id=world["admin"].pk)
                                             for server in servers)
    BackupTask.objects.bulk_create(BackupTask(server=server, kind="daily", started_at=NOW, state="ok")
                                   for server in servers)
    Incident.objects.bulk_create(Incident(server=server, title="q", opened_by="seed") for server in servers)
    AuditEvent.objects.bulk_create(AuditEvent(actor="q", action=f"q{i}") for i in range(200))


@pytest.mark.parametrize("path", LISTS)
def test_every_list_costs_the_same_number_of_queries_for_5_or_200_rows(world, many_rows, path):
    """No per-row lookups: the queries of a page of 5 rows and of a page of 200 rows are as many."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (5, 200):
        with CaptureQueriesContext(connection) as queries:
            response = client(world, "admin").get(f"{path}?page_size={size}")
        assert response.status_code == 200 and len(response.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 6, counts


def test_the_schema_describes_every_route(world):
    from django.urls import get_resolver

    schema = client(world, "anonymous").get("/api/schema")
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    described = set(schema.json()["paths"])
    routes = set()
    for pattern in get_resolver().url_patterns:
        if hasattr(pattern, "url_patterns"):  # the router's
            for sub in pattern.url_patterns:
                routes.add("/api/" + str(sub.pattern).lstrip("^").rstrip("$"))
        else:
            routes.add("/" + str(pattern.pattern))
    expected = {route.replace("(?P<pk>[^/.]+)", "{id}") for route in routes if route != "/api/schema"}
    assert expected and expected <= described, sorted(expected - described)
    parameters = {p["name"] for p in schema.json()["paths"]["/api/incidents"]["get"]["parameters"]}
    assert {"page", "page_size", "state", "server", "ordering"} <= parameters
