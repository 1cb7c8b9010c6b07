"""Servers (with the users they are associated with), their backup history and incidents, and the
append-only audit trail. Roles: an administrator is a staff user; everyone else is a user."""

from django.conf import settings
from django.db import models


class Server(models.Model):
    STATUSES = [("active", "active"), ("maintenance", "maintenance"), ("offline", "offline")]

    name = models.CharField(max_length=255, unique=True)
    address = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES, default="active")
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="servers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class BackupTask(models.Model):
    STATES = [("ok", "ok"), ("failed", "failed")]

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="backups")
    kind = models.CharField(max_length=32)
    file = models.CharField(max_length=255, blank=True, default="")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=STATES)
    size = models.BigIntegerField(null=True, blank=True)
    checksum = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at"]


class Incident(models.Model):
    SEVERITIES = [("low", "low"), ("medium", "medium"), ("high", "high"), ("critical", "critical")]
    STATES = [("open", "open"), ("resolved", "resolved")]

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="incidents")
    title = models.CharField(max_length=255)
    job = models.CharField(max_length=128, blank=True, default="")
    severity = models.CharField(max_length=16, choices=SEVERITIES, default="medium")
    state = models.CharField(max_length=16, choices=STATES, default="open")
    opened_at = models.DateTimeField(auto_now_add=True)
    opened_by = models.CharField(max_length=150)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        ordering = ["-opened_at"]


class AuditEvent(models.Model):
    """One critical action. The database refuses UPDATE, DELETE and TRUNCATE on this table (migration 0002)."""

    time = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    object = models.CharField(max_length=255, blank=True, default="")
    source_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-time", "-id"]


class Account(models.Model):
    """A registered account (POST /api/auth/register): in approval mode it stays inactive until an administrator
    approves it. Users created otherwise (the bootstrapped administrator) have none."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account")
    registered_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=150, blank=True, default="")
