#!/usr/bin/env bash
# Makes sure a PostgreSQL server runs locally for the tests (the aggregator's store is tested on SQLite
# and on PostgreSQL) and that the database they use exists:
#   - installs the Debian/Ubuntu `postgresql` package when no server is installed (root or sudo);
#   - starts the first cluster when it is not running;
#   - creates a superuser role for the current OS user and the database `flexsim_test` when missing.
# Prints the URL the tests use (FLEXSIM_TEST_POSTGRES_URL, default postgresql:///flexsim_test).
# Idempotent; a machine that already runs PostgreSQL is left as it is.
set -euo pipefail

DB="${FLEXSIM_TEST_POSTGRES_DB:-flexsim_test}"
ME="$(id -un)"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

as_postgres() {
  if [ "$ME" = postgres ]; then "$@"; elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

if ! ls /etc/postgresql/*/main >/dev/null 2>&1 && ! command -v pg_ctlcluster >/dev/null; then
  if ! command -v apt-get >/dev/null; then
    echo "ensure-postgres: no PostgreSQL server and no apt-get: install PostgreSQL >= 13 yourself" >&2
    exit 1
  fi
  echo "ensure-postgres: installing postgresql" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

if ! pg_isready -q 2>/dev/null; then
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  echo "ensure-postgres: starting cluster $version/main" >&2
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 50); do pg_isready -q && break; sleep 0.2; done
  pg_isready -q || { echo "ensure-postgres: the server did not start; see /var/log/postgresql" >&2; exit 1; }
fi

if ! psql -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
  as_postgres psql -q -d postgres -c "CREATE ROLE \"$ME\" LOGIN SUPERUSER" >/dev/null 2>&1 || true
fi
if [ "$(psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
  createdb "$DB"
fi
echo "postgresql:///$DB"
