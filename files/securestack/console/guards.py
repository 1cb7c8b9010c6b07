"""Malformed requests answered 400 (or 415) in JSON before any view runs, never a 500.

- RequestGuard (middleware): a path or query string holding a NUL byte or bytes that are not UTF-8. Django would
  pass the NUL on to PostgreSQL (which refuses it: a 500) and turn invalid UTF-8 into U+FFFD (a filter that
  silently matches nothing).
- JSONParser: a body nested too deep for Python's parser (a RecursionError: a 500), or declared in a charset that
  is not a text encoding (charset=rot13: a 500) or that Python does not know.
"""

import codecs
from urllib.parse import unquote_to_bytes

from django.http import JsonResponse

try:  # Django 4.2 (Debian 13)
    from django.utils.http import parse_header_parameters
except ImportError:  # Django 3.2 (Debian 12)
    from django.http.multipartparser import parse_header as _parse_header

    def parse_header_parameters(line):
        key, params = _parse_header(line.encode("latin-1", errors="replace"))
        return key, dict((k, v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in params.items())
from rest_framework import exceptions, parsers

# Deeper than any request of this API; Python's own parser gives up near 1,000.
MAX_DEPTH = 64


def _raw(value):
    """The bytes a WSGI string stands for (PEP 3333: latin-1), percent-decoded."""
    return unquote_to_bytes(value.encode("latin-1", errors="replace"))


def malformed(environ):
    """Why the request line cannot be trusted, or None."""
    for name in ("PATH_INFO", "QUERY_STRING"):
        raw = _raw(environ.get(name, "").replace("+", " ") if name == "QUERY_STRING" else environ.get(name, ""))
        if b"\0" in raw:
            return "a NUL byte in the %s" % ("path" if name == "PATH_INFO" else "query string")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return "the %s is not UTF-8" % ("path" if name == "PATH_INFO" else "query string")
    return None


class RequestGuard:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reason = malformed(request.META)
        if reason:
            return JsonResponse({"error": "malformed request: " + reason}, status=400)
        return self.get_response(request)


def depth(text):
    """How deep the arrays and objects of a JSON text nest (strings skipped), without parsing it."""
    level = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            level += 1
            deepest = max(deepest, level)
        elif char in "]}":
            level -= 1
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # The charset as declared (Django drops one it does not know, and the body would be read as UTF-8).
        declared = parse_header_parameters(media_type or "")[1].get("charset")
        encoding = declared or (parser_context or {}).get("encoding") or "utf-8"
        try:
            known = codecs.lookup(encoding)
        except LookupError:
            known = None
        if known is None or not getattr(known, "_is_text_encoding", True):
            raise exceptions.UnsupportedMediaType(media_type or "", "charset %s is not a text encoding this API reads"
                                                  % encoding)
        body = stream.read() if stream is not None else b""
        try:
            text = body.decode(known.name)
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError("JSON parse error - the body is not %s: %s" % (known.name, exc)) from exc
        if depth(text) > MAX_DEPTH:
            raise exceptions.ParseError("JSON parse error - nested deeper than %d levels" % MAX_DEPTH)
        return super().parse(_Text(text), media_type, dict(parser_context or {}, encoding="utf-8"))


class _Text:
    """The decoded body, handed to DRF's parser as a UTF-8 stream."""

    def __init__(self, text):
        self.data = text.encode("utf-8")

    def read(self, *_args):
        data, self.data = self.data, b""
        return data
