"""scripts/audit-deps.sh (the test gate's pip-audit stage) against a canned OSV service on loopback:
a known-vulnerable pin fails, a clean set passes, an unreachable service fails loudly."""

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "audit-deps.sh"
# One advisory, in the OSV schema pip-audit reads: requests below 2.6.0.
ADVISORY = {"id": "DEMO-2026-0001", "summary": "canned advisory for the unit test",
            "affected": [{"package": {"name": "requests", "ecosystem": "PyPI"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.6.0"}]}]}]}


class CannedOSV(BaseHTTPRequestHandler):
    queries: ClassVar[list] = []  # what pip-audit asked, one query per requirement

    def do_POST(self):
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        CannedOSV.queries.append(query)
        vulnerable = query["package"]["name"] == "requests" and query["version"] == "2.5.0"
        body = json.dumps({"vulns": [ADVISORY]} if vulnerable else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def osv_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), CannedOSV)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()


def audit(requirements, url, tmp_path):
    return subprocess.run(["bash", str(SCRIPT), str(requirements), "-s", "osv", "--osv-url", url,
                           "--cache-dir", str(tmp_path / "cache"), "--timeout", "5"],
                          capture_output=True, text=True, check=False, timeout=120,
                          env=dict(os.environ, NO_COLOR="1"))


def test_a_known_vulnerable_pin_fails(osv_url, tmp_path):
    req = tmp_path / "req.txt"
    req.write_text("requests==2.5.0\nPyYAML==6.0.3\n")
    proc = audit(req, osv_url, tmp_path)
    assert proc.returncode != 0
    assert "DEMO-2026-0001" in proc.stdout and "2.6.0" in proc.stdout


def test_the_collections_pinned_requirements_are_all_audited_and_clean(osv_url, tmp_path):
    CannedOSV.queries.clear()
    proc = audit(ROOT / "requirements.txt", osv_url, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No known vulnerabilities found" in proc.stderr
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line]
    assert len(CannedOSV.queries) == len(pins)  # every pin went to the service, none skipped


def test_an_unreachable_service_fails_loudly(tmp_path):
    req = tmp_path / "req.txt"
    req.write_text("PyYAML==6.0.3\n")
    proc = audit(req, "http://127.0.0.1:9/v1/query", tmp_path)
    assert proc.returncode != 0
    assert "No known vulnerabilities found" not in proc.stdout + proc.stderr
