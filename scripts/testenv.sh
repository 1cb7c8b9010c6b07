#!/usr/bin/env bash
# Prepare everything the tests and the demo need, idempotently:
#   venv    - .venv with the pinned requirements.txt
#   docker  - a Docker engine that answers (installs docker.io and starts dockerd if needed)
#   images  - systemd base images for Debian 12 and 13, built offline with debootstrap
#   pg      - PostgreSQL server binaries for the unit tests
#   tools   - shellcheck, make, git
#   mirror  - print the Debian mirror the images are built from, and why
#   all     - everything above (default): the host packages in one apt transaction, then the venv
#             beside the Docker engine and the images (the two images side by side)
# Each step says what it does; a missing prerequisite ends the script with one
# line "testenv: ERROR: ..." and exit status 1, never a traceback.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DEMOAPP_VENV:-$ROOT/.venv}"
CACHE="${DEMOAPP_CACHE:-$ROOT/.cache}"
# Image tags used by molecule/ (see .config/molecule/config.yml).
IMAGE_REPO="${DEMOAPP_IMAGE_REPO:-demoapp-systemd}"
CODENAMES=(bookworm trixie)
# Packages in every base image: a bare server with systemd and Python for Ansible.
# What any real Debian server has (iproute2 is Priority: important; Ansible reads
# the network facts with it), which the minbase variant leaves out.
IMAGE_PACKAGES="systemd,systemd-sysv,python3,ca-certificates,dbus,iproute2"

say() { printf 'testenv: %s\n' "$*" >&2; }
die() { printf 'testenv: ERROR: %s\n' "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" -eq 0 ] || die "$1 needs root (run as root or install it yourself)"; }
apt_updated=0
apt_install() {
  need_root "installing $*"
  if [ "$apt_updated" -eq 0 ]; then
    say "apt-get update"
    apt-get update -qq >/dev/null 2>"$CACHE/apt-update.err" \
      || die "apt-get update failed: $(tail -n1 "$CACHE/apt-update.err")"
    apt_updated=1
  fi
  say "installing Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$CACHE/apt-install.log" 2>&1 \
    || die "apt-get install $* failed: $(tail -n1 "$CACHE/apt-install.log")"
}

step_venv() {
  local stamp="$VENV/.requirements.sha256" want
  want="$(cat "$ROOT/requirements.txt" "$ROOT/files/securestack/requirements-debian12.txt" | sha256sum | cut -d' ' -f1)"
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    say "venv $VENV is up to date"
    return
  fi
  command -v python3 >/dev/null || die "python3 is missing"
  say "creating venv $VENV and installing requirements.txt (first time: about 2 minutes)"
  python3 -m venv "$VENV" 2>"$CACHE/venv.err" || die "python3 -m venv failed: $(tail -n1 "$CACHE/venv.err")"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/requirements.txt" >"$CACHE/pip.log" 2>&1 \
    || die "pip install -r requirements.txt failed: $(grep -E '^ERROR' "$CACHE/pip.log" | tail -n1)"
  # The operations API is also tested against Debian 12's Django stack (tests/unit/test_securestack.py).
  rm -rf "$VENV/debian12-api"
  "$VENV/bin/pip" install -q --disable-pip-version-check --target "$VENV/debian12-api" \
    -r "$ROOT/files/securestack/requirements-debian12.txt" >>"$CACHE/pip.log" 2>&1 \
    || die "pip install of Debian 12's API stack failed: $(grep -E '^ERROR' "$CACHE/pip.log" | tail -n1)"
  echo "$want" >"$stamp"
  say "venv ready"
}

docker_answers() { timeout 10 docker info >/dev/null 2>&1; }

