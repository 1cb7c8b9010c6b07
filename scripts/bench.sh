#!/usr/bin/env bash
# make bench: speed figures for site.yml (not part of the test gate; prints, never asserts).
#   fresh converge of one bare host, the apt floor (installing the same packages in a
#   fresh container), their ratio, the idempotent re-run, and the idempotent re-run of
#   1 versus 4 hosts. Containers are named demoapp-bench-*; all are removed at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DEMOAPP_CACHE="${DEMOAPP_CACHE:-$ROOT/.cache}" ANSIBLE_FORCE_COLOR=0
export PATH="${DEMOAPP_VENV:-$ROOT/.venv}/bin:$PATH"
NET=demoapp-bench WORK="$DEMOAPP_CACHE/bench"

scripts/testenv.sh all
mkdir -p "$WORK"
cleanup() { docker ps -aq --filter name=demoapp-bench- | xargs -r docker rm -f >/dev/null; docker network rm "$NET" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
docker network create "$NET" >/dev/null

start() {  # start NAME: a bare Debian 12 systemd container (no shared apt cache: honest downloads)
  local opts; mapfile -t opts < <(python scripts/systemd_container.py)  # the Molecule platforms' settings
  docker run -d --name "$1" --hostname "$1" --network "$NET" "${opts[@]}" \
    demoapp-systemd:bookworm "$(python scripts/systemd_container.py --command)" >/dev/null
}
inventory() {  # inventory HOST...: every host in db and batch
  { echo "all:"; echo "  vars: {ansible_connection: community.docker.docker, ansible_become_method: su,"
    echo "         application_db_password: bench-only-password}"
    echo "  children:"; for g in db batch; do echo "    $g:"; echo "      hosts:"; for h in "$@"; do echo "        $h:"; done; done
  } >"$WORK/hosts.yml"
}
seconds() { local t0; t0=$(date +%s.%N); "$@" >"$WORK/last.log" 2>&1 || { tail -20 "$WORK/last.log"; exit 1; }; python3 -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]))" "$(date +%s.%N)" "$t0"; }
site() { ansible-playbook -i "$WORK/hosts.yml" site.yml; }

start demoapp-bench-1
inventory demoapp-bench-1
docker exec demoapp-bench-1 apt-mark showmanual | sort >"$WORK/packages-before"
fresh=$(seconds site)
rerun1=$(seconds site)
# The floor installs exactly what the converge installed (the packages it marked manual), so
# that the ratio follows the roles as they change.
docker exec demoapp-bench-1 apt-mark showmanual | sort >"$WORK/packages-after"
PACKAGES=$(comm -13 "$WORK/packages-before" "$WORK/packages-after" | tr '\n' ' ')

start demoapp-bench-floor
floor=$(seconds docker exec demoapp-bench-floor sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PACKAGES")

for i in 2 3 4; do start "demoapp-bench-$i"; done
inventory demoapp-bench-1 demoapp-bench-2 demoapp-bench-3 demoapp-bench-4
seconds site >/dev/null  # converge the three new hosts
rerun4=$(seconds site)

printf 'fresh converge of site.yml, 1 host : %6.1f s\n' "$fresh"
printf 'floor (apt install, same packages) : %6.1f s  (%s packages)\n' "$floor" "$(wc -w <<<"$PACKAGES")"
printf 'ratio converge / floor             : %6.2f\n' "$(python3 -c "import sys; print(float(sys.argv[1]) / float(sys.argv[2]))" "$fresh" "$floor")"
printf 'idempotent re-run, 1 host          : %6.1f s\n' "$rerun1"
printf 'idempotent re-run, 4 hosts         : %6.1f s\n' "$rerun4"
