#!/usr/bin/env bash
# Molecule scenarios in the order the suite runs them: the roles one by one, then
# the full stack. Scenarios not named here run after these, alphabetically.
#   scripts/scenarios.sh          one name a line
#   scripts/scenarios.sh --lanes  "LANE NAME" a line: the suite runs the two lanes side by side.
# Lane 1 holds the scenarios with containers, network and apt cache directories of their own
# (default: api12/api13/apiclient on demoapp-securestack; renamed: acme/bare on demoapp-renamed;
# aws: no container, moto on its own loopback port); lane 2 the ones that share debian12, debian13,
# client and demoapp-molecule, one after another. A new scenario goes to lane 2 unless it is given names of its own and listed in LANE1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../molecule"
ordered=(ssh_hardening operations default multihost)
LANE1=(default renamed aws)
all=$(for d in */molecule.yml; do echo "${d%/molecule.yml}"; done)
list=$(for s in "${ordered[@]}"; do grep -qx "$s" <<<"$all" && echo "$s"; done
       for s in $all; do printf '%s\n' "${ordered[@]}" | grep -qx "$s" || echo "$s"; done)
if [ "${1:-}" != --lanes ]; then echo "$list"; exit 0; fi
for s in $list; do
  if printf '%s\n' "${LANE1[@]}" | grep -qx "$s"; then echo "1 $s"; else echo "2 $s"; fi
done
