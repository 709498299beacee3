#!/bin/bash
# flexsim-docker-deploy: the compose `deploy` step (one-shot). Deploys the contracts with
#   flexsim deploy --rpc-url $FLEXSIM_RPC_URL --out $FLEXSIM_MANIFEST --aggregator <address of AGGREGATOR_AGGREGATOR_KEY>
# and writes the run's shared settings to /shared/run.env, which every service's entrypoint exports:
# the simulated clock (one real start time for all containers), the strategy, and the scenario's
# per-role settings, so that the scenario file is the one source of truth for a compose run. The
# variables are named by the services' settings classes (simulation/child_env.py, as `flexsim run`).
#
#   FLEXSIM_DEPLOY    auto (default): reuse the manifest in the volume when its contracts are on the
#                     chain (a public chain: deploy once, reuse), else deploy; `always`; `never`
#   FLEXSIM_SCENARIO  scenario TOML (default /opt/flexsim/scenarios/docker.toml)
#   FLEXSIM_STRATEGY  fair | reputation (default: the scenario's; `both` runs as fair under compose)
#   FLEXSIM_START_DELAY_S  real seconds from now to the simulated start (services come up meanwhile)
#   FLEXSIM_GRID_TOKEN, FLEXSIM_ADMIN_TOKEN  the aggregator's bearer credentials; unset: generated
#                     (secrets.token_urlsafe(32)) once and kept in /shared/credentials.env, which only the
#                     services that need them read (FLEXSIM_CREDENTIALS: the aggregator, the grid operator)
set -euo pipefail

rpc="${FLEXSIM_RPC_URL:-http://chain:8545}"
manifest="${FLEXSIM_MANIFEST:-/shared/deployment/manifest.json}"
run_env="${FLEXSIM_RUN_ENV:-/shared/run.env}"
credentials="${FLEXSIM_CREDENTIALS_FILE:-/shared/credentials.env}"
: "${AGGREGATOR_AGGREGATOR_KEY:?set AGGREGATOR_AGGREGATOR_KEY: the aggregator account deployed as the market\'s aggregator}"

aggregator="$(python -c 'import os; from eth_account import Account; print(Account.from_key(os.environ["AGGREGATOR_AGGREGATOR_KEY"]).address)')"

deployed_here() {  # the manifest's three contracts have code on the chain at $rpc
  [ -f "$manifest" ] && python - "$manifest" "$rpc" <<'PY'
import json, sys, urllib.request
doc = json.load(open(sys.argv[1]))
for address in doc["contracts"].values():
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getCode", "params": [address, "latest"]}
    req = urllib.request.Request(sys.argv[2], json.dumps(body).encode(), {"Content-Type": "application/json"})
    if json.load(urllib.request.urlopen(req, timeout=10)).get("result", "0x") in ("0x", "0x0", None):
        sys.exit(1)
PY
}

case "${FLEXSIM_DEPLOY:-auto}" in
  always) flexsim deploy --rpc-url "$rpc" --out "$manifest" --aggregator "$aggregator" ;;
  never)
    deployed_here || { echo "flexsim-docker-deploy: FLEXSIM_DEPLOY=never but $manifest is missing or not on $rpc" >&2; exit 1; }
    echo "reusing $manifest" ;;
  auto)
    if deployed_here; then
      echo "reusing $manifest (its contracts are on $rpc; FLEXSIM_DEPLOY=always redeploys)"
    else
      flexsim deploy --rpc-url "$rpc" --out "$manifest" --aggregator "$aggregator"
    fi ;;
  *) echo "flexsim-docker-deploy: FLEXSIM_DEPLOY must be auto, always or never" >&2; exit 1 ;;
esac

python - "$run_env" <<'PY'
import os, secrets, sys, time
from pathlib import Path

from simulation.child_env import compose_run_env
from simulation.scenario import load_scenario

scenario = os.environ.get("FLEXSIM_SCENARIO", "/opt/flexsim/scenarios/docker.toml")
s = load_scenario(scenario)
strategy = os.environ.get("FLEXSIM_STRATEGY") or s.strategy
if strategy == "both":
    print("compose runs one strategy per deployment: running `fair` (set FLEXSIM_STRATEGY)", file=sys.stderr)
    strategy = "fair"
start = time.time() + float(os.environ.get("FLEXSIM_START_DELAY_S", "20"))
# The fleet's credential for the aggregator's consent to its contracts (R2): new for each deployment.
enrolment = os.environ.get("FLEXSIM_ENROLMENT_TOKEN") or secrets.token_urlsafe(32)
# The chain service's block time (0 = automine: the dispatcher plans with 1 s blocks).
block_time = float(os.environ.get("FLEXSIM_BLOCK_TIME_S") or 0)
values = {
    "FLEXSIM_SCENARIO_NAME": s.name,
    "FLEXSIM_STRATEGY": strategy,
    "FLEXSIM_SIM_START": s.sim_start.isoformat(),
    "FLEXSIM_SIM_SPEED": repr(s.speed),
    "FLEXSIM_SIM_REAL_START_EPOCH": repr(round(start, 3)),
    # every service's settings, named by its settings class (simulation/child_env.py)
    **compose_run_env(s, scenario, strategy, start, enrolment, block_time),
}
path = Path(sys.argv[1])
path.parent.mkdir(parents=True, exist_ok=True)
tmp = path.with_suffix(".tmp")
tmp.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
tmp.replace(path)
print(f"{path}: scenario {s.name}, strategy {strategy}, {s.speed:g}x, simulated start in "
      f"{start - time.time():.0f} s, {s.real_duration_s:.0f} real s")
PY

python - "$credentials" <<'PY'
import os, secrets, sys
from pathlib import Path

from aggregator.settings import AggregatorSettings
from base.settings_env import env_name, to_env
from grid_operator.settings import GridSettings

path = Path(sys.argv[1])
kept = {}
if path.exists():  # a rerun keeps the credentials the services already use
    kept = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
grid_var, admin_var = (env_name(AggregatorSettings, f) for f in ("grid_token", "admin_token"))
grid = os.environ.get("FLEXSIM_GRID_TOKEN") or kept.get(grid_var) or secrets.token_urlsafe(32)
admin = os.environ.get("FLEXSIM_ADMIN_TOKEN") or kept.get(admin_var) or secrets.token_urlsafe(32)
values = {
    **to_env(AggregatorSettings, {"grid_token": grid, "admin_token": admin}),
    **to_env(GridSettings, {"token": grid}),
}
path.parent.mkdir(parents=True, exist_ok=True)
tmp = path.with_suffix(".tmp")
tmp.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
tmp.chmod(0o640)
tmp.replace(path)
print(f"{path}: the aggregator's grid and admin credentials ({'given' if os.environ.get('FLEXSIM_GRID_TOKEN') else 'generated or kept'})")
PY
