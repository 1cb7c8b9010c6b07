"""The operations API (files/securestack), as the collection's jobs reach it: with the service
credential, over HTTPS verified against the API's certificate. Shared by log_monitor.py (incidents)
and backup.py (backup runs); deployed beside them.

Its settings come from the environment (the api.env file the roles write, 0600):
SECURESTACK_URL, SECURESTACK_SERVICE_TOKEN and SECURESTACK_CA (the certificate to verify the API
with; empty: the system's authorities). A call that fails is said on standard error and returns
None: the API is a console, never a reason for a job to fail; each job keeps its own record.
"""

import json
import os
import ssl
import sys
import urllib.error
import urllib.request


class Console:
    """The operations API, reached with the service credential."""

    def __init__(self, url, token, server, ca=None, out=sys.stderr):
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"SECURESTACK_URL {url!r} is not an http(s) URL")
        self.url, self.token, self.server, self.out = url.rstrip("/"), token, server, out
        self.context = ssl.create_default_context(cafile=ca) if url.startswith("https:") else None

    @classmethod
    def from_environment(cls, server):
        url, token = os.environ.get("SECURESTACK_URL", ""), os.environ.get("SECURESTACK_SERVICE_TOKEN", "")
        return cls(url, token, server, os.environ.get("SECURESTACK_CA") or None) if url and token else None

    def post(self, path, body):
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST", headers={  # noqa: S310 - http(s) only, checked above
            "Authorization": f"Service {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.context) as response:  # noqa: S310 - as above
                return json.loads(response.read() or b"null")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            detail = exc.read().decode("utf-8", "replace")[:200] if isinstance(exc, urllib.error.HTTPError) else ""
            self.out.write(f"the operations API refused or did not answer {path}: {exc} {detail}\n")
            self.out.flush()
            return None

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
