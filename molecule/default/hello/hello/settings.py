"""Settings from the environment django_app writes (HELLO_ prefix)."""

import os

SECRET_KEY = os.environ["HELLO_SECRET_KEY"]
ALLOWED_HOSTS = os.environ.get("HELLO_ALLOWED_HOSTS", "localhost").split(",")
INSTALLED_APPS = ["greetings"]
ROOT_URLCONF = "hello.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": os.environ["HELLO_DB_NAME"], "USER": os.environ["HELLO_DB_USER"],
    "PASSWORD": os.environ.get("HELLO_DB_PASSWORD", ""), "HOST": os.environ.get("HELLO_DB_HOST", ""),
    "PORT": os.environ.get("HELLO_DB_PORT", ""),
    "OPTIONS": {"options": "-c role=" + os.environ["HELLO_DB_ROLE"]} if os.environ.get("HELLO_DB_ROLE") else {}}}
