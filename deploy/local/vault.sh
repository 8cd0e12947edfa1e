#!/usr/bin/env bash
# HashiCorp Vault in dev mode on 127.0.0.1 for Passerelle's integration tests
# (the Transit secrets engine signs, verifies and computes HMACs for us).
# No Docker, and Debian packages no Vault: the server is built once from the
# Go module proxy and the binary is cached.
#
#   deploy/local/vault.sh up|down|status|build
#
# `up` prints VAULT_ADDR=... and VAULT_TOKEN=... on stdout, one per line
# (progress goes to stderr), so callers can export each line.
# Exit code 3 means go is missing (and no binary is cached): callers skip.
#
# Dev mode keeps everything in memory, unsealed, with a known root token:
# fine for throwaway tests, never for real secrets.
set -euo pipefail

# v1.21.0 builds from the module proxy with no source change; v1.21.4 does not.
VAULT_VERSION=${VAULT_VERSION:-1.21.0}
VAULT_PORT=${VAULT_PORT:-18200}
VAULT_DEV_TOKEN=${VAULT_DEV_TOKEN:-passerelle-dev-root}
VAULT_START_TIMEOUT=${VAULT_START_TIMEOUT:-60}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${PASSERELLE_CACHE:-$HOME/.cache/passerelle}/vault-$VAULT_VERSION
bin=$cache/vault
state=${PASSERELLE_STATE:-/tmp/passerelle-local}/vault
pidfile=$state/vault.pid
logfile=$state/vault.log
addr=http://127.0.0.1:$VAULT_PORT

say() { echo "vault.sh: $*" >&2; }
die() { say "$*"; exit 1; }
need() { command -v "$1" >/dev/null || { say "$1 not found: cannot build Vault"; exit 3; }; }

# The CLI talks to our server only, whatever the caller's environment says.
vault_cli() {
  VAULT_ADDR=$addr VAULT_TOKEN=$VAULT_DEV_TOKEN timeout 30 "$bin" "$@"
}

running() {
  local pid
  [[ -f $pidfile ]] && pid=$(<"$pidfile") &&
    # Check the executable too: a stale pid file may name a recycled pid.
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$bin" ]]
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Builds the server from the module proxy once; later runs reuse the binary.
# The module's go.mod points the api and sdk submodules at sibling folders
# that the module zip does not contain: dropping those replace directives
# makes Go take the versions the go.mod requires from the proxy instead.
build_vault() {
  [[ -x $bin ]] && return
  need go
  mkdir -p "$cache"
  # One build at a time: `make test` starts it early in the background,
  # and `up` then waits for that build instead of starting another.
  exec 9>"$cache/build.lock"
  if ! flock -n 9; then
    say "waiting for the Vault build already under way"
    flock 9
  fi
  [[ -x $bin ]] && return
  # Keep the caller's GOFLAGS (e.g. -buildvcs=false) but force -mod=mod, as
  # the module zip has no vendor dir and the edited go.mod needs new sums.
  local goflags="${GOFLAGS:+$GOFLAGS }-mod=mod"
  # Vault's own go.mod only, never a go.work from the caller's environment.
  local -x GOWORK=off
  local mod=github.com/hashicorp/vault@v$VAULT_VERSION
  say "building Vault $VAULT_VERSION from the Go module proxy into $bin: once, then cached; about 1,800 packages, 10 to 25 minutes on 2 cores"
  local src
  # Outside any module, so `go mod download` does not touch a go.mod.
  src=$(cd "$cache" && GOFLAGS=$goflags go mod download -json "$mod" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') ||
    die "go mod download $mod failed"
  [[ -n $src && -f $src/go.mod ]] || die "go mod download $mod gave no source dir"

  # Build in a temp dir and move the binary into place, so an interrupted
  # build never leaves a binary that later runs would trust.
  local tmp=$cache/build.tmp.$$
  rm -rf "$tmp" && mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  cp -R "$src/." "$tmp/src"
  chmod -R u+w "$tmp/src"
  local sub drops=()
  for sub in api api/auth/approle api/auth/kubernetes api/auth/userpass sdk; do
    drops+=("-dropreplace=github.com/hashicorp/vault/$sub")
  done
  (cd "$tmp/src" && go mod edit "${drops[@]}") || die "go mod edit failed"
  local t0=$SECONDS
  # stdout is reserved for the VAULT_* lines: the build's output goes to stderr.
  (cd "$tmp/src" && GOFLAGS=$goflags go build -v -trimpath -ldflags "-s -w" -o "$tmp/vault" . 2>&1 |
    "$here/progress.sh" "vault.sh: building Vault"; exit "${PIPESTATUS[0]}") ||
    die "go build of Vault $VAULT_VERSION failed"
  mv "$tmp/vault" "$bin"
  rm -rf "$tmp"
  trap - EXIT
  say "built $bin in $((SECONDS - t0))s"
}

service=Vault
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2034 # service is read by lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

print_env() {
  echo "VAULT_ADDR=$addr"
  echo "VAULT_TOKEN=$VAULT_DEV_TOKEN"
}

# Idempotent: safe on every `up`, whether the server is new or already running.
enable_transit() {
  if vault_cli secrets list -format=json | grep -q '"transit/"'; then return; fi
  vault_cli secrets enable transit >/dev/null || die "could not enable the transit engine"
}

up() {
  build_vault
  if running; then
    say "already running (pid $(<"$pidfile"))"
    enable_transit
    print_env
    return
  fi
  if port_open "$VAULT_PORT"; then die "port $VAULT_PORT is taken by another process"; fi

  mkdir -p "$state"
  say "starting Vault $VAULT_VERSION on $addr (log: $logfile)"
  # A dev server needs no config file. No mlock: it would need IPC_LOCK and
  # dev mode keeps nothing worth protecting. The dev server also writes the
  # token to ~/.vault-token: point HOME at the state dir to keep it there.
  HOME=$state VAULT_DISABLE_MLOCK=true nohup "$bin" server -dev \
    -dev-listen-address="127.0.0.1:$VAULT_PORT" \
    -dev-root-token-id="$VAULT_DEV_TOKEN" \
    -dev-no-store-token >"$logfile" 2>&1 &
  echo $! >"$pidfile"
  await_exec

  # `vault status` exits 0 only once the server answers, initialized and unsealed.
  local deadline=$((SECONDS + VAULT_START_TIMEOUT))
  until vault_cli status >/dev/null 2>&1; do
    running || fail_start "Vault exited during startup"
    ((SECONDS < deadline)) || fail_start "Vault not ready after ${VAULT_START_TIMEOUT}s"
    sleep 0.5
  done
  enable_transit
  say "ready"
  print_env
}

down() {
  stop_service
  rm -rf "$state"
  say "down"
}

status() {
  if running; then
    say "running (pid $(<"$pidfile")) on $addr, state in $state"
  else
    say "not running"
    return 1
  fi
}

case ${1:-} in
  up | down | status) "$1" ;;
  build) build_vault ;;
  *) echo "usage: $0 up|down|status|build" >&2; exit 2 ;;
esac
