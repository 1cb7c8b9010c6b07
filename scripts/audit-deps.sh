#!/usr/bin/env bash
# Audit the pinned Python requirements for known vulnerabilities (the test gate's
# "pip-audit" stage; the unit tests run it against a canned service).
#   scripts/audit-deps.sh [REQUIREMENTS] [more pip-audit options, e.g. -s osv --osv-url URL]
# --strict: a requirement the service cannot resolve fails the audit. Without it
#   pip-audit skips that requirement and still says "No known vulnerabilities found".
# --no-deps --disable-pip: every line is pinned (pip freeze); nothing is installed to
#   resolve them, so the audit takes seconds.
# Exit status: 0 clean, non-zero on a vulnerability or on any requirement not audited.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="${1:-$ROOT/requirements.txt}"
[ $# -gt 0 ] && shift
exec pip-audit --strict --no-deps --disable-pip --progress-spinner off -r "$req" "$@"
