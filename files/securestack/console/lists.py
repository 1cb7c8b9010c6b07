"""Every list: pages of a bounded size, filters a view declares, ordering by the fields it allows. A query parameter
the list does not know, a value it cannot take or an unknown ordering field is a 400 naming it (never a list
silently unfiltered)."""

import datetime

from django.db.models import Q
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions, filters, pagination


class Pages(pagination.PageNumberPagination):
    """?page=N&page_size=M: {"count", "next", "previous", "results"}; 50 a page unless asked, 1,000 at most."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000


PAGING = {"page", "page_size", "ordering"}


def choice(lookup, choices):
    """A filter on one of a field's values; lookup is a field, or {value: Q} for values that are conditions."""
    def build(name, value):
        if value not in choices:
            raise exceptions.ValidationError({name: f"expected one of {', '.join(choices)}"})
        return lookup[value] if isinstance(lookup, dict) else Q(**{lookup: value})
    build.description = f"one of {', '.join(choices)}"
    return build


def text(lookup):
    """A filter on an exact text (a name)."""
    def build(name, value):
        if len(value) > 255:
            raise exceptions.ValidationError({name: "expected a text of at most 255 characters"})
        return Q(**{lookup: value})
    build.description = "exact value"
    return build


def time(lookup):
    """A filter on a time (ISO 8601, with its time zone, or a date: its midnight UTC)."""
    def build(name, value):
        try:
            moment = parse_datetime(value) or (datetime.datetime.fromisoformat(value) if len(value) == 10 else None)
        except ValueError:
            moment = None
        if moment is None:
            raise exceptions.ValidationError({name: "expected an ISO 8601 time (2026-12-01T08:00:00Z) or date"})
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return Q(**{lookup: moment})
    build.description = "ISO 8601 time or date"
    return build


class Filters(filters.BaseFilterBackend):
    """The view's list_filters ({parameter: builder of a Q}) and ordering_fields; ordering always ends with the primary
    key, so that pages do not overlap."""

    def filter_queryset(self, request, queryset, view):
        if getattr(view, "action", None) != "list":
            return queryset
        declared = getattr(view, "list_filters", {})
        unknown = sorted(set(request.query_params) - set(declared) - PAGING)
        if unknown:
            raise exceptions.ValidationError({name: "unknown parameter" for name in unknown})
        for name, build in declared.items():
            if request.query_params.get(name):  # an empty value filters nothing, as with django-filter
                queryset = queryset.filter(build(name, request.query_params[name]))
        ordering = request.query_params.get("ordering")
        if ordering:
            fields = [field.strip() for field in ordering.split(",")]
            allowed = getattr(view, "ordering_fields", [])
            wrong = [field for field in fields if field.lstrip("-") not in allowed]
            if wrong:
                raise exceptions.ValidationError({"ordering": f"unknown field {', '.join(wrong)}: expected "
                                                              f"{', '.join(allowed)}, - before one for descending"})
            queryset = queryset.order_by(*fields, "pk")
        return queryset

    def get_schema_operation_parameters(self, view):
        parameters = [{"name": name, "required": False, "in": "query", "description": build.description,
                       "schema": {"type": "string"}} for name, build in getattr(view, "list_filters", {}).items()]
        allowed = getattr(view, "ordering_fields", [])
        if allowed:
            parameters.append({"name": "ordering", "required": False, "in": "query",
                               "description": f"comma-separated, - for descending: {', '.join(allowed)}",
                               "schema": {"type": "string"}})
        return parameters
