"""Settings, all from the environment (the role writes them to a 0600 env file from vault variables).

Required: SECURESTACK_SECRET_KEY, SECURESTACK_JWT_SIGNING_KEY, SECURESTACK_DB_NAME, SECURESTACK_DB_USER.
Optional: SECURESTACK_DB_PASSWORD (none: peer authentication over the local socket), SECURESTACK_DB_HOST
(default: the local socket), SECURESTACK_DB_PORT, SECURESTACK_DB_SSLMODE, SECURESTACK_DB_ROLE (the role the
session acts as: the schema's owner, for migrations), SECURESTACK_ALLOWED_HOSTS (comma-separated),
SECURESTACK_JWT_MINUTES (access token lifetime, default 15), SECURESTACK_SERVICE_TOKEN (the credential the
collection's jobs record backups and incidents with), SECURESTACK_REGISTRATION (approval, the default: a registered
account waits for an administrator; open; closed), SECURESTACK_TRUSTED_PROXIES (comma-separated addresses whose
X-Real-IP header names the client; default loopback), SECURESTACK_DB_SSLROOTCERT (the CA file the database's
certificate is verified with, sslmode verify-full), SECURESTACK_DEBUG (never in production).
Written for the Django, Django REST Framework and simplejwt versions Debian 12 and 13 package.
"""

import datetime
import os

from django.core.exceptions import ImproperlyConfigured


def required(name):
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"{name} is not set (the securestack role writes it from a vault variable)")
    return value


SECRET_KEY = required("SECURESTACK_SECRET_KEY")
DEBUG = os.environ.get("SECURESTACK_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("SECURESTACK_ALLOWED_HOSTS", "localhost").split(",") if h]
# The reverse proxies: only their X-Real-IP header is believed (console.audit.client_address).
SECURESTACK_TRUSTED_PROXIES = frozenset(
    h for h in os.environ.get("SECURESTACK_TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if h)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",  # logout and deactivation revoke refresh tokens
    "console",
]
MIDDLEWARE = [
    "console.guards.RequestGuard",  # malformed paths and query strings: 400 in JSON, before anything else
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "securestack.urls"
APPEND_SLASH = False  # /api/servers, never a redirect
WSGI_APPLICATION = "securestack.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": required("SECURESTACK_DB_NAME"),
        "USER": required("SECURESTACK_DB_USER"),
        "PASSWORD": os.environ.get("SECURESTACK_DB_PASSWORD", ""),
        "HOST": os.environ.get("SECURESTACK_DB_HOST", ""),
        "PORT": os.environ.get("SECURESTACK_DB_PORT", ""),
        "OPTIONS": {"sslmode": os.environ.get("SECURESTACK_DB_SSLMODE", "prefer"),
                    **({"sslrootcert": os.environ["SECURESTACK_DB_SSLROOTCERT"]}
                       if os.environ.get("SECURESTACK_DB_SSLROOTCERT") else {}),
                    **({"options": "-c role=" + os.environ["SECURESTACK_DB_ROLE"]}
                       if os.environ.get("SECURESTACK_DB_ROLE") else {})},
        # A connection per request (a local socket: a few milliseconds). Kept connections break when
        # PostgreSQL restarts: each worker then answered its next request with a 500, and Django 3.2
        # (Debian 12) has no health check to catch it.
        "CONN_MAX_AGE": 0,
    }
}

# nginx terminates TLS and says so; cookies are not used (JWT in the Authorization header).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["console.guards.JSONParser"],  # DRF's, refusing what made it fail with a 500
    "EXCEPTION_HANDLER": "console.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "console.lists.Pages",
    "DEFAULT_FILTER_BACKENDS": ["console.lists.Filters"],
    "UNAUTHENTICATED_USER": None,
}
SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": required("SECURESTACK_JWT_SIGNING_KEY"),
    "ACCESS_TOKEN_LIFETIME": datetime.timedelta(minutes=int(os.environ.get("SECURESTACK_JWT_MINUTES", "15"))),
    "REFRESH_TOKEN_LIFETIME": datetime.timedelta(hours=8),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}
SERVICE_TOKEN = os.environ.get("SECURESTACK_SERVICE_TOKEN", "")

REGISTRATION = os.environ.get("SECURESTACK_REGISTRATION", "approval")
if REGISTRATION not in ("approval", "open", "closed"):
    raise ImproperlyConfigured(f"SECURESTACK_REGISTRATION is {REGISTRATION!r}: expected approval, open or closed")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
