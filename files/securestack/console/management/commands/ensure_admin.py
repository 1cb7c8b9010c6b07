"""python3 manage.py ensure_admin: the administrator from SECURESTACK_ADMIN_USER and SECURESTACK_ADMIN_PASSWORD
(the securestack role passes them from vault variables, never on a command line). Prints created, updated or
unchanged, so that Ansible reports a change only when there was one."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create or update the administrator named by SECURESTACK_ADMIN_USER (password: SECURESTACK_ADMIN_PASSWORD)."

    def handle(self, *args, **options):
        name, password = os.environ.get("SECURESTACK_ADMIN_USER", ""), os.environ.get("SECURESTACK_ADMIN_PASSWORD", "")
        if not name or len(password) < 12:
            raise CommandError("SECURESTACK_ADMIN_USER and SECURESTACK_ADMIN_PASSWORD (12 characters or more) "
                               "are required")
        user, created = get_user_model().objects.get_or_create(username=name)
        changed = created or not (user.is_staff and user.is_active and user.check_password(password))
        if changed:
            user.is_staff = user.is_active = True
            user.set_password(password)
            user.save()
        self.stdout.write("created" if created else "updated" if changed else "unchanged")
