"""Settings, all from the environment (the deploying role writes them to a 0600 env file).

Required: QUIZ_SECRET_KEY, QUIZ_DB_NAME, QUIZ_DB_USER.
Optional: QUIZ_DB_PASSWORD (none: peer authentication over the local socket), QUIZ_DB_HOST (default: the local
socket), QUIZ_DB_PORT, QUIZ_DB_SSLMODE, QUIZ_DB_SSLROOTCERT, QUIZ_DB_ROLE (the role the session acts as: the
schema's owner, for the migrations), QUIZ_ALLOWED_HOSTS (comma-separated), QUIZ_TIME_ZONE
(the zone whose midnight starts a new day of the quiz; default Indian/Reunion, UTC+4), QUIZ_QUESTIONS_DIR (the
three JSON files; default the project's questions/), QUIZ_QUESTIONS_PER_GAME (default 10), QUIZ_MIN_ANSWER_MS
(an answer faster than this is not a person's; default 300), QUIZ_STATIC_ROOT (where collectstatic writes, served
by the proxy), QUIZ_DEBUG (never in production).
Written for the Django and Django REST Framework versions Debian 12 and 13 package (3.2 / 3.14, 4.2 / 3.16).
"""

import os
import zoneinfo
from pathlib import Path

import django
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def required(name):
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} is not set (the deploying role writes it from a vault variable)")
    return value


def positive(name, default):
    value = os.environ.get(name, str(default))
    if not value.isdigit() or int(value) == 0:
        raise ImproperlyConfigured(f"{name} is {value!r}: expected a positive whole number")
    return int(value)


SECRET_KEY = required("QUIZ_SECRET_KEY")
DEBUG = os.environ.get("QUIZ_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("QUIZ_ALLOWED_HOSTS", "localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "rest_framework",
    "game",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "quiz_noel.urls"
APPEND_SLASH = False
WSGI_APPLICATION = "quiz_noel.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "OPTIONS": {}}]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": required("QUIZ_DB_NAME"),
        "USER": required("QUIZ_DB_USER"),
        "PASSWORD": os.environ.get("QUIZ_DB_PASSWORD", ""),
        "HOST": os.environ.get("QUIZ_DB_HOST", ""),
        "PORT": os.environ.get("QUIZ_DB_PORT", ""),
        "OPTIONS": {"sslmode": os.environ.get("QUIZ_DB_SSLMODE", "prefer"),
                    **({"sslrootcert": os.environ["QUIZ_DB_SSLROOTCERT"]}
                       if os.environ.get("QUIZ_DB_SSLROOTCERT") else {}),
                    # The role the session acts as (the schema's owner, for the migrations over the local socket).
                    **({"options": "-c role=" + os.environ["QUIZ_DB_ROLE"]} if os.environ.get("QUIZ_DB_ROLE") else {})},
        "CONN_MAX_AGE": 0,
    }
}

# The proxy serves /static/ from STATIC_ROOT; hashed names (app.3f2a...js) may be cached for a year.
STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("QUIZ_STATIC_ROOT", str(BASE_DIR / "static"))
_MANIFEST = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
if django.VERSION >= (4, 2):
    STORAGES = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                "staticfiles": {"BACKEND": _MANIFEST}}
else:  # Django 3.2 (Debian 12)
    STATICFILES_STORAGE = _MANIFEST

# nginx terminates TLS and says so; no cookies (the game's token travels in the requests' bodies).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True

REST_FRAMEWORK = {
    # No session, no cookie: no CSRF to enforce (the seed: "CSRF désactivé, pas de cookies, API pure").
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

try:
    QUIZ_TIME_ZONE = zoneinfo.ZoneInfo(os.environ.get("QUIZ_TIME_ZONE", "Indian/Reunion"))
except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(f"QUIZ_TIME_ZONE is {os.environ['QUIZ_TIME_ZONE']!r}: not a time zone") from exc
QUIZ_QUESTIONS_DIR = Path(os.environ.get("QUIZ_QUESTIONS_DIR", str(BASE_DIR / "questions")))
QUIZ_QUESTIONS_PER_GAME = positive("QUIZ_QUESTIONS_PER_GAME", 10)
QUIZ_MIN_ANSWER_MS = positive("QUIZ_MIN_ANSWER_MS", 300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
