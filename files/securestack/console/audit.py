"""One place that writes the audit trail."""

from .models import AuditEvent


def client_address(request):
    """The client's address: nginx's X-Real-IP when behind the proxy, else the peer."""
    return request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR") or None


def record(request, action, obj="", actor=None, **detail):
    """Append one audit event for a critical action."""
    user = getattr(request, "user", None)
    name = actor or (user.get_username() if user is not None and user.is_authenticated else "anonymous")
    return AuditEvent.objects.create(actor=name, action=action, object=str(obj)[:255],
                                     source_address=client_address(request), detail=detail)
