"""files/django_app/converge.py, the django_app role's migrations and administrator, against a real PostgreSQL and
two projects: the quiz (no django.contrib.auth) and the operations API (an administrator). A dry run writes
nothing; a run applies the migrations once; two runs started together wait for the lock, and one applies."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, owned_database, runs_held_by_a_lock, superuser_connect

CONVERGE = ROOT / "files" / "django_app" / "converge.py"
QUIZ, API = ROOT / "files" / "quiz", ROOT / "files" / "securestack"


def environment(pg, name, **more):
    """The quiz's and the API's settings, both on database ``name``."""
    common = {"DB_NAME": name, "DB_USER": "converge_owner", "DB_PASSWORD": "unit-owner-pw", "DB_HOST": pg["host"],
              "DB_PORT": str(pg["port"])}
    env = dict(os.environ, QUIZ_SECRET_KEY="unit-secret-key", SECURESTACK_SECRET_KEY="unit-secret-key",
               SECURESTACK_JWT_SIGNING_KEY="unit-jwt-key-0123456789abcdef", **more)
    env.update({f"QUIZ_{k}": v for k, v in common.items()})
    env.update({f"SECURESTACK_{k}": v for k, v in common.items()})
    return env


def converge(project, env, *args, check=True):
    return subprocess.run([sys.executable, str(CONVERGE), *args], cwd=project, env=env, capture_output=True,
                          text=True, check=check)


@pytest.fixture
def quiz_env(pg):
    return environment(pg, owned_database(pg, "converge_", "converge_owner", "unit-owner-pw"),
                       DJANGO_SETTINGS_MODULE="quiz_noel.settings")


def test_a_dry_run_writes_nothing_and_a_run_applies_the_migrations_once(pg, quiz_env):
    dry = json.loads(converge(QUIZ, quiz_env, "--check").stdout)
    assert dry == {"migrations": ["game.0001_initial"], "admin": "none"}
    cur = superuser_connect(pg, quiz_env["QUIZ_DB_NAME"]).cursor()
    cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    assert cur.fetchone()[0] == 0
    assert json.loads(converge(QUIZ, quiz_env).stdout) == dry
    assert json.loads(converge(QUIZ, quiz_env).stdout) == {"migrations": [], "admin": "none"}
    cur.execute("SELECT count(*) FROM django_migrations WHERE app = 'game'")
    assert cur.fetchone()[0] == 1


def test_two_runs_started_together_wait_for_the_lock_and_one_applies(pg, quiz_env):
    sys.path.insert(0, str(CONVERGE.parent))
    from converge import LOCK_KEY

    outcomes = runs_held_by_a_lock(pg, quiz_env["QUIZ_DB_NAME"], LOCK_KEY, [sys.executable, str(CONVERGE)], QUIZ,
                                   quiz_env)
    assert sorted(outcomes, key=lambda o: o["migrations"]) == [
        {"migrations": [], "admin": "none"}, {"migrations": ["game.0001_initial"], "admin": "none"}]


def test_the_administrator_is_created_then_unchanged_and_needs_django_contrib_auth(pg, quiz_env):
    admin = {"DJANGO_APP_ADMIN_USER": "boss", "DJANGO_APP_ADMIN_PASSWORD": "Boss password 0123"}
    refused = converge(QUIZ, dict(quiz_env, **admin), check=False)
    assert refused.returncode != 0 and "needs django.contrib.auth in INSTALLED_APPS" in refused.stderr
    api_env = environment(pg, owned_database(pg, "converge_", "converge_owner", "unit-owner-pw"),
                          DJANGO_SETTINGS_MODULE="securestack.settings", **admin)
    assert json.loads(converge(API, api_env).stdout)["admin"] == "created"
    assert json.loads(converge(API, api_env).stdout) == {"migrations": [], "admin": "unchanged"}
    short = converge(API, dict(api_env, DJANGO_APP_ADMIN_PASSWORD="short"), check=False)
    assert short.returncode != 0 and "12 characters or more" in short.stderr


def test_over_the_local_socket_the_migrations_run_as_the_schemas_owner(pg, quiz_env):
    """As django_app runs them on a database host: postgres (peer) acting as the owner role (<prefix>DB_ROLE), so
    that the tables belong to the owner, not to postgres."""
    env = dict(quiz_env, QUIZ_DB_USER="postgres", QUIZ_DB_PASSWORD="", QUIZ_DB_HOST=pg["socket"],
               QUIZ_DB_ROLE="converge_owner")
    converge(QUIZ, env)
    cur = superuser_connect(pg, quiz_env["QUIZ_DB_NAME"]).cursor()
    cur.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert cur.fetchall() == [("converge_owner",)]
