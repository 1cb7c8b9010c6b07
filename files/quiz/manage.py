"""The quiz's management commands: python3 manage.py migrate | collectstatic | purge_daily_scores | check --deploy"""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quiz_noel.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
