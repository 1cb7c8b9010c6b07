"""Routes: /api/auth/login, /api/auth/refresh, /api/servers, /api/backups, /api/incidents, /api/audit, /api/health."""

from console import views
from django.urls import include, path
from rest_framework.routers import SimpleRouter

router = SimpleRouter(trailing_slash=False)
router.register("servers", views.ServerViewSet, basename="server")
router.register("backups", views.BackupViewSet, basename="backup")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("audit", views.AuditViewSet, basename="audit")

urlpatterns = [
    path("api/auth/login", views.LoginView.as_view(), name="login"),
    path("api/auth/refresh", views.RefreshView.as_view(), name="refresh"),
    path("api/health", views.health, name="health"),
    path("api/", include(router.urls)),
]
handler404 = "console.errors.not_found"
handler500 = "console.errors.server_error"
