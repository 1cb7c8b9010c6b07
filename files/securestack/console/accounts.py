"""Accounts: registration (settings.REGISTRATION: approval, open or closed), password change, logout, and their
administration by administrators (approve, deactivate, grant and revoke the administrator role, delete, associate
servers). Every change is audited. A user who is deactivated or deleted is refused at the next request: access
tokens are checked against the user's row (JWTAuthentication), refresh tokens too (RefreshSerializer), and their
refresh tokens are revoked (simplejwt's blacklist)."""

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenRefreshView

from . import audit
from .lists import choice
from .models import Account, Server
from .permissions import Matrix

User = get_user_model()
ADMIN = "admin"


class Refused(exceptions.APIException):
    """409: the change would leave the console without an administrator."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "refused"


def revoke_refresh_tokens(user):
    """Blacklist every refresh token the user still holds (their access tokens die with is_active or the row)."""
    outstanding = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(),
                                                  blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=token) for token in outstanding],
                                         ignore_conflicts=True)


def checked_password(password, user, field):
    """Django's password validators, as a 400 naming the field."""
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as error:
        raise exceptions.ValidationError({field: list(error.messages)}) from None


def fields(request, expected):
    """The body's fields: exactly the expected ones, each a non-empty text."""
    data = request.data if isinstance(request.data, dict) else {}
    unknown, missing = sorted(set(data) - set(expected)), [name for name in expected if not data.get(name)]
    if unknown or missing:
        raise exceptions.ValidationError({**{name: "unknown field" for name in unknown},
                                          **{name: "required" for name in missing}})
    if not all(isinstance(data[name], str) for name in expected):
        raise exceptions.ValidationError({name: "expected a text" for name in expected if not isinstance(data[name],
                                                                                                         str)})
    return [data[name] for name in expected]


class RegisterView(APIView):
    """POST {username, password} -> 201 {username, status}: "pending" (approval mode: no login until an
    administrator approves), "active" (open mode); 403 when registration is closed."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    def post(self, request):
        if settings.REGISTRATION == "closed":
            raise exceptions.PermissionDenied("registration is closed: ask an administrator for an account")
        username, password = fields(request, ["username", "password"])
        user = User(username=username, is_active=settings.REGISTRATION == "open")
        try:
            user.clean_fields(exclude=["password"])
        except DjangoValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from None
        checked_password(password, user, "password")
        user.set_password(password)
        with transaction.atomic():
            if User.objects.filter(username__iexact=username).exists():
                raise exceptions.ValidationError({"username": "this name is taken"})
            user.save()
            Account.objects.create(user=user, approved_at=timezone.now() if user.is_active else None,
                                   approved_by="open registration" if user.is_active else "")
        audit.record(request, "account.register", username, actor=username, mode=settings.REGISTRATION)
        return Response({"username": username, "status": "active" if user.is_active else "pending"},
                        status=status.HTTP_201_CREATED)


class PasswordView(APIView):
    """POST {old_password, new_password}: the old one is required; the user's refresh tokens are revoked (the
    other sessions end; this one logs in again)."""

    authentication_classes = [JWTAuthentication]

    def post(self, request):
        old, new = fields(request, ["old_password", "new_password"])
        user = request.user
        if not check_password(old, user.password):
            audit.record(request, "account.password.failure", user.get_username())
            raise exceptions.ValidationError({"old_password": "this is not your password"})
        checked_password(new, user, "new_password")
        user.set_password(new)
        user.save(update_fields=["password"])
        revoke_refresh_tokens(user)
        audit.record(request, "account.password", user.get_username())
        return Response({"status": "changed"})


class LogoutView(APIView):
    """POST {refresh}: revokes that refresh token (the access token expires on its own, within minutes)."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'  # a refused token is a 401, as on /api/auth/refresh

    def post(self, request):
        (refresh,) = fields(request, ["refresh"])
        try:
            token = RefreshToken(refresh)
        except Exception:  # simplejwt's TokenError, or a token of another kind
            raise exceptions.AuthenticationFailed("invalid or expired refresh token") from None
        token.blacklist()
        user = User.objects.filter(pk=token.get(jwt_settings.USER_ID_CLAIM)).first()
        audit.record(request, "logout", user.get_username() if user else "", actor=user.get_username() if user
                     else "anonymous")
        return Response({"status": "logged out"})


class RefreshSerializer(TokenRefreshSerializer):
    """A refresh token of a user who has since been deactivated or deleted gives nothing."""

    def validate(self, attrs):
        try:
            user_id = RefreshToken(attrs["refresh"]).get(jwt_settings.USER_ID_CLAIM)
        except Exception:  # TokenError: expired, forged or revoked
            raise exceptions.AuthenticationFailed("invalid or expired refresh token") from None
        if not User.objects.filter(pk=user_id, is_active=True).exists():
            raise exceptions.AuthenticationFailed("this account is inactive or deleted")
        return super().validate(attrs)


