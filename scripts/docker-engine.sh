#!/usr/bin/env bash
# Makes sure a Docker engine answers, and stops the one it started:
#
#   scripts/docker-engine.sh start   engine answering already -> nothing to do. Else installs Debian's
#                                    docker.io when dockerd is missing (apt-get; root or sudo) and
#                                    starts dockerd in the background, logging to
#                                    $FLEXSIM_DOCKERD_DIR/dockerd.log; waits for /var/run/docker.sock.
#   scripts/docker-engine.sh stop    stops that dockerd (and only one that this script started: its pid
#                                    is in $FLEXSIM_DOCKERD_DIR/dockerd.pid).
#   scripts/docker-engine.sh status  prints whether the engine answers, and who started it.
#
# FLEXSIM_DOCKERD_DIR defaults to /tmp/flexsim-dockerd. Only the `docker` client is needed beyond that.
set -euo pipefail

DIR="${FLEXSIM_DOCKERD_DIR:-/tmp/flexsim-dockerd}"
PIDFILE="$DIR/dockerd.pid"
LOG="$DIR/dockerd.log"
SOCK=/var/run/docker.sock
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

say() { echo "docker-engine: $*" >&2; }
answers() { docker info >/dev/null 2>&1; }
ours() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  if answers; then
    if ours; then say "running (started by this script, pid $(cat "$PIDFILE"))"; else say "running"; fi
    return 0
  fi
  if ! command -v dockerd >/dev/null; then
    command -v apt-get >/dev/null || { say "no Docker engine and no apt-get: install Docker"; exit 1; }
    say "installing Debian's docker.io (the engine)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker.io >/dev/null
  fi
  command -v docker >/dev/null || { say "no docker client on PATH"; exit 1; }
  mkdir -p "$DIR"
  say "starting dockerd (log: $LOG)"
  # setsid: dockerd outlives this script, in its own session; stopped by `stop` through its pid.
  $SUDO setsid dockerd >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 120); do
    if [ -S "$SOCK" ] && answers; then
      say "engine up: $(docker version -f 'server {{.Server.Version}}, client {{.Client.Version}}')"
      return 0
    fi
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      tail -n 20 "$LOG" >&2
      say "dockerd exited (log above)"
      rm -f "$PIDFILE"
      exit 1
    fi
    sleep 0.5
  done
  tail -n 20 "$LOG" >&2
  say "dockerd did not answer within 60 s (log above)"
  exit 1
}

stop() {
  if ! ours; then
    say "no dockerd started by this script is running"
    rm -f "$PIDFILE"
    return 0
  fi
  pid="$(cat "$PIDFILE")"
  say "stopping dockerd (pid $pid)"
  $SUDO kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; say "stopped"; return 0; }
    sleep 0.5
  done
  say "dockerd (pid $pid) did not stop within 30 s"
  exit 1
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status)
    if answers; then
      if ours; then echo "running (started by scripts/docker-engine.sh, pid $(cat "$PIDFILE"))"; else echo running; fi
    else
      echo "not running"
      exit 1
    fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
