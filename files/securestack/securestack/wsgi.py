"""WSGI entry point for Gunicorn (securestack.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securestack.settings")
application = get_wsgi_application()
