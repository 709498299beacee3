#!/usr/bin/env bash
# Makes sure the base image the Dockerfile builds FROM is in the local engine:
#
#   scripts/docker-base-image.sh [IMAGE]        (default: the Dockerfile's BASE_IMAGE, python:3.11-slim-bookworm)
#
#   1. already present locally          -> nothing to do;
#   2. `docker pull IMAGE` works         -> the real image (any machine that reaches its registry);
#   3. the registry cannot be reached   -> builds a local STAND-IN with the same tag: a Debian bookworm
#      rootfs made by debootstrap (installed with apt-get when missing) with python3.11, venv and
#      CA certificates, imported with `docker import`. It is only ever built when the pull fails.
#
# The stand-in differs from the official image in where Python lives (/usr/bin/python3.11 from Debian
# instead of /usr/local/bin/python3.11 built from source); the Dockerfile only relies on `python3` with
# `venv` and on apt-get, which both provide. It carries the label org.flexsim.standin=true.
#
# Settings (environment): FLEXSIM_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# FLEXSIM_PULL_TIMEOUT_S (default 60), FLEXSIM_FORCE_STANDIN=1 (skip the pull and build the stand-in).
set -euo pipefail
cd "$(dirname "$0")/.."

default_image() {
  sed -n 's/^ARG BASE_IMAGE=\(.*\)$/\1/p' Dockerfile | head -n 1
}
IMAGE="${1:-$(default_image)}"
IMAGE="${IMAGE:-python:3.11-slim-bookworm}"
MIRROR="${FLEXSIM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PULL_TIMEOUT_S="${FLEXSIM_PULL_TIMEOUT_S:-60}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

say() { echo "docker-base-image: $*" >&2; }

if docker image inspect "$IMAGE" >/dev/null 2>&1 && [ "${FLEXSIM_FORCE_STANDIN:-0}" != 1 ]; then
  if [ "$(docker image inspect -f '{{ index .Config.Labels "org.flexsim.standin" }}' "$IMAGE" 2>/dev/null)" = true ]; then
    say "$IMAGE is present (the local stand-in built earlier)"
  else
    say "$IMAGE is present"
  fi
  exit 0
fi

if [ "${FLEXSIM_FORCE_STANDIN:-0}" != 1 ]; then
  say "pulling $IMAGE (at most ${PULL_TIMEOUT_S} s)"
  if timeout "$PULL_TIMEOUT_S" docker pull -q "$IMAGE" >/dev/null 2>/tmp/flexsim-pull.err; then
    say "pulled $IMAGE"
    exit 0
  fi
  say "cannot pull $IMAGE ($(tr '\n' ' ' </tmp/flexsim-pull.err | cut -c1-200)): building a local stand-in"
fi

if ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null || { say "debootstrap is missing and there is no apt-get: install debootstrap"; exit 1; }
  say "installing debootstrap"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq debootstrap >/dev/null
fi

work="$(mktemp -d /tmp/flexsim-base.XXXXXX)"
cleanup() { $SUDO rm -rf "$work"; }
trap cleanup EXIT
rootfs="$work/rootfs"
say "debootstrap bookworm (minbase + python3.11, venv) into $rootfs from $MIRROR"
started=$(date +%s)
$SUDO debootstrap --variant=minbase \
  --include=python3.11,python3-venv,ca-certificates,netbase,tzdata \
  bookworm "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  say "debootstrap failed (log above)"
  exit 1
}

# Like the official image: apt sources with updates and security, no caches, `python` and `python3`.
$SUDO tee "$rootfs/etc/apt/sources.list" >/dev/null <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
$SUDO ln -sf python3 "$rootfs/usr/bin/python"
$SUDO rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/tmp/* \
  "$rootfs"/var/log/*.log
$SUDO chroot "$rootfs" python3 -c 'import sys, venv, ensurepip, ssl; assert sys.version_info[:2] == (3, 11)'

say "importing it as $IMAGE"
$SUDO tar -C "$rootfs" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'LABEL org.flexsim.standin=true' \
  --change 'LABEL org.opencontainers.image.description="local stand-in: Debian bookworm with python3.11 from apt"' \
  --change 'CMD ["python3"]' \
  - "$IMAGE" >/dev/null
say "built the stand-in $IMAGE in $(( $(date +%s) - started )) s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
