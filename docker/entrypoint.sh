#!/bin/bash
# flexsim-entrypoint: the image's entrypoint (under tini). Every role runs through it:
#
#   docker run IMAGE                      -> flexsim --help
#   docker run IMAGE compile              -> flexsim compile      (any flexsim subcommand)
#   docker run IMAGE python -m prosumer   -> that program         (any executable on PATH)
#
# Before it starts the command it:
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
