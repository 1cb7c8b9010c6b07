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


def not_found(request, exception=None):
    return JsonResponse({"error": "not found"}, status=404)


def server_error(request):
    return JsonResponse({"error": "internal error"}, status=500)
