"""WSGI entry point for Gunicorn (quiz_noel.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quiz_noel.settings")
application = get_wsgi_application()
