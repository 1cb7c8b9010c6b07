"""Errors as JSON with a clear message, never an HTML page or a 500 for bad input."""

from django.http import JsonResponse
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """DRF's handler, with every error body shaped {"error": <message>, "detail": <DRF's detail>}."""
    response = drf_exception_handler(exc, context)
    if response is not None:
        detail = response.data
        message = detail.get("detail") if isinstance(detail, dict) and "detail" in detail else "invalid request"
        response.data = {"error": str(message), "detail": detail}
    return response


def bad_request(request, exception=None):
    """Django's own 400s (a Host header it does not serve, a malformed request it refuses before any view)."""
    return JsonResponse({"error": "bad request"}, status=400)


def forbidden(request, exception=None):
    return JsonResponse({"error": "forbidden"}, status=403)


def not_found(request, exception=None):
    return JsonResponse({"error": "not found"}, status=404)


def server_error(request):
    return JsonResponse({"error": "internal error"}, status=500)
