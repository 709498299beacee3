#!/bin/bash
# flexsim-docker-report: the compose `report` step, after the grid operator has completed. Writes the
# report into /results/NAME (the host's ./results/NAME) with
#   flexsim report --aggregator-db URL --manifest PATH --rpc-url URL --out DIR
# and copies beside it what the run was made of: the scenario, the shared run settings, the
# deployment manifest (with ABIs) and the grid operator's requests and results.
#
# The service starts as root for one reason: the files must belong to the owner of the host's
# ./results (or FLEXSIM_UID:FLEXSIM_GID), which the image cannot know. The report itself runs as the
# image's flexsim user (it reads the aggregator's SQLite database in the shared volume, owned by that
# user); the finished report is then copied into /results as the owner. Nothing runs as root.
#   FLEXSIM_REPORT_NAME  default <scenario>-<UTC time>
set -euo pipefail

name="${FLEXSIM_REPORT_NAME:-${FLEXSIM_SCENARIO_NAME:-docker}-$(date -u +%Y%m%d-%H%M%S)}"
manifest="${FLEXSIM_MANIFEST:-/shared/deployment/manifest.json}"
rpc="${FLEXSIM_RPC_URL:-http://chain:8545}"
grid_out="${GRID_OUT:-/shared/grid_operator.json}"
scenario="${FLEXSIM_SCENARIO:-/opt/flexsim/scenarios/docker.toml}"

as_flexsim=()
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  uid="${FLEXSIM_UID:-$(stat -c %u /results)}"
  gid="${FLEXSIM_GID:-$(stat -c %g /results)}"
  as_flexsim=(setpriv --reuid=flexsim --regid=flexsim --init-groups --inh-caps=-all --)
  as_owner=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --)
fi

staging="$(mktemp -d /tmp/report.XXXXXX)"
chmod 0755 "$staging"
chown flexsim:flexsim "$staging" 2>/dev/null || true
umask 0022
# The clock and strategy of the run come from /shared/run.env (written by the deploy step).
HOME=/home/flexsim "${as_flexsim[@]}" flexsim report --aggregator-db "$AGGREGATOR_DATABASE_URL" \
  --manifest "$manifest" --rpc-url "$rpc" --out "$staging/$name" \
  --strategy "${FLEXSIM_STRATEGY:-fair}" --sim-start "$FLEXSIM_SIM_START" \
  --real-start "$FLEXSIM_SIM_REAL_START_EPOCH" --speed "$FLEXSIM_SIM_SPEED" \
  --scenario-note "$(cat "$scenario")" "$@"

"${as_flexsim[@]}" bash -c '
  set -euo pipefail
  out="$1"; scenario="$2"; run_env="$3"; manifest="$4"; grid_out="$5"
  mkdir -p "$out/deployment"
  cp "$scenario" "$out/scenario.toml"
  [ ! -f "$run_env" ] || cp "$run_env" "$out/run.env"
  cp -r "$(dirname "$manifest")/." "$out/deployment/"
  [ ! -f "$grid_out" ] || cp "$grid_out" "$out/"
' _ "$staging/$name" "$scenario" \
  "${FLEXSIM_RUN_ENV:-/shared/run.env}" "$manifest" "$grid_out"

if ! "${as_owner[@]}" cp -r "$staging/$name" /results/ 2>/tmp/copy.err; then
  cat /tmp/copy.err >&2
  echo "flexsim-docker-report: cannot write /results/$name as uid ${uid:-$(id -u)}: make ./results" \
    "writable by that user, or set FLEXSIM_UID/FLEXSIM_GID (default: the owner of ./results)" >&2
  exit 1
fi
echo "report: ./results/$name"
