#!/usr/bin/env bash
# Runs a command with the local Kafka broker, PostgreSQL and Vault up (or
# those SERVICES names), their addresses exported, and tears them down
# afterwards whatever happens.
#
#   deploy/local/with-services.sh go test ./...
#
# A service that cannot start here for want of a tool (exit 3: no java, no
# root to install PostgreSQL) is left out outside CI, and the tests that need
# it skip saying why. In CI (CI set) every service must start.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

started=()
cleanup() {
  for s in "${started[@]}"; do "$here/$s.sh" down >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# The third-party tools interoperability tests compare against.
rc=0
"$here/tools.sh" || rc=$?
if ((rc == 3)) && [[ -z ${CI:-} ]]; then
  echo "with-services: interop tools unavailable here; their tests will skip" >&2
elif ((rc != 0)); then
  echo "with-services: tools.sh failed (exit $rc)" >&2
  exit "$rc"
fi

# Tests start from an empty broker: topics that an earlier run, a stopped
# session or a benchmark left in Kafka's state directory (kafka.sh keeps it
# between `up`s) make every replay in the tests longer, enough to time out
# those that wait for a view to catch up.
"$here/kafka.sh" down >/dev/null 2>&1 || true

# SERVICES picks some (make test runs what needs no Vault while Vault builds).
for s in ${SERVICES:-kafka postgres vault}; do
  rc=0
  out=$("$here/$s.sh" up) || rc=$?
  if ((rc == 0)); then
    started+=("$s")
    # One VAR=value per line (vault prints two).
    while IFS= read -r line; do
      export "${line?}"
      echo "with-services: $line" >&2
    done <<<"$out"
  elif ((rc == 3)) && [[ -z ${CI:-} ]]; then
    echo "with-services: $s unavailable here; its tests will skip" >&2
  else
    echo "with-services: $s failed to start (exit $rc)" >&2
    exit "$rc"
  fi
done

"$@"
