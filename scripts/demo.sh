#!/usr/bin/env bash
# make demo: converge site.yml on a disposable local systemd container (db, batch and api:
# the operations API and its dashboard behind nginx, published on this machine's loopback),
# run the batch once through its cron command, and print the rows it wrote, the dashboard's
# URL, its CA and the administrator's generated password. The container stays for you to
# explore; `make demo-clean` (scripts/demo.sh clean) removes it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
NAME=demoapp-demo NET=demoapp-demo PORT="${DEMOAPP_DEMO_PORT:-8443}" started=$(date +%s)
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
SECRETS="$DEMOAPP_CACHE/demo/secrets.yml"
if [ ! -s "$SECRETS" ]; then  # the API's secrets and the administrator's password, made once, 0600
  ( umask 077
    secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(36))'; }
    printf '# make demo: generated once (delete this file and the container to start over)\n'
    printf 'securestack_secret_key: %s\nsecurestack_jwt_signing_key: %s\nsecurestack_service_token: %s\n' \
      "$(secret)" "$(secret)" "$(secret)"
    printf 'securestack_admin_password: %s\n' "$(secret)" ) >"$SECRETS"
fi
chmod 600 "$SECRETS"
# A container from an older demo, without the dashboard's port, is made again.
if docker container inspect "$NAME" >/dev/null 2>&1 && [ -z "$(docker port "$NAME" 443/tcp 2>/dev/null)" ]; then
  docker rm -f "$NAME" >/dev/null
fi
if ! docker container inspect "$NAME" >/dev/null 2>&1; then
  docker network inspect "$NET" >/dev/null 2>&1 || docker network create "$NET" >/dev/null
  echo "demo: starting container $NAME (Debian 12, systemd)"
  mapfile -t opts < <(python scripts/systemd_container.py)  # the Molecule platforms' settings
  docker run -d --name "$NAME" --hostname "$NAME" --network "$NET" "${opts[@]}" -p "127.0.0.1:$PORT:443" \
    -v "$DEMOAPP_CACHE/apt/demo:/var/cache/apt/archives" \
    demoapp-systemd:bookworm "$(python scripts/systemd_container.py --command)" >/dev/null
fi

echo "demo: ansible-playbook -i inventories/demo site.yml"
ansible-playbook -i inventories/demo/hosts.yml site.yml -e demo_admin_pubkey="$DEMOAPP_CACHE/demo/id_ed25519.pub" \
  -e demo_https_port="$PORT" -e @"$SECRETS"

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
docker exec "$NAME" cat /etc/nginx/tls/server.crt >"$DEMOAPP_CACHE/demo/ca.pem"
password="$(sed -n 's/^securestack_admin_password: //p' "$SECRETS")"
login="$(curl -sS --cacert "$DEMOAPP_CACHE/demo/ca.pem" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "{\"username\": \"admin\", \"password\": \"$password\"}" "https://localhost:$PORT/api/auth/login")" || true
echo "demo: the administrator's login through nginx (curl --cacert): HTTP $login"
[ "$login" = 200 ] || { echo "demo: the administrator could not log in (HTTP $login)" >&2; exit 1; }
cat <<EOM
demo: done in $(( $(date +%s) - started )) s.
      Dashboard and API:  https://localhost:$PORT/   (API description: https://localhost:$PORT/api/schema)
      Its CA (self-signed): $DEMOAPP_CACHE/demo/ca.pem  (import it, or: curl --cacert $DEMOAPP_CACHE/demo/ca.pem ...)
      Administrator:      admin / $password   (stored 0600 in $SECRETS)
      Explore with:       docker exec -it $NAME bash
      SSH as the admin:   docker exec $NAME hostname -I, then ssh -i $DEMOAPP_CACHE/demo/id_ed25519 appadmin@<address>
      Remove it with:     make demo-clean
EOM
