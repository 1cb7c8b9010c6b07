"""One place that writes the audit trail."""

from django.conf import settings

from .models import AuditEvent


def client_address(request):
    """The client's address: the X-Real-IP header a trusted reverse proxy sets (SECURESTACK_TRUSTED_PROXIES), else the
    peer; the header from anyone else is ignored (it would let a client write any address into the audit trail)."""
    peer = request.META.get("REMOTE_ADDR") or None
    if peer in settings.SECURESTACK_TRUSTED_PROXIES:
        return request.META.get("HTTP_X_REAL_IP") or peer
    return peer


def record(request, action, obj="", actor=None, **detail):
    """Append one audit event for a critical action."""
    user = getattr(request, "user", None)
    name = actor or (user.get_username() if user is not None and user.is_authenticated else "anonymous")
    return AuditEvent.objects.create(actor=name, action=action, object=str(obj)[:255],
                                     source_address=client_address(request), detail=detail)
