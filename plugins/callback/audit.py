# Copyright: integration.demoapp contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: audit
type: notification
short_description: Records each playbook run and its changed tasks in the operations API's audit trail
version_added: 2.0.0
description:
  - At the end of a playbook run, sends one record to the operations API (the C(integration.demoapp.securestack) role)
    with the service credential - C(POST /api/audit/playbook-run) - where it becomes an audit event
    C(playbook.run) whose actor is C(ansible:<user>) - the playbook, who ran it, when, whether in check mode, the
    recap of each host and the list of changed tasks (host, task name, action).
  - Honours C(no_log) as Ansible's own output does - no task result, item, diff or variable value is ever sent, from any
    task; only names and counts.
  - A record the API cannot take (not reachable yet, refused) is kept in a spool file and sent before the next one,
    so a run is never lost, and the playbook itself never fails because of this plugin (a warning says why).
  - Without a URL and a credential the plugin records nothing and says so once.
requirements:
  - Enable it in ansible.cfg (C(callbacks_enabled = integration.demoapp.audit)) or with C(ANSIBLE_CALLBACKS_ENABLED).
options:
  url:
    description: Base URL of the operations API (https), for example C(https://console.example.org).
    type: str
    env:
      - name: DEMOAPP_AUDIT_URL
    ini:
      - section: callback_demoapp_audit
        key: url
  token:
    description: The API's service credential (C(securestack_service_token)); keep it out of files, e.g. from a vault.
    type: str
    env:
      - name: DEMOAPP_AUDIT_TOKEN
  ca_file:
    description:
      - PEM certificate(s) the API's certificate is verified with, for example the self-signed certificate the
        C(reverse_proxy) role generated (C(reverse_proxy_published_ca_cert)). Empty - the system's authorities.
    type: path
    env:
      - name: DEMOAPP_AUDIT_CA
    ini:
      - section: callback_demoapp_audit
        key: ca_file
  spool:
    description: Where records the API could not take wait for the next run (mode 0600).
    type: path
    default: ~/.ansible/demoapp-audit-spool.jsonl
    env:
      - name: DEMOAPP_AUDIT_SPOOL
    ini:
      - section: callback_demoapp_audit
        key: spool
  timeout:
    description: Seconds to wait for the API.
    type: int
    default: 10
    env:
      - name: DEMOAPP_AUDIT_TIMEOUT
    ini:
      - section: callback_demoapp_audit
        key: timeout
"""

EXAMPLES = r"""
# ansible.cfg
# [defaults]
# callbacks_enabled = integration.demoapp.audit
# [callback_demoapp_audit]
# url = https://console.example.org
# ca_file = /etc/ssl/certs/console-ca.pem
#
# and the credential from the environment (never in a file of the repository):
#   DEMOAPP_AUDIT_TOKEN="$(ansible-vault view secrets/service-token)" ansible-playbook site.yml
"""

import datetime
import getpass
import json
import os
import urllib.error

from ansible import context
from ansible.module_utils.urls import open_url
from ansible.plugins.callback import CallbackBase

RECAP_KEYS = ("ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored")


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "integration.demoapp.audit"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self.playbook = None
        self.started_at = None
        self.changed = []

    def v2_playbook_on_start(self, playbook):
        self.playbook = os.path.basename(playbook._file_name)
        self.started_at = now()
        self.changed = []

    def v2_runner_on_ok(self, result):
        # Called once per task and host (after its loop): only its name and action are kept, never its result.
        if result._result.get("changed", False):
            self.changed.append({"host": result._host.get_name(), "task": result._task.get_name()[:255],
                                 "action": result._task.action})

    def record(self, stats):
        """The playbook run as the API takes it."""
        return {"playbook": self.playbook or "?", "user": getpass.getuser(), "started_at": self.started_at or now(),
                "ended_at": now(), "check_mode": bool(context.CLIARGS.get("check", False)),
                "hosts": {host: {key: int(value) for key, value in stats.summarize(host).items() if key in RECAP_KEYS}
                          for host in sorted(stats.processed)},
                "changed": self.changed[:2000]}

    def v2_playbook_on_stats(self, stats):
        url, token = self.get_option("url"), self.get_option("token")
        if not url or not token:
            self._display.warning("integration.demoapp.audit: DEMOAPP_AUDIT_URL and DEMOAPP_AUDIT_TOKEN are not both "
                                  "set; this run was not recorded")
            return
        if not url.startswith("https://") and not url.startswith("http://"):
            self._display.warning(f"integration.demoapp.audit: {url!r} is not an http(s) URL; run not recorded")
            return
        spool = os.path.expanduser(self.get_option("spool"))
        waiting = [*self.read_spool(spool), self.record(stats)]
        unsent = [record for record in waiting if not self.send(url, token, record)]
        self.write_spool(spool, unsent)
        if unsent:
            self._display.warning(f"integration.demoapp.audit: {len(unsent)} run record(s) kept in {spool}, "
                                  "sent at the next run")

    def send(self, url, token, record):
        try:
            open_url(url.rstrip("/") + "/api/audit/playbook-run", data=json.dumps(record), method="POST",
                     headers={"Authorization": f"Service {token}", "Content-Type": "application/json"},
                     timeout=self.get_option("timeout"), validate_certs=True,
                     ca_path=self.get_option("ca_file") or None)
            return True
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            self._display.warning(f"integration.demoapp.audit: the API refused the run record: {exc} {detail}")
            return exc.code == 400  # a record the API will never take is not kept (said above)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self._display.warning(f"integration.demoapp.audit: the API did not answer: {exc}")
        return False

    def read_spool(self, spool):
        try:
            with open(spool, encoding="utf-8") as handle:
                return [json.loads(line) for line in handle if line.strip()]
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            self._display.warning(f"integration.demoapp.audit: {spool} is unreadable ({exc}); set aside as {spool}.bad")
            if os.path.exists(spool):
                os.replace(spool, spool + ".bad")
            return []

    def write_spool(self, spool, records):
        try:
            if not records:
                if os.path.exists(spool):
                    os.remove(spool)
                return
            os.makedirs(os.path.dirname(spool) or ".", exist_ok=True)
            partial = spool + ".new"
            with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
                handle.writelines(json.dumps(record) + "\n" for record in records)
            os.replace(partial, spool)
        except OSError as exc:
            self._display.warning(f"integration.demoapp.audit: cannot write {spool}: {exc}")
