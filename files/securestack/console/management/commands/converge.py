"""python3 manage.py converge [--check]: the database schema and the administrator, in one start of Django.

Applies the pending migrations, then creates or corrects the administrator named by SECURESTACK_ADMIN_USER
(password: SECURESTACK_ADMIN_PASSWORD; the securestack role passes both from vault variables, never on a command
line). With --check nothing is written: it reports what a run would do. Several application servers share one
database: a run holds a PostgreSQL advisory lock from before it looks for pending migrations until it has ensured the
administrator, so that two runs started together (two hosts, two operators) apply each migration once and create one
administrator: the second waits, then finds nothing to do. Prints one JSON object, so that Ansible reports a change
only when there is one:
  {"migrations": ["console.0002_...", ...], "admin": "created" | "updated" | "unchanged"}"""

import json
import os

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

# pg_advisory_lock's key: any number the other users of the database do not lock (the bytes of "ssconvrg").
LOCK_KEY = int.from_bytes(b"ssconvrg", "big") >> 1


def pending_migrations():
    """The migrations not applied yet, in the order migrate applies them."""
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def admin_state(name, password, write):
    """created, updated or unchanged; written only when write is true."""
    user = get_user_model().objects.filter(username=name).first()
    # hashers.check_password, not user.check_password: the latter may rewrite the stored hash (a dry run must not).
    if user and user.is_staff and user.is_active and check_password(password, user.password):
        return "unchanged"
    state = "updated" if user else "created"
    if write:
        user = user or get_user_model()(username=name)
        user.is_staff = user.is_active = True
        user.set_password(password)
        user.save()
    return state


class Command(BaseCommand):
    help = "Apply pending migrations and ensure the administrator (SECURESTACK_ADMIN_USER, SECURESTACK_ADMIN_PASSWORD)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="report what would change, change nothing")

    def handle(self, *args, **options):
        name, password = os.environ.get("SECURESTACK_ADMIN_USER", ""), os.environ.get("SECURESTACK_ADMIN_PASSWORD", "")
        if not name or len(password) < 12:
            raise CommandError("SECURESTACK_ADMIN_USER and SECURESTACK_ADMIN_PASSWORD (12 characters or more) "
                               "are required")
        write = not options["check"]
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            # A session lock (migrate commits as it goes): released when the process's connection closes.
            if write:
                cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
            migrations = pending_migrations()
            if migrations and write:
                call_command("migrate", interactive=False, verbosity=0)
            # A dry run on a database without the schema yet: the administrator would be created.
            admin = "created" if migrations and not write and "auth.0001_initial" in migrations else \
                admin_state(name, password, write)
            if write:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        self.stdout.write(json.dumps({"migrations": migrations, "admin": admin}))
