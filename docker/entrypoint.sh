#!/bin/bash
# flexsim-entrypoint: the image's entrypoint (under tini). Every role runs through it:
#
#   docker run IMAGE                      -> flexsim --help
#   docker run IMAGE compile              -> flexsim compile      (any flexsim subcommand)
#   docker run IMAGE python -m prosumer   -> that program         (any executable on PATH)
#
# Before it starts the command it:
#   0. waits for FLEXSIM_WAIT_FOR (space-separated flexsim-wait targets: file:PATH, tcp://HOST:PORT,
#      rpc:URL, http://URL; up to FLEXSIM_WAIT_TIMEOUT_S, 600): Docker Swarm has no `depends_on`;
#      sets PROSUMER_INDEX from the host name when FLEXSIM_INDEX_FROM_HOSTNAME=true and it is unset:
#      the trailing number of the host name plus FLEXSIM_INDEX_OFFSET (0). A Kubernetes StatefulSet's
#      pod `flexsim-prosumer-7` is prosumer 7; a Swarm task with hostname `prosumer-{{.Task.Slot}}`
#      and offset -1 is its slot - 1. Its key file is then `prosumer-<seed>-<index>.key` in
#      PROSUMER_STATE_DIR, or FLEXSIM_KEYS_DIR/prosumer-<index>.key when FLEXSIM_KEYS_DIR is set (keys
#      given in advance, e.g. a Kubernetes Secret of funded Volta keys) and PROSUMER_KEY_FILE is not;
#   1. sets umask 0002: what a role writes into the shared volumes stays writable by the flexsim group;
#   2. exports the run's shared settings that the deploy step wrote to /shared/run.env (the simulated
#      clock and the scenario's per-role settings; one NAME=VALUE a line), and the aggregator's
#      credentials from $FLEXSIM_CREDENTIALS when a service is given that file. A variable already set
#      in the container's environment wins;
#   3. picks the aggregator's database when AGGREGATOR_DATABASE_URL is not set: FLEXSIM_POSTGRES_URL when
#      that server answers (the `postgres` compose profile is active), else FLEXSIM_SQLITE_URL;
#   4. never runs a role as root: started as root (`--user root`), it drops to the flexsim user, except
#      for the report step (flexsim-docker-report), which starts as root only to write the host's
#      ./results as its owner and drops privileges itself.
set -euo pipefail

if [ -n "${FLEXSIM_WAIT_FOR:-}" ]; then
  read -r -a wait_for <<<"$FLEXSIM_WAIT_FOR"
  flexsim-wait --timeout "${FLEXSIM_WAIT_TIMEOUT_S:-600}" "${wait_for[@]}"
fi
if [ "${FLEXSIM_INDEX_FROM_HOSTNAME:-false}" = true ] && [ -z "${PROSUMER_INDEX:-}" ]; then
  host="${HOSTNAME:-$(hostname)}"
  ordinal="${host##*-}"
  [[ "$ordinal" =~ ^[0-9]+$ ]] || {
    echo "flexsim-entrypoint: FLEXSIM_INDEX_FROM_HOSTNAME: host name $host does not end in -<number>" >&2
    exit 1
  }
  index=$(( 10#$ordinal + ${FLEXSIM_INDEX_OFFSET:-0} ))
  [ "$index" -ge 0 ] || { echo "flexsim-entrypoint: prosumer index $index < 0 (FLEXSIM_INDEX_OFFSET)" >&2; exit 1; }
  export PROSUMER_INDEX="$index"
fi
if [ -n "${FLEXSIM_KEYS_DIR:-}" ] && [ -n "${PROSUMER_INDEX:-}" ] && [ -z "${PROSUMER_KEY_FILE:-}" ]; then
  export PROSUMER_KEY_FILE="$FLEXSIM_KEYS_DIR/prosumer-$PROSUMER_INDEX.key"
  [ -f "$PROSUMER_KEY_FILE" ] || { echo "flexsim-entrypoint: no key $PROSUMER_KEY_FILE for prosumer $PROSUMER_INDEX in FLEXSIM_KEYS_DIR" >&2; exit 1; }
fi
umask 0002

load_env() {  # NAME=VALUE lines of $1, each exported unless already set
  local line name value
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '' | \#*) continue ;; esac
    name="${line%%=*}"
    value="${line#*=}"
    [[ "$name" =~ ^[A-Z_][A-Z0-9_]*$ ]] || { echo "flexsim-entrypoint: bad line in $1: $line" >&2; exit 1; }
    [ -n "${!name+x}" ] || export "$name=$value"
  done <"$1"
}

run_env="${FLEXSIM_RUN_ENV:-/shared/run.env}"
if [ -f "$run_env" ]; then
  load_env "$run_env"
fi
# The aggregator's credentials, for the services that are given this file (FLEXSIM_CREDENTIALS).
if [ -n "${FLEXSIM_CREDENTIALS:-}" ]; then
  [ -f "$FLEXSIM_CREDENTIALS" ] || { echo "flexsim-entrypoint: $FLEXSIM_CREDENTIALS is missing: the deploy step writes it" >&2; exit 1; }
  load_env "$FLEXSIM_CREDENTIALS"
fi

if [ -z "${AGGREGATOR_DATABASE_URL:-}" ]; then
  url="${FLEXSIM_SQLITE_URL:-sqlite:////data/aggregator.db}"
  if [ -n "${FLEXSIM_POSTGRES_URL:-}" ] && python - "$FLEXSIM_POSTGRES_URL" <<'PY'
import socket, sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
try:
    socket.create_connection((u.hostname or "localhost", u.port or 5432), timeout=3).close()
except OSError:
    sys.exit(1)
PY
  then
    url="$FLEXSIM_POSTGRES_URL"
  fi
  export AGGREGATOR_DATABASE_URL="$url"
fi

if [ "$#" -eq 0 ]; then
  set -- --help
fi
if [[ "$1" != -* ]] && command -v -- "$1" >/dev/null 2>&1; then
  cmd=("$@")
else
  cmd=(flexsim "$@")
fi

if [ "$(id -u)" -eq 0 ] && [ "${cmd[0]}" != flexsim-docker-report ]; then
  export HOME=/home/flexsim
  exec setpriv --reuid=flexsim --regid=flexsim --init-groups --inh-caps=-all -- "${cmd[@]}"
fi
exec "${cmd[@]}"