step_docker() {
  if docker_answers; then say "Docker engine answers"; return; fi
  if ! command -v dockerd >/dev/null; then
    apt_install docker.io
  fi
  command -v dockerd >/dev/null || die "dockerd not found after installing docker.io"
  say "starting dockerd in the background (log: $CACHE/dockerd.log)"
  nohup dockerd >"$CACHE/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    docker_answers && { say "Docker engine started"; return; }
    sleep 1
  done
  die "dockerd did not answer within 60 s: $(tail -n1 "$CACHE/dockerd.log")"
}

# The Debian mirror the images are built from, and why: DEMOAPP_DEBIAN_MIRROR when set,
# else the one this machine's apt uses (deb822 .sources or one-line lists), else (a
# machine with no Debian mirror configured, e.g. an Ubuntu CI runner) DEFAULT_DEBIAN_MIRROR.
DEFAULT_DEBIAN_MIRROR="http://deb.debian.org/debian"
APT_ETC="${DEMOAPP_APT_ETC:-/etc/apt}"  # tests point this at sample sources
debian_mirror() {
  local uri="${DEMOAPP_DEBIAN_MIRROR:-}" why="DEMOAPP_DEBIAN_MIRROR"
  if [ -z "$uri" ]; then
    why="the Debian mirror configured in $APT_ETC"
    uri="$(grep -hsE '^URIs:' "$APT_ETC"/sources.list.d/*.sources 2>/dev/null \
            | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  fi
  [ -n "$uri" ] || uri="$(grep -hsE '^deb +(\[[^]]*\] +)?[a-z]+://' "$APT_ETC"/sources.list "$APT_ETC"/sources.list.d/*.list \
          2>/dev/null | sed -E 's/\[[^]]*\] +//' | awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  if [ -z "$uri" ]; then
    uri="$DEFAULT_DEBIAN_MIRROR"
    why="the default: no Debian mirror configured in $APT_ETC (set DEMOAPP_DEBIAN_MIRROR to choose one)"
  fi
  say "Debian mirror: ${uri%/} ($why)"
  echo "${uri%/}"
}

# Hash of everything that decides an image's content: rebuild when it changes.
# Bump IMAGE_RECIPE_VERSION when build_image changes what goes into an image.
IMAGE_RECIPE_VERSION=1
image_recipe() { printf '%s\n' "$1" "$IMAGE_PACKAGES" "$IMAGE_RECIPE_VERSION" | sha256sum | cut -c1-16; }

image_is_current() {  # image_is_current CODENAME: its image exists and was built by this recipe
  [ "$(docker image inspect -f '{{ index .Config.Labels "org.demoapp.recipe" }}' "$IMAGE_REPO:$1" 2>/dev/null)" \
    = "$(image_recipe "$1")" ]
}

build_image() {  # build_image CODENAME MIRROR (step_images found the mirror reachable)
  local codename="$1" mirror="$2" tag="$IMAGE_REPO:$1" recipe rootfs t0
  recipe="$(image_recipe "$codename")"
  rootfs="$(mktemp -d "$CACHE/rootfs-$codename.XXXX")"
  t0=$(date +%s)
  say "building image $tag with debootstrap from $mirror (about 70 s)"
  debootstrap --variant=minbase --include="$IMAGE_PACKAGES" "$codename" "$rootfs" "$mirror" \
    >"$CACHE/debootstrap-$codename.log" 2>&1 \
    || { rm -rf "$rootfs"; die "debootstrap $codename failed: $(tail -n1 "$CACHE/debootstrap-$codename.log")"; }
  # Same sources as a real server: release, updates and security.
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror $codename main
deb $mirror $codename-updates main
deb ${mirror%/debian}/debian-security $codename-security main
EOF
  rm -f "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/etc/hostname"
  : >"$rootfs/etc/machine-id"
  tar -C "$rootfs" -c . | docker import \
    -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' \
    -c "LABEL org.demoapp.recipe=$recipe" - "$tag" >/dev/null \
    || { rm -rf "$rootfs"; die "docker import of $tag failed"; }
  rm -rf "$rootfs"
  say "image $tag built in $(( $(date +%s) - t0 )) s"
}

