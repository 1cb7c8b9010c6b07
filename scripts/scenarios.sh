#!/usr/bin/env bash
# Molecule scenarios in the order the suite runs them: the roles one by one, then
# the full stack. Scenarios not named here run after these, alphabetically.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../molecule"
ordered=(app_account ssh_hardening fail2ban postgresql batch operations default multihost)
all=$(for d in */molecule.yml; do echo "${d%/molecule.yml}"; done)
for s in "${ordered[@]}"; do grep -qx "$s" <<<"$all" && echo "$s"; done
for s in $all; do printf '%s\n' "${ordered[@]}" | grep -qx "$s" || echo "$s"; done
