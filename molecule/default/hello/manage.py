"""A minimal Django project of a user's own, deployed by integration.demoapp.django_app alone (test_django_app.py)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hello.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