step_images() {  # the images that are not up to date, built side by side (debootstrap waits on the mirror too)
  local c mirror todo=() pids=() failed=0 i
  docker_answers || step_docker
  for c in "${CODENAMES[@]}"; do
    if image_is_current "$c"; then say "image $IMAGE_REPO:$c is up to date"; else todo+=("$c"); fi
  done
  if [ "${#todo[@]}" -gt 0 ]; then
    command -v debootstrap >/dev/null || apt_install debootstrap
    mirror="$(debian_mirror)"
    for c in "${todo[@]}"; do
      timeout 20 python3 -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)" \
        "$mirror/dists/$c/Release" 2>/dev/null \
        || die "cannot reach the Debian mirror $mirror (dists/$c/Release); images cannot be built"
    done
    say "building image(s) ${todo[*]}, side by side (about 100 s; each build's lines follow when it ends)"
    for c in "${todo[@]}"; do build_image "$c" "$mirror" 2>"$CACHE/image-$c.err" & pids+=($!); done
    for i in "${!todo[@]}"; do  # each build's lines in CODENAMES order; any failure ends the step
      wait "${pids[$i]}" || failed=1
      cat "$CACHE/image-${todo[$i]}.err" >&2
    done
    [ "$failed" -eq 0 ] || exit 1
  fi
  mkdir -p "$CACHE/apt/bookworm" "$CACHE/apt/trixie" "$CACHE/apt/trixie-api2" "$CACHE/apt/bookworm-api1" "$CACHE/apt/trixie-proxy" "$CACHE/apt/client" "$CACHE/apt/demo"
}

# Host tools the suite calls, as command=package: shellcheck (ansible-test sanity), make, git, and the headless
# browser and its driver of the dashboard's tests.
HOST_TOOLS=(shellcheck=shellcheck make=make git=git chromium=chromium chromedriver=chromium-driver)
missing_tools() { local t; for t in "${HOST_TOOLS[@]}"; do command -v "${t%%=*}" >/dev/null || echo "${t#*=}"; done; }
step_tools() {
  local missing=()
  mapfile -t missing < <(missing_tools)
  if [ "${#missing[@]}" -eq 0 ]; then say "host tools present"; return; fi
  apt_install "${missing[@]}"
}

pg_present() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
step_pg() {
  if pg_present; then say "PostgreSQL server binaries present"; return; fi
  apt_install postgresql
}

step_host_packages() {  # every Debian package the steps below would install, in one apt transaction
  local missing=() c
  mapfile -t missing < <(missing_tools)
  pg_present || missing+=(postgresql)
  if ! docker_answers; then
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
  elif ! command -v debootstrap >/dev/null; then
    for c in "${CODENAMES[@]}"; do image_is_current "$c" || { missing+=(debootstrap); break; }; done
  fi
  [ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"
}

all() {  # the venv is made while the Docker engine starts and the images build (pip and debootstrap
  # wait on the network as much as on the cores); its lines are printed when it is done
  local venv_pid rc=0
  step_host_packages
  step_tools; step_pg
  say "venv: made in the background while the engine and the images are readied (its lines follow)"
  step_venv 2>"$CACHE/venv-step.err" & venv_pid=$!
  trap 'kill "$venv_pid" 2>/dev/null || true' EXIT  # a failed step below leaves no pip behind
  step_docker; step_images
  wait "$venv_pid" || rc=$?
  cat "$CACHE/venv-step.err" >&2
  trap - EXIT
  [ "$rc" -eq 0 ] || exit 1
}

main() {
  mkdir -p "$CACHE"
  local what="${1:-all}"
  case "$what" in
    venv) step_venv ;;
    docker) step_docker ;;
    images) step_images ;;
    pg) step_pg ;;
    tools) step_tools ;;
    mirror) debian_mirror ;;
    all) all ;;
    *) die "unknown step '$what' (venv, docker, images, pg, tools, mirror, all)" ;;
  esac
}
main "$@"
