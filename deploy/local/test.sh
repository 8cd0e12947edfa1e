#!/usr/bin/env bash
# What `make test` runs: the static checks, every fuzz target, then every
# test against the real services. The Vault build, the one long step that
# needs nothing else (10 to 25 minutes the first time on 2 cores, then
# cached), starts first, in the background; the checks, the fuzzing and
# every test that needs no Vault run beside it, the packages that
# need Vault after it. Every step says how far it is, and a silent one says
# it is still running.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/../.."
make=${MAKE:-make}
start=$SECONDS
step() { echo "make test: $* ($(((SECONDS - start) / 60))m$(printf %02d $(((SECONDS - start) % 60)))s)" >&2; }

step "starting the Vault build in the background (cached after the first time)"
"$here/vault.sh" build &
vault_build=$!
trap 'kill "$vault_build" 2>/dev/null || true' EXIT

step "static checks"
"$here/heartbeat.sh" "make check" "$make" --no-print-directory check
step "every fuzz target beyond its seeds"
"$here/heartbeat.sh" "make fuzz" "$make" --no-print-directory fuzz
step "every test that needs no Vault, against Kafka and PostgreSQL, while Vault builds"
SERVICES="kafka postgres" "$here/heartbeat.sh" "tests" "$here/with-services.sh" "$make" --no-print-directory test-without-vault
step "waiting for the Vault build, if it is still going"
if ! wait "$vault_build"; then
  echo "make test: the Vault build failed (see above)" >&2
  [[ -n ${CI:-} ]] && exit 1
fi
trap - EXIT
step "the tests that need Vault"
SERVICES=vault "$here/heartbeat.sh" "tests that need Vault" "$here/with-services.sh" "$make" --no-print-directory test-vault
step "done"
