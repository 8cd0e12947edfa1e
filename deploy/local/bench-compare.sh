#!/usr/bin/env bash
# The audited view benchmark of two revisions side by side, in one run:
# their processes alternate on one fresh local broker, so that the
# machine's slow and fast minutes fall on both alike.
#
#   deploy/local/bench-compare.sh OLD_REV [NEW_REV]   # NEW_REV: the working tree
#
# CONCURRENCY (default "16 64"), PAIRS (processes of each revision per
# concurrency, default 3), ROUNDS (audited and unaudited rounds a process,
# default 2), QUERIES (per round, default 20000). Prints every round, then
# per concurrency each revision's mean audited queries/s and gateway CPU
# per query, and the change from OLD to NEW.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
old=${1:?usage: bench-compare.sh OLD_REV [NEW_REV]}
new=${2:-}
concurrency=${CONCURRENCY:-16 64}
pairs=${PAIRS:-3}
rounds=${ROUNDS:-2}
queries=${QUERIES:-20000}
state=${PASSERELLE_STATE:-/tmp/passerelle-local}

work=$(mktemp -d)
trap '"$here/kafka.sh" down >/dev/null 2>&1 || true; git -C "$root" worktree remove --force "$work/old" >/dev/null 2>&1 || true; [[ -d $work/new ]] && git -C "$root" worktree remove --force "$work/new" >/dev/null 2>&1; rm -rf "$work"' EXIT

# build REV NAME: the gateway's test binary of REV, from a worktree (the
# working tree itself for an empty REV).
build() {
  local src=$root
  if [[ -n $1 ]]; then
    git -C "$root" worktree add --detach "$work/$2" "$1" >/dev/null 2>&1
    src=$work/$2
  fi
  (cd "$src" && go test -c -o "$work/$2.test" ./internal/gateway)
  echo "$src/internal/gateway"
}
old_dir=$(build "$old" old)
new_dir=$(build "$new" new)

"$here/kafka.sh" down >/dev/null 2>&1 || true
set -a # every PASSERELLE_KAFKA_* setting, for the test binaries
eval "$("$here/kafka.sh" up)"
set +a
PASSERELLE_BENCH_BROKER_PID=$(<"$state/kafka/kafka.pid")
export PASSERELLE_BENCH_BROKER_PID

# run NAME DIR CONCURRENCY: one benchmark process, first rounds dropped.
run() {
  (cd "$2" && PASSERELLE_BENCH_CONCURRENCY=$3 PASSERELLE_BENCH_ROUNDS=$rounds PASSERELLE_BENCH_WARMUP=1 \
    "$work/$1.test" -test.run '^$' -test.bench 'ViewQuery$' -test.benchtime "${queries}x" -test.timeout 30m) |
    grep '^BenchmarkViewQuery' | grep -v warmup | sed "s/^/$1 /"
}

echo "== warming the broker" >&2
run new "$new_dir" 64 >/dev/null
for c in $concurrency; do
  : >"$work/rounds.$c"
  for i in $(seq "$pairs"); do
    for side in old new; do
      dir=$old_dir
      [[ $side == new ]] && dir=$new_dir
      run "$side" "$dir" "$c" | tee -a "$work/rounds.$c"
    done
  done
  awk -v c="$c" '
    { q = cpu = 0
      for (i = 3; i < NF; i++) { if ($(i+1) == "queries/s") q = $i; if ($(i+1) == "cpu-µs/query") cpu = $i }
      kind = ($2 ~ /unaudited/) ? "unaudited" : "audited"
      n[$1 kind]++; qs[$1 kind] += q; cs[$1 kind] += cpu }
    END {
      for (k = 0; k < 2; k++) {
        kind = k ? "unaudited" : "audited"
        o = qs["old" kind] / n["old" kind]; w = qs["new" kind] / n["new" kind]
        oc = cs["old" kind] / n["old" kind]; wc = cs["new" kind] / n["new" kind]
        printf "== %d concurrent, %s: old %.0f q/s %.0f cpu-µs/query, new %.0f q/s %.0f cpu-µs/query: %+.1f%% q/s, %+.1f%% cpu/query\n",
          c, kind, o, oc, w, wc, 100 * (w / o - 1), 100 * (wc / oc - 1) } }' "$work/rounds.$c"
done
