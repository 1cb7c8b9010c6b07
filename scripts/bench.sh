#!/usr/bin/env bash
# make bench: speed figures for site.yml as users run it (not part of the test gate; prints, never asserts).
# Over SSH with this checkout's ansible.cfg (pipelining, ControlPersist, fact cache), connected as
# a nominative admin with sudo, never as root, to Debian 12 systemd containers:
#   - fresh converge of one bare host; the apt floor (the packages that converge installed, with
#     one apt-get install in another bare host); their ratio
#   - idempotent re-run of that host, and a --check --diff drift run of it
#   - the operations API under load: GET /api/servers (1,000 servers, the default page of 50) through
#     nginx's TLS, 50 connections for 30 s (wrk, from this machine, which the host container shares);
#     then the same through a proxy host in front of one, then two application servers (the tiers:
#     proxy, api, db each a container, all sharing this machine's cores)
#   - idempotent re-run of BENCH_HOSTS (8) hosts, and its ratio to one host
#   - DEMOAPP_DEVSEC_HARDENING=<checkout of github.com/dev-sec/ansible-collection-hardening>:
#     devsec.hardening.ssh_hardening against this collection's ssh_hardening, fresh and
#     idempotent, each on its own bare host (without it, one line says the comparison was skipped)
#   - DEMOAPP_MITOGEN=<directory holding ansible_mitogen, e.g. from pip install --target DIR mitogen>:
#     the idempotent re-runs (1 host, the fleet) and the drift run again with the mitogen_linear strategy
# Bootstrapping sshd, sudo and the admin's key is not counted: one container is bootstrapped and
# committed as the image every bench host starts from. Every container, the image and the network
# are named demoapp-bench* and removed at the end, pass or fail. Figures go to stdout; each
# ansible-playbook run's output to $DEMOAPP_CACHE/bench/<step>.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DEMOAPP_CACHE="${DEMOAPP_CACHE:-$ROOT/.cache}" ANSIBLE_FORCE_COLOR=0
export PATH="${DEMOAPP_VENV:-$ROOT/.venv}/bin:$PATH"
HOSTS="${BENCH_HOSTS:-8}" NET=demoapp-bench IMAGE=demoapp-bench:ssh ADMIN=benchadmin
WORK="$DEMOAPP_CACHE/bench"
DEVSEC="${DEMOAPP_DEVSEC_HARDENING:-}"
[[ "$HOSTS" =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_HOSTS must be a positive number, not '$HOSTS'" >&2; exit 2; }
[ -z "$DEVSEC" ] || [ -f "$DEVSEC/roles/ssh_hardening/tasks/main.yml" ] \
  || { echo "DEMOAPP_DEVSEC_HARDENING=$DEVSEC is not a checkout of dev-sec/ansible-collection-hardening" >&2; exit 2; }
MITOGEN="${DEMOAPP_MITOGEN:-}"
[ -z "$MITOGEN" ] || [ -f "$MITOGEN/ansible_mitogen/plugins/strategy/mitogen_linear.py" ] \
  || { echo "DEMOAPP_MITOGEN=$MITOGEN does not hold ansible_mitogen (pip install --target DIR mitogen)" >&2; exit 2; }

scripts/testenv.sh all >/dev/null
if ! command -v wrk >/dev/null; then  # the API's load generator
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >"$DEMOAPP_CACHE/wrk-install.log" 2>&1 \
    || { echo "bench: installing wrk failed ($DEMOAPP_CACHE/wrk-install.log)" >&2; exit 1; }
fi
cleanup() {
  docker ps -aq --filter name=demoapp-bench | xargs -r docker rm -f >/dev/null
  docker image rm -f "$IMAGE" >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
  for socket in "$WORK"/cp/*; do [ -S "$socket" ] && ssh -o ControlPath="$socket" -O exit x 2>/dev/null; done; true
}
trap cleanup EXIT
cleanup
rm -rf "$WORK" && mkdir -p "$WORK/cp"
docker network create "$NET" >/dev/null
# Fresh facts and SSH masters for this run only (ansible.cfg's cache would otherwise serve old facts).
export ANSIBLE_CACHE_PLUGIN_CONNECTION="$WORK/facts" ANSIBLE_SSH_CONTROL_PATH_DIR="$WORK/cp"
# Where the time goes: every run's log ends with its slowest tasks and its time per role.
export ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks,ansible.posix.profile_roles PROFILE_TASKS_TASK_OUTPUT_LIMIT=15
ssh-keygen -q -t ed25519 -N "" -C "$ADMIN@bench" -f "$WORK/id_ed25519"
KEY=$(cat "$WORK/id_ed25519.pub")

run_container() {  # run_container NAME IMAGE
  local opts; mapfile -t opts < <(python scripts/systemd_container.py)  # the Molecule platforms' settings
  docker run -d --name "$1" --hostname "$1" --network "$NET" "${opts[@]}" "$2" \
    "$(python scripts/systemd_container.py --command)" >/dev/null
  # Booted before anything runs (systemd-tmpfiles empties /tmp at boot, under apt's feet).
  for _ in $(seq 1 100); do
    case "$(docker exec "$1" systemctl is-system-running 2>/dev/null)" in running|degraded) return 0 ;; esac
    sleep 0.2
  done
  echo "$1: systemd did not finish booting" >&2; return 1
}

# Bootstrap (not counted): sshd, sudo and the admin with the bench key, committed as the bench image.
run_container demoapp-bench-bootstrap demoapp-systemd:bookworm
docker exec demoapp-bench-bootstrap sh -ec "
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server sudo python3 >/dev/null
  useradd -m -s /bin/bash $ADMIN
  install -d -m 0700 -o $ADMIN -g $ADMIN /home/$ADMIN/.ssh
  echo '$KEY' > /home/$ADMIN/.ssh/authorized_keys
  chown $ADMIN:$ADMIN /home/$ADMIN/.ssh/authorized_keys
  echo '$ADMIN ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/90-bench && chmod 0440 /etc/sudoers.d/90-bench
  systemctl enable -q ssh && apt-get clean"
docker commit demoapp-bench-bootstrap "$IMAGE" >/dev/null
docker rm -f demoapp-bench-bootstrap >/dev/null

start() {  # start NAME: a bench host, sshd answering
  run_container "$1" "$IMAGE"
  docker exec "$1" systemctl is-active -q ssh || { echo "$1: sshd did not start" >&2; return 1; }
}
address() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }

inventory() {  # inventory FILE HOST...: every host in db and batch, the first one in api too
  local file="$1" h; shift
  {
    echo "all:"
    echo "  vars:"
    echo "    ansible_user: $ADMIN"
    echo "    ansible_ssh_private_key_file: $WORK/id_ed25519"
    echo "    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    echo "    app_account_admins: [{name: $ADMIN, ssh_keys: ['$KEY']}]"
    echo "    application_db_password: bench-only-password"
    echo "    securestack_secret_key: bench-only-django-secret-key-0123456789abcdef"
    echo "    securestack_jwt_signing_key: bench-only-jwt-signing-key-0123456789abcdef"
    echo "    securestack_service_token: bench-only-service-token-0123456789abcdef"
    echo "    securestack_admin_password: bench-only admin password"
    echo "  hosts:"
    for h in "$@"; do echo "    $h: {ansible_host: $(address "$h")}"; done
    echo "  children:"
    for g in db batch; do echo "    $g:"; echo "      hosts:"; for h in "$@"; do echo "        $h:"; done; done
    echo "    api:"; echo "      hosts:"; echo "        $1:"
  } >"$file"
}

since() { python3 -c "import sys; print(f'{float(sys.argv[1]) - float(sys.argv[2]):.1f}')" "$(date +%s.%N)" "$1"; }
# CPU time of the whole machine (controller, sshd, the hosts' modules): busy clock ticks in /proc/stat.
busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
seconds() {  # seconds STEP COMMAND...: run, log to $WORK/STEP.log, print the wall-clock seconds
  # (and keep the machine's busy CPU seconds during the step in $WORK/STEP.cpu)
  local step="$1" t0 c0; shift
  t0=$(date +%s.%N) c0=$(busy_ticks)
  "$@" >"$WORK/$step.log" 2>&1 || { echo "bench step '$step' failed:" >&2; tail -25 "$WORK/$step.log" >&2; exit 1; }
  python3 -c "import sys; print(f'{(int(sys.argv[1]) - int(sys.argv[2])) / int(sys.argv[3]):.1f}')" \
    "$(busy_ticks)" "$c0" "$(getconf CLK_TCK)" >"$WORK/$step.cpu"
  since "$t0"
}
try_seconds() {  # like seconds, but a failure prints "failed (LOG)" and the bench goes on (optional figures)
  local step="$1" t0; shift
  t0=$(date +%s.%N)
  if "$@" >"$WORK/$step.log" 2>&1; then
    since "$t0"
  else
    echo "failed ($WORK/$step.log)"
  fi
}
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
# profile_roles' lines "name ---- 1.23s" at the end of a log: the five slowest, on one line.
roles() { sed -n '/^=\+ *$/,$p' "$WORK/$1.log" | grep -E ' -+ +[0-9.]+s$' | sed -E 's/ -+ +/ /' | grep -v 'total' \
  | sort -k2 -t' ' -rn | head -n 5 | tr '\n' ';'; }
recap() { grep -E '^[a-z0-9-]+ +: ok=' "$WORK/$1.log" | sed 's/ \+/ /g' | tr '\n' ';'; }
site() { ansible-playbook -i "$1" site.yml "${@:2}"; }
mitogen() {  # mitogen COMMAND...: run it with the mitogen_linear strategy (its own SSH client reads no
  # UserKnownHostsFile from ansible_ssh_common_args: the bench hosts' fresh keys are not checked)
  ANSIBLE_STRATEGY_PLUGINS="$MITOGEN/ansible_mitogen/plugins/strategy" ANSIBLE_STRATEGY=mitogen_linear \
    ANSIBLE_HOST_KEY_CHECKING=False \
    PYTHONPATH="$MITOGEN${PYTHONPATH:+:$PYTHONPATH}" "$@"
}

# One host: fresh, idempotent, drift check; the packages it installed give the floor.
start demoapp-bench-1
inventory "$WORK/one.yml" demoapp-bench-1
docker exec demoapp-bench-1 apt-mark showmanual | sort >"$WORK/packages-before"
fresh=$(seconds fresh site "$WORK/one.yml")
rerun1=$(seconds rerun-1 site "$WORK/one.yml")
drift=$(seconds drift site "$WORK/one.yml" --check --diff)
# What the re-run asks of the host: every command it runs there (a module, or a raw command such as
# dpkg-query) is one "EXEC" line at -vvv. A run of its own, so that -vvv costs no figure above.
seconds rerun-vvv site "$WORK/one.yml" -vvv >/dev/null
remote=$(grep -c 'EXEC ' "$WORK/rerun-vvv.log" || true)
docker exec demoapp-bench-1 apt-mark showmanual | sort >"$WORK/packages-after"
# The API under load: 1,000 servers, an administrator's token, wrk through nginx's TLS, 50 connections for 30 s.
seed_servers() {  # seed_servers HOST: 1,000 servers in the API's database, through the API's code on HOST
  docker exec "$1" sh -c "set -a && . /etc/securestack/securestack.env && cd /opt/securestack && \
    runuser -u securestack -- python3 manage.py shell -c \"from console.models import Server; \
    Server.objects.bulk_create([Server(name=f'bench-{i:04d}') for i in range(1000)], ignore_conflicts=True)\""
}
api_load() {  # api_load STEP PROXY: wrk against PROXY's /api/servers; prints "N req/s, p50 X, p99 Y, E errors"
  # Django answers to the proxy's name (securestack_public_url): curl and wrk send it, to the proxy's address.
  local ip token log="$WORK/$1.log"; ip=$(address "$2")
  token=$(curl -sk --resolve "$2:443:$ip" -H 'Content-Type: application/json' \
    -d '{"username": "admin", "password": "bench-only admin password"}' "https://$2/api/auth/login" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access"])')
  wrk -t2 -c50 -d30s --latency -H "Host: $2" -H "Authorization: Bearer $token" "https://$ip/api/servers" >"$log" 2>&1
  awk '$1 == "Requests/sec:" {rps = $2} $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2}
       /Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10}
       END {printf "%s req/s, p50 %s, p99 %s, %d errors", rps, p50, p99, n}' "$log"
}
seed_servers demoapp-bench-1
api_one=$(api_load api-load demoapp-bench-1)
api_workers=$(docker exec demoapp-bench-1 sh -c 'grep -o -- "--workers [0-9]*" /etc/systemd/system/securestack.service' || true)
PACKAGES=$(comm -13 "$WORK/packages-before" "$WORK/packages-after" | tr '\n' ' ')
start demoapp-bench-floor
floor=$(seconds floor docker exec demoapp-bench-floor sh -c \
  "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PACKAGES")
docker rm -f demoapp-bench-floor >/dev/null

# The tiers: a proxy, one then two application servers, the database, each a container; the API's figure through
# the proxy with one server, then with two (the second added to the inventory, site.yml run again).
tiers() {  # tiers FILE API_HOST...: an inventory of the tiers with these application servers
  local file="$1" h; shift
  inventory "$file" demoapp-bench-proxy demoapp-bench-db "$@"
  python3 - "$file" "$@" <<'PY'
import sys, yaml
path, servers = sys.argv[1], sys.argv[2:]
inv = yaml.safe_load(open(path))
inv["all"]["children"] = {"proxy": {"hosts": {"demoapp-bench-proxy": None}},
                          "db": {"hosts": {"demoapp-bench-db": None}}, "batch": {"hosts": {"demoapp-bench-db": None}},
                          "api": {"hosts": {s: None for s in servers}}}
inv["all"]["vars"].update(securestack_db_password="bench-only-api-db-password",
                          securestack_db_owner_password="bench-only-api-owner-password")
yaml.safe_dump(inv, open(path, "w"))
PY
}
for h in proxy db api1 api2; do start "demoapp-bench-$h"; done
tiers "$WORK/tiers1.yml" demoapp-bench-api1
seconds tiers-1 site "$WORK/tiers1.yml" >/dev/null
seed_servers demoapp-bench-api1
api_tier1=$(api_load api-load-tiers-1 demoapp-bench-proxy)
tiers "$WORK/tiers2.yml" demoapp-bench-api1 demoapp-bench-api2
seconds tiers-2 site "$WORK/tiers2.yml" >/dev/null
api_tier2=$(api_load api-load-tiers-2 demoapp-bench-proxy)
docker rm -f demoapp-bench-proxy demoapp-bench-db demoapp-bench-api1 demoapp-bench-api2 >/dev/null 2>&1 || true

# The fleet: the other hosts converged (not counted), then the idempotent re-run of all.
fleet=(demoapp-bench-1) rerunN='' mitogen1='' mitogenN='' mitogen_drift=''
if [ -n "$MITOGEN" ]; then
  mitogen1=$(try_seconds mitogen-rerun-1 mitogen site "$WORK/one.yml")
  mitogen_drift=$(try_seconds mitogen-drift mitogen site "$WORK/one.yml" --check --diff)
fi
if [ "$HOSTS" -gt 1 ]; then
  for i in $(seq 2 "$HOSTS"); do start "demoapp-bench-$i"; fleet+=("demoapp-bench-$i"); done
  inventory "$WORK/fleet.yml" "${fleet[@]}"
  seconds fleet-fresh site "$WORK/fleet.yml" >/dev/null
  rerunN=$(seconds rerun-fleet site "$WORK/fleet.yml")
  [ -z "$MITOGEN" ] || mitogenN=$(try_seconds mitogen-rerun-fleet mitogen site "$WORK/fleet.yml")
  docker rm -f "${fleet[@]:1}" >/dev/null 2>&1 || true
fi

printf '\nmachine: %s cores, %s; Debian 12 containers over SSH as %s with sudo\n' "$(nproc)" "$(uname -m)" "$ADMIN"
printf 'fresh converge of site.yml, 1 host   : %7.1f s\n' "$fresh"
printf 'floor (one apt-get install, same pkgs): %7.1f s  (%s packages)\n' "$floor" "$(wc -w <<<"$PACKAGES")"
printf 'ratio converge / floor               : %7s\n' "$(ratio "$fresh" "$floor")"
printf 'idempotent re-run, 1 host            : %7.1f s  %s\n' "$rerun1" "$(recap rerun-1)"
printf 'drift run --check --diff, 1 host     : %7.1f s  %s\n' "$drift" "$(recap drift)"
printf 'commands the re-run runs on the host  : %7s    (modules and raw commands, counted at -vvv)\n' "$remote"
printf 'API GET /api/servers (1,000 servers, page of 50) via nginx TLS, 50 connections, 30 s: %s (Gunicorn sync workers: %s; wrk and the host share the %s cores)\n' \
  "$api_one" "${api_workers#--workers }" "$(nproc)"
printf 'API through a proxy host, 1 application server : %s\n' "$api_tier1"
printf 'API through a proxy host, 2 application servers: %s\n' "$api_tier2"
echo '  (proxy, application servers and database each a container; all of them and wrk share the machine'"'"'s cores)'
if [ -n "$rerunN" ]; then
  printf 'idempotent re-run, %s hosts           : %7.1f s  (ratio to 1 host %s)\n' "$HOSTS" "$rerunN" "$(ratio "$rerunN" "$rerun1")"
  # The hosts run on the controller's cores: the fleet's CPU time over the core count is the shortest
  # the fleet re-run can take on this machine, whatever the playbook's latency.
  cpu1=$(cat "$WORK/rerun-1.cpu") cpuN=$(cat "$WORK/rerun-fleet.cpu")
  printf 'CPU time of the re-runs (controller + hosts, %s cores): 1 host %s s, %s hosts %s s -> the fleet re-run takes at least %s s here (ratio >= %s)\n' \
    "$(nproc)" "$cpu1" "$HOSTS" "$cpuN" "$(ratio "$cpuN" "$(nproc)")" "$(ratio "$(ratio "$cpuN" "$(nproc)")" "$rerun1")"
else
  echo "idempotent re-run, fleet              : skipped (BENCH_HOSTS=1)"
fi
printf 'idempotent re-run, 1 host, by role   : %s\n' "$(roles rerun-1)"
if [ -n "$MITOGEN" ]; then
  printf 'mitogen_linear: idempotent 1 host %s s (%s), drift %s s (%s)%s\n' "$mitogen1" "$(recap mitogen-rerun-1)" \
    "$mitogen_drift" "$(recap mitogen-drift)" "${mitogenN:+, $HOSTS hosts $mitogenN s}"
else
  echo "mitogen_linear strategy               : skipped (DEMOAPP_MITOGEN is not set; see README)"
fi

# ssh_hardening against devsec.hardening's, each alone on its own bare host.
if [ -z "$DEVSEC" ]; then
  echo "ssh_hardening vs devsec.hardening     : skipped (DEMOAPP_DEVSEC_HARDENING is not set; see README)"
  exit 0
fi
# Both collections next to the playbooks (Ansible's playbook-adjacent collections directory).
mkdir -p "$WORK/collections/ansible_collections/devsec" "$WORK/collections/ansible_collections/integration"
ln -sfn "$(cd "$DEVSEC" && pwd)" "$WORK/collections/ansible_collections/devsec/hardening"
ln -sfn "$ROOT" "$WORK/collections/ansible_collections/integration/demoapp"
cat >"$WORK/ssh-ours.yml" <<EOF
- name: This collection's SSH hardening
  hosts: all
  become: true
  roles:
    - role: integration.demoapp.ssh_hardening
EOF
cat >"$WORK/ssh-devsec.yml" <<EOF
- name: devsec.hardening's SSH hardening
  hosts: all
  become: true
  roles:
    - role: devsec.hardening.ssh_hardening
EOF
for who in ours devsec; do
  start "demoapp-bench-ssh-$who"
  printf 'all:\n  hosts:\n    demoapp-bench-ssh-%s:\n      ansible_host: %s\n      ansible_user: %s\n      ansible_ssh_private_key_file: %s\n      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n' \
    "$who" "$(address "demoapp-bench-ssh-$who")" "$ADMIN" "$WORK/id_ed25519" >"$WORK/ssh-$who-hosts.yml"
done
play() { ansible-playbook -i "$WORK/ssh-$1-hosts.yml" "$WORK/ssh-$1.yml"; }
ours_fresh=$(seconds ssh-ours-fresh play ours)
ours_rerun=$(seconds ssh-ours-rerun play ours)
devsec_fresh=$(seconds ssh-devsec-fresh play devsec)
devsec_rerun=$(seconds ssh-devsec-rerun play devsec)
printf 'ssh_hardening fresh: ours %6.1f s, devsec %6.1f s; idempotent: ours %5.1f s, devsec %5.1f s (devsec/ours %s)\n' \
  "$ours_fresh" "$devsec_fresh" "$ours_rerun" "$devsec_rerun" "$(ratio "$devsec_rerun" "$ours_rerun")"
