#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME (default 5s) each, beyond
# its seed corpus: `go test` alone only replays the seeds. A crasher found is
# written under the package's testdata/fuzz/ and fails the run; commit it as a
# regression seed once fixed.
#
#   deploy/local/fuzz.sh            # every target
#   FUZZTIME=1m deploy/local/fuzz.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
fuzztime=${FUZZTIME:-5s}
go=${GO:-go}

# package directory and target name, one pair a line
targets=$(grep -rl --include='*_test.go' '^func Fuzz' . |
  while read -r f; do
    grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed "s|^func ||; s|^|$(dirname "$f") |"
  done | sort)

n=$(wc -l <<<"$targets")
echo "fuzz.sh: $n targets, $fuzztime each" >&2
while read -r dir target; do
  echo "fuzz.sh: $dir $target" >&2
  if ! out=$("$go" test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$dir" 2>&1); then
    echo "$out" | tail -n 40 >&2
    echo "fuzz.sh: $dir $target failed; rerun: $go test -run '^\$' -fuzz '^${target}\$' $dir" >&2
    exit 1
  fi
done <<<"$targets"
