#!/usr/bin/env bash
# make demo: converge site.yml on a disposable local systemd container, run the batch
# once through its cron command, and print the rows it wrote. The container stays
# for you to explore; `make demo-clean` (scripts/demo.sh clean) removes it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
NAME=demoapp-demo NET=demoapp-demo
export DEMOAPP_CACHE="${DEMOAPP_CACHE:-$ROOT/.cache}"
export PATH="${DEMOAPP_VENV:-$ROOT/.venv}/bin:$PATH"
export ANSIBLE_FORCE_COLOR=0

if [ "${1:-}" = clean ]; then
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
  echo "demo: container $NAME removed"
  exit 0
fi

scripts/testenv.sh all
mkdir -p "$DEMOAPP_CACHE/demo" "$DEMOAPP_CACHE/apt/demo"
[ -f "$DEMOAPP_CACHE/demo/id_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C demo-admin -f "$DEMOAPP_CACHE/demo/id_ed25519"
if ! docker container inspect "$NAME" >/dev/null 2>&1; then
  docker network inspect "$NET" >/dev/null 2>&1 || docker network create "$NET" >/dev/null
  echo "demo: starting container $NAME (Debian 12, systemd)"
  mapfile -t opts < <(python scripts/systemd_container.py)  # the Molecule platforms' settings
  docker run -d --name "$NAME" --hostname "$NAME" --network "$NET" "${opts[@]}" \
    -v "$DEMOAPP_CACHE/apt/demo:/var/cache/apt/archives" \
    demoapp-systemd:bookworm "$(python scripts/systemd_container.py --command)" >/dev/null
fi

echo "demo: ansible-playbook -i inventories/demo site.yml"
ansible-playbook -i inventories/demo/hosts.yml site.yml -e demo_admin_pubkey="$DEMOAPP_CACHE/demo/id_ed25519.pub"

# The batch's cron line: confined (the default), a system line in /etc/cron.d run as root that starts
# its sandboxed unit and waits for it; unconfined (cron_confined: false), a line in demoapp's crontab.
if docker exec "$NAME" test -f /etc/cron.d/demoapp-batch; then
  lines="$(docker exec "$NAME" cat /etc/cron.d/demoapp-batch)" first=7 user=root
else
  lines="$(docker exec "$NAME" crontab -l -u demoapp)" first=6 user=demoapp
fi
cmd="$(grep -Ev '^(#|MAILTO=|[[:space:]]*$)' <<<"$lines" | head -n 1 \
  | awk -v first="$first" '{for (i = first; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : "")}')" || true
[ -n "$cmd" ] || { echo "demo: no cron line for the batch was found" >&2; exit 1; }
echo "demo: running the batch through its cron command, as $user:"
echo "      $cmd"
docker exec "$NAME" runuser -u "$user" -- /bin/sh -c "cd / && $cmd"
echo "demo: rows in demoapp_db.app_logs:"
docker exec "$NAME" runuser -u postgres -- psql -X -d demoapp_db -c \
  "SELECT id, run_date, message FROM app_logs ORDER BY id"
echo "demo: last log lines (/logs/app/demoapp.log):"
docker exec "$NAME" tail -n 3 /logs/app/demoapp.log
cat <<EOM
demo: done. Explore with:  docker exec -it $NAME bash
      SSH as the admin:   docker exec $NAME hostname -I, then ssh -i $DEMOAPP_CACHE/demo/id_ed25519 appadmin@<address>
      Remove it with:     make demo-clean
EOM