class RefreshView(TokenRefreshView):
    """POST {refresh} -> {access}."""

    serializer_class = RefreshSerializer


class MeView(APIView):
    """GET -> who is logged in and what they may see (the dashboard's menu)."""

    authentication_classes = [JWTAuthentication]

    def get(self, request):
        user = request.user
        return Response({"username": user.get_username(), "is_admin": user.is_staff,
                         "servers": list(Server.objects.filter(users=user).values_list("name", flat=True))})


def account_status(user):
    account = getattr(user, "account", None)
    if not user.is_active:
        return "pending" if account is not None and account.approved_at is None else "inactive"
    return "active"


class UserSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    is_admin = serializers.BooleanField(source="is_staff")
    servers = serializers.SlugRelatedField(many=True, slug_field="name", read_only=True)
    registered_at = serializers.DateTimeField(source="account.registered_at", default=None)

    class Meta:
        model = User
        fields = ["id", "username", "status", "is_admin", "servers", "registered_at", "date_joined"]
        read_only_fields = fields

    def get_status(self, user) -> str:
        return account_status(user)


PENDING = Q(is_active=False, account__isnull=False, account__approved_at__isnull=True)


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                  viewsets.GenericViewSet):
    """Administrators only. GET ?status=pending lists the accounts waiting for approval; POST
    /api/users/<id>/{approve,deactivate,grant-admin,revoke-admin}; POST /api/users/<id>/servers {servers: [names]}
    sets the servers the user sees. Nobody removes their own administrator right, nor the last administrator."""

    serializer_class = UserSerializer
    authentication_classes = [JWTAuthentication]
    permission_classes = [Matrix]
    allowed = {name: {ADMIN} for name in ("list", "retrieve", "destroy", "approve", "deactivate", "grant_admin",
                                          "revoke_admin", "servers")}
    statuses = {"pending": PENDING, "active": Q(is_active=True), "inactive": Q(is_active=False) & ~PENDING}
    list_filters = {"status": choice(statuses, list(statuses))}
    ordering_fields = ["username", "date_joined"]

    def get_queryset(self):
        return User.objects.select_related("account").prefetch_related("servers").order_by("username")

    def changed(self, user, event, **detail):
        audit.record(self.request, event, user.get_username(), **detail)
        return Response(self.get_serializer(User.objects.select_related("account").get(pk=user.pk)).data)

    def keep_an_administrator(self, user, what):
        """Refuse (409) taking the administrator right away from oneself or from the last administrator."""
        if user.pk == self.request.user.pk:
            raise Refused(f"you cannot {what} yourself: ask another administrator")
        admins = User.objects.select_for_update().filter(is_staff=True, is_active=True)
        if list(admins.values_list("pk", flat=True)) == [user.pk]:
            raise Refused(f"{user.get_username()} is the last administrator: grant the role to someone else first")

    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        user = self.get_object()
        user.is_active = True
        user.save(update_fields=["is_active"])
        Account.objects.filter(user=user, approved_at__isnull=True).update(
            approved_at=timezone.now(), approved_by=request.user.get_username())
        return self.changed(user, "user.approve")

    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        with transaction.atomic():
            user = self.get_object()
            self.keep_an_administrator(user, "deactivate")
            user.is_active = False
            user.save(update_fields=["is_active"])
            revoke_refresh_tokens(user)
        return self.changed(user, "user.deactivate")

    @action(detail=True, methods=["post"], url_path="grant-admin")
    def grant_admin(self, request, pk=None):
        user = self.get_object()
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        return self.changed(user, "user.grant_admin")

    @action(detail=True, methods=["post"], url_path="revoke-admin")
    def revoke_admin(self, request, pk=None):
        with transaction.atomic():
            user = self.get_object()
            self.keep_an_administrator(user, "revoke the administrator role of")
            user.is_staff = False
            user.save(update_fields=["is_staff"])
        return self.changed(user, "user.revoke_admin")

    @action(detail=True, methods=["post"])
    def servers(self, request, pk=None):
        user = self.get_object()
        data = request.data if isinstance(request.data, dict) else {}
        names = data.get("servers")
        if set(data) != {"servers"} or not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise exceptions.ValidationError({"servers": "expected exactly {servers: [server names]}"})
        found = list(Server.objects.filter(name__in=names))
        missing = sorted(set(names) - {server.name for server in found})
        if missing:
            raise exceptions.ValidationError({"servers": f"unknown servers: {', '.join(missing)}"})
        user.servers.set(found)
        return self.changed(user, "user.servers", servers=sorted(names))

    def perform_destroy(self, instance):
        with transaction.atomic():
            self.keep_an_administrator(instance, "delete")
            audit.record(self.request, "user.delete", instance.get_username())
            instance.delete()
