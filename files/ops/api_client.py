"""The operations API (files/securestack), as the collection's jobs reach it: with the service
credential, over HTTPS verified against the API's certificate. Shared by log_monitor.py (incidents)
and backup.py (backup runs); deployed beside them. A long-running caller (the monitor) keeps the
calls the API could not take because it did not answer or failed (5xx), and sends them, in order,
before the next one and when it calls retry(): an API that was down (its database stopped, say)
still gets the incident once it is back.

Its settings come from the environment (the api.env file the roles write, 0600):
SECURESTACK_URL, SECURESTACK_SERVICE_TOKEN and SECURESTACK_CA (the certificate to verify the API
with; empty: the system's authorities). A call that fails is said on standard error and returns
None: the API is a console, never a reason for a job to fail; each job keeps its own record.
"""

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request


class Console:
    """The operations API, reached with the service credential."""

    RETRY_EVERY = 10.0  # seconds between two attempts at the kept calls
    KEEP_AT_MOST = 1000

    def __init__(self, url, token, server, ca=None, *, out=sys.stderr, keep=False):  # noqa: PLR0913 - settings
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"SECURESTACK_URL {url!r} is not an http(s) URL")
        self.url, self.token, self.server, self.out = url.rstrip("/"), token, server, out
        self.context = ssl.create_default_context(cafile=ca) if url.startswith("https:") else None
        self.keep = keep
        self.kept = []  # (path, body) of the calls not taken yet, oldest first
        self.last_attempt = 0.0

    @classmethod
    def from_environment(cls, server, keep=False):
        url, token = os.environ.get("SECURESTACK_URL", ""), os.environ.get("SECURESTACK_SERVICE_TOKEN", "")
        if not (url and token):
            return None
        try:
            return cls(url, token, server, os.environ.get("SECURESTACK_CA") or None, keep=keep)
        except (OSError, ValueError) as exc:  # the job goes on without the API, and says why
            sys.stderr.write(f"the operations API is not usable ({url}): {exc}\n")
            return None

    def post(self, path, body):
        """The API's answer, or None (said on stderr; kept for later when the API was down and this console keeps)."""
        if self.kept and not self.retry(force=True):
            self._keep(path, body)
            return None
        answer, down = self._send(path, body)
        if down and self.keep:
            self._keep(path, body)
        return answer

    def retry(self, now=None, force=False):
        """Send the kept calls, in order, at most every RETRY_EVERY seconds; True when none is left."""
        now = time.monotonic() if now is None else now
        if not self.kept or (not force and now - self.last_attempt < self.RETRY_EVERY):
            return not self.kept
        self.last_attempt = now
        while self.kept:
            _answer, down = self._send(*self.kept[0], quiet=True)
            if down:
                return False
            self.kept.pop(0)
        self.out.write("the operations API answers again: the calls kept meanwhile were sent\n")
        self.out.flush()
        return True

    def _keep(self, path, body):
        self.kept = [*self.kept, (path, body)][-self.KEEP_AT_MOST:]
        self.last_attempt = time.monotonic()

    def _send(self, path, body, quiet=False):
        """(answer or None, whether the API was down: no answer, or a server error)."""
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST", headers={  # noqa: S310 - http(s) only, checked above
            "Authorization": f"Service {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.context) as response:  # noqa: S310 - as above
                return json.loads(response.read() or b"null"), False
        except (urllib.error.URLError, OSError, ValueError) as exc:
            refused = isinstance(exc, urllib.error.HTTPError)
            if not quiet:
                detail = exc.read().decode("utf-8", "replace")[:200] if refused else ""
                kept = " (kept: sent again when it answers)" if self.keep and not (refused and exc.code < 500) else ""
                self.out.write(f"the operations API refused or did not answer {path}: {exc} {detail}{kept}\n")
                self.out.flush()
            return None, not (refused and exc.code < 500)

    def opened(self, incident):
        title = f"job {incident['job']} failed: {incident['reason']}"[:255]
        return self.post("/api/incidents", {"server": self.server, "title": title, "job": incident["job"],
                                            "severity": "high"})

    def succeeded(self, job):
        return self.post("/api/incidents/resolve-job", {"server": self.server, "job": job})

    def backup(self, record):
        """Record one backup run (a backups.jsonl record of backup.py) as a BackupTask of this server."""
        return self.post("/api/backups", {
            "server": self.server, "kind": record["kind"], "file": record.get("file") or "",
            "started_at": record["start"], "ended_at": record.get("end"), "state": record["state"],
            "size": record.get("size"), "checksum": record.get("sha256") or "", "error": record.get("error") or ""})
