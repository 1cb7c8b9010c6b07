"""Who may do what. Roles: administrator (a staff user), user, and the service credential the
collection's jobs use (SECURESTACK_SERVICE_TOKEN: record backups, open and resolve incidents,
register servers)."""

import hmac

from django.conf import settings
from rest_framework import authentication, exceptions, permissions


class ServiceAccount:
    """The identity behind the service credential."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_service = True
    pk = None

    def get_username(self):
        return "service"


class ServiceTokenAuthentication(authentication.BaseAuthentication):
    """Authorization: Service <token>."""

    keyword = "Service"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode("latin-1") != self.keyword:
            return None
        if len(parts) != 2 or not settings.SERVICE_TOKEN or not hmac.compare_digest(
                parts[1], settings.SERVICE_TOKEN.encode()):
            raise exceptions.AuthenticationFailed("invalid service credential")
        return ServiceAccount(), None

    def authenticate_header(self, request):
        return self.keyword


def is_admin(user):
    return bool(user and user.is_authenticated and user.is_staff)


def is_service(user):
    return bool(getattr(user, "is_service", False))


class Matrix(permissions.BasePermission):
    """A view declares, per action, who may: {"list": {"admin", "user"}, "create": {"admin", "service"}, ...}."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if view.action is None:  # a method this endpoint does not have: let DRF answer 405
            return True
        allowed = view.allowed.get(view.action, set())
        role = "admin" if is_admin(user) else "service" if is_service(user) else "user"
        return role in allowed
