#!/usr/bin/env bash
# Private PostgreSQL cluster on 127.0.0.1 for Passerelle's integration tests,
# separate from any system cluster (own data dir, port and socket dir).
#
#   deploy/local/postgres.sh up|down|status
#
# `up` prints PASSERELLE_PG_URL=... on stdout (progress goes to stderr), so
# callers can do: eval "$(deploy/local/postgres.sh up)".
set -euo pipefail

PG_PORT=${PG_PORT:-15432}
state=${PASSERELLE_STATE:-/tmp/passerelle-local}/pg
data=$state/data
logfile=$state/postgres.log
url="postgres://passerelle:passerelle@127.0.0.1:$PG_PORT/passerelle_test?sslmode=disable"

say() { echo "postgres.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# Debian keeps the server binaries off PATH, one dir per major version; look
# for pg_ctl itself, as the client package alone also creates that bin dir.
find_bindir() {
  local ctl
  ctl=$(find /usr/lib/postgresql -path '*/bin/pg_ctl' 2>/dev/null | sort -V | tail -n 1 || true)
  ctl=${ctl:-$(command -v pg_ctl || true)}
  if [[ -n $ctl ]]; then dirname "$ctl"; fi
}
bindir=$(find_bindir)

# The server refuses to run as root, so as root we act as the `postgres` user.
as_pg() {
  if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

install_server() {
  # Exit 3, like kafka.sh without java: callers skip outside CI.
  ((EUID == 0)) || { say "PostgreSQL server not found; install it (apt-get install postgresql) or run as root"; exit 3; }
  say "installing PostgreSQL with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q postgresql >&2
  bindir=$(find_bindir)
  [[ -n $bindir ]] || die "apt-get installed postgresql but no pg_ctl was found"
}

running() { [[ -n $bindir && -f $data/PG_VERSION ]] && as_pg "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; }

init_cluster() {
  say "creating cluster in $data"
  # The state dir doubles as the socket dir, so it must belong to the server's user.
  mkdir -p "$state"
  if ((EUID == 0)); then chown postgres:postgres "$state"; fi
  chmod 700 "$state"
  # Local socket: trust (admin work below); TCP: password, as the app connects.
  as_pg "$bindir/initdb" -D "$data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C --no-sync >/dev/null
  cat >>"$data/postgresql.conf" <<EOF

# passerelle local test cluster
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$state'
# Throwaway test data: trade durability for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

start() {
  say "starting PostgreSQL on 127.0.0.1:$PG_PORT (log: $logfile)"
  as_pg "$bindir/pg_ctl" start -D "$data" -l "$logfile" -w -t 60 >/dev/null || {
    say "PostgreSQL did not start; last lines of $logfile:"
    tail -n 30 "$logfile" >&2 || true
    exit 1
  }
}

# Idempotent: safe on every `up`, whether the cluster is new or already running.
ensure_role_and_dbs() {
  as_pg "$bindir/psql" -h "$state" -p "$PG_PORT" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -q >/dev/null <<'SQL'
SELECT 'CREATE ROLE passerelle'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'passerelle') \gexec
ALTER ROLE passerelle LOGIN CREATEDB PASSWORD 'passerelle';
SELECT format('CREATE DATABASE %I OWNER passerelle', d)
  FROM unnest(ARRAY['passerelle_test', 'tax', 'hr']) AS d
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d) \gexec
SQL
}

up() {
  [[ -n $bindir ]] || install_server
  if running; then
    say "already running on 127.0.0.1:$PG_PORT"
  else
    [[ -f $data/PG_VERSION ]] || init_cluster
    start
  fi
  ensure_role_and_dbs
  echo "PASSERELLE_PG_URL=$url"
}

down() {
  if running; then
    say "stopping PostgreSQL"
    as_pg "$bindir/pg_ctl" stop -D "$data" -m fast -w >/dev/null
  fi
  rm -rf "$state"
  say "down"
}

status() {
  if running; then
    say "running on 127.0.0.1:$PG_PORT, data in $data"
  else
    say "not running"
    return 1
  fi
}

case ${1:-} in
  up | down | status) "$1" ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
