"""The API. Every critical action writes an audit event (audit.record)."""

from django.db import connection
from django.utils import timezone
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.views import TokenObtainPairView

from . import audit
from .lists import choice, text, time
from .models import AuditEvent, BackupTask, Incident, Server
from .permissions import Matrix, ServiceTokenAuthentication, is_admin, is_service
from .serializers import AuditSerializer, BackupSerializer, IncidentSerializer, PlaybookRunSerializer, ServerSerializer

ADMIN, USER, SERVICE = "admin", "user", "service"
AUTHENTICATION = [JWTAuthentication, ServiceTokenAuthentication]


class LoginView(TokenObtainPairView):
    """POST {username, password} -> {access, refresh}; success and failure are audited."""

    def post(self, request, *args, **kwargs):
        username = str(request.data.get("username", ""))[:150] if isinstance(request.data, dict) else ""
        try:
            response = super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            audit.record(request, "login.failure", username, actor=username or "anonymous")
            raise
        audit.record(request, "login.success", username, actor=username)
        return response


class HealthView(APIView):
    """GET, no authentication: 200 when the database answers, 503 otherwise."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception:  # any database failure is "unhealthy", said without details
            return Response({"status": "unhealthy", "database": "unreachable"}, status=503)
        return Response({"status": "ok", "database": "ok"})


def visible_servers(user):
    """An administrator and the service see every server; a user, those associated with them."""
    if is_admin(user) or is_service(user):
        return Server.objects.all()
    return Server.objects.filter(users=user)


def listed_servers(user):
    """visible_servers with each server's users read in one more query (not one query per server)."""
    return visible_servers(user).prefetch_related("users")


class ServerViewSet(viewsets.ModelViewSet):
    serializer_class = ServerSerializer
    authentication_classes = AUTHENTICATION
    permission_classes = [Matrix]
    allowed = {"list": {ADMIN, USER, SERVICE}, "retrieve": {ADMIN, USER, SERVICE}, "create": {ADMIN, SERVICE},
               "update": {ADMIN, SERVICE}, "partial_update": {ADMIN, SERVICE}, "destroy": {ADMIN}}
    list_filters = {"status": choice("status", [value for value, _label in Server.STATUSES]), "name": text("name")}
    ordering_fields = ["name", "status", "created_at"]

    def get_queryset(self):
        return listed_servers(self.request.user)

    def perform_create(self, serializer):
        server = serializer.save()
        audit.record(self.request, "server.create", server.name, status=server.status)

    def perform_update(self, serializer):
        server = serializer.save()
        audit.record(self.request, "server.update", server.name, status=server.status)

    def perform_destroy(self, instance):
        audit.record(self.request, "server.delete", instance.name)
        instance.delete()


class BackupViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    viewsets.GenericViewSet):
    """GET ?server=<name>&state=ok|failed lists the history; POST records a run (service or administrator)."""

    serializer_class = BackupSerializer
    authentication_classes = AUTHENTICATION
    permission_classes = [Matrix]
    allowed = {"list": {ADMIN, USER}, "retrieve": {ADMIN, USER}, "create": {ADMIN, SERVICE}}
    list_filters = {"server": text("server__name"), "state": choice("state", [v for v, _l in BackupTask.STATES])}
    ordering_fields = ["started_at", "ended_at", "size", "state"]

    def get_queryset(self):
        return BackupTask.objects.filter(server__in=visible_servers(self.request.user)).select_related("server")

    def perform_create(self, serializer):
        backup = serializer.save()
        audit.record(self.request, "backup.record", backup.server.name, kind=backup.kind, state=backup.state,
                     checksum=backup.checksum)


class IncidentViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    """Declare (POST), list, resolve (POST /api/incidents/<id>/resolve); the monitor resolves by job
    (POST /api/incidents/resolve-job {server, job}) when the job succeeds again."""

    serializer_class = IncidentSerializer
    authentication_classes = AUTHENTICATION
    permission_classes = [Matrix]
    allowed = {"list": {ADMIN, USER, SERVICE}, "retrieve": {ADMIN, USER, SERVICE}, "create": {ADMIN, USER, SERVICE},
               "resolve": {ADMIN, USER, SERVICE}, "resolve_job": {ADMIN, SERVICE}}
    list_filters = {"state": choice("state", [v for v, _l in Incident.STATES]), "server": text("server__name"),
                    "severity": choice("severity", [v for v, _l in Incident.SEVERITIES])}
    ordering_fields = ["opened_at", "resolved_at", "severity", "state"]

    def get_queryset(self):
        return Incident.objects.filter(server__in=visible_servers(self.request.user)).select_related("server")

    def perform_create(self, serializer):
        if not visible_servers(self.request.user).filter(pk=serializer.validated_data["server"].pk).exists():
            raise exceptions.PermissionDenied("this server is not associated with you")
        incident = serializer.save(opened_by=self.request.user.get_username())
        audit.record(self.request, "incident.open", incident.server.name, incident=incident.pk, job=incident.job)

    def _resolve(self, incident):
        incident.state, incident.resolved_at = "resolved", timezone.now()
        incident.resolved_by = self.request.user.get_username()
        incident.save(update_fields=["state", "resolved_at", "resolved_by"])
        audit.record(self.request, "incident.resolve", incident.server.name, incident=incident.pk, job=incident.job)

    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        incident = self.get_object()
        if incident.state != "resolved":
            self._resolve(incident)
        return Response(self.get_serializer(incident).data)

    @action(detail=False, methods=["post"], url_path="resolve-job")
    def resolve_job(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        unknown = sorted(set(data) - {"server", "job"})
        if unknown or not data.get("server") or not data.get("job"):
            raise exceptions.ValidationError({"fields": "expected exactly {server, job}", "unknown": unknown})
        open_ones = list(Incident.objects.filter(server__name=data["server"], job=data["job"], state="open"))
        for incident in open_ones:
            self._resolve(incident)
        return Response({"resolved": [incident.pk for incident in open_ones]}, status=status.HTTP_200_OK)


class AuditViewSet(viewsets.ReadOnlyModelViewSet):
    """Administrators read it; nobody changes it. The service credential adds playbook runs
    (POST /api/audit/playbook-run, from the integration.demoapp.audit callback plugin)."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditSerializer
    authentication_classes = AUTHENTICATION
    permission_classes = [Matrix]
    allowed = {"list": {ADMIN}, "retrieve": {ADMIN}, "playbook_run": {SERVICE}}
    list_filters = {"actor": text("actor"), "action": text("action"), "since": time("time__gte"),
                    "until": time("time__lt")}
    ordering_fields = ["time", "actor", "action"]

    @action(detail=False, methods=["post"], url_path="playbook-run")
    def playbook_run(self, request):
        run = PlaybookRunSerializer(data=request.data)
        run.is_valid(raise_exception=True)
        data = dict(run.validated_data)
        playbook, user = data.pop("playbook"), data.pop("user")
        data.update(started_at=data["started_at"].isoformat(), ended_at=data["ended_at"].isoformat())
        event = audit.record(request, "playbook.run", playbook, actor=f"ansible:{user}", **data)
        return Response(AuditSerializer(event).data, status=status.HTTP_201_CREATED)
