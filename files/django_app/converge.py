"""python3 converge.py [--check]: a Django project's pending migrations and its administrator, in one start of Django.

Run from the project's directory (manage.py's), with DJANGO_SETTINGS_MODULE and the project's settings in the
environment (integration.demoapp.django_app runs it as the schema's owner). Applies the pending migrations, then,
when DJANGO_APP_ADMIN_USER is set, creates or corrects that administrator (django.contrib.auth; password:
DJANGO_APP_ADMIN_PASSWORD). Several application servers share one database: the run holds a PostgreSQL advisory lock
from before it looks for pending migrations until the administrator is ensured, so that two runs started together
apply each migration once and create one administrator (the second waits, then finds nothing to do). With --check
nothing is written. Prints one JSON object:
  {"migrations": ["app.0002_...", ...], "admin": "created" | "updated" | "unchanged" | "none"}"""

import json
import os
import sys

import django
from django.apps import apps
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

# pg_advisory_lock's key (advisory locks are per database): the bytes of "djconvrg".
LOCK_KEY = int.from_bytes(b"djconvrg", "big") >> 1


def pending_migrations(connection):
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def admin_state(name, password, write):
    from django.contrib.auth import get_user_model  # noqa: PLC0415 (only once Django is set up, and only with auth)
    from django.contrib.auth.hashers import check_password  # noqa: PLC0415

    user = get_user_model().objects.filter(username=name).first()
    # hashers.check_password, not user.check_password: the latter may rewrite the stored hash (a dry run must not).
    if user and user.is_staff and user.is_superuser and user.is_active and check_password(password, user.password):
        return "unchanged"
    state = "updated" if user else "created"
    if write:
        user = user or get_user_model()(username=name)
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
    return state


def main(argv):
    write = "--check" not in argv[1:]
    name, password = os.environ.get("DJANGO_APP_ADMIN_USER", ""), os.environ.get("DJANGO_APP_ADMIN_PASSWORD", "")
    if name and len(password) < 12:
        sys.exit("converge.py: DJANGO_APP_ADMIN_PASSWORD must be 12 characters or more")
    sys.path.insert(0, os.getcwd())  # the project's packages, from its directory
    django.setup()
    if name and not apps.is_installed("django.contrib.auth"):
        sys.exit("converge.py: an administrator needs django.contrib.auth in INSTALLED_APPS")
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        if write:  # a session lock (migrate commits as it goes), released when the connection closes
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        migrations = pending_migrations(connection)
        if migrations and write:
            call_command("migrate", interactive=False, verbosity=0)
        if not name:
            admin = "none"
        elif migrations and not write and "auth.0001_initial" in migrations:
            admin = "created"  # a dry run on a database without the schema yet
        else:
            admin = admin_state(name, password, write)
        if write:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    print(json.dumps({"migrations": migrations, "admin": admin}))


if __name__ == "__main__":
    main(sys.argv)
