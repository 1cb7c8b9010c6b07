"""Representations, each refusing fields it does not know (400, naming them)."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from .models import AuditEvent, BackupTask, Incident, Server


class Strict(serializers.ModelSerializer):
    """Unknown fields are an error, not silently dropped."""

    def validate(self, attrs):
        unknown = sorted(set(getattr(self, "initial_data", {}) or {}) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: "unknown field" for name in unknown})
        return super().validate(attrs)


class ServerSerializer(Strict):
    users = serializers.SlugRelatedField(many=True, slug_field="username", required=False,
                                         queryset=get_user_model().objects.all())

    class Meta:
        model = Server
        fields = ["id", "name", "address", "status", "users", "created_at"]
        read_only_fields = ["id", "created_at"]


class BackupSerializer(Strict):
    server = serializers.SlugRelatedField(slug_field="name", queryset=Server.objects.all())

    class Meta:
        model = BackupTask
        fields = ["id", "server", "kind", "file", "started_at", "ended_at", "state", "size", "checksum", "error"]
        read_only_fields = ["id"]


class IncidentSerializer(Strict):
    server = serializers.SlugRelatedField(slug_field="name", queryset=Server.objects.all())

    class Meta:
        model = Incident
        fields = ["id", "server", "title", "job", "severity", "state", "opened_at", "opened_by", "resolved_at",
                  "resolved_by"]
        read_only_fields = ["id", "state", "opened_at", "opened_by", "resolved_at", "resolved_by"]


class AuditSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "time", "actor", "action", "object", "source_address", "detail"]
        read_only_fields = fields


class PlaybookRunSerializer(serializers.Serializer):
    """A playbook run as the audit callback plugin (plugins/callback/audit.py) reports it."""

    playbook = serializers.CharField(max_length=255)
    user = serializers.CharField(max_length=100)
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    check_mode = serializers.BooleanField()
    hosts = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField(min_value=0)))
    changed = serializers.ListField(child=serializers.DictField(child=serializers.CharField(max_length=255)),
                                    max_length=2000)

    def validate(self, attrs):
        unknown = sorted(set(getattr(self, "initial_data", {}) or {}) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: "unknown field" for name in unknown})
        return attrs
