#!/usr/bin/env bash
# Runs a command, passing its output through, and says it is still working
# whenever it has been silent for 30 seconds (compiling test binaries,
# waiting on a broker): a long step never looks hung.
#
#   deploy/local/heartbeat.sh "make test" go test ./...
#
# Exits with the command's status.
set -uo pipefail
label=$1
shift
stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT
start=$SECONDS
(
  while sleep 5; do
    idle=$(($(date +%s) - $(stat -c %Y "$stamp")))
    if ((idle >= 30)); then
      t=$((SECONDS - start))
      printf '%s: still running, %dm%02ds elapsed\n' "$label" $((t / 60)) $((t % 60)) >&2
      touch "$stamp"
    fi
  done
) &
watcher=$!
"$@" 2>&1 | while IFS= read -r line; do
  printf '%s\n' "$line"
  touch "$stamp"
done
rc=${PIPESTATUS[0]}
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
t=$((SECONDS - start))
printf '%s: done in %dm%02ds (exit %d)\n' "$label" $((t / 60)) $((t % 60)) "$rc" >&2
exit "$rc"
