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
  corpus="$dir/testdata/fuzz/$target"
  before=$(ls "$corpus" 2>/dev/null | sort || true)
  if ! out=$("$go" test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$dir" 2>&1); then
    after=$(ls "$corpus" 2>/dev/null | sort || true)
    # Go's coordinator can fail a target with a bare "context deadline
    # exceeded" when -fuzztime ends while a starved worker is mid-call: it
    # found nothing and wrote nothing. That is told apart from a finding by
    # the absence of a new crasher and of any other failure line, and the
    # seeds are replayed to be sure.
    if [[ "$before" == "$after" ]] &&
      ! grep -v -e '^fuzz: ' -e '^--- FAIL: ' -e '^    context deadline exceeded$' \
        -e '^FAIL' -e '^exit status' <<<"$out" | grep -q . &&
      grep -q '^    context deadline exceeded$' <<<"$out" &&
      "$go" test -run "^${target}\$" "$dir" >/dev/null 2>&1; then
      echo "fuzz.sh: $dir $target: Go's fuzzing deadline race, no crasher written, seeds pass" >&2
      continue
    fi
    echo "$out" | tail -n 40 >&2
    echo "fuzz.sh: $dir $target failed; rerun: $go test -run '^\$' -fuzz '^${target}\$' $dir" >&2
    exit 1
  fi
done <<<"$targets"
